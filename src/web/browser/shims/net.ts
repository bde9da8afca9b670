/** `node:net` in the browser: address parsing works (URLs use it); sockets are Node-only. */
import { unavailable } from './unavailable.js';

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return V4.test(s);
}

export function isIPv6(s: string): boolean {
  const host = s.split('%')[0];
  if (!/^[0-9a-fA-F:.]+$/.test(host) || !host.includes(':')) return false;
  let groups = host.split(':');
  const last = groups[groups.length - 1];
  if (last.includes('.')) {
    if (!V4.test(last)) return false;
    groups = [...groups.slice(0, -1), '0', '0'];
  }
  const empties = host.split('::').length - 1;
  if (empties > 1) return false;
  if (groups.some((g) => g.length > 4)) return false;
  if (empties === 0) return groups.length === 8 && groups.every((g) => g.length > 0);
  return groups.length <= 8;
}

export function isIP(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

export const connect = (): never => unavailable('net.connect (TCP)');
export const createServer = (): never => unavailable('net.createServer (listening)');
export default { isIP, isIPv4, isIPv6, connect, createServer };
