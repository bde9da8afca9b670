/**
 * YARP Bottles, text form (what `yarp read` prints and the text carrier carries): elements separated by
 * spaces; integers in decimal, floats with a decimal point, words bare and other strings in double quotes
 * (`\n`, `\r`, `\0`, `\\`, `\"` escaped), vocabs in brackets `[add]` (the booleans `true`, `false`), blobs as bytes in braces `{1 2 3}`,
 * lists in parentheses. Parsing is bounded: {@link MAX_BOTTLE_DEPTH} levels, and the text's own length.
 */
import { QiError } from '../../errors/index.js';
import { MAX_BOTTLE_DEPTH, type Bottle, type BottleValue } from './bottle.js';

const bad = (m: string) => new QiError('ERR_QI_DECODE', `a YARP Bottle in text form ${m}`);

function quoted(s: string): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s) && s !== 'true' && s !== 'false';
  if (plain) return s;
  const esc: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\0': '\\0', '\\': '\\\\', '"': '\\"' };
  return `"${s.replace(/[\n\r\0\\"]/g, (c) => esc[c])}"`;
}

function float(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function valueText(x: BottleValue): string {
  switch (x.t) {
    case 'float32':
    case 'float64':
      return float(x.v);
    case 'int64':
      return x.v.toString();
    case 'vocab':
      // YARP's booleans are the vocabs '1' and 0.
      return x.v === '1' ? 'true' : x.v === '' ? 'false' : `[${x.v}]`;
    case 'string':
      return quoted(x.v);
    case 'blob':
      return `{${[...x.v].join(' ')}}`;
    case 'list':
      return `(${bottleText(x.v)})`;
    default:
      return String(x.v);
  }
}

/** The text form of a Bottle, as `yarp read` prints it. */
export function bottleText(b: Bottle): string {
  return b.map(valueText).join(' ');
}

/**
 * Parses a Bottle's text form: integers become int32 (int64 beyond), numbers with `.`/`e` float64.
 * @throws QiError `ERR_QI_DECODE` for an unclosed quote, bracket or list, or nesting over the bound
 */
export function parseBottleText(text: string): Bottle {
  let pos = 0;
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const list = (close: string, depth: number): BottleValue[] => {
    if (depth > MAX_BOTTLE_DEPTH) throw bad(`nests deeper than ${MAX_BOTTLE_DEPTH} lists`);
    const out: BottleValue[] = [];
    for (;;) {
      ws();
      if (pos >= text.length) {
        if (close !== '') throw bad(`misses its closing ${close}`);
        return out;
      }
      if (text[pos] === close) {
        pos++;
        return out;
      }
      out.push(one(depth));
    }
  };
  const one = (depth: number): BottleValue => {
    const c = text[pos];
    if (c === '(') {
      pos++;
      return { t: 'list', v: list(')', depth + 1) };
    }
    if (c === '"') {
      let s = '';
      pos++;
      const unesc: Record<string, string> = { n: '\n', r: '\r', '0': '\0' };
      while (pos < text.length && text[pos] !== '"') {
        if (text[pos] === '\\' && pos + 1 < text.length) {
          s += unesc[text[pos + 1]] ?? text[pos + 1];
          pos += 2;
        } else s += text[pos++];
      }
      if (pos >= text.length) throw bad('misses a closing quote');
      pos++;
      return { t: 'string', v: s };
    }
    if (c === '[' || c === '{') {
      const end = text.indexOf(c === '[' ? ']' : '}', pos);
      if (end < 0) throw bad(`misses its closing ${c === '[' ? ']' : '}'}`);
      const body = text.slice(pos + 1, end).trim();
      pos = end + 1;
      if (c === '[') return { t: 'vocab', v: body.slice(0, 4) };
      const bytes = body === '' ? [] : body.split(/\s+/).map(Number);
      if (bytes.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw bad(`holds a blob {${body}} not of bytes`);
      return { t: 'blob', v: Buffer.from(bytes) };
    }
    const start = pos;
    while (pos < text.length && !/[\s()]/.test(text[pos])) pos++;
    const word = text.slice(start, pos);
    if (/^[-+]?\d+$/.test(word)) {
      const n = BigInt(word);
      return n >= -(2n ** 31n) && n < 2n ** 31n
        ? { t: 'int32', v: Number(n) }
        : { t: 'int64', v: BigInt.asIntN(64, n) };
    }
    if (word === 'true' || word === 'false') return { t: 'vocab', v: word === 'true' ? '1' : '' };
    if (/^[-+]?(\d+\.\d*|\.\d+|\d+)(e[-+]?\d+)?$/i.test(word) || /^[-+]?(inf|nan)$/.test(word))
      return { t: 'float64', v: Number(word.replace('inf', 'Infinity').replace('nan', 'NaN')) };
    return { t: 'string', v: word };
  };
  return list('', 0);
}
