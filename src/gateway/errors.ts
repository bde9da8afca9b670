/**
 * Error texts that cross the gateway to an outside client say what failed, never where inside: the
 * gateway's own errors often embed an upstream error (`Cannot connect to tcp://10.0.0.5:41234…`), and
 * services' errors may name their peers. Internal endpoints (`scheme://host:port/…`, `unix:` paths,
 * socket files), IP addresses (v4, v6 with or without brackets), `host:port` pairs and upstream message ids (`id:123`) are rewritten; the
 * full text goes to the gateway's log. Service ids (`#5`) and names are what clients see anyway and stay,
 * and so does the id of the client's own call: a service's answer quoting the call it got (`No object
 * 2.7 on this connection (Call {2.7.100, id:N} …)`) reads as if the client had called it directly.
 */

/** Message ids, as Message.toString and libqi print them: `{2.1.100, id:4711}`. */
const ID = /(,?\s*)\bid\s*[:=]\s*(\d+)/gi;

const RULES: [RegExp, string][] = [
  // Endpoints: scheme://host[:port][/path], host possibly an [IPv6] literal.
  [
    /\b[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]\s]*\]|[^\s/:'"(),;\]]*)(?::\d+)?(?:\/[^\s'"(),;]*[^\s'"(),;.:])?/gi,
    'an internal endpoint',
  ],
  [/\bunix:[^\s'"(),;]*[^\s'"(),;.:]/gi, 'an internal endpoint'],
  [/(?:\/[\w.@-]+)+\.sock(?:et)?\b/g, 'an internal socket'],
  // Addresses: [IPv6]:port, IPv4[:port], host:port.
  [/\[[0-9a-z:.%]*:[0-9a-z:.%]*\](?::\d+)?/gi, 'an internal address'],
  // IPv6 as Node prints it, unbracketed (`connect ECONNREFUSED ::1:9559`, `fe80::1%eth0`): two colons or more.
  [
    /(?<![\w:.])(?:[0-9a-f]{0,4}:){2,8}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4})(?:%[\w.-]+)?(?![\w:])/gi,
    'an internal address',
  ],
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, 'an internal address'],
  [/\b(?!id:)[a-z][\w-]*(?:\.[\w-]+)*:\d{2,5}\b/gi, 'an internal address'],
];

/**
 * `text` without internal endpoints, addresses or message ids other than `ownId` (the id of the client's
 * call it answers); see the module comment.
 */
export function scrubError(text: string, ownId?: number): string {
  let out = text.replace(ID, (all: string, _sep: string, n: string) => (Number(n) === ownId ? all : ''));
  for (const [re, by] of RULES) out = out.replace(re, by);
  return out;
}

/** Full texts logged per client and minute at most: a client making errors by the thousand must not flood the log. */
const LOG_PER_MINUTE = 10;

/**
 * `log`, at most `perMinute` lines a minute: lines over it are counted, and the next line logged says how
 * many were not (`(N more … were not logged)`, `what` naming them).
 */
export function limitedLog(
  log: (line: string) => void,
  perMinute: number,
  what: string,
): (line: (more: string) => string) => void {
  let since = 0;
  let logged = 0;
  let skipped = 0;
  return (line) => {
    const now = Date.now();
    if (now - since >= 60_000) {
      since = now;
      logged = 0;
    }
    if (logged++ >= perMinute) return void skipped++;
    const more = skipped > 0 ? ` (${skipped} more ${what} were not logged)` : '';
    skipped = 0;
    log(line(more));
  };
}

/**
 * The error filter of one client's connection (see `Channel.errorFilter`): texts are scrubbed, and
 * when that changed them the full text is logged with the client it was meant for (at most
 * LOG_PER_MINUTE a minute; how many more were not logged is said with the next one).
 */
export function hideInside(log: (line: string) => void, client: () => string): (text: string, id: number) => string {
  const limited = limitedLog(log, LOG_PER_MINUTE, 'for this client');
  return (text, id) => {
    const out = scrubError(text, id);
    if (out !== text)
      limited(
        (more) =>
          `gateway: an error sent to ${client()} was rewritten to hide internal addresses${more}; full text: ${text}`,
      );
    return out;
  };
}

/**
 * An error answer forwarded from a service, as the client should read it: where it quotes the call it
 * answers, the upstream id (`upstreamId`, the gateway's) reads as the client's own (`clientId`).
 */
export function asClientSees(text: string, upstreamId: number, clientId: number): string {
  return text.replace(new RegExp(`\\bid:${upstreamId}\\b`, 'g'), `id:${clientId}`);
}
