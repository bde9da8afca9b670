/** What the fleet simulator prints: a table of its figures (or JSON), and its checks. */
import { fmt, printTable } from '../../bench/harness.js';
import type { CallFigures } from './spec.js';

type Calls = CallFigures & { cpu: { server: number; robots: number; clients: number } };

/** One run's figures. */
export interface Run {
  robots: number;
  clients: number;
  procs: number;
  seconds: number;
  churnPerMinute: number;
  churns: number;
  /** Which XMPP service, and how its accounts were made. */
  server: string;
  provisioning: string;
  fds: string;
  accountsMs: number;
  connectMs: number;
  presenceMs: number;
  failedLogins: string[];
  /** First logins tried again because no server answered in time (robot: reason). */
  retriedLogins: string[];
  serverRssPerRobot: number;
  serverRss: number;
  robotBytesPerSession: number;
  robotHeapPerSession: number;
  xmpp: Calls;
  tcp: Calls;
  during: Calls;
  refused: number;
  checks: { online: number; mismatched: string[]; reconnects?: number };
  load: string;
}

const kib = (b: number) => `${fmt(b / 1024, 1)} KiB`;

export function report(r: Run, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(
    `fleet: ${r.robots} robots in ${r.procs} processes, ${r.clients} clients, ${r.seconds} s, churn ${r.churnPerMinute * 100}%/min; ${r.server} (ulimit -n ${r.fds}); load ${r.load}`,
  );
  console.log(`accounts made (${r.provisioning}): ${fmt(r.accountsMs)} ms for ${r.robots + r.clients + 1}`);
  console.log(
    `connect: all robots logged in after ${fmt(r.connectMs)} ms, all seen online by the watcher after ${fmt(r.presenceMs)} ms; failed logins: ${r.failedLogins.length}; first logins tried again: ${r.retriedLogins.length}`,
  );
  console.log(
    `memory: ${r.server} ${kib(r.serverRssPerRobot)} RSS per robot (${fmt(r.serverRss / 2 ** 20, 1)} MiB in all); robot side ${kib(r.robotBytesPerSession)} RSS, ${kib(r.robotHeapPerSession)} heap per robot session`,
  );
  for (const f of r.failedLogins.slice(0, 5)) console.log(`  failed login: ${f}`);
  for (const f of r.retriedLogins.slice(0, 5)) console.log(`  login tried again: ${f}`);
  const row = (label: string, c: Calls) => [
    label,
    fmt(c.calls / c.seconds),
    fmt(c.p50, 2),
    fmt(c.p99, 2),
    fmt(c.failed),
    `${fmt(c.sessionsOpened)} (${fmt(c.openP50)} ms)`,
    `${fmt(c.ticks)}/${fmt(c.gaps)}`,
    fmt(c.cpu.server),
    fmt(c.cpu.robots),
    fmt(c.cpu.clients),
  ];
  printTable(
    [
      'calls',
      'calls/s',
      'p50 ms',
      'p99 ms',
      'failed',
      'sessions (open p50)',
      'ticks/gaps',
      'CPU ms/1k server',
      'robots',
      'clients',
    ],
    [
      row(`XMPP (IBB via ${r.server})`, r.xmpp),
      row('TCP (gateways)', r.tcp),
      row(`XMPP during churn (${r.churns} cuts)`, r.during),
    ],
    { right: [false, true, true, true, true, true, true, true, true, true] },
  );
  for (const [k, c] of Object.entries({ xmpp: r.xmpp, tcp: r.tcp, during: r.during }))
    if (c.errors.length) console.log(`  ${k} errors: ${c.errors.join('; ')}`);
  const ok = r.checks.online === r.robots && r.checks.mismatched.length === 0;
  console.log(
    `presence: ${r.checks.online}/${r.robots} online at the end; ${r.checks.reconnects ?? '?'} logins again, each seen offline then online by the watcher: ${ok ? 'yes' : `NO for ${r.checks.mismatched.slice(0, 10).join(', ')}`}`,
  );
}
