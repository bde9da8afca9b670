/**
 * What the classic endpoint tells socket.io clients when it lets them go, over real sockets from Node:
 * when a browser's qi side is lost (the robot's SD restarts) or the handler shuts down, the transport is
 * closed without a socket.io disconnect packet, which clients (v4, v2/v1 and the original scripts' 0.9)
 * take as "the server told me not to come back". A v4 client with reconnection on (as our served script,
 * with socket.io's defaults) sees `transport close` and is served again; a 0.9 client gets no `0::`.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { Session, listenStandalone } from '../../src/index.js';
import { classicQiSession, type ClassicHandler } from '../../src/web/classic/index.js';
import { calculator } from '../object/fixtures.js';
import { until } from '../helpers/until.js';

let sd: Session;
let handler: ClassicHandler;
let server: http.Server;
let base: string;
/** The qi session of each browser connection, in the order they were opened. */
const sessions: Session[] = [];

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
  handler = classicQiSession({
    connect: async () => {
      const s = await Session.connect(sd.endpoints[0], { ipc: false, reconnect: false });
      sessions.push(s);
      return s;
    },
  });
  server = http.createServer((req, res) => handler.request(req, res) || res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => handler.upgrade(req, socket, head) || socket.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await handler.close();
  server.close();
  await Promise.all(sessions.map((s) => s.close()));
  await sd.close();
});

function add(s: Socket, idm: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer')), 5000);
    const calls = [
      { idm, params: { obj: 'ServiceDirectory', member: 'service', args: ['Calculator'] } },
      (r: { pyobject: number }) => ({ idm: idm + 1, params: { obj: r.pyobject, member: 'add', args: [2, 3] } }),
    ] as const;
    s.on('reply', (d: { idm: number; result: any }) => {
      if (d.idm === idm) s.emit('call', calls[1](d.result));
      if (d.idm === idm + 1) {
        clearTimeout(timer);
        resolve(d.result);
      }
    });
    s.on('error', (d: { idm: number; result: unknown }) => d.idm >= idm && reject(new Error(String(d.result))));
    s.emit('call', calls[0]);
  });
}

describe('classic qimessaging.js: letting browsers go so that they come back', () => {
  for (const transport of ['websocket', 'polling'] as const) {
    it(`a v4 client (${transport}) whose qi side is lost sees "transport close" and is served again`, async () => {
      const s = io(base, {
        path: '/libs/qimessaging/2/socket.io',
        transports: [transport],
        forceNew: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 200,
      });
      try {
        const connects: number[] = [];
        const reasons: string[] = [];
        s.on('connect', () => connects.push(Date.now()));
        s.on('disconnect', (reason) => reasons.push(reason));
        const opened = sessions.length;
        await until(() => connects.length === 1 && sessions.length === opened + 1, 'connected');
        assert.equal(await add(s, 1), 5);
        await sessions.at(-1)!.close(); // the robot's SD went away under this browser
        await until(() => connects.length === 2, 'connected again by itself');
        assert.deepEqual(reasons, ['transport close']);
        assert.equal(await add(s, 10), 5);
      } finally {
        s.disconnect();
      }
    });
  }

  it('a socket.io 0.9 client (the original scripts) whose qi side is lost gets its WebSocket closed, never "0::"', async () => {
    const opened = sessions.length;
    const sid = await new Promise<string>((resolve, reject) =>
      http
        .get(`${base}/libs/qimessaging/1.0/socket.io/1/?t=1`, (res) => {
          let body = '';
          res.on('data', (d) => (body += d)).on('end', () => resolve(body.split(':')[0]));
        })
        .on('error', reject),
    );
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/libs/qimessaging/1.0/socket.io/1/websocket/${sid}`);
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    const closed = new Promise((r) => ws.once('close', r));
    await until(() => frames.includes('1::'), 'the 0.9 connect packet');
    await until(() => sessions.length === opened + 1, 'the qi side opened');
    await sessions.at(-1)!.close();
    await closed;
    assert.ok(!frames.some((f) => f.startsWith('0:')), `frames: ${frames.join(' | ')}`);
  });
});
