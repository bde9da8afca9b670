/** `node:worker_threads` in the browser: services with worker pools are Node-only. */
import { unavailable } from './unavailable.js';

export const parentPort = null;
export const workerData = undefined;
export const isMainThread = true;
export class Worker {
  constructor() {
    unavailable('worker_threads.Worker');
  }
}
export default { parentPort, workerData, isMainThread, Worker };
