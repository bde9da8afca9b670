/**
 * A client that dies in the middle of a large answer (killed, or frozen then killed) ends its own session
 * only: the gateway process stays up and answers the next client, over TCP and WebSocket (issue 22). Real
 * processes and sockets on loopback; the classic endpoint and the ROS bridge have theirs in test/web and
 * test/bridges, XMPP in test/remote.
 */
import { describeClientDeaths } from '../helpers/client-death.js';

describeClientDeaths([
  ['qi over TCP', (r) => ['qi', r.tcp]],
  ['qi over WebSocket', (r) => ['qi', r.ws]],
]);
