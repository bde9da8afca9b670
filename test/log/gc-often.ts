/**
 * Preloaded into a `qi` child process (`node --import …/gc-often.js`): a full garbage collection every
 * 20 ms, as a long-running `qi log` eventually has, so that what it does not hold on to goes away.
 */
import { gc } from '../helpers/gc.js';

setInterval(() => gc(), 20).unref();
