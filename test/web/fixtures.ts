/** The bus the browser tests run against: an SD with the demo robot's services and the test Calculator. */
import { Session, listenStandalone, type Gateway, type LocalObject } from '../../src/index.js';
import { battery, camera, textToSpeech } from '../../examples/demo-services.js';
import { calculator } from '../object/fixtures.js';

export async function demoBus(): Promise<Session> {
  const sd = await listenStandalone(['tcp://127.0.0.1:0'], { ipc: false });
  await sd.registerService('TextToSpeech', textToSpeech());
  await sd.registerService('Battery', battery(60_000));
  await sd.registerService('Camera', camera());
  await sd.registerService('Calculator', calculator());
  return sd;
}

/**
 * The bus of the classic API tests: an SD, and a second session listening on its own endpoint that serves
 * the test Calculator and `demo` as `Demo` (so calls go over the network, through the gateway).
 */
export async function classicBus(demo: LocalObject): Promise<{ sd: Session; inside: Session }> {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  const inside = await Session.connect(sd.endpoints[0], { ipc: false });
  await inside.listen('tcp://127.0.0.1:0');
  await inside.registerService('Calculator', calculator());
  await inside.registerService('Demo', demo);
  return { sd, inside };
}

/** The http:// origin of a gateway's ws://…/qi endpoint (where its classic API is served). */
export function httpOrigin(gw: Gateway): string {
  return gw.endpoints
    .find((e) => e.startsWith('ws://'))!
    .replace(/^ws/, 'http')
    .replace(/\/qi$/, '');
}
