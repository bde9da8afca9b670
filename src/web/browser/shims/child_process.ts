/** `node:child_process` in the browser: no processes (the core spawns one only to watch addresses, when listening). */
import { unavailable } from './unavailable.js';

export const spawn = (): never => unavailable('child_process.spawn');
export default { spawn };
