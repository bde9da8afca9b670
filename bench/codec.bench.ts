/**
 * Codec benchmark: qi `compile(sig).encode/decode` against msgpackr and JSON on the same logical data.
 * Run with `npm run bench`. See bench/README.md for how to read the table.
 *
 * Equivalent forms (built once, outside the timed code):
 * - JSON: Map -> plain object (keys become strings), bigint -> number (none in these data sets),
 *   Dynamic -> its plain value, struct -> plain object. JSON.parse therefore gives plain objects, not
 *   Maps. Raw bytes (`r`) are the exception: JSON cannot carry bytes, so for the raw rows the JSON
 *   codec INCLUDES the conversion: encode = JSON.stringify(buf.toString('base64')), decode =
 *   Buffer.from(JSON.parse(text), 'base64').
 * - msgpackr: the very same JS values the qi codec gets (Maps, struct objects, Buffers, arrays).
 *   Two Packr instances, both with `useRecords: false` (no msgpackr record extension, i.e. plain
 *   msgpack, like qi sends no schema either):
 *     mpMap = { useRecords: false, mapsAsObjects: false } for the data with Maps (MetaObject, {sm}):
 *             msgpack maps decode to Map, as qi does. It cannot tell structs from maps, so the
 *             MetaObject's struct members come back as Maps too (a bit more work than qi's objects).
 *     mpObj = { useRecords: false } (mapsAsObjects true) for the data without Maps (ServiceInfo,
 *             raw, int list): structs decode to plain objects, as qi does.
 *   Raw decode in msgpackr returns a subarray (no copy), like qi.
 */
import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { Packr, isNativeAccelerationEnabled } from 'msgpackr';
import { compile, Dynamic, type Codec } from '../src/index.js';
import { METAOBJECT_SIGNATURE } from '../src/wire.js';
import { DEFAULTS, flag, measure, type Result } from './harness.js';

// ---------------------------------------------------------------------------------------------
// Deterministic data

let seed = 0x2545f491;
function rand(): number {
  // xorshift32
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
}
const randInt = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[randInt(0, 15)]).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[randInt(0, 3)]}${hex(3)}-${hex(12)}`;
const ascii = (n: number) => Array.from({ length: n }, () => String.fromCharCode(randInt(0x21, 0x7e))).join('');

const SERVICE_NAMES = [
  'ServiceDirectory',
  'LogManager',
  'PackageManager',
  'ALMemory',
  'ALMotion',
  'ALTextToSpeech',
  'ALAnimatedSpeech',
  'ALAudioDevice',
  'ALAudioPlayer',
  'ALVideoDevice',
  'ALRobotPosture',
  'ALLeds',
  'ALBattery',
  'ALBodyTemperature',
  'ALAutonomousLife',
  'ALBasicAwareness',
  'ALDialog',
  'ALSpeechRecognition',
  'ALTracker',
  'ALNavigation',
  'ALBehaviorManager',
  'ALConnectionManager',
  'ALPreferenceManager',
  'ALResourceManager',
  'ALSystem',
  'ALTabletService',
  'ALTouch',
  'ALSonar',
  'ALPeoplePerception',
  'ALFaceDetection',
  'ALMood',
  'ALUserSession',
];
const SERVICE_INFO_SIG = '[(sIsI[s]ss)<ServiceInfo,name,serviceId,machineId,processId,endpoints,sessionId,objectUid>]';

interface ServiceInfo {
  name: string;
  serviceId: number;
  machineId: string;
  processId: number;
  endpoints: string[];
  sessionId: string;
  objectUid: string;
}
function serviceInfos(n: number): ServiceInfo[] {
  const machineId = uuid();
  return Array.from({ length: n }, (_, i) => ({
    name:
      i < SERVICE_NAMES.length
        ? SERVICE_NAMES[i]
        : `com.aldebaran.app${i}.${pick(['Planner', 'Monitor', 'Bridge', 'Store'])}Service`,
    serviceId: i + 1,
    machineId,
    processId: randInt(900, 32000),
    endpoints: ['tcp://198.18.0.1:9559', `tcp://192.168.1.${randInt(2, 254)}:${randInt(30000, 60000)}`],
    sessionId: uuid(),
    objectUid: ascii(20),
  }));
}

const WORDS =
  'the robot moves its head arm joint to a target angle speed fraction using stiffness and returns when the motion is done or interrupted by a new command value sensor memory key event'.split(
    ' ',
  );
const sentence = (lo: number, hi: number) => {
  const s = Array.from({ length: randInt(lo, hi) }, () => pick(WORDS)).join(' ');
  return s[0].toUpperCase() + s.slice(1) + '.';
};
const ident = () =>
  pick(WORDS) + pick(WORDS)[0].toUpperCase() + pick(WORDS).slice(1) + (randInt(0, 3) === 0 ? 'Async' : '');
const SIG_PIECES = ['s', 'i', 'f', 'd', 'b', 'm', '[s]', '[f]', '{sm}', 'I', 'L', '(ff)'];

function metaObject() {
  const methods = new Map<number, unknown>();
  const STANDARD = [
    'registerEvent',
    'unregisterEvent',
    'metaObject',
    'terminate',
    'property',
    'setProperty',
    'properties',
    'registerEventWithSignature',
    'isStatsEnabled',
    'enableStats',
  ];
  for (let k = 0; k < 40; k++) {
    const uid = k < STANDARD.length ? k : 100 + k;
    const nParams = randInt(0, 4);
    const params = Array.from({ length: nParams }, () => pick(SIG_PIECES));
    methods.set(uid, {
      uid,
      returnSignature: pick(['v', 's', 'b', 'm', 'i', '[s]', 'L']),
      name: k < STANDARD.length ? STANDARD[k] : ident(),
      parametersSignature: `(${params.join('')})`,
      description: sentence(6, 16),
      parameters: params.map(() => ({ name: ident(), description: sentence(3, 10) })),
      returnDescription: sentence(2, 8),
    });
  }
  const signals = new Map<number, unknown>();
  for (let k = 0; k < 10; k++)
    signals.set(200 + k, { uid: 200 + k, name: `${ident()}Changed`, signature: `(${pick(SIG_PIECES)})` });
  const properties = new Map<number, unknown>();
  for (let k = 0; k < 5; k++) properties.set(300 + k, { uid: 300 + k, name: ident(), signature: pick(SIG_PIECES) });
  return { methods, signals, properties, description: sentence(10, 20) };
}

function rawBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE((rand() * 0x1_0000_0000) >>> 0, i);
  return b;
}

/** ALMemory-like map, keys in ascending order (as libqi sends them). Values: int32, string, non-integer double, bool. */
function memoryMap(n: number): Map<string, unknown> {
  const joints = [
    'HeadYaw',
    'HeadPitch',
    'LShoulderPitch',
    'LShoulderRoll',
    'LElbowYaw',
    'LElbowRoll',
    'LWristYaw',
    'LHand',
    'RShoulderPitch',
    'RShoulderRoll',
    'RElbowYaw',
    'RElbowRoll',
    'RWristYaw',
    'RHand',
    'HipRoll',
    'HipPitch',
    'KneePitch',
  ];
  const entries: [string, unknown][] = [];
  for (let i = 0; i < n; i++) {
    const j = joints[i % joints.length];
    switch (i % 4) {
      case 0:
        entries.push([`Device/SubDeviceList/${j}/Position/Sensor/Value#${i}`, (rand() - 0.5) * 4]);
        break;
      case 1:
        entries.push([`Device/SubDeviceList/${j}/Temperature/Sensor/Value#${i}`, randInt(-2_000_000, 2_000_000)]);
        break;
      case 2:
        entries.push([`Device/SubDeviceList/${j}/Hardness/Actuator/Name#${i}`, `${j} ${sentence(1, 4)}`]);
        break;
      default:
        entries.push([`Device/SubDeviceList/${j}/Fault/Sensor/Active#${i}`, rand() < 0.5]);
    }
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return new Map(entries);
}

/** The JSON-equivalent form (see the header comment). */
function toJsonForm(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJsonForm(x)]));
  if (v instanceof Dynamic) return toJsonForm(v.value);
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v)) return v.map(toJsonForm);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonForm(x)]));
  return v;
}

// ---------------------------------------------------------------------------------------------
// Cases

const mpMap = new Packr({ useRecords: false, mapsAsObjects: false });
const mpObj = new Packr({ useRecords: false });

interface Lib {
  enc: () => unknown;
  dec: () => unknown;
  size: number;
}
interface Case {
  name: string;
  qiSize: number;
  ops: ('encode' | 'decode')[];
  libs: [qi: Lib, msgpackr: Lib, json: Lib];
}

function structured(
  name: string,
  sig: string,
  value: unknown,
  mp: Packr,
  check: (c: Codec, bytes: Buffer) => void,
): Case {
  const codec = compile(sig);
  const qiBytes = codec.encode(value);
  check(codec, qiBytes);
  const mpBytes = mp.pack(value);
  const json = toJsonForm(value);
  const jsonText = JSON.stringify(json);
  assert.deepEqual(JSON.parse(jsonText), json);
  return {
    name,
    qiSize: qiBytes.length,
    ops: ['encode', 'decode'],
    libs: [
      { enc: () => codec.encode(value), dec: () => codec.decode(qiBytes), size: qiBytes.length },
      { enc: () => mp.pack(value), dec: () => mp.unpack(mpBytes), size: mpBytes.length },
      { enc: () => JSON.stringify(json), dec: () => JSON.parse(jsonText), size: Buffer.byteLength(jsonText) },
    ],
  };
}

function rawCase(label: string, n: number, ops: Case['ops']): Case {
  const codec = compile('r');
  const value = rawBytes(n);
  const qiBytes = codec.encode(value);
  const back = codec.decode(qiBytes) as Buffer;
  assert.ok(back.equals(value));
  assert.equal(back.buffer, qiBytes.buffer, 'raw decode must be a view, not a copy');
  const mpBytes = mpObj.pack(value);
  assert.ok((mpObj.unpack(mpBytes) as Buffer).equals(value));
  const jsonText = JSON.stringify(value.toString('base64'));
  return {
    name: `raw r ${label}`,
    qiSize: qiBytes.length,
    ops,
    libs: [
      { enc: () => codec.encode(value), dec: () => codec.decode(qiBytes), size: qiBytes.length },
      { enc: () => mpObj.pack(value), dec: () => mpObj.unpack(mpBytes), size: mpBytes.length },
      {
        enc: () => JSON.stringify(value.toString('base64')),
        dec: () => Buffer.from(JSON.parse(jsonText) as string, 'base64'),
        size: Buffer.byteLength(jsonText),
      },
    ],
  };
}

function buildCases(only?: string): Case[] {
  const infos = serviceInfos(100);
  const meta = metaObject();
  const ints = Array.from({ length: 10_000 }, () => randInt(-2_147_483_648, 2_147_483_647));
  const mem = memoryMap(100);
  const all: [string, () => Case][] = [
    [
      'services',
      () =>
        structured('100 ServiceInfo', SERVICE_INFO_SIG, infos, mpObj, (c, b) => assert.deepEqual(c.decode(b), infos)),
    ],
    [
      'meta',
      () =>
        structured('MetaObject 40/10/5', METAOBJECT_SIGNATURE, meta, mpMap, (c, b) =>
          assert.deepEqual(c.decode(b), meta),
        ),
    ],
    ['raw', () => rawCase('1 MiB', 1 << 20, ['encode', 'decode'])],
    ['raw64k', () => rawCase('64 KiB', 64 << 10, ['decode'])],
    ['raw16m', () => rawCase('16 MiB', 16 << 20, ['decode'])],
    ['ints', () => structured('[i] x 10k', '[i]', ints, mpObj, (c, b) => assert.deepEqual(c.decode(b), ints))],
    [
      'map',
      () =>
        structured('{sm} x 100', '{sm}', mem, mpMap, (c, b) => {
          const d = c.decode(b) as Map<string, Dynamic>;
          assert.deepEqual(
            [...d].map(([k, x]) => [k, x.value]),
            [...mem],
          );
          assert.ok(c.encode(d).equals(b));
        }),
    ],
  ];
  return all.filter(([k]) => only === undefined || only.split(',').includes(k)).map(([, f]) => f());
}

// ---------------------------------------------------------------------------------------------
// Run and print

function msgpackrNative(): string {
  let loadable = false;
  try {
    createRequire(import.meta.url)('msgpackr-extract');
    loadable = true;
  } catch {
    /* optional */
  }
  const disabled = process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED?.toLowerCase() === 'true';
  return isNativeAccelerationEnabled
    ? 'msgpackr: native addon msgpackr-extract LOADED (string extraction in unpack is native)'
    : `msgpackr: native addon msgpackr-extract NOT loaded (${disabled ? 'disabled by env' : loadable ? 'loadable but not enabled' : 'not installed/loadable'}): pure-JS unpack`;
}

const fmtOps = (x: number) =>
  x >= 1e6
    ? `${(x / 1e6).toFixed(2)}M`
    : x >= 1e4
      ? `${(x / 1e3).toFixed(1)}k`
      : x >= 100
        ? x.toFixed(0)
        : x.toFixed(1);
const fmtMB = (x: number) => (x >= 1e5 ? x.toExponential(1).replace('+', '') : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmtRatio = (x: number) => (x >= 100 ? `${x.toFixed(0)}x` : `${x.toFixed(2)}x`);
const pad = (s: string, n: number) => s.padStart(n);

/**
 * Profiling aid: `node --cpu-prof dist/bench/codec.bench.js <case> --qi-only=decode|encode` runs only
 * the qi side of that case for ~3 s, so the profile shows nothing but the codec.
 */
function qiOnly(only: string | undefined, op: string): void {
  const [c] = buildCases(only);
  const fn = op === 'encode' ? c.libs[0].enc : c.libs[0].dec;
  const [r] = measure([fn], { warmupMs: 200, rounds: 1, roundMs: 3000 });
  console.log(`${c.name} qi ${op}: ${fmtOps(r.opsPerSec)} ops/s`);
}

function main(): void {
  const only = process.argv[2]?.startsWith('--') ? undefined : process.argv[2];
  const qiOnlyOp = flag('qi-only');
  if (qiOnlyOp !== undefined) return qiOnly(only, qiOnlyOp);
  const t0 = Date.now();
  console.log(`node ${process.version} (${process.platform}/${process.arch}, V8 ${process.versions.v8})`);
  console.log(msgpackrNative());
  console.log(
    `method: per row, ${DEFAULTS.warmupMs} ms warm-up each, then ${DEFAULTS.rounds} interleaved rounds x ${DEFAULTS.roundMs} ms; MEDIAN ops/s.`,
  );
  console.log(
    'MB/s = ops/s x qi encoded size / 1e6 for all three (same logical work). ratio = qi ops/s / other ops/s (>1: qi faster).',
  );
  const cases = buildCases(only);

  console.log('\nencoded sizes (bytes)');
  console.log(`${'case'.padEnd(20)}${pad('qi', 11)}${pad('msgpackr', 11)}${pad('JSON', 11)}`);
  for (const c of cases) console.log(`${c.name.padEnd(20)}${c.libs.map((l) => pad(String(l.size), 11)).join('')}`);

  console.log('');
  const head = `${'case'.padEnd(20)}${'op'.padEnd(7)}${pad('qi ops/s', 9)}${pad('MB/s', 7)}${pad('spr', 5)} |${pad('mp ops/s', 9)}${pad('MB/s', 7)} |${pad('JSON ops/s', 11)}${pad('MB/s', 7)} |${pad('qi/mp', 8)}${pad('qi/JSON', 9)}`;
  console.log(head);
  console.log('-'.repeat(head.length));
  const slower: string[] = [];
  const rawDecodeNs: [string, number][] = [];
  let worstSpread = 0;
  for (const c of cases) {
    for (const op of c.ops) {
      const res: Result[] = measure(c.libs.map((l) => (op === 'encode' ? l.enc : l.dec)));
      const [q, m, j] = res;
      worstSpread = Math.max(worstSpread, ...res.map((r) => r.spread));
      const mb = (r: Result) => fmtMB((r.opsPerSec * c.qiSize) / 1e6);
      console.log(
        `${c.name.padEnd(20)}${op.padEnd(7)}${pad(fmtOps(q.opsPerSec), 9)}${pad(mb(q), 7)}${pad(`${Math.round(q.spread * 100)}%`, 5)} |` +
          `${pad(fmtOps(m.opsPerSec), 9)}${pad(mb(m), 7)} |${pad(fmtOps(j.opsPerSec), 11)}${pad(mb(j), 7)} |` +
          `${pad(fmtRatio(q.opsPerSec / m.opsPerSec), 8)}${pad(fmtRatio(q.opsPerSec / j.opsPerSec), 9)}`,
      );
      if (op === 'decode' && q.opsPerSec < m.opsPerSec)
        slower.push(`${c.name} decode (qi/mp ${fmtRatio(q.opsPerSec / m.opsPerSec)})`);
      if (op === 'decode' && c.name.startsWith('raw')) rawDecodeNs.push([c.name.slice(6), q.nsPerOp]);
    }
  }
  console.log('-'.repeat(head.length));
  console.log(`spr = (max-min)/median of qi's rounds; worst spread over all cells: ${Math.round(worstSpread * 100)}%`);
  if (rawDecodeNs.length > 1) {
    const [, base] = rawDecodeNs.reduce((a, b) => (a[1] < b[1] ? a : b));
    console.log(
      `qi raw decode ns/op: ${rawDecodeNs.map(([k, ns]) => `${k} ${ns.toFixed(0)}`).join(', ')} (max/min ${(Math.max(...rawDecodeNs.map((x) => x[1])) / base).toFixed(2)}: zero copy, O(1) in size)`,
    );
  }
  console.log(
    slower.length
      ? `qi decode slower than msgpackr unpack: ${slower.join('; ')}`
      : 'qi decode is not slower than msgpackr unpack in any row',
  );
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main();
