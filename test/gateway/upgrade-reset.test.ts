/**
 * Attack: a peer asks for a WebSocket upgrade that is refused (another path, a foreign page, an unknown
 * socket.io 0.9 session) and resets its connection at once, a hundred times. Node stops listening to an
 * upgrade socket's errors when it hands it over: without an owner, the refusal's write meeting the reset
 * (`write ECONNRESET`) ended the whole process. The robot (gateway, classic endpoint, ROS bridge) must
 * stay up and answer the next client.
 */
import { after, before, describe, it } from 'node:test';
import {
  resetDuringUpgrades,
  servesNextClient,
  startDeathRobot,
  type ClientArgs,
  type DeathRobot,
  type RobotProcess,
} from '../helpers/client-death.js';

let robot: RobotProcess;
before(async () => {
  robot = await startDeathRobot();
});
after(() => robot?.kill());

const http = (ws: string) => new URL(ws.replace(/^ws/, 'http')).origin;
const attacks: [string, (r: DeathRobot) => [origin: string, path: string, page?: string], ClientArgs[0]][] = [
  ['the qi WebSocket listener, another path', (r) => [http(r.ws), '/nothing-here'], 'qi'],
  ['the qi WebSocket listener, a foreign page', (r) => [http(r.ws), '/qi', 'http://evil.example'], 'qi'],
  [
    'classic socket.io 0.9, an unknown session',
    (r) => [r.classic, '/libs/qimessaging/2/socket.io/1/websocket/x'],
    'qi',
  ],
  ['the ROS bridge, another path', (r) => [http(r.ros), '/nothing-here'], 'ros'],
  ['the ROS bridge, a foreign page', (r) => [http(r.ros), new URL(r.ros).pathname, 'http://evil.example'], 'ros'],
];

describe('a peer resetting its connection while its upgrade is refused does not end the process', () => {
  for (const [name, target, next] of attacks)
    it(`${name}: 100 upgrades reset at once; the next client is answered`, async () => {
      await resetDuringUpgrades(...target(robot.ready));
      await new Promise((r) => setTimeout(r, 200));
      await servesNextClient(next === 'qi' ? ['qi', robot.ready.ws] : ['ros', robot.ready.ros], robot.process);
    });
});
