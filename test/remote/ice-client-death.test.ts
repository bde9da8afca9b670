/**
 * A client at the other end of a direct link (ICE, DataChannel) that dies in the middle of a large answer,
 * killed or frozen then killed, ends its own link only: the robot process (SD, DirectLinkHost, gateway)
 * stays up and the next client's link is answered (issue 22). Real processes, real UDP on loopback.
 */
import { describeClientDeaths } from '../helpers/client-death.js';

describeClientDeaths([['a direct link (ICE)', (r) => ['ice', r.sd]]], ['--ice']);
