/**
 * A client that dies in the middle of a large answer (killed, or frozen then killed) ends its own session
 * only: the gateway process stays up and answers the next client, over TCP, WebSocket, the classic
 * qimessaging.js endpoint and the ROS bridge (issue 22). Real processes and sockets on loopback.
 */
import { after, before, describe, it } from 'node:test';
import {
  dieMidAnswer,
  servesNextClient,
  startDeathRobot,
  type ClientArgs,
  type RobotProcess,
} from '../helpers/client-death.js';

let robot: RobotProcess;
before(async () => {
  robot = await startDeathRobot();
});
after(() => robot?.kill());

describe('a client dying mid-answer ends its session only', () => {
  const transports: [string, () => ClientArgs][] = [
    ['qi over TCP', () => ['qi', robot.ready.tcp]],
    ['qi over WebSocket', () => ['qi', robot.ready.ws]],
    ['classic qimessaging.js (socket.io)', () => ['classic', robot.ready.classic]],
    ['the ROS bridge (rosbridge v2)', () => ['ros', robot.ready.ros]],
  ];
  for (const [name, args] of transports)
    for (const how of ['kill', 'freeze'] as const)
      it(`${name}: a client ${how === 'kill' ? 'killed' : 'frozen, then killed'} mid-answer; the next client is answered`, async () => {
        await dieMidAnswer(robot, args(), how);
        await servesNextClient(args(), robot.process);
      });
});
