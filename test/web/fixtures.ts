/** The bus the browser tests run against: an SD with the demo robot's services and the test Calculator. */
import { listenStandalone, type Session } from '../../src/index.js';
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
