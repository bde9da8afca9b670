/** `node:http` and `node:https` in the browser: serving is Node-only. */
import { unavailable } from './unavailable.js';

export const createServer = (): never => unavailable('http.createServer (listening)');
export const request = (): never => unavailable('http.request');
export default { createServer, request };
