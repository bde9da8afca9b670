/**
 * The YARP name-server protocol against the captured yarpserver (fixtures/yarp/names.json): our client
 * sends byte for byte what was sent to it and reads its answers; the suite's name server answers real
 * YARP tools' commands as yarpserver did; a hostile or absent name server gives clear, bounded errors.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { NameClient, parseNameServer } from '../../src/bridges/index.js';
import { FakeNameServer, capture, nameServerAnswers } from '../helpers/yarp-captures.js';

const servers: net.Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** A server that answers each connection's first line with `answer(line)` (undefined: stay silent). */
async function serve(answer: (line: string, socket: net.Socket) => Buffer | string | undefined): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (!buf.includes('\n')) return;
      const a = answer(buf, s);
      if (a !== undefined) s.end(a);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('the YARP name server client', () => {
  it('sends what the captured exchanges sent, and reads what yarpserver answered', async () => {
    const answers = nameServerAnswers('names');
    const got: string[] = [];
    const port = await serve((line) => {
      got.push(line);
      return answers.get(line);
    });
    const names = new NameClient({ host: '127.0.0.1', port }, 2000);
    assert.deepEqual(await names.register('/qi/test', '127.0.0.1', 12345), {
      name: '/qi/test',
      host: '127.0.0.1',
      port: 12345,
      carrier: 'tcp',
    });
    assert.equal((await names.query('/qi/test'))?.port, 12345);
    assert.equal(await names.query('/nothere'), undefined);
    assert.deepEqual(
      (await names.list()).map((c) => `${c.name} ${c.host}:${c.port} ${c.carrier}`),
      ['/qi/test 127.0.0.1:12345 tcp', '/root 127.0.0.1:10000 tcp', 'fallback 224.2.1.1:10000 mcast'],
    );
    await names.unregister('/qi/test');
    assert.equal(got.length, 5);
    assert.ok(got.every((line) => answers.has(line)));
  });

  it("answers real YARP tools' commands as the captured yarpserver did (the suite's name server)", async () => {
    const ns = await FakeNameServer.start();
    try {
      let compared = 0;
      for (const c of capture('write-read')) {
        const [q, a] = c.turns;
        if (c.serverPort !== 10000 || !q || !a) continue;
        const command = q.bytes.toString('latin1').replace(/^NAME_SERVER /, '');
        const mine = ns.answer(command.replace(/\r?\n$/, ''));
        // yarpserver sorts the values of a `set`: compare those as sets of words.
        if (command.startsWith('set '))
          assert.deepEqual(new Set(mine.split(/\s+/)), new Set(a.bytes.toString('latin1').split(/\s+/)));
        else assert.equal(mine, a.bytes.toString('latin1'), command);
        compared++;
      }
      assert.ok(compared >= 15, `${compared} exchanges compared`);
    } finally {
      await ns.close();
    }
  });

  it('bounds a hostile name server: silence, endless lines, nothing listening', async () => {
    const silent = await serve(() => undefined);
    await assert.rejects(new NameClient({ host: '127.0.0.1', port: silent }, 300).list(), {
      code: 'ERR_QI_TIMEOUT',
      message: /did not answer within 300 ms/,
    });
    const endless = await serve((_line, s) => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (s.writable && s.write(chunk));
        if (s.writable) s.once('drain', pump);
      };
      pump();
      return undefined;
    });
    await assert.rejects(new NameClient({ host: '127.0.0.1', port: endless }, 5000).list(), {
      code: 'ERR_QI_LIMIT',
      message: /a line longer than 65536 bytes/,
    });
    const closed = await serve(() => '');
    servers.at(-1)!.close();
    await assert.rejects(new NameClient({ host: '127.0.0.1', port: closed }, 1000).list(), {
      code: 'ERR_QI_CONNECT',
      message: /cannot reach the YARP name server at 127\.0\.0\.1:\d+ .*is yarpserver running there\?/,
    });
  });

  it('reads host:port addresses, and says what it wants otherwise', () => {
    assert.deepEqual(parseNameServer('127.0.0.1:10000'), { host: '127.0.0.1', port: 10000 });
    assert.deepEqual(parseNameServer('[::1]:10001'), { host: '::1', port: 10001 });
    assert.deepEqual(parseNameServer('localhost'), { host: 'localhost', port: 10000 });
    assert.throws(() => parseNameServer('tcp://x:1/'), { code: 'ERR_QI_CONFIG', message: /give host:port/ });
    assert.throws(() => parseNameServer('h:99999'), { code: 'ERR_QI_CONFIG' });
  });
});
