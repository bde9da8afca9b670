/**
 * A robot's bus in one process: a ServiceDirectory and demo services (text-to-speech, battery,
 * camera). `npm start` runs it. Listens on QI_LISTEN (default tcp://127.0.0.1:9559); Ctrl-C stops it.
 */
import { listenStandalone } from '../src/index.js';
import { battery, camera, textToSpeech } from './demo-services.js';

const listen = process.env.QI_LISTEN ?? 'tcp://127.0.0.1:9559';
const sd = await listenStandalone(listen.split(','));
await sd.registerService('TextToSpeech', textToSpeech());
await sd.registerService('Battery', battery());
await sd.registerService('Camera', camera());

const url = sd.endpoints.find((e) => e.startsWith('tcp')) ?? sd.endpoints[0];
console.log(`qimessaging demo robot: a ServiceDirectory with TextToSpeech, Battery and Camera`);
console.log(`listening ${sd.endpoints.join(' ')}`);
console.log(`try it:   node dist/examples/client.js ${url}`);
console.log(`          npx qi --url ${url} services | info TextToSpeech | call TextToSpeech.say hello | watch Battery.charge`);
console.log('stop it:  Ctrl-C');

const stop = async () => {
  await sd.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
