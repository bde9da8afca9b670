/**
 * Demo services that feel like a robot's: text-to-speech, a battery, a camera. Shared by the demo
 * robot (examples/robot.ts) and the client (examples/client.ts), which gets typed proxies from them.
 */
import { LocalObject, defineObject, method, property, signal, t, type CallContext } from '../src/index.js';

export const TextToSpeech = defineObject({
  description: 'Says text (in this demo: waits as long as saying it would take)',
  methods: {
    say: method([t.string], t.void, {
      description: 'Says the text; resolves when done; cancellable',
      paramNames: ['text'],
    }),
  },
  signals: { done: signal([t.string], { description: 'Emitted with the text once it has been said' }) },
  properties: { language: property(t.string, { initial: 'English' }), volume: property(t.float, { initial: 0.8 }) },
});

export const Battery = defineObject({
  description: 'A battery that drains to 20%, then charges to 100% (`charging` true), and again, forever',
  signals: {
    lowBattery: signal([t.int32], {
      description: 'Emitted when the charge drops to 20% (the robot then starts charging)',
    }),
  },
  properties: {
    charge: property(t.int32, { initial: 100, description: 'Charge in percent' }),
    charging: property(t.bool, { initial: false }),
  },
});

export const Image = t.struct('Image', { width: t.int32, height: t.int32, format: t.string, data: t.raw });

export const Camera = defineObject({
  methods: {
    getImage: method([], Image, {
      description: 'A 320x240 grey test pattern: bars, a gradient and a moving square (raw bytes)',
    }),
  },
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

/** The charge at which the demo battery starts charging, in percent. */
export const LOW_CHARGE = 20;

/**
 * The demo battery: it never stops changing, so `qi watch Battery.charge` and the dashboard always have
 * something to show. Each tick it drains 1% down to {@link LOW_CHARGE} (emitting `lowBattery` there and
 * setting `charging`), then charges 2% per tick back to 100% (clearing `charging`): a cycle of 120 ticks,
 * 2 minutes at the default tick. A charge or `charging` set by hand is kept; the cycle goes on from there.
 * @param tickMs - time between two steps; default 1000 (the demo robot reads QI_DEMO_BATTERY_TICK_MS)
 */
export function battery(tickMs = 1000) {
  const b: LocalObject<typeof Battery> = new LocalObject(Battery, {});
  const timer = setInterval(() => {
    const charge = Math.min(100, Math.max(0, b.get('charge')));
    const charging = b.get('charging');
    const next = charging ? Math.min(100, charge + 2) : Math.max(0, charge - 1);
    if (next !== b.get('charge')) b.set('charge', next);
    if (!charging && next <= LOW_CHARGE) {
      if (charge > LOW_CHARGE) b.emit('lowBattery', next);
      b.set('charging', true);
    } else if (charging && next >= 100) b.set('charging', false);
  }, tickMs);
  timer.unref();
  return b;
}

/**
 * The demo camera: a test pattern that is plainly visible in the dashboard: eight grey bars, a
 * left-to-right gradient under them, and a white square with a black border that crosses the frame
 * every ~7 seconds (its position follows the clock, so two frames taken apart differ).
 */
export function camera() {
  return new LocalObject(Camera, {
    getImage: () => ({ width: 320, height: 240, format: 'grey8', data: testPattern(320, 240, Date.now()) }),
  });
}

/** A grey8 test pattern of `width` x `height` at time `now` (ms). */
export function testPattern(width: number, height: number, now: number): Buffer {
  const data = Buffer.alloc(width * height);
  const bars = Math.floor((height * 2) / 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[y * width + x] = y < bars ? 255 - Math.floor((x * 8) / width) * 36 : Math.floor((x * 255) / (width - 1));
    }
  }
  const size = Math.floor(height / 6);
  const left = Math.floor(now / 25) % (width - size);
  const top = Math.floor((bars - size) / 2);
  for (let y = top; y < top + size; y++) {
    for (let x = left; x < left + size; x++) {
      const border = y - top < 4 || top + size - y <= 4 || x - left < 4 || left + size - x <= 4;
      data[y * width + x] = border ? 0 : 255;
    }
  }
  return data;
}
