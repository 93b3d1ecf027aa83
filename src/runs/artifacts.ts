// What a plan leaves behind for its apply and for readers: the binary plan, its JSON rendering and
// the dependency lock file, kept in the blob store under the run.
import type { BlobOwner } from '../blobs/collector.js';
import { existingIds, type Db } from '../db/index.js';

export const ARTIFACTS = ['plan-file', 'plan-json', 'lock-file'] as const;
export type Artifact = (typeof ARTIFACTS)[number];

export function isArtifact(name: string): name is Artifact {
  return (ARTIFACTS as readonly string[]).includes(name);
}

const BLOB_PREFIX = 'runs/';

/** Runs own the blobs under runs/<run id>/. */
export function artifactBlobOwner(db: Db): BlobOwner {
  return { prefix: BLOB_PREFIX, recordOf: (key) => key.split('/')[1], existing: (ids) => existingIds(db, 'runs', ids) };
}

export function artifactKey(runId: string, artifact: Artifact): string {
  return `${BLOB_PREFIX}${runId}/${artifact}`;
}
