/** The qi WebSocket URL of the page's own origin: `ws://host/qi` on http pages, `wss://host/qi` on https. */
export function sameOriginUrl(path = '/qi'): string {
  const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (loc === undefined) throw new Error('sameOriginUrl() needs a page (globalThis.location)');
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${path.startsWith('/') ? path : `/${path}`}`;
}
