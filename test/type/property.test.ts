/**
 * Property tests of the type layer: signatures print back as parsed, values survive an encode/decode round
 * trip, re-encoding a decoded value gives the same bytes, and a value that does not fit names the exact
 * path of the part that does not fit. Generated with fast-check from a fixed seed (reproducible runs).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Dynamic,
  QiDecodeError,
  QiValueError,
  compile,
  decode,
  encode,
  parseSignature,
  printSignature,
  type Signature,
} from '../../src/index.js';
import { encodeMessage, parseMessages } from '../../src/wire.js';
import { normalize, show, sigValueArb, signatureArb } from '../helpers/arbitraries.js';

const SEED = 20240611;
const params = (numRuns: number) => ({ seed: SEED, numRuns });

describe('signature properties', () => {
  it('printSignature(parseSignature(s)) === s, and the AST survives, for generated signatures', () => {
    fc.assert(
      fc.property(signatureArb({ parseOnly: true, maxDepth: 5 }), (ast) => {
        const text = printSignature(ast);
        const parsed = parseSignature(text);
        assert.equal(printSignature(parsed), text);
        assert.deepEqual(parsed, ast, text);
      }),
      params(5000),
    );
  });
});

describe('codec round trip', () => {
  it('decode(encode(v)) equals v', () => {
    fc.assert(
      fc.property(sigValueArb(), ({ text, value }) => {
        const bytes = encode(text, value);
        const back = decode(text, bytes);
        assert.deepEqual(normalize(text, back), normalize(text, value), `${text} ${show(value)}`);
      }),
      params(2500),
    );
  });

  it('encode(decode(encode(v))) is byte-identical to encode(v)', () => {
    fc.assert(
      fc.property(sigValueArb(), ({ text, value }) => {
        const bytes = Buffer.from(encode(text, value));
        const again = encode(text, decode(text, bytes));
        assert.equal(again.toString('hex'), bytes.toString('hex'), text);
      }),
      params(2500),
    );
  });

  it('a dynamic holding the value decodes to the same value and signature', () => {
    fc.assert(
      fc.property(sigValueArb({ objects: false, large: false }), ({ text, value }) => {
        const d = decode<Dynamic>('m', encode('m', new Dynamic(text, value)));
        assert.equal(d.signature, text);
        assert.deepEqual(normalize(text, d.value), normalize(text, value));
      }),
      params(600),
    );
  });

  it('trailing bytes: rejected at the right offset, or ignored with allowTrailing', () => {
    fc.assert(
      fc.property(
        sigValueArb({ large: false }),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        ({ text, value }, junk) => {
          const bytes = encode(text, value);
          const padded = Buffer.concat([bytes, junk]);
          assert.deepEqual(normalize(text, decode(text, padded, { allowTrailing: true })), normalize(text, value));
          assert.throws(
            () => decode(text, padded),
            (e: unknown) => e instanceof QiDecodeError && e.offset === bytes.length,
          );
        },
      ),
      params(600),
    );
  });

  it('compile(sig).write inside a message gives the same payload as encode', () => {
    fc.assert(
      fc.property(sigValueArb({ large: false }), ({ text, value }) => {
        const msg = Buffer.concat(
          encodeMessage({ id: 1, type: 1, service: 2, object: 3, action: 4 }, compile(text), value),
        );
        const [m] = parseMessages(msg);
        assert.equal(m.payload.toString('hex'), encode(text, value).toString('hex'));
      }),
      params(300),
    );
  });
});

describe('map key order', () => {
  it('integer keys go on the wire in ascending order whatever the insertion order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer(), { maxLength: 8 }), (keys) => {
        const back = decode<Map<number, number>>('{ii}', encode('{ii}', new Map(keys.map((k) => [k, 0]))));
        assert.deepEqual(
          [...back.keys()],
          [...keys].sort((a, b) => a - b),
        );
      }),
      params(300),
    );
  });

  // libqi's std::map<std::string, T> orders keys by their bytes (UTF-8); JS `<` compares UTF-16 code
  // units, which differs once a key holds a character above U+FFFF and another one in U+E000..U+FFFF.
  it('string keys go on the wire in libqi (UTF-8 byte) order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 3 }), { maxLength: 6 }), (keys) => {
        const back = decode<Map<string, number>>('{si}', encode('{si}', new Map(keys.map((k) => [k, 0]))));
        const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.deepEqual([...back.keys()], byBytes);
      }),
      { ...params(500), examples: [[['\uffff', '\u{10000}']]] },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Values that do not fit: mutate one part to a wrong JS type, expect a QiValueError naming its path.
// ---------------------------------------------------------------------------------------------------

/** A JS value of the wrong type for `sig` (never accepted by the encoder). */
function wrongValue(sig: Signature): unknown {
  switch (sig.kind) {
    case 'bool':
      return 1;
    case 'string':
      return 42;
    case 'dynamic':
      return Symbol('not a qi value');
    case 'optional':
      return wrongValue(sig.element); // null is a valid optional; the element must reject it
    default:
      return 'oops';
  }
}

/** Map key step as documented: strings JSON-quoted, numbers and bigints as digits, other keys `<key>`. */
function keyStep(k: unknown): string {
  if (typeof k === 'string') return `[${JSON.stringify(k)}]`;
  if (typeof k === 'number' || typeof k === 'bigint') return `[${k}]`;
  return '[<key>]';
}

const fieldStep = (f: string) => (/^[A-Za-z_$][\w$]*$/.test(f) ? `.${f}` : `[${JSON.stringify(f)}]`);

/** A deep copy of the containers of a value (arrays, maps, structs, dynamics), so sites can mutate it. */
function clone(sig: Signature, v: unknown): unknown {
  switch (sig.kind) {
    case 'list':
    case 'varargs':
      return Array.from(v as unknown[], (x) => clone(sig.element, x));
    case 'map':
      return new Map([...(v as Map<unknown, unknown>)].map(([k, x]) => [k, clone(sig.value, x)]));
    case 'tuple': {
      if (sig.fields === undefined) return (v as unknown[]).map((x, i) => clone(sig.members[i], x));
      const o: Record<string, unknown> = {};
      sig.fields.forEach((f, i) =>
        Object.defineProperty(o, f, {
          value: clone(sig.members[i], (v as Record<string, unknown>)[f]),
          enumerable: true,
          writable: true,
          configurable: true,
        }),
      );
      return o;
    }
    case 'optional':
      return v === null || v === undefined ? v : clone(sig.element, v);
    case 'dynamic':
      return v instanceof Dynamic
        ? new Dynamic(v.signature, v.signature === '' ? undefined : clone(parseSignature(v.signature), v.value))
        : v;
    default:
      return v;
  }
}

interface Site {
  path: string;
  apply(): void;
}

/** Every place of `v` that can be replaced by a wrong value, with the error path the encoder must report. */
function sites(sig: Signature, v: unknown, path: string, set: (x: unknown) => void, out: Site[]): void {
  out.push({ path, apply: () => set(wrongValue(sig)) });
  switch (sig.kind) {
    case 'list':
    case 'varargs': {
      const a = v as unknown[];
      a.forEach((x, i) => sites(sig.element, x, `${path}[${i}]`, (y) => (a[i] = y), out));
      break;
    }
    case 'map': {
      const m = v as Map<unknown, unknown>;
      const keys = [...m.keys()];
      keys.forEach((k, i) => {
        const bad = wrongValue(sig.key);
        out.push({
          path: `${path}${keyStep(bad)}<key>`,
          apply() {
            const entries = [...m];
            entries[i] = [bad, entries[i][1]];
            m.clear();
            for (const [a, b] of entries) m.set(a, b);
          },
        });
        sites(sig.value, m.get(k), `${path}${keyStep(k)}`, (y) => m.set(k, y), out);
      });
      break;
    }
    case 'tuple':
      if (sig.fields === undefined) {
        const a = v as unknown[];
        sig.members.forEach((t, i) => sites(t, a[i], `${path}[${i}]`, (y) => (a[i] = y), out));
      } else {
        const o = v as Record<string, unknown>;
        sig.fields.forEach((f, i) =>
          sites(sig.members[i], o[f], `${path}${fieldStep(f)}`, (y) => Object.defineProperty(o, f, { value: y }), out),
        );
      }
      break;
    case 'optional':
      if (v !== null && v !== undefined) {
        // The element's own sites, minus its top one (already covered by the optional's).
        const inner: Site[] = [];
        sites(sig.element, v, path, set, inner);
        out.push(...inner.slice(1));
      }
      break;
    case 'dynamic':
      if (v instanceof Dynamic && v.signature !== '') {
        const d = v as { value: unknown };
        sites(parseSignature(v.signature), v.value, path, (y) => (d.value = y), out);
      }
      break;
    default:
  }
}

describe('values that do not fit', () => {
  it('a wrong JS type anywhere in a value throws QiValueError whose path names that part', () => {
    fc.assert(
      fc.property(sigValueArb({ large: false }), fc.nat(), ({ sig, text, value }, pick) => {
        const box = { root: clone(sig, value) };
        const all: Site[] = [];
        sites(sig, box.root, '', (y) => (box.root = y), all);
        const site = all[pick % all.length];
        site.apply();
        assert.throws(
          () => encode(text, box.root),
          (e: unknown) => {
            assert.ok(e instanceof QiValueError, `expected a QiValueError, got ${e}`);
            assert.equal(e.code, 'ERR_QI_VALUE');
            assert.equal(e.path, site.path, `${text}: ${e.message}`);
            assert.equal(e.where, `value${site.path}`);
            return true;
          },
          `${text}: encoding with a wrong value at ${site.path} did not throw`,
        );
      }),
      params(3000),
    );
  });

  it('a cyclic value held by dynamics is a QiValueError, not a stack overflow', () => {
    const list: unknown[] = [];
    const d = new Dynamic('[m]', list);
    list.push(d);
    assert.throws(() => encode('m', d), QiValueError);
  });

  it('a dynamic with a malformed signature is a QiValueError naming its path', () => {
    assert.throws(
      () => encode('[m]', [1, new Dynamic('zz', 1)]),
      (e: unknown) => e instanceof QiValueError && e.where === 'value[1]',
    );
  });

  it('a missing struct field named like an Object.prototype member is reported missing', () => {
    assert.throws(
      () => encode('(m)<S,__proto__>', {}),
      (e: unknown) => e instanceof QiValueError && /missing field/.test(e.message),
    );
  });

  it('the root name given to encode leads the path', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 5 }), fc.nat(), (xs, k) => {
        const i = k % xs.length;
        const bad: unknown[] = [...xs];
        bad[i] = 'x';
        assert.throws(
          () => encode('[i]', bad, { name: 'args' }),
          (e: unknown) => e instanceof QiValueError && e.where === `args[${i}]`,
        );
      }),
      params(50),
    );
  });
});
