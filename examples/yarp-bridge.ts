/**
 * A YARP client using a qi service through the YARP bridge, all in one process on loopback: a
 * ServiceDirectory, a TextToSpeech service, the bridge registering its ports with a YARP name server,
 * and a client speaking YARP's own protocol calling `say` as `yarp rpc` would (tcp carrier, binary
 * Bottles), then as a telnet user would (text_ack carrier, Bottles as text).
 * Run: node dist/examples/yarp-bridge.js 127.0.0.1:10000 (the address of a running yarpserver)
 */
import net from 'node:net';
import {
  NameClient,
  YarpBridge,
  decodeBottle,
  encodeBottle,
  message,
  parseBottleText,
  portCommand,
  readYarpNumber,
  senderName,
  yarpNumber,
} from '../src/bridges/index.js';
import { LocalObject, Session, defineObject, listenStandalone, method, t } from '../src/index.js';

const nameServer = process.argv[2] ?? '127.0.0.1:10000';

const TextToSpeech = defineObject({ methods: { say: method([t.string], t.int32) } });
const sd = await listenStandalone('tcp://127.0.0.1:0');
const url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
const robot = await Session.connect(url);
await robot.registerService(
  'TextToSpeech',
  new LocalObject(TextToSpeech, { say: (text) => (console.log(`the robot says: ${text}`), text.length) }),
);

// Unauthenticated by nature: it must be asked for, it stays on loopback, and bridges only what is allowed.
const bridge = await YarpBridge.start({
  nameServer,
  sd: url,
  allow: ['method:TextToSpeech.say'],
  insecureUnauthenticated: true,
});
console.log(`YARP ports: ${[...bridge.ports.keys()].join(', ')}`);

// Where the RPC port is, as every YARP program finds it: by asking the name server.
const rpc = await new NameClient(bridge.names.server).query('/qi/TextToSpeech/rpc:i');
const socket = net.connect(rpc!.port, rpc!.host);
await new Promise((resolve) => socket.once('connect', resolve));
const received: Buffer[] = [];
let wake = () => {};
socket.on('data', (d) => (received.push(d), wake()));
const bytes = async (n: number): Promise<Buffer> => {
  while (Buffer.concat(received).length < n) await new Promise<void>((resolve) => (wake = resolve));
  const all = Buffer.concat(received.splice(0));
  received.push(all.subarray(n));
  return all.subarray(0, n);
};

// The tcp carrier: a header naming us, the port's answer, then `d` (a reply is wanted) and a Bottle.
socket.write(Buffer.concat([yarpNumber(7777 + 3 + 128), senderName('/example')]));
await bytes(8);
socket.write(message([portCommand('d'), encodeBottle(parseBottleText('say "hello from YARP"'))]));
const reply = await bytes(12); // the reply Bottle: code, count 1, one int32
console.log(`yarp rpc got: ${JSON.stringify(decodeBottle(reply))}, then ack ${readYarpNumber(await bytes(8))}`);
socket.end();

// The text_ack carrier, as `telnet 127.0.0.1 PORT` would type it.
const telnet = net.connect(rpc!.port, rpc!.host);
let text = '';
telnet.on('data', (d) => (text += d));
telnet.end('CONNACK /telnet\r\nd\r\nsay "hello by telnet"\r\nq\r\n');
await new Promise((resolve) => telnet.once('close', resolve));
console.log(`telnet got: ${JSON.stringify(text)}`);

await bridge.close();
await robot.close();
await sd.close();
