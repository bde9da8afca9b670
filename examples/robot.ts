/**
 * A robot's bus in one process: a ServiceDirectory, demo services (text-to-speech, battery, camera)
 * and a gateway in front of them. `npm start` runs it. The SD listens on QI_LISTEN (default
 * tcp://127.0.0.1:9559), the gateway on QI_GATEWAY (default tcp://127.0.0.1:9560, `off` for none),
 * open to anonymous clients for the demo services only, and a web gateway on QI_WEB (default
 * ws://127.0.0.1:9580/qi, `off` for none) serving the dashboard at http://127.0.0.1:9580/.
 * QI_DEMO_BATTERY_TICK_MS (default 1000) is the battery's step: a charge cycle is 120 steps.
 * Ctrl-C stops it (exit code 0). An address that cannot be used is one line on stderr, exit code 1.
 */
import { Gateway, createLogger, listenStandalone, serveLogManager } from '../src/index.js';
import { classicQiSession, webHandler } from '../src/web/index.js';
import { battery, camera, textToSpeech } from './demo-services.js';

const demo = ['TextToSpeech', 'Battery', 'Camera'];
const opened: { close(): Promise<void> }[] = [];
/** Starts one part; on failure, says which variable chose the address, closes what started and exits 1. */
async function start<T extends { close(): Promise<void> }>(variable: string, open: () => Promise<T>): Promise<T> {
  try {
    const part = await open();
    opened.unshift(part);
    return part;
  } catch (e) {
    console.error(`qimessaging demo robot: ${(e as Error).message} (address from ${variable})`);
    for (const part of opened) await part.close().catch(() => {});
    process.exit(1);
  }
}

const listen = process.env.QI_LISTEN ?? 'tcp://127.0.0.1:9559';
const sd = await start('QI_LISTEN', () => listenStandalone(listen.split(',')));
await sd.registerService('TextToSpeech', textToSpeech());
await sd.registerService('Battery', battery(Number(process.env.QI_DEMO_BATTERY_TICK_MS ?? 1000)));
await sd.registerService('Camera', camera());
await serveLogManager(sd); // `qi log` shows the records of the bus's processes; the battery logs its charge:
const batteryLog = createLogger(sd, 'demo.battery');
await (
  await sd.service('Battery')
).charge.watch((c) => batteryLog[(c as number) < 20 ? 'warning' : 'info'](`charge ${String(c)}%`));

const url = sd.endpoints.find((e) => e.startsWith('tcp')) ?? sd.endpoints[0];
const gatewayAt = process.env.QI_GATEWAY ?? 'tcp://127.0.0.1:9560';
const gw =
  gatewayAt === 'off'
    ? undefined
    : await start('QI_GATEWAY', () =>
        Gateway.start({ sd: url, listen: gatewayAt.split(','), access: { anonymous: { allow: demo } } }),
      );
const web = await startWeb();
// Handlers first: whoever reads the banner below may press Ctrl-C at once.
const stop = async () => {
  for (const part of opened) await part.close().catch(() => {});
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

console.log(`qimessaging demo robot: a ServiceDirectory with TextToSpeech, Battery and Camera`);
console.log(`listening ${sd.endpoints.join(' ')}`);
if (gw) console.log(`gateway   ${gw.endpoints.join(' ')} (what outside clients use; anonymous, demo services only)`);
if (web)
  console.log(
    `dashboard ${new URL('/', web.endpoints[0].replace(/^ws/, 'http'))} (the web dashboard; browsers reach qi at ${web.endpoints[0]})`,
  );
if (web)
  console.log(
    `tablet    ${new URL('/libs/qimessaging/2/qimessaging.js', web.endpoints[0].replace(/^ws/, 'http'))} (the classic QiSession API for existing tablet apps)`,
  );
console.log('try it (one command per line, in another terminal):');
for (const command of [
  `node dist/examples/client.js ${url}`,
  'services',
  'info TextToSpeech',
  'call TextToSpeech.say hello',
  'watch Battery.charge',
]) {
  console.log(`  ${command.startsWith('node') ? command : `npx qi --url ${url} ${command}`}`);
}
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
  const open = async () => {
    try {
      gw = await Gateway.start({
        sd: url,
        listen: at,
        http: webHandler({ qiPath, extra: [classic] }),
        access: { anonymous: { allow: demo } },
      });
      const started = gw;
      return { endpoints: started.endpoints, close: async () => (await classic.close(), await started.close()) };
    } catch (e) {
      await classic.close();
      throw e;
    }
  };
  if (process.env.QI_WEB !== undefined) return start('QI_WEB', open);
  try {
    const part = await open();
    opened.unshift(part);
    return part;
  } catch (e) {
    console.log(`dashboard not started: ${(e as Error).message} (set QI_WEB to another ws:// address)`);
    return undefined;
  }
}
