/** Polls `check` every `everyMs` (10 ms) until it is true; fails after `ms` naming `what` it waited for. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 5000,
  everyMs = 10,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
