/** `node:tls` in the browser: the browser does TLS itself (`wss://`); raw TLS sockets are Node-only. */
import { unavailable } from './unavailable.js';

export const connect = (): never => unavailable('tls.connect (tcps://)');
export const createServer = (): never => unavailable('tls.createServer (listening)');
export default { connect, createServer };
