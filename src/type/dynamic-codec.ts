/**
 * Dynamic values (`m`): a signature string, then a value of that signature. Decoding keeps the
 * signature (a {@link Dynamic}); encoding infers one for plain JS values.
 */
import { compileNode } from './codec.js';
import { SignatureCache } from './signature-cache.js';
import { inferSignature } from './infer.js';
import { SCALAR_NODES, type Node } from './node.js';
import { QiValueError } from './errors.js';
import { MAX_NESTING_DEPTH, QiSignatureError, parseSignature, type Signature } from './signature.js';
import { Dynamic } from './value.js';

/** One-character scalar signatures by character code, for the dynamic fast path (void excluded: it is a constant). */
const SCALAR_DYNAMICS: ({ signature: string; node: Node } | undefined)[] = [];
for (const c of 'bcCwWiIlLfdsr') SCALAR_DYNAMICS[c.charCodeAt(0)] = { signature: c, node: SCALAR_NODES[c] };

export const dynamicNode: Node = {
  min: 4,
  write(w, v) {
    let sig: string;
    let value: unknown;
    if (v instanceof Dynamic) {
      sig = v.signature;
      value = v.value;
    } else {
      sig = inferSignature(v);
      value = v;
    }
    if (sig.length === 1) {
      // Scalars are most dynamics (capability maps, ALMemory values): skip the lookup and the string codec.
      const leaf = SCALAR_NODES[sig];
      if (leaf !== undefined) {
        w.ensure(5);
        w.u32(1);
        w.u8(sig.charCodeAt(0));
        return leaf.write(w, value);
      }
    }
    if (sig === '') return w.u32(0);
    let node: Node;
    try {
      node = compileNode(sig);
    } catch (e) {
      const why = e instanceof QiSignatureError ? `${e.expected} at position ${e.position}` : (e as Error).message;
      throw new QiValueError(`the Dynamic's signature ${JSON.stringify(sig)} is invalid: expected ${why}`);
    }
    // Count depth as the decoder does, so a cyclic value made of Dynamics fails cleanly.
    const depth = depthOf(sig);
    if ((w.depth += depth) > MAX_NESTING_DEPTH) {
      w.depth -= depth;
      throw new QiValueError(`dynamic values nest deeper than ${MAX_NESTING_DEPTH} levels (is the value cyclic?)`);
    }
    try {
      w.string(sig);
      node.write(w, value);
    } finally {
      w.depth -= depth;
    }
  },
  read(r) {
    const start = r.pos;
    const b = r.buf,
      p = r.pos;
    if (r.end - p >= 5 && b[p] === 1 && b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0) {
      const leaf = SCALAR_DYNAMICS[b[p + 4]];
      if (leaf !== undefined) {
        r.pos = p + 5;
        return new Dynamic(leaf.signature, leaf.node.read(r));
      }
    }
    const sig = r.key();
    if (typeof sig !== 'string') return r.fail('the signature of a dynamic value is not valid UTF-8', start);
    if (sig === '') return Dynamic.EMPTY;
    if (sig === 'v') return Dynamic.VOID;
    let node: Node;
    try {
      node = compileNode(sig);
    } catch (e) {
      return r.fail(`a dynamic value has an invalid signature: ${(e as Error).message}`, start);
    }
    // Count the depth of the contained type too: dynamics inside containers inside dynamics add up.
    const depth = depthOf(sig);
    if ((r.depth += depth) > MAX_NESTING_DEPTH)
      r.fail(`dynamic values nest deeper than ${MAX_NESTING_DEPTH} levels`, start);
    try {
      return new Dynamic(sig, node.read(r));
    } finally {
      r.depth -= depth;
    }
  },
};

const depths = new SignatureCache<number>();

/** Nesting depth of a type: 1 for a scalar, one more for each container around it. */
function depthOf(text: string): number {
  let d = depths.get(text);
  if (d === undefined) {
    const walk = (s: Signature): number => {
      switch (s.kind) {
        case 'list':
        case 'varargs':
        case 'kwargs':
        case 'optional':
          return 1 + walk(s.element);
        case 'map':
          return 1 + Math.max(walk(s.key), walk(s.value));
        case 'tuple':
          return 1 + s.members.reduce((m, x) => Math.max(m, walk(x)), 0);
        default:
          return 1;
      }
    };
    d = walk(parseSignature(text));
    depths.set(text, d);
  }
  return d;
}
