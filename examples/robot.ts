/**
 * A robot's bus in one process: a ServiceDirectory, demo services (text-to-speech, battery, camera)
 * and a gateway in front of them. `npm start` runs it. The SD listens on QI_LISTEN (default
 * tcp://127.0.0.1:9559), the gateway on QI_GATEWAY (default tcp://127.0.0.1:9560, `off` for none),
 * open to anonymous clients for the demo services only. Ctrl-C stops it.
 */
import { Gateway, listenStandalone } from '../src/index.js';
import { battery, camera, textToSpeech } from './demo-services.js';

const listen = process.env.QI_LISTEN ?? 'tcp://127.0.0.1:9559';
const sd = await listenStandalone(listen.split(','));
await sd.registerService('TextToSpeech', textToSpeech());
await sd.registerService('Battery', battery());
await sd.registerService('Camera', camera());

const url = sd.endpoints.find((e) => e.startsWith('tcp')) ?? sd.endpoints[0];
const gatewayAt = process.env.QI_GATEWAY ?? 'tcp://127.0.0.1:9560';
const gw = gatewayAt === 'off'
  ? undefined
  : await Gateway.start({ sd: url, listen: gatewayAt.split(','), access: { anonymous: { allow: ['TextToSpeech', 'Battery', 'Camera'] } } });
// Handlers first: whoever reads the banner below may press Ctrl-C at once.
const stop = async () => {
  await gw?.close();
  await sd.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

console.log(`qimessaging demo robot: a ServiceDirectory with TextToSpeech, Battery and Camera`);
console.log(`listening ${sd.endpoints.join(' ')}`);
if (gw) console.log(`gateway   ${gw.endpoints.join(' ')} (what outside clients use; anonymous, demo services only)`);
console.log(`try it:   node dist/examples/client.js ${url}`);
console.log(`          npx qi --url ${url} services | info TextToSpeech | call TextToSpeech.say hello | watch Battery.charge`);
console.log('stop it:  Ctrl-C');

