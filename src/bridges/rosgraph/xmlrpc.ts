/**
 * The XML-RPC subset that the ROS master and slave APIs use: method calls and responses whose values
 * are ints, booleans, strings, doubles, arrays, structs and nil (Python's xmlrpc with `allow_none`).
 * Parsing is bounded (depth, size checked by the caller) and refuses anything outside the subset:
 * the bytes come from any program that reaches the node's port.
 */
import { QiError } from '../../errors/index.js';

/** A value carried by XML-RPC. */
export type XmlRpcValue = number | boolean | string | null | XmlRpcValue[] | { [k: string]: XmlRpcValue };

/** The deepest value nesting accepted. */
const MAX_DEPTH = 32;

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function bad(what: string): QiError {
  return new QiError('ERR_QI_PROTOCOL', `malformed XML-RPC: ${what}`);
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Math.min(parseInt(e.slice(2), 16), 0x10ffff));
    if (e.startsWith('#')) return String.fromCodePoint(Math.min(parseInt(e.slice(1), 10), 0x10ffff));
    const r = ENTITIES[e];
    if (r === undefined) throw bad(`unknown entity ${m}`);
    return r;
  });
}

/** One value as XML. */
export function encodeValue(v: XmlRpcValue): string {
  if (v === null) return '<value><nil/></value>';
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (typeof v === 'number')
    return Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31
      ? `<value><int>${v}</int></value>`
      : `<value><double>${v}</double></value>`;
  if (typeof v === 'string') return `<value><string>${escape(v)}</string></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(encodeValue).join('')}</data></array></value>`;
  const members = Object.entries(v)
    .map(([k, x]) => `<member><name>${escape(k)}</name>${encodeValue(x)}</member>`)
    .join('');
  return `<value><struct>${members}</struct></value>`;
}

/** A method call as an XML document. */
export function encodeCall(method: string, params: readonly XmlRpcValue[]): string {
  const ps = params.map((p) => `<param>${encodeValue(p)}</param>`).join('');
  return `<?xml version="1.0"?>\n<methodCall><methodName>${escape(method)}</methodName><params>${ps}</params></methodCall>\n`;
}

/** A response carrying `value`, or a fault. */
export function encodeResponse(value: XmlRpcValue, fault?: { code: number; message: string }): string {
  const body = fault
    ? `<fault>${encodeValue({ faultCode: fault.code, faultString: fault.message })}</fault>`
    : `<params><param>${encodeValue(value)}</param></params>`;
  return `<?xml version="1.0"?>\n<methodResponse>${body}</methodResponse>\n`;
}

/** A cursor over the tags of a document (no attributes, comments or CDATA in this subset). */
class Reader {
  private pos = 0;
  constructor(private readonly text: string) {
    this.skipProlog();
  }

  private skipProlog(): void {
    this.ws();
    if (this.text.startsWith('<?xml', this.pos)) {
      const end = this.text.indexOf('?>', this.pos);
      if (end < 0) throw bad('unterminated XML declaration');
      this.pos = end + 2;
    }
  }

  private ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  /** The next tag's name (`value`, `/value`, `nil/`) without consuming it, or undefined at text. */
  peek(): string | undefined {
    this.ws();
    if (this.text[this.pos] !== '<') return undefined;
    const end = this.text.indexOf('>', this.pos);
    if (end < 0) throw bad('unterminated tag');
    return this.text.slice(this.pos + 1, end).trim();
  }

  open(name: string): void {
    const tag = this.peek();
    if (tag !== name) throw bad(`expected <${name}>, found ${tag === undefined ? 'text' : `<${tag}>`}`);
    this.pos = this.text.indexOf('>', this.pos) + 1;
  }

  close(name: string): void {
    this.open(`/${name}`);
  }

  /** Text up to the next tag, unescaped. */
  textUntilTag(): string {
    const end = this.text.indexOf('<', this.pos);
    if (end < 0) throw bad('text runs to the end');
    const s = this.text.slice(this.pos, end);
    this.pos = end;
    return unescape(s);
  }

  /** One `<value>`. */
  value(depth: number): XmlRpcValue {
    if (depth > MAX_DEPTH) throw bad(`values nest deeper than ${MAX_DEPTH} levels`);
    this.open('value');
    const save = this.pos;
    const tag = this.peek();
    let v: XmlRpcValue;
    if (tag === undefined || tag === '/value') {
      this.pos = save;
      v = this.textUntilTag(); // an untyped value is a string
    } else v = this.typed(tag, depth);
    this.close('value');
    return v;
  }

  private scalar(tag: string): string {
    this.open(tag);
    const s = this.peek() === `/${tag}` ? '' : this.textUntilTag();
    this.close(tag);
    return s;
  }

  private typed(tag: string, depth: number): XmlRpcValue {
    switch (tag) {
      case 'nil/':
        this.open('nil/');
        return null;
      case 'int':
      case 'i4':
      case 'i8': {
        const s = this.scalar(tag).trim();
        if (!/^[-+]?\d{1,19}$/.test(s)) throw bad(`bad integer ${JSON.stringify(s.slice(0, 40))}`);
        return Number(s);
      }
      case 'boolean': {
        const s = this.scalar(tag).trim();
        if (s !== '0' && s !== '1') throw bad(`bad boolean ${JSON.stringify(s.slice(0, 40))}`);
        return s === '1';
      }
      case 'double': {
        const n = Number(this.scalar(tag));
        if (Number.isNaN(n)) throw bad('bad double');
        return n;
      }
      case 'string':
        return this.scalar(tag);
      case 'array': {
        this.open('array');
        this.open('data');
        const out: XmlRpcValue[] = [];
        while (this.peek() === 'value') out.push(this.value(depth + 1));
        this.close('data');
        this.close('array');
        return out;
      }
      case 'struct': {
        this.open('struct');
        const out: Record<string, XmlRpcValue> = {};
        while (this.peek() === 'member') {
          this.open('member');
          this.open('name');
          const k = this.textUntilTag();
          this.close('name');
          // defineProperty: a member named __proto__ is a member, not a prototype.
          Object.defineProperty(out, k, {
            value: this.value(depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
          this.close('member');
        }
        this.close('struct');
        return out;
      }
      default:
        throw bad(`unsupported type <${tag}>`);
    }
  }

  params(): XmlRpcValue[] {
    const out: XmlRpcValue[] = [];
    if (this.peek() === 'params/') return (this.open('params/'), out);
    this.open('params');
    while (this.peek() === 'param') {
      this.open('param');
      out.push(this.value(0));
      this.close('param');
    }
    this.close('params');
    return out;
  }
}

/** Parses a `<methodCall>`. @throws QiError `ERR_QI_PROTOCOL` */
export function parseCall(text: string): { method: string; params: XmlRpcValue[] } {
  const r = new Reader(text);
  r.open('methodCall');
  r.open('methodName');
  const method = r.textUntilTag().trim();
  r.close('methodName');
  const params = r.peek() === '/methodCall' ? [] : r.params();
  r.close('methodCall');
  return { method, params };
}

/** Parses a `<methodResponse>`: its value, or a fault. @throws QiError `ERR_QI_PROTOCOL` */
export function parseResponse(text: string): { value: XmlRpcValue } | { fault: string } {
  const r = new Reader(text);
  r.open('methodResponse');
  if (r.peek() === 'fault') {
    r.open('fault');
    const f = r.value(0);
    const s = typeof f === 'object' && f !== null && !Array.isArray(f) ? f.faultString : f;
    return { fault: String(s) };
  }
  const params = r.params();
  if (params.length !== 1) throw bad(`a response holds one value, not ${params.length}`);
  return { value: params[0] };
}
