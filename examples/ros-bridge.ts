/**
 * A ROS client (roslibjs) using a qi service through the ROS bridge, all in one process on loopback:
 * a ServiceDirectory, a TextToSpeech service, the bridge, and roslib calling `say` as a ROS service and
 * watching `done` as a topic. Run: node dist/examples/ros-bridge.js
 */
import * as roslib from 'roslib';
// roslib 2.1's declarations do not resolve under NodeNext: its own files give the types.
import type RosT from '../node_modules/roslib/dist/src/core/Ros.js';
import type ServiceT from '../node_modules/roslib/dist/src/core/Service.js';
import type TopicT from '../node_modules/roslib/dist/src/core/Topic.js';
import { RosBridge } from '../src/bridges/index.js';
import { LocalObject, Session, defineObject, listenStandalone, method, signal, t } from '../src/index.js';

const { Ros, Service, Topic } = roslib as unknown as {
  Ros: typeof RosT;
  Service: typeof ServiceT;
  Topic: typeof TopicT;
};

const TextToSpeech = defineObject({
  methods: { say: method([t.string], t.void, { paramNames: ['text'] }) },
  signals: { done: signal([t.string]) },
});

const sd = await listenStandalone('tcp://127.0.0.1:0');
const url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
const robot = await Session.connect(url);
const tts: LocalObject<typeof TextToSpeech> = new LocalObject(TextToSpeech, {
  say: (text) => void setTimeout(() => tts.emit('done', text), 10),
});
await robot.registerService('TextToSpeech', tts);

// Unauthenticated by nature: it must be asked for, it stays on loopback, and bridges only what is allowed.
const bridge = await RosBridge.start({
  sd: url,
  listen: 'ws://127.0.0.1:0',
  allow: ['TextToSpeech.*'],
  insecureUnauthenticated: true,
});
console.log(`rosbridge on ${bridge.endpoint}`);

const ros = new Ros({});
const connected = new Promise((resolve) => ros.once('connection', resolve));
await ros.connect(bridge.endpoint!);
await connected;

const done = new Topic<{ data: string }>({ ros, name: '/qi/TextToSpeech/done', messageType: 'std_msgs/String' });
const heard = new Promise<string>((resolve) => done.subscribe((m) => resolve(m.data)));
await new Promise((r) => setTimeout(r, 50)); // let the subscription reach qi before speaking

const say = new Service<{ text: string }, Record<string, never>>({
  ros,
  name: '/qi/TextToSpeech/say',
  serviceType: 'qi/Say',
});
await new Promise<void>((resolve, reject) =>
  say.callService(
    { text: 'hello from ROS' },
    () => resolve(),
    (e) => reject(new Error(e)),
  ),
);
console.log(`ROS called TextToSpeech.say; the done topic said: ${await heard}`);

ros.close();
await bridge.close();
await robot.close();
await sd.close();
