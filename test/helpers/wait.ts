// Waiting, in tests, for something that happens soon but not at once (a notification heard).

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks every intervalMs until check is true; fails naming what was awaited after timeoutMs. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Calls probe every intervalMs until done holds of what it returned, and returns that; fails
 * naming what was awaited, and what was last seen, after timeoutMs.
 */
export async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(value)?.slice(0, 2000)}`);
    await sleep(intervalMs);
  }
}

/** Calls fn every 200 ms until it returns something truthy, and returns that; fails naming what was awaited after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  return (await until(what, fn, (value) => Boolean(value), timeoutMs, 200)) as T;
}
