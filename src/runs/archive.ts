// Inspection of an uploaded configuration tarball before anything of it is stored or unpacked:
// entries must stay inside the archive's root, be files, directories or links within it, and
// unpack to no more than the size limit.
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import * as tar from 'tar';

export class UnsafeArchiveError extends Error {}

/** Bytes of tar structure allowed beyond the files' contents: end blocks and record padding... */
const TAR_OVERHEAD_BASE = 1024 * 1024;
/** ...and each entry's header, extended headers and padding. */
const TAR_OVERHEAD_PER_ENTRY = 4096;
/** However the archive is built, its inspection ends within this time. */
const INSPECT_TIMEOUT_MS = 30_000;

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** Path segments of an entry name, or an error when it is absolute or climbs out with "..". */
function checkPath(kind: string, name: string): string {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.startsWith('\\')) {
    throw new UnsafeArchiveError(`${kind} "${name}" is an absolute path`);
  }
  const normalized = path.posix.normalize(name.replace(/\\/g, '/'));
  if (normalized === '..' || normalized.startsWith('../') || name.replace(/\\/g, '/').split('/').includes('..')) {
    throw new UnsafeArchiveError(`${kind} "${name}" contains ".." and would leave the configuration directory`);
  }
  return normalized;
}

export interface ArchiveSummary {
  entries: number;
  unpackedBytes: number;
}

/** Reads the whole gzip-compressed tarball at `file`; throws UnsafeArchiveError on the first problem. */
export async function inspectArchive(file: string, maxUnpackedBytes: number): Promise<ArchiveSummary> {
  let entries = 0;
  let unpackedBytes = 0;
  let problem: UnsafeArchiveError | null = null;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      entry.resume();
      if (problem) return;
      try {
        entries++;
        const name = checkPath('entry', entry.path);
        if (!ALLOWED_TYPES.has(entry.type)) {
          throw new UnsafeArchiveError(`entry "${entry.path}" is a ${entry.type}; only files, directories and links are allowed`);
        }
        if (entry.type === 'SymbolicLink') {
          const target = entry.linkpath ?? '';
          if (target.startsWith('/')) throw new UnsafeArchiveError(`symlink "${entry.path}" points to the absolute path "${target}"`);
          const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(name), target));
          if (resolved === '..' || resolved.startsWith('../')) {
            throw new UnsafeArchiveError(`symlink "${entry.path}" points to "${target}", outside the configuration directory`);
          }
        }
        if (entry.type === 'Link') checkPath(`hard link "${entry.path}" to`, entry.linkpath ?? '');
        unpackedBytes += entry.size ?? 0;
        if (unpackedBytes > maxUnpackedBytes) {
          throw new UnsafeArchiveError(`the configuration unpacks to more than ${maxUnpackedBytes} bytes`);
        }
      } catch (err) {
        problem = err as UnsafeArchiveError;
      }
    },
  });
  // The decompressed stream, headers and padding included, is bounded too: a gzip stream that
  // runs on past the end of the tar (zeros compress 1000:1) would otherwise be inflated without
  // end, and tar's parser crawls through a long tail, so the upload would not be answered for hours.
  let inflated = 0;
  const budget = () => maxUnpackedBytes + TAR_OVERHEAD_BASE + entries * TAR_OVERHEAD_PER_ENTRY;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      inflated += chunk.length;
      if (inflated > budget()) {
        callback(new UnsafeArchiveError(`the configuration decompresses to more than its ${maxUnpackedBytes} bytes of files allow`));
        return;
      }
      // Past the end-of-archive blocks tar's parser only appends to a buffer, copying it whole
      // each time; what follows the end is counted, not parsed.
      callback(null, ended ? undefined : chunk);
    },
  });
  let ended = false;
  parser.on('eof', () => {
    ended = true;
  });
  try {
    await pipeline(fs.createReadStream(file), zlib.createGunzip(), bounded, parser, { signal: AbortSignal.timeout(INSPECT_TIMEOUT_MS) });
  } catch (err) {
    if (problem) throw problem;
    if (err instanceof UnsafeArchiveError) throw err;
    if ((err as Error).name === 'AbortError') throw new UnsafeArchiveError(`reading the archive took more than ${INSPECT_TIMEOUT_MS / 1000} s`);
    throw new UnsafeArchiveError(`not a gzip-compressed tar archive (${(err as Error).message})`);
  }
  if (problem) throw problem;
  return { entries, unpackedBytes };
}
