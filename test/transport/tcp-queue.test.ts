/** What the kernel holds for a TCP peer, read from /proc/net/tcp{,6} (Linux; the heartbeat's last resort). */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { kernelTcp } from '../../src/transport/tcp-queue.js';

async function pair(host: string): Promise<{ client: net.Socket; server: net.Socket; close(): void }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect((srv.address() as net.AddressInfo).port, host);
  await new Promise((r) => client.once('connect', r));
  const server = await accepted;
  server.pause(); // a peer that does not read: what we write stays in the kernel
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

describe('kernelTcp', { skip: process.platform !== 'linux' && 'reads /proc/net/tcp (Linux)' }, () => {
  for (const host of ['127.0.0.1', '::1']) {
    it(`finds the socket and what it holds for its peer (${host})`, async () => {
      const p = await pair(host);
      try {
        assert.equal(kernelTcp(p.client)?.queued, 0, 'nothing held yet');
        p.client.write(Buffer.alloc(8 << 20));
        await new Promise((r) => setTimeout(r, 250)); // a read is reused for 200 ms
        const held = kernelTcp(p.client)!.queued;
        assert.ok(held > 64 * 1024, `held ${held}`);
        p.server.resume();
        for (let i = 0; i < 60 && kernelTcp(p.client)?.queued !== 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(kernelTcp(p.client)?.queued, 0, 'all taken once the peer reads');
      } finally {
        p.close();
      }
    });
  }

  it('says it cannot tell for a socket that is not connected', () => {
    assert.equal(kernelTcp(new net.Socket()), undefined);
  });
});
