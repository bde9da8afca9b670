/**
 * A tour of the codec and message layers: build the message a client sends to ask the
 * ServiceDirectory for a service, frame it, read it back byte by byte, and decode a reply.
 * Run it with `npm start` (until the `qi` command line replaces it).
 */
import { Dynamic, decode, encode } from '../src/index.js';
import { FrameReader, MessageType, WellKnown, encodeMessage, type Message } from '../src/wire.js';

const SERVICE_INFO = '(sIsI[s]ss)<ServiceInfo,name,serviceId,machineId,processId,endpoints,sessionId,objectUid>';

// 1. A call of ServiceDirectory.service("ALTextToSpeech"): action 100 on service 1, object 1.
const call = Buffer.concat(
  encodeMessage(
    { id: 2, type: MessageType.Call, service: WellKnown.ServiceDirectory, object: WellKnown.MainObject, action: 100 },
    '(s)',
    ['ALTextToSpeech'],
  ),
);
console.log(
  'call bytes   ',
  call
    .toString('hex')
    .replace(/(.{2})/g, '$1 ')
    .trim(),
);

// 2. Frame it back, feeding one byte at a time as a slow socket would.
const received: Message[] = [];
const reader = new FrameReader((m) => received.push(m));
for (const byte of call) reader.push(Buffer.from([byte]));
console.log('framed       ', received[0].toString(), '->', received[0].decode('(s)'));

// 3. The reply an SD sends: a ServiceInfo struct, decoded to an object with its field names.
const info = {
  name: 'ALTextToSpeech',
  serviceId: 23,
  machineId: '5bd6f0a2-0b5c-4c1e-9a43-2f8e0d6b7a91',
  processId: 2145,
  endpoints: ['tcp://127.0.0.1:9559'],
  sessionId: 'c0ffee00',
  objectUid: '',
};
const replyPayload = encode(SERVICE_INFO, info);
console.log('ServiceInfo  ', decode(SERVICE_INFO, replyPayload));

// 4. Dynamic values keep their signature; plain values get one inferred.
const caps = decode('{sm}', encode('{sm}', { ClientServerSocket: true, __qi_auth_state: new Dynamic('I', 3) })) as Map<
  string,
  Dynamic
>;
for (const [k, v] of caps) console.log(`capability    ${k} = ${v.value} (signature ${v.signature})`);

// 5. Errors say where and why.
try {
  encode('[(ii)<Point,x,y>]', [{ x: 1, y: 2 }, { x: 1 }]);
} catch (e) {
  console.log('error        ', (e as Error).message);
}
