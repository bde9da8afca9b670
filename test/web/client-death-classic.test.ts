/**
 * A classic qimessaging.js client (socket.io) that dies in the middle of a large answer, killed or frozen
 * then killed, ends its own session only: the gateway serving the classic endpoint answers the next one
 * (issue 22). Real processes and sockets on loopback.
 */
import { describeClientDeaths } from '../helpers/client-death.js';

describeClientDeaths([['classic qimessaging.js (socket.io)', (r) => ['classic', r.classic]]]);
