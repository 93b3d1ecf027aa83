// Waiting, in tests, for something that happens soon but not at once (a notification heard).

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks every 20 ms until check is true; fails naming what was awaited after timeoutMs. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(20);
  }
}
