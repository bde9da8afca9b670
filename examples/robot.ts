/**
 * A robot's bus in one process: a ServiceDirectory, demo services (text-to-speech, battery, camera)
 * and a gateway in front of them. `npm start` runs it. The SD listens on QI_LISTEN (default
 * tcp://127.0.0.1:9559), the gateway on QI_GATEWAY (default tcp://127.0.0.1:9560, `off` for none),
 * open to anonymous clients for the demo services only, and a web gateway on QI_WEB (default
 * ws://127.0.0.1:9580/qi, `off` for none) serving the dashboard at http://127.0.0.1:9580/. Ctrl-C stops it.
 */
import { Gateway, listenStandalone } from '../src/index.js';
import { classicQiSession, webHandler } from '../src/web/index.js';
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
const web = await startWeb();
// Handlers first: whoever reads the banner below may press Ctrl-C at once.
const stop = async () => {
  await web?.close();
  await gw?.close();
  await sd.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

console.log(`qimessaging demo robot: a ServiceDirectory with TextToSpeech, Battery and Camera`);
console.log(`listening ${sd.endpoints.join(' ')}`);
if (gw) console.log(`gateway   ${gw.endpoints.join(' ')} (what outside clients use; anonymous, demo services only)`);
if (web) console.log(`dashboard ${new URL('/', web.endpoints[0].replace(/^ws/, 'http'))} (the web dashboard; browsers reach qi at ${web.endpoints[0]})`);
if (web) console.log(`tablet    ${new URL('/libs/qimessaging/2/qimessaging.js', web.endpoints[0].replace(/^ws/, 'http'))} (the classic QiSession API for existing tablet apps)`);
console.log(`try it:   node dist/examples/client.js ${url}`);
console.log(`          npx qi --url ${url} services | info TextToSpeech | call TextToSpeech.say hello | watch Battery.charge`);
console.log('stop it:  Ctrl-C');

/**
 * The web gateway: the dashboard and the browser client on the qi WebSocket port. The default port may
 * be taken (another demo robot): then it is skipped with a note; an explicit QI_WEB must work.
 */
async function startWeb(): Promise<{ endpoints: string[]; close(): Promise<void> } | undefined> {
  const at = process.env.QI_WEB ?? 'ws://127.0.0.1:9580/qi';
  if (at === 'off') return undefined;
  const qiPath = new URL(at.replace(/^ws/, 'http')).pathname;
  // Tablet apps' classic qimessaging.js: each browser connection becomes a client of this same gateway.
  let gw: Gateway | undefined;
  const classic = classicQiSession({ gateway: () => gw });
  try {
    gw = await Gateway.start({ sd: url, listen: at, http: webHandler({ qiPath, extra: [classic] }), access: { anonymous: { allow: ['TextToSpeech', 'Battery', 'Camera'] } } });
    const started = gw;
    return { endpoints: started.endpoints, close: async () => (await classic.close(), await started.close()) };
  } catch (e) {
    await classic.close();
    if (process.env.QI_WEB !== undefined) throw e;
    console.log(`dashboard not started: ${(e as Error).message} (set QI_WEB to another ws:// address)`);
    return undefined;
  }
}
