/**
 * The wire form of the log service against libqicore's declarations (qicore/logmessage.hpp,
 * logmanager.hpp, loglistener.hpp): the LogMessage struct's signature and bytes, the members and
 * signatures of LogManager and LogListener, and listeners that live as long as their connection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LogListenerDefinition,
  LogManager,
  LogManagerDefinition,
  LogMessage,
  Session,
  encode,
  listenStandalone,
  serveLogManager,
  type AnyProxy,
  type LogRecord,
} from '../../src/index.js';
import { ObjectType } from '../../src/wire.js';
import { MAX_FILTERS } from '../../src/log/index.js';

const members = (def: Parameters<typeof ObjectType.of>[0]) => {
  const meta = ObjectType.of(def).metaObject;
  return {
    methods: [...meta.methods.values()]
      .filter((m) => m.uid >= 100)
      .map((m) => `${m.name}${m.parametersSignature}${m.returnSignature}`),
    signals: [...meta.signals.values()].filter((s) => s.uid >= 100).map((s) => `${s.name}${s.signature}`),
    properties: [...meta.properties.values()].map((p) => `${p.name}:${p.signature}`),
  };
};

const MSG = '(sisssILL)<LogMessage,source,level,category,location,message,id,date,systemDate>';

describe('log service wire form (libqicore)', () => {
  it('LogMessage is (source, level, category, location, message, id, date, systemDate): sisssILL', () => {
    assert.equal(LogMessage.signature, MSG);
  });

  it('encodes a record field by field as libqi does (strings length-prefixed, little-endian integers)', () => {
    const record: LogRecord = {
      source: 'f.cpp:main:3',
      level: 3,
      category: 'a.b',
      location: 'm:42',
      message: 'hi',
      id: 7,
      date: 5n,
      systemDate: 1_764_000_000_123_456_789n,
    };
    const str = (s: string) => Buffer.concat([Buffer.from([s.length, 0, 0, 0]), Buffer.from(s)]);
    const u64 = (n: bigint) => ((b) => (b.writeBigUInt64LE(n), b))(Buffer.alloc(8));
    const expected = Buffer.concat([
      str('f.cpp:main:3'),
      Buffer.from([3, 0, 0, 0]),
      str('a.b'),
      str('m:42'),
      str('hi'),
      Buffer.from([7, 0, 0, 0]),
      u64(5n),
      u64(1_764_000_000_123_456_789n),
    ]);
    assert.deepEqual(encode(LogMessage.signature, record), expected);
  });

  it("LogManager and LogListener have libqicore's members and signatures", () => {
    assert.deepEqual(members(LogManagerDefinition), {
      methods: [`log([${MSG}])v`, 'createListener()o', 'getListener()o', 'addProvider(o)i', 'removeProvider(i)v'],
      signals: [],
      properties: [],
    });
    assert.deepEqual(members(LogListenerDefinition), {
      methods: ['setLevel(i)v', 'addFilter(si)v', 'clearFilters()v'],
      signals: [`onLogMessage(${MSG})`, `onLogMessages([${MSG}])`, `onLogMessagesWithBacklog([${MSG}])`, 'logLevel(i)'],
      properties: ['logLevel:i'],
    });
  });
});

describe('LogManager over a connection', () => {
  it('hands a listener the records that pass its level and filters, and forgets it when its connection closes', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0');
    const manager = await serveLogManager(sd);
    const client = await Session.connect(sd.endpoints[0], { lpc: false }); // over the socket, as another process would
    try {
      const lm = await client.service('LogManager');
      const listener = (await lm.createListener()) as AnyProxy;
      assert.equal(manager.listenerCount, 1);
      await listener.setLevel(2);
      await listener.addFilter('loud.*', 6);
      assert.equal(await listener.logLevel.get(), 2);
      const got: LogRecord[] = [];
      const batches: number[] = [];
      await listener.onLogMessage.connect((r) => void got.push(r as LogRecord));
      await listener.onLogMessages.connect((b) => void batches.push((b as LogRecord[]).length));
      const rec = (level: number, category: string, message: string): LogRecord => ({
        source: 's',
        level,
        category,
        location: 'x:1',
        message,
        id: 0,
        date: 1n,
        systemDate: 2n,
      });
      await lm.log([
        rec(4, 'quiet', 'info, hidden'),
        rec(2, 'quiet', 'error, shown'),
        rec(6, 'loud.x', 'debug of a filtered category, shown'),
        rec(0, 'loud.x', 'silent, never shown'),
      ]);
      const deadline = Date.now() + 5000;
      while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(
        got.map((r) => r.message),
        ['error, shown', 'debug of a filtered category, shown'],
      );
      assert.equal(got[0].systemDate, 2n);
      assert.deepEqual(batches, [2]);
      await listener.clearFilters();
      await assert.rejects(async () => {
        for (let i = 0; i <= MAX_FILTERS; i++) await listener.addFilter(`c${i}`, 4);
      }, /too many log filters \(at most 256\): call clearFilters\(\)/);
    } finally {
      await client.close();
    }
    const deadline = Date.now() + 5000;
    while (manager.listenerCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(manager.listenerCount, 0, 'the listener of a closed connection is forgotten');
    await sd.close();
  });

  it('refuses listeners beyond maxListeners, saying what to do', async () => {
    const m = new LogManager({ maxListeners: 1 });
    const ctx = { signal: new AbortController().signal, caller: 'local' };
    await m.object.invoke(m.object.type.methodsByName.get('createListener')![0].uid, [], ctx);
    await assert.rejects(
      m.object.invoke(m.object.type.methodsByName.get('createListener')![0].uid, [], ctx),
      /too many log listeners \(at most 1\): close other log viewers/,
    );
  });
});
