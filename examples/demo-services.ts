/**
 * Demo services that feel like a robot's: text-to-speech, a battery, a camera. Shared by the demo
 * robot (examples/robot.ts) and the client (examples/client.ts), which gets typed proxies from them.
 */
import { LocalObject, defineObject, method, property, signal, t, type CallContext } from '../src/index.js';

export const TextToSpeech = defineObject({
  description: 'Says text (in this demo: waits as long as saying it would take)',
  methods: {
    say: method([t.string], t.void, { description: 'Says the text; resolves when done; cancellable', paramNames: ['text'] }),
  },
  signals: { done: signal([t.string], { description: 'Emitted with the text once it has been said' }) },
  properties: { language: property(t.string, { initial: 'English' }), volume: property(t.float, { initial: 0.8 }) },
});

export const Battery = defineObject({
  description: 'A battery that drains (or charges while `charging` is true)',
  signals: { lowBattery: signal([t.int32], { description: 'Emitted when the charge drops under 20%' }) },
  properties: {
    charge: property(t.int32, { initial: 100, description: 'Charge in percent' }),
    charging: property(t.bool, { initial: false }),
  },
});

export const Image = t.struct('Image', { width: t.int32, height: t.int32, format: t.string, data: t.raw });

export const Camera = defineObject({
  methods: { getImage: method([], Image, { description: 'A 320x240 grey frame (raw bytes)' }) },
});

export function textToSpeech() {
  const tts: LocalObject<typeof TextToSpeech> = new LocalObject(TextToSpeech, {
    say: (text: string, ctx: CallContext) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          tts.emit('done', text);
          resolve();
        }, 20 * text.length);
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('speech interrupted'))));
      }),
  });
  return tts;
}

export function battery(drainEveryMs = 1000) {
  const b: LocalObject<typeof Battery> = new LocalObject(Battery, {});
  const timer = setInterval(() => {
    const charge = b.get('charge');
    const next = b.get('charging') ? Math.min(100, charge + 5) : Math.max(0, charge - 1);
    if (next !== charge) b.set('charge', next);
    if (next === 19 && charge === 20) b.emit('lowBattery', next);
  }, drainEveryMs);
  timer.unref();
  return b;
}

export function camera() {
  let frame = 0;
  return new LocalObject(Camera, {
    getImage: () => ({ width: 320, height: 240, format: 'grey8', data: Buffer.alloc(320 * 240, frame++ % 256) }),
  });
}
