/**
 * `qi call` on a terminal shows a long call's progress (issue 22: slow links, an XMPP server's rate
 * limit): a 2 MiB answer through a relay throttled to 1 MiB/s, in front of a gateway, with the CLI run
 * under `script` (a pseudo-terminal); off a terminal, nothing is shown.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Gateway, LocalObject, defineObject, listenStandalone, method, t } from '../../src/index.js';
import { QI } from '../helpers/demo-robot.js';
import { FaultRelay } from '../helpers/relay.js';

const Blobs = defineObject({ name: 'Blobs', methods: { make: method([t.int32], t.raw) } });
const closing: { close(): Promise<unknown> }[] = [];
after(async () => {
  for (const c of closing.reverse()) await c.close();
});

async function slowRobot(): Promise<string> {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  closing.push(sd);
  await sd.registerService('Blobs', new LocalObject(Blobs, { make: (n) => Buffer.alloc(n, 1) }));
  const gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
  });
  closing.push(gw);
  const relay = await FaultRelay.start(gw.endpoints[0]);
  relay.rate = 1 << 20;
  return relay.url;
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 20_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

describe('qi call: progress of a long call', () => {
  it('shows the time and the bytes received on a terminal, and clears the line at the end', async (t) => {
    if (!existsSync('/usr/bin/script')) return t.skip('needs script(1) from util-linux for a pseudo-terminal');
    const url = await slowRobot();
    const cmd = `${process.execPath} ${QI} --url ${url} call Blobs.make ${2 << 20} > /dev/null`;
    const r = await run('/usr/bin/script', ['-qfec', cmd, '/dev/null']);
    assert.equal(r.code, 0, r.out);
    const shown = [...r.out.matchAll(/Blobs\.make: (\d+\.\d) s, sent \d+\.\d MiB, received (\d+\.\d) MiB/g)];
    assert.ok(shown.length >= 2, `progress lines: ${JSON.stringify(r.out.slice(0, 500))}`);
    const received = shown.map((m) => Number(m[2]));
    assert.ok(received.at(-1)! > received[0] && received.at(-1)! <= 2, `received ${received.join(', ')}`);
    assert.ok(r.out.endsWith('\r\x1b[K') || r.out.includes('\r\x1b[K'), 'the line is cleared');
  });

  it('shows nothing off a terminal', async () => {
    const url = await slowRobot();
    const r = await run(process.execPath, [QI, '--url', url, 'call', 'Blobs.make', String(1536 << 10)]);
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.out, /Blobs\.make: \d/);
  });
});
