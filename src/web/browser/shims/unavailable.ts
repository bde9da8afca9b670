/**
 * What a Node-only function does in the browser bundle: throws an error that says so. Node built-ins
 * the core imports are mapped (by scripts/build-web.mjs) to shims in this folder that call this.
 */
export function unavailable(what: string): never {
  throw new Error(
    `${what} is not available in a browser: the browser build of qimessaging connects to a gateway's ws:// or wss:// endpoint only.`,
  );
}
