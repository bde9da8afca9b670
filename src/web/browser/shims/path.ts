/** `node:path` in the browser: `join` for the few paths the core builds (never opened there). */
export const join = (...parts: string[]): string =>
  parts
    .filter((p) => p !== '')
    .join('/')
    .replace(/\/+/g, '/');
export default { join };
