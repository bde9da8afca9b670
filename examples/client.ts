/**
 * A client of the demo robot (examples/robot.ts): lists the services, makes the robot speak and
 * waits for the `done` signal, reads the battery, grabs a camera frame, and cancels a long speech.
 * Usage: node dist/examples/client.js [URL]   (default QI_URL or tcp://127.0.0.1:9559)
 */
import { QiCanceledError, Session } from '../src/index.js';
import type { Battery, Camera, TextToSpeech } from './demo-services.js';

const session = await Session.connect(process.argv[2]);
try {
  for (const s of await session.services()) console.log(`service #${s.serviceId} ${s.name}  ${s.endpoints.join(' ')}`);

  const tts = await session.service<typeof TextToSpeech>('TextToSpeech');
  const done = tts.done.once();
  await tts.say('Hello, I am a TypeScript robot');
  console.log(`said: ${(await done)[0]}  (language ${await tts.language.get()}, route ${Session.route(tts)})`);

  const battery = await session.service<typeof Battery>('Battery');
  console.log(`battery: ${await battery.charge.get()}%`);

  const camera = await session.service<typeof Camera>('Camera');
  const image = await camera.getImage();
  console.log(`image: ${image.width}x${image.height} ${image.format}, ${image.data.length} bytes`);

  const long = tts.say('a very long speech '.repeat(50), { timeoutMs: 100 });
  await long.catch((e: Error) => console.log(`long speech stopped: ${e.constructor.name}: ${e.message}`));
  const ac = new AbortController();
  const interrupted = tts.say('another long speech '.repeat(50), ac.signal);
  setTimeout(() => ac.abort(), 50);
  await interrupted.catch((e: unknown) => console.log(`interrupted: ${e instanceof QiCanceledError}`));
} finally {
  await session.close();
}
