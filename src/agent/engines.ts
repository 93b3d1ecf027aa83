// Finding the engine binary a run asks for: the one on PATH when its version fits, else one kept
// in the engine bins dir, else a download from the official releases, checked against the
// release's SHA-256 sums. When none can be had, the error says why, and the run errors with it.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { highestSatisfying, isExactVersion, parseConstraint } from './semver.js';
import { extractFromZip } from './zip.js';

export type EngineName = 'terraform' | 'tofu';

export class EngineUnavailableError extends Error {}

export interface Engine {
  name: EngineName;
  path: string;
  version: string;
}

export interface EngineOptions {
  /** --engine-bins-dir: <dir>/<engine>/<version>/<engine> */
  binsDir: string;
  /** Where releases are downloaded from; tests point this at a local server. */
  releasesUrl?: Record<EngineName, string>;
}

const DEFAULT_RELEASES: Record<EngineName, string> = {
  terraform: 'https://releases.hashicorp.com/terraform',
  tofu: 'https://github.com/opentofu/opentofu/releases/download',
};

/** os_arch as engine releases name it, e.g. linux_amd64. */
export function platform(): string {
  const arch = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' }[os.arch() as string] ?? os.arch();
  return `${os.platform()}_${arch}`;
}

/** The release file names and URLs of one engine version. */
function releaseFiles(engine: EngineName, version: string, base: string) {
  const zip = `${engine}_${version}_${platform()}.zip`;
  const sums = `${engine}_${version}_SHA256SUMS`;
  const dir = engine === 'terraform' ? `${base}/${version}` : `${base}/v${version}`;
  return { zip, zipUrl: `${dir}/${zip}`, sumsUrl: `${dir}/${sums}` };
}

/** The absolute path of an executable found on this process's PATH. */
function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function versionOf(bin: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(bin, ['version', '-json'], { timeout: 15_000, env: { PATH: process.env.PATH ?? '', CHECKPOINT_DISABLE: '1', HOME: os.tmpdir() } }, (err, stdout) => {
      if (err) return resolve(null);
      try {
        const doc = JSON.parse(stdout) as { terraform_version?: string };
        resolve(doc.terraform_version ?? null);
      } catch {
        resolve(null);
      }
    });
  });
}

async function fetchBuffer(url: string): Promise<Buffer> {
  const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${res.statusText}`);
  return Buffer.from(await res.arrayBuffer());
}

export class EngineResolver {
  private readonly onPath = new Map<EngineName, Promise<{ path: string; version: string } | null>>();
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(private readonly opts: EngineOptions) {}

  private releases(engine: EngineName): string {
    return (this.opts.releasesUrl ?? DEFAULT_RELEASES)[engine];
  }

  /**
   * The engine on otfd's PATH (an absolute path, so a job's own PATH cannot swap it) and its
   * version, asked once per process.
   */
  private pathEngine(engine: EngineName): Promise<{ path: string; version: string } | null> {
    let found = this.onPath.get(engine);
    if (!found) {
      const bin = onPath(engine);
      found = bin ? versionOf(bin).then((version) => (version ? { path: bin, version } : null)) : Promise.resolve(null);
      this.onPath.set(engine, found);
    }
    return found;
  }

  private binPath(engine: EngineName, version: string): string {
    return path.join(this.opts.binsDir, engine, version, engine);
  }

  private kept(engine: EngineName): string[] {
    try {
      return fs.readdirSync(path.join(this.opts.binsDir, engine)).filter((v) => fs.existsSync(this.binPath(engine, v)));
    } catch {
      return [];
    }
  }

  /** The binary for `wanted`: "latest", an exact version, or a constraint such as "~> 1.11.0". */
  async resolve(engine: EngineName, wanted: string): Promise<Engine> {
    const found = await this.pathEngine(engine);
    const onPath = found?.version ?? null;
    const constraint = wanted === 'latest' ? null : wanted;
    if (constraint !== null && !parseConstraint(constraint)) {
      throw new EngineUnavailableError(`"${wanted}" is not a version or a version constraint of ${engine}`);
    }
    if (found && (constraint === null || highestSatisfying([found.version], constraint))) return { name: engine, path: found.path, version: found.version };

    if (constraint !== null) {
      const keptVersion = highestSatisfying(this.kept(engine), constraint);
      if (keptVersion) return { name: engine, path: this.binPath(engine, keptVersion), version: keptVersion };
    }
    let version: string;
    try {
      version = constraint !== null && isExactVersion(constraint) ? constraint.trim().replace(/^v/, '') : await this.pickRelease(engine, constraint);
      return { name: engine, path: await this.download(engine, version), version };
    } catch (err) {
      const found = onPath ? `the one on PATH is ${onPath}` : `there is none on PATH`;
      throw new EngineUnavailableError(
        `${engine} ${wanted} is not available: ${found}, none that fits is in ${path.join(this.opts.binsDir, engine)}, and downloading it failed: ${(err as Error).message}`,
      );
    }
  }

  /** The highest released version fitting the constraint (any, for "latest"), from the release index. */
  private async pickRelease(engine: EngineName, constraint: string | null): Promise<string> {
    if (engine !== 'terraform') throw new Error(`cannot list ${engine} releases; name an exact version`);
    const index = JSON.parse((await fetchBuffer(`${this.releases(engine)}/index.json`)).toString('utf8')) as { versions: Record<string, unknown> };
    const versions = Object.keys(index.versions).filter((v) => !v.includes('-'));
    const chosen = highestSatisfying(versions, constraint ?? '>= 0.0.0');
    if (!chosen) throw new Error(`no release fits "${constraint}"`);
    return chosen;
  }

  private download(engine: EngineName, version: string): Promise<string> {
    const key = `${engine}/${version}`;
    let p = this.downloads.get(key);
    if (!p) {
      p = this.fetchRelease(engine, version).finally(() => this.downloads.delete(key));
      this.downloads.set(key, p);
    }
    return p;
  }

  private async fetchRelease(engine: EngineName, version: string): Promise<string> {
    const target = this.binPath(engine, version);
    if (fs.existsSync(target)) return target;
    const files = releaseFiles(engine, version, this.releases(engine));
    const [zip, sums] = await Promise.all([fetchBuffer(files.zipUrl), fetchBuffer(files.sumsUrl)]);
    const line = sums
      .toString('utf8')
      .split('\n')
      .find((l) => l.trim().endsWith(` ${files.zip}`) || l.trim().endsWith(`*${files.zip}`));
    if (!line) throw new Error(`${files.sumsUrl} has no checksum for ${files.zip}`);
    const want = line.trim().split(/\s+/)[0].toLowerCase();
    const got = crypto.createHash('sha256').update(zip).digest('hex');
    if (want !== got) throw new Error(`checksum mismatch for ${files.zip}: expected ${want}, got ${got}`);
    const binary = extractFromZip(zip, engine);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, binary, { mode: 0o755 });
    fs.renameSync(tmp, target);
    return target;
  }
}
