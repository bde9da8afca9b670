/** `node:fs` in the browser: every call throws (the core catches it where a file is optional, e.g. the machine id). */
import { unavailable } from './unavailable.js';

export const readFileSync = (): never => unavailable('fs.readFileSync');
export const writeFileSync = (): never => unavailable('fs.writeFileSync');
export const mkdirSync = (): never => unavailable('fs.mkdirSync');
export const readlinkSync = (): never => unavailable('fs.readlinkSync');
export const existsSync = (): boolean => false;
export const readdirSync = (): never => unavailable('fs.readdirSync');
export const unlinkSync = (): never => unavailable('fs.unlinkSync');
export default { readFileSync, readlinkSync, writeFileSync, mkdirSync, existsSync, readdirSync, unlinkSync };
