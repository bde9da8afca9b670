/**
 * The classic qimessaging.js endpoint driven from Node: socket.io v4 client (API 2 and 1.0), the
 * socket.io 0.9 protocol of the original scripts over a raw WebSocket, an engine.io protocol 3
 * (socket.io 2.x) handshake. A real SD, services and gateway on loopback; the classic API reaches qi
 * through the gateway's own outside endpoint, so its access rules apply.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { Gateway, LocalObject, Session, defineObject, method, property, signal, t } from '../../src/index.js';
import { classicQiSession, type ClassicHandler } from '../../src/web/classic/index.js';
import { classicBus, httpOrigin } from './fixtures.js';
import { until } from '../helpers/until.js';

const Demo = defineObject({
  methods: {
    point: method([], t.struct('Point', { x: t.int32, y: t.int32 })),
    table: method([], t.map(t.string, t.int32)),
    big: method([], t.int64),
    ping: method([t.string], t.void),
    secret: method([], t.string),
  },
  signals: { pinged: signal([t.string, t.int32]) },
  properties: { level: property(t.int32, { initial: 1 }) },
});

let sd: Session;
let inside: Session;
let gw: Gateway;
let classic: ClassicHandler;
let base: string;
let pings = 0;
const demo: LocalObject<typeof Demo> = new LocalObject(Demo, {
  point: () => ({ x: 3, y: 4 }),
  table: () =>
    new Map([
      ['a', 1],
      ['b', 2],
    ]),
  big: () => 1234567890123n,
  ping: (text: string) => demo.emit('pinged', text, ++pings),
  secret: () => 'nope',
});
const sockets: Socket[] = [];

before(async () => {
  ({ sd, inside } = await classicBus(demo));
  classic = classicQiSession({ gateway: () => gw });
  gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: ['tcp://127.0.0.1:0', 'ws://127.0.0.1:0/qi'],
    http: classic,
    access: { anonymous: { allow: ['*'], deny: ['method:Demo.secret'] } },
  });
  base = httpOrigin(gw);
});

after(async () => {
  for (const s of sockets) s.disconnect();
  await classic?.close();
  await gw?.close();
  await inside?.close();
  await sd?.close();
});

function connect(version: '2' | '1.0' = '2'): Promise<Socket> {
  const s = io(base, {
    path: `/libs/qimessaging/${version}/socket.io`,
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 5000,
  });
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

let idm = 0;
/** Emits a `call` and resolves with the `reply` result or rejects with the `error` result. */
function call(s: Socket, params: Record<string, unknown>): Promise<any> {
  const id = ++idm;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(params)}`)), 5000);
    const onReply = (d: { idm: number; result?: unknown }) => d.idm === id && (done(), resolve(d.result));
    const onError = (d: { idm: number; result?: unknown }) =>
      d.idm === id && (done(), reject(new Error(String(d.result))));
    const done = () => (clearTimeout(timer), s.off('reply', onReply), s.off('error', onError));
    s.on('reply', onReply);
    s.on('error', onError);
    s.emit('call', { idm: id, params });
  });
}

function nextSignal(s: Socket): Promise<{ obj: number; signal: string; data: unknown[]; link: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no signal')), 5000);
    s.once('signal', (d: { result: any }) => (clearTimeout(timer), resolve(d.result)));
  });
}

function get(path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(base + path, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d) => (body += d))
          .on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
      })
      .on('error', reject);
  });
}

describe('classic qimessaging.js: served files', () => {
  it('serves the script of API 2 and 1.0 with socket.io inside, and leaves other paths to the listener', async () => {
    for (const v of ['2', '1.0']) {
      const r = await get(`/libs/qimessaging/${v}/qimessaging.js`);
      assert.equal(r.status, 200);
      assert.match(r.type!, /javascript/);
      assert.match(r.body, /window\.QiSession = QiSession/);
      assert.ok(r.body.includes(`"path":"/libs/qimessaging/${v}/socket.io"`));
      assert.match(r.body, /Socket\.IO v4/);
    }
    assert.equal((await get('/libs/qimessaging/3/qimessaging.js')).status, 426);
    assert.equal((await get('/elsewhere')).status, 426);
  });

  it('accepts engine.io protocol 3 (socket.io 1.x/2.x clients) as well as 4', async () => {
    const v3 = await get('/libs/qimessaging/2/socket.io/?EIO=3&transport=polling');
    assert.equal(v3.status, 200);
    assert.match(v3.body, /^\d+:0\{"sid":/); // protocol 3 framing: length-prefixed packets
    const v4 = await get('/libs/qimessaging/2/socket.io/?EIO=4&transport=polling');
    assert.equal(v4.status, 200);
    assert.match(v4.body, /^0\{"sid":/);
  });
});

describe('classic qimessaging.js: API 2 over socket.io v4', () => {
  it('gets a service as { pyobject, metaobject } and calls its methods', async () => {
    const s = await connect();
    const calc = await call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Calculator'] });
    assert.equal(typeof calc.pyobject, 'number');
    const names = Object.values(calc.metaobject.methods as Record<string, { name: string }>).map((m) => m.name);
    assert.ok(names.includes('add') && names.includes('concat'), names.join());
    assert.deepEqual(
      Object.values(calc.metaobject.signals as Record<string, { name: string }>)
        .map((m) => m.name)
        .filter((n) => n === 'fired'),
      ['fired'],
    );
    assert.equal(await call(s, { obj: calc.pyobject, member: 'add', args: [2, 3] }), 5);
    assert.equal(await call(s, { obj: calc.pyobject, member: 'concat', args: ['a', 7] }), 'a7'); // overloads
    assert.equal(
      await call(s, { obj: String(calc.pyobject), member: 'fail', args: ['x'] }).catch((e: Error) => e.message),
      'Calculator.fail failed: failed on purpose: x',
    );
  });

  it('reports errors with clear messages: unknown service, object, method, wrong arguments, denied by the gateway', async () => {
    const s = await connect();
    await assert.rejects(
      call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Nope'] }),
      /Cannot find service 'Nope'/,
    );
    await assert.rejects(call(s, { obj: 12345678, member: 'add', args: [] }), /Unknown object 12345678/);
    const calc = await call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Calculator'] });
    await assert.rejects(
      call(s, { obj: calc.pyobject, member: 'multiply', args: [1, 2] }),
      /Calculator has no method "multiply"/,
    );
    await assert.rejects(call(s, { obj: calc.pyobject, member: 'add', args: [1] }), /Calculator.add takes 2 argument/);
    await assert.rejects(
      call(s, { obj: calc.pyobject, member: 'add', args: ['one', 2] }),
      /^Error: Calculator\.add: Cannot encode args\[0\].*expected an integer \(int32\), got string "one"/,
    );
    const d = await call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Demo'] });
    await assert.rejects(call(s, { obj: d.pyobject, member: 'secret', args: [] }), /Permission denied/);
    await assert.rejects(call(s, { obj: d.pyobject }), /params.member/);
  });

  it('maps qi values to the JSON of the classic API: structs as arrays, maps as objects, raw as bytes, int64 as numbers, void as nothing', async () => {
    const s = await connect();
    const calc = await call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Calculator'] });
    const d = await call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Demo'] });
    assert.deepEqual(await call(s, { obj: d.pyobject, member: 'point', args: [] }), [3, 4]);
    assert.deepEqual(await call(s, { obj: d.pyobject, member: 'table', args: [] }), { a: 1, b: 2 });
    assert.equal(await call(s, { obj: d.pyobject, member: 'big', args: [] }), 1234567890123);
    assert.deepEqual(await call(s, { obj: calc.pyobject, member: 'echoRaw', args: [[1, 2, 255]] }), [1, 2, 255]);
    assert.equal(await call(s, { obj: calc.pyobject, member: 'norm1', args: [[-2, 5]] }), 7); // a struct from an array
    assert.equal(await call(s, { obj: calc.pyobject, member: 'norm1', args: [{ x: 1, y: -1 }] }), 2); // or an object
    assert.equal(await call(s, { obj: d.pyobject, member: 'ping', args: ['void'] }), undefined);
    // An object by reference becomes a { pyobject, metaobject } of its own.
    const counter = await call(s, { obj: calc.pyobject, member: 'makeCounter', args: [10] });
    assert.ok(
      Object.values(counter.metaobject.methods as Record<string, { name: string }>).some((m) => m.name === 'increment'),
    );
    assert.equal(await call(s, { obj: counter.pyobject, member: 'increment', args: [] }), 11);
  });

  it('connects a signal, forwards its emissions with the link id, and disconnects it', async () => {
    const s = await connect();
    const d = await call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Demo'] });
    const link = await call(s, { obj: d.pyobject, member: 'pinged', args: ['connect'] });
    assert.equal(typeof link, 'number');
    const got = nextSignal(s);
    await call(s, { obj: d.pyobject, member: 'ping', args: ['hello'] });
    const sig = await got;
    assert.deepEqual(sig, { obj: d.pyobject, signal: 'pinged', data: ['hello', pings], link });
    assert.equal(await call(s, { obj: d.pyobject, member: 'pinged', args: ['disconnect', link] }), true);
    let more = 0;
    s.on('signal', () => more++);
    await call(s, { obj: d.pyobject, member: 'ping', args: ['unheard'] });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(more, 0);
    await assert.rejects(call(s, { obj: d.pyobject, member: 'pinged', args: ['disconnect', link] }), /No subscription/);
  });

  it('reads, sets and watches properties', async () => {
    const s = await connect();
    const d = await call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Demo'] });
    assert.equal(await call(s, { obj: d.pyobject, member: 'level', args: ['value'] }), demo.get('level'));
    const link = await call(s, { obj: d.pyobject, member: 'level', args: ['connect'] });
    const changed = nextSignal(s);
    assert.equal(await call(s, { obj: d.pyobject, member: 'level', args: ['setValue', 42] }), undefined);
    assert.deepEqual(await changed, { obj: d.pyobject, signal: 'level', data: [42], link });
    assert.equal(demo.get('level'), 42);
    assert.equal(await call(s, { obj: d.pyobject, member: 'level', args: ['value'] }), 42);
    await assert.rejects(
      call(s, { obj: d.pyobject, member: 'level', args: ['setValue', 'high'] }),
      /Demo\.level: .*got string "high"/,
    );
  });

  it('drops the subscriptions and the qi session of a browser that goes away', async () => {
    const before = gw.upstreamSubscriptions;
    const s = await connect();
    const d = await call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Demo'] });
    await call(s, { obj: d.pyobject, member: 'pinged', args: ['connect'] });
    await call(s, { obj: d.pyobject, member: 'level', args: ['connect'] });
    assert.ok(classic.subscriptions >= 2);
    const open = classic.connections;
    s.disconnect();
    await until(() => classic.connections === open - 1, 'the browser connection is forgotten', 2000);
    await until(
      () => gw.upstreamSubscriptions <= before,
      `the gateway's upstream subscriptions go back to ${before} (now ${gw.upstreamSubscriptions})`,
      2000,
    );
  });
});

describe('classic qimessaging.js: API 1.0', () => {
  it('calls methods with params.method, subscribes with registerEvent / unregisterEvent, sends raw bytes as base64', async () => {
    const s = await connect('1.0');
    const calc = await call(s, { obj: 'ServiceDirectory', method: 'service', args: ['Calculator'] });
    assert.equal(await call(s, { obj: calc.pyobject, method: 'add', args: [40, 2] }), 42);
    assert.equal(
      await call(s, { obj: calc.pyobject, method: 'echoRaw', args: [Buffer.from('hi').toString('base64')] }),
      Buffer.from('hi').toString('base64'),
    );
    const d = await call(s, { obj: 'ServiceDirectory', method: 'service', args: ['Demo'] });
    const link = await call(s, { obj: d.pyobject, method: 'registerEvent', args: ['pinged'] });
    const got = nextSignal(s);
    await call(s, { obj: d.pyobject, method: 'ping', args: ['old'] });
    assert.deepEqual((await got).data, ['old', pings]);
    assert.equal(await call(s, { obj: d.pyobject, method: 'unregisterEvent', args: ['pinged', link] }), true);
  });
});

describe('classic qimessaging.js: the socket.io 0.9 protocol of the original scripts', () => {
  it('handshakes, connects over WebSocket and answers calls and signals in 0.9 frames', async () => {
    const hs = await get('/libs/qimessaging/2/socket.io/1/?t=1');
    assert.equal(hs.status, 200);
    const [sid, heartbeat, , transports] = hs.body.split(':');
    assert.ok(sid && Number(heartbeat) > 0 && transports === 'websocket', hs.body);
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/libs/qimessaging/2/socket.io/1/websocket/${sid}`);
    const frames: string[] = [];
    const waiters: (() => void)[] = [];
    ws.on('message', (d) => (frames.push(d.toString()), waiters.splice(0).forEach((w) => w())));
    const frame = async (pred: (f: string) => boolean): Promise<string> => {
      for (let i = 0; i < 100; i++) {
        const f = frames.find(pred);
        if (f) return (frames.splice(frames.indexOf(f), 1), f);
        await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 50)));
      }
      throw new Error(`no such frame; got ${frames.join(' | ')}`);
    };
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    assert.equal(await frame((f) => f.startsWith('1::')), '1::');
    const send = (id: number, params: unknown) =>
      ws.send(`5:::${JSON.stringify({ name: 'call', args: [{ idm: id, params }] })}`);
    const event = async (name: string, id?: number) =>
      JSON.parse(
        (
          await frame(
            (f) =>
              f.startsWith('5:::') &&
              JSON.parse(f.slice(4)).name === name &&
              (id === undefined || JSON.parse(f.slice(4)).args[0].idm === id),
          )
        ).slice(4),
      ).args[0];
    send(1, { obj: 'ServiceDirectory', member: 'service', args: ['Demo'] });
    const d = (await event('reply', 1)).result;
    send(2, { obj: d.pyobject, member: 'pinged', args: ['connect'] });
    const link = (await event('reply', 2)).result;
    // Two packets in one frame, as a 0.9 client sends its buffer.
    const p1 = `5:::${JSON.stringify({ name: 'call', args: [{ idm: 3, params: { obj: d.pyobject, member: 'ping', args: ['from 0.9'] } }] })}`;
    ws.send(`\ufffd${p1.length}\ufffd${p1}\ufffd3\ufffd2::`);
    assert.deepEqual((await event('signal')).result, {
      obj: d.pyobject,
      signal: 'pinged',
      data: ['from 0.9', pings],
      link,
    });
    send(4, { obj: 'ServiceDirectory', member: 'service', args: ['Nope'] });
    assert.match((await event('error', 4)).result, /Cannot find service 'Nope'/);
    ws.send('0::');
    await new Promise((r) => ws.once('close', r));
    // A session id is good for one connection only.
    const again = new WebSocket(`${base.replace(/^http/, 'ws')}/libs/qimessaging/2/socket.io/1/websocket/${sid}`);
    await assert.rejects(new Promise((r, j) => (again.once('open', r), again.once('error', j))), /400/);
  });
});

describe('classic qimessaging.js: origins and an unreachable robot', () => {
  it('refuses pages of other origins when origins are given, and reports a qi side it cannot reach', async () => {
    const handler = classicQiSession({ url: 'tcp://127.0.0.1:1', origins: ['http://tablet.example'] });
    const server = http.createServer((req, res) => handler.request(req, res) || res.writeHead(404).end());
    server.on('upgrade', (req, socket, head) => handler.upgrade(req, socket, head) || socket.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const status = (path: string, origin: string) =>
        new Promise<number>((resolve, reject) =>
          http
            .get(at + path, { headers: { origin } }, (res) => (res.resume(), resolve(res.statusCode!)))
            .on('error', reject),
        );
      assert.equal(await status('/libs/qimessaging/2/socket.io/?EIO=4&transport=polling', 'http://evil.example'), 403);
      assert.equal(await status('/libs/qimessaging/2/socket.io/1/?t=1', 'http://evil.example'), 403);
      assert.equal(
        await status('/libs/qimessaging/2/socket.io/?EIO=4&transport=polling', 'http://tablet.example'),
        200,
      );
      assert.equal(await status('/libs/qimessaging/2/socket.io/1/?t=1', 'http://tablet.example'), 200);
      const s = io(at, {
        path: '/libs/qimessaging/2/socket.io',
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        extraHeaders: { origin: 'http://tablet.example' },
      });
      sockets.push(s);
      const gone = new Promise((r) => s.once('disconnect', r));
      await assert.rejects(
        call(s, { obj: 'ServiceDirectory', member: 'service', args: ['Calculator'] }),
        (e: Error) =>
          /^Cannot reach the robot's services: they do not answer \(ECONNREFUSED\)/.test(e.message) &&
          !e.message.includes('127.0.0.1:1'),
      );
      await gone;
    } finally {
      await handler.close();
      server.close();
    }
  });
});
