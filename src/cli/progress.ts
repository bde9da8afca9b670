/**
 * On a terminal, a call that takes more than a second shows how it goes: its time and the bytes moved on
 * its connection since it started (a large argument or answer over a slow link, an XMPP server's rate
 * limit), on one line of stderr that is cleared when the call ends. Nothing with `--json` or off a terminal.
 */
import type { Channel } from '../channel/index.js';

const FIRST_MS = 1000;
const EVERY_MS = 250;

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

/** Runs `work`, showing its progress on stderr when `show`; `channel()` is the connection it uses, if known. */
export async function withProgress<T>(
  work: Promise<T>,
  label: string,
  channel: () => Channel | undefined,
  show: boolean,
): Promise<T> {
  if (!show) return work;
  const start = channel()?.stream.traffic ?? { received: 0, sent: 0 };
  const t0 = Date.now();
  let shown = false;
  const draw = () => {
    const now = channel()?.stream.traffic ?? start;
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    process.stderr.write(
      `\r\x1b[K${label}: ${seconds} s, sent ${mib(now.sent - start.sent)}, received ${mib(now.received - start.received)}`,
    );
    shown = true;
  };
  let timer: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    draw();
    timer = setInterval(draw, EVERY_MS);
  }, FIRST_MS);
  try {
    return await work;
  } finally {
    clearTimeout(first);
    clearInterval(timer);
    if (shown) process.stderr.write('\r\x1b[K');
  }
}
