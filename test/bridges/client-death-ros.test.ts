/**
 * A ROS client (rosbridge v2 over WebSocket) that dies in the middle of a large answer, killed or frozen
 * then killed, ends its own connection only: the ROS bridge answers the next client (issue 22). Real
 * processes and sockets on loopback.
 */
import { describeClientDeaths } from '../helpers/client-death.js';

describeClientDeaths([['the ROS bridge (rosbridge v2)', (r) => ['ros', r.ros]]]);
