// What a plan leaves behind for its apply and for readers: the binary plan, its JSON rendering and
// the dependency lock file, kept in the blob store under the run.

export const ARTIFACTS = ['plan-file', 'plan-json', 'lock-file'] as const;
export type Artifact = (typeof ARTIFACTS)[number];

export function isArtifact(name: string): name is Artifact {
  return (ARTIFACTS as readonly string[]).includes(name);
}

export function artifactKey(runId: string, artifact: Artifact): string {
  return `runs/${runId}/${artifact}`;
}
