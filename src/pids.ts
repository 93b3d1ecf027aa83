// Whether a process still runs, for the owners of leftovers: a stale postmaster, the job folders of
// a killed runner.

/** True while `pid` names a process, ours or (EPERM) another user's. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
