/**
 * Soak: mixed load for a set time across real processes, watching memory, handles and every answer.
 *
 *   npm run soak -- [--minutes N | --seconds N] [--sample-seconds S] [--loads N] [--warmup F]
 *                   [--signal-hz H] [--seed S] [--no-ipc] [--skip TASK,…] [--snapshots DIR] [--verbose]
 *
 * Processes (all forked from this file, each with an IPC channel to this one):
 * - `server`: a standalone ServiceDirectory that also registers the test Calculator; it emits `fired`
 *   (seq, "s<seq>") at a steady rate (--signal-hz, default 100). It also registers `SoakStreams`
 *   (scripts/soak-streams.ts), whose `frames(count, seed)` returns a stream of typed frames, and counts
 *   every QiStream it made until it ended or was closed, and the objects it serves by reference;
 * - `gateway`: a Gateway in front of that SD, open to anonymous clients;
 * - `load` × --loads (default 2): each runs, until told to stop, every kind of traffic both directly
 *   (SD and service, over the unix socket unless --no-ipc) and through the gateway (TCP):
 *   sequential `add`, batches of concurrent `add`, `echoRaw` of 64 KiB–4 MiB, continuous `fired`
 *   subscribers that check every sequence number (no gap, duplicate or reordering), `volume` sets (load 0
 *   only, numbered) and watches (every load, also checked for gaps), objects by reference (`makeCounter`
 *   and `useCounter` with a client object), sessions that connect, call, subscribe once and close again
 *   and again, `slow` calls canceled mid-flight (AbortSignal) or timed out, and `streams`: streams of
 *   20–200 frames of 1–64 KiB opened with a random credit and read with every frame checked (index in
 *   order, size, bytes), read to the end, left early with `break`, or abandoned by closing their whole
 *   session mid-stream. Through the gateway only, `abandon`: sessions that get 1–5 objects by reference
 *   (`makeCounter`), sometimes with one more makeCounter call still on its way, and close without
 *   releasing them (the gateway must terminate them in the service).
 *
 * Every --sample-seconds (default 5, less for short runs) each process runs a full GC and reports its
 * memory (rss, heapUsed, external, arrayBuffers) and `process.getActiveResourcesInfo()` counts; loads
 * also report their counters. The run fails (exit code 1), as soon as it is seen, when:
 * - after the warm-up (--warmup, default the first 20% of the run) a process's heapUsed, as the median of
 *   its last 3 samples, exceeds its baseline (the median of the last 3 warm-up samples) by more than
 *   20% + 10 MiB, or its handle count (median of the last 3) the most seen during the warm-up by more
 *   than 20% + 16;
 * - any call answered a wrong value, any error other than the expected cancellations/timeouts occurred,
 *   a signal or property change was lost, duplicated or reordered, a stream frame was wrong, missing or
 *   reordered, a process crashed or printed a warning (MaxListenersExceeded…);
 * - a stream writer of the service is still open STREAM_RELEASE_MS (30 s) after it was made (its reader
 *   read to the end, broke off or left: it should have been released), or stopped on an error other
 *   than its reader closing;
 * and at the end when the service's aborted + completed slow() calls differ from the calls made
 * (cancellations lost or doubled), when more than 1% (at least 5) of the canceled calls still ran to their
 * end on the service or were answered to the client (only a process held up longer than the call, by a
 * heap snapshot or a stall, may see that), or when, all loads gone, the server or the gateway holds more
 * sockets than before the load began (+4: the gateway keeps its shared upstream connection), the
 * service still serves objects by reference (bound on any of its connections, beyond those of before the
 * load) or the gateway still counts holders of some (`heldObjects`), or a stream is still open, or the
 * service's streams made ≠ ended + closed or ≠ the streams the loads opened.
 *
 * --snapshots DIR writes a heap snapshot of every process at the end of the warm-up and at the end (or
 * at the failure), to compare in Chrome DevTools (Memory → Comparison). --skip leaves traffic kinds out,
 * to tell which one a growth comes from.
 *
 * Nothing is left behind: children exit when this process's IPC channel closes, and this process kills
 * them on exit, SIGINT, SIGTERM and failure; every wait has a bound, and the whole run has a deadline.
 *
 * This file is the entry point of every soak process; the pieces are in scripts/soak/: spec.ts (bounds, traffic
 * kinds, messages), args.ts (command lines), coordinator.ts with child-process.ts, checks.ts and report.ts, and
 * roles/ (server, gateway, load with load-calls, and what every child does alike).
 */
import { parseOptions, parseRoleArgs } from './soak/args.js';
import { coordinate } from './soak/coordinator.js';
import { send } from './soak/roles/child.js';
import { runGateway } from './soak/roles/gateway.js';
import { runLoad } from './soak/roles/load.js';
import { runServer } from './soak/roles/server.js';
import { describe } from './soak/tools.js';

const argv = process.argv.slice(2);
if (argv[0] === '--role') {
  if (!process.connected) {
    console.error('soak: --role is for the processes the soak starts itself');
    process.exit(2);
  }
  const args = parseRoleArgs(argv);
  const role = args.role;
  const run = role === 'server' ? runServer : role === 'gateway' ? runGateway : role === 'load' ? runLoad : undefined;
  if (run === undefined) process.exit(2);
  run(args).catch((e: unknown) => {
    send({ type: 'fatal', error: `starting ${role}: ${e instanceof Error ? (e.stack ?? describe(e)) : String(e)}` });
    setTimeout(() => process.exit(4), 100);
  });
} else {
  coordinate(parseOptions(argv)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`soak: ${describe(e)}`);
      process.exit(1);
    },
  );
}
