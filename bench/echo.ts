/**
 * The service the rpc and gateway benchmarks call, on both sides of the wire: `Echo.echo(s)` and `Echo.echoRaw(r)`,
 * each answering its argument, and the 32-char string they send.
 */
import { LocalObject, compile, defineObject, method, t } from '../src/index.js';

/** The interface of the service. */
export const Echo = defineObject({
  methods: {
    echo: method([t.string], t.string),
    echoRaw: method([t.raw], t.raw),
  },
});

/** A new Echo service object. */
export const newEcho = (): LocalObject<typeof Echo> =>
  new LocalObject(Echo, { echo: (s: string) => s, echoRaw: (r: Uint8Array) => r });

/** The string `echo` carries: 32 ASCII chars. */
export const STRING = 'qi echo payload, 32 chars long..';

/** Bytes of a call's payload carrying `STRING` (each way). */
export const stringPayloadSize = (): number => compile('(s)').encode([STRING]).length;
