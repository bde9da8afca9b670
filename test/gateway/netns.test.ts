/**
 * The gateway on a real multi-host robot: three network namespaces created for the test, joined by
 * veth links, each process in its own. `inside` is the robot's internal network (10.77.0.0/24: the SD
 * on 10.77.0.2, a service process on 10.77.0.3); `gw` is the gateway host with one leg inside
 * (10.77.0.1) and one outside (192.0.2.1); `outside` is a client computer (192.0.2.2). Both ends even
 * route the other network through the gateway host, but it does not forward: the client can reach
 * the gateway and nothing else. Skipped, loudly, where the kernel refuses namespaces.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { finished, ready, type Running } from '../helpers/processes.js';

const NS = { inside: `qi-gwin-${process.pid}`, gw: `qi-gwhost-${process.pid}`, outside: `qi-gwout-${process.pid}` };
const SD = '10.77.0.2';
const SERVICE = '10.77.0.3';
const GW_INSIDE = '10.77.0.1';
const GW_OUTSIDE = '192.0.2.1';
const CLIENT = '192.0.2.2';
const SD_URL = `tcp://${SD}:9559`;
/** One machine id per host, as on a real robot with several computers. */
const MACHINE = { inside: randomUUID(), gw: randomUUID(), outside: randomUUID() };

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe', timeout: 5000 }).toString();
const created: string[] = [];
const children: ChildProcess[] = [];

/** Creates the namespaces and links; returns why it cannot where the kernel refuses namespaces. */
function setUp(): string | undefined {
  for (const ns of Object.values(NS)) {
    try {
      ip('netns', 'add', ns);
      created.push(ns);
    } catch (e) {
      return `network namespaces are not available here (${(e as Error).message.split('\n')[0]})`;
    }
  }
  try {
    // Every link is created inside the test's namespaces: the host's interfaces are never touched.
    ip('-n', NS.gw, 'link', 'add', 'in0', 'type', 'veth', 'peer', 'name', 'gw0', 'netns', NS.inside);
    ip('-n', NS.gw, 'link', 'add', 'out0', 'type', 'veth', 'peer', 'name', 'gw0', 'netns', NS.outside);
  } catch (e) {
    const m = (e as Error).message;
    if (/not supported|not permitted|Unknown device type/i.test(m))
      return `veth links are not available here (${m.split('\n')[0]})`;
    throw e;
  }
  ip('-n', NS.gw, 'addr', 'add', `${GW_INSIDE}/24`, 'dev', 'in0');
  ip('-n', NS.gw, 'addr', 'add', `${GW_OUTSIDE}/24`, 'dev', 'out0');
  ip('-n', NS.inside, 'addr', 'add', `${SD}/24`, 'dev', 'gw0');
  ip('-n', NS.inside, 'addr', 'add', `${SERVICE}/24`, 'dev', 'gw0');
  ip('-n', NS.outside, 'addr', 'add', `${CLIENT}/24`, 'dev', 'gw0');
  for (const [ns, devs] of [
    [NS.gw, ['lo', 'in0', 'out0']],
    [NS.inside, ['lo', 'gw0']],
    [NS.outside, ['lo', 'gw0']],
  ] as const) {
    for (const dev of devs) ip('-n', ns, 'link', 'set', dev, 'up');
  }
  // Routes both ways through the gateway host, so only its refusal to forward keeps the networks apart.
  ip('-n', NS.inside, 'route', 'add', '192.0.2.0/24', 'via', GW_INSIDE);
  ip('-n', NS.outside, 'route', 'add', '10.77.0.0/24', 'via', GW_OUTSIDE);
  ip('netns', 'exec', NS.gw, 'sh', '-c', 'echo 0 > /proc/sys/net/ipv4/ip_forward');
  return undefined;
}

/** Kills what the test started and deletes its namespaces; safe to call twice, synchronous parts first. */
function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

function deleteNamespaces(): void {
  for (const ns of created.splice(0)) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
}

// A last resort should the test process be ended without its `after` hook.
process.on('exit', () => {
  killAll();
  deleteNamespaces();
});

after(async () => {
  killAll();
  await Promise.all(
    children.map((c) =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve()
        : new Promise((r) => (c.once('exit', r), setTimeout(r, 2000).unref())),
    ),
  );
  deleteNamespaces();
});

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

/** Starts `dist/test/gateway/fixtures/<name>.js` in namespace `ns`, on the machine `machine`. */
function run(ns: string, machine: string, name: string, args: string[]): Running {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, fixture(name), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, QI_MACHINE_ID: machine },
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return { child, out: () => out, err: () => err };
}

interface Info {
  name: string;
  serviceId: number;
  machineId: string;
  endpoints: string[];
}

interface Outcome {
  connectMs: number;
  services: Info[];
  serviceInfos: Info[];
  sum: number;
  fired: [number, string];
  volume: number;
  echo: { sent: number; received: number; same: boolean; ms: number };
  counted: number;
  internal: string;
}

let refused: string | undefined;
let gatewayUrl = '';
let serviceEndpoint = '';

describe('gateway: a real multi-host robot in network namespaces', () => {
  before(
    async () => {
      refused = setUp();
      if (refused) return;
      const sd = run(NS.inside, MACHINE.inside, 'netns-sd', [SD_URL]);
      await ready(sd, 'the SD');
      const service = run(NS.inside, MACHINE.inside, 'netns-service', [SD_URL, `tcp://${SERVICE}:0`]);
      const gateway = run(NS.gw, MACHINE.gw, 'netns-gateway', [SD_URL, `tcp://${GW_OUTSIDE}:0`]);
      const [s, g] = await Promise.all([
        ready<{ endpoints: string[] }>(service, 'the service process'),
        ready<{ url: string }>(gateway, 'the gateway'),
      ]);
      serviceEndpoint = s.endpoints[0];
      gatewayUrl = g.url;
    },
    { timeout: 15_000 },
  );

  it('lets the client host reach the gateway, and nothing of the internal network', { timeout: 8000 }, async (t) => {
    if (refused) {
      console.error(`SKIPPED: ${refused}`);
      return t.skip(refused);
    }
    assert.match(gatewayUrl, new RegExp(`^tcp://${GW_OUTSIDE.replaceAll('.', '\\.')}:[1-9]\\d*$`));
    assert.match(serviceEndpoint, new RegExp(`^tcp://${SERVICE.replaceAll('.', '\\.')}:[1-9]\\d*$`));
    const gw = new URL(gatewayUrl);
    const service = new URL(serviceEndpoint);
    const targets = [`${SD}:9559`, `${service.hostname}:${service.port}`, `${gw.hostname}:${gw.port}`];
    const probe = run(NS.outside, MACHINE.outside, 'netns-probe', ['1000', ...targets]);
    const { probes } = await finished<{ probes: { target: string; result: string; ms: number }[] }>(
      probe,
      'the probe',
      6000,
    );
    const [toSd, toService, toGateway] = probes;
    assert.notEqual(toSd.result, 'connected', `the client reached the internal SD: ${JSON.stringify(toSd)}`);
    assert.notEqual(
      toService.result,
      'connected',
      `the client reached the internal service: ${JSON.stringify(toService)}`,
    );
    assert.equal(toGateway.result, 'connected', `the client could not reach the gateway: ${JSON.stringify(toGateway)}`);
    t.diagnostic(`from outside: ${probes.map((p) => `${p.target} ${p.result} (${p.ms} ms)`).join(', ')}`);
  });

  it(
    'serves an outside client through the gateway: listing, call, signal, property, 1 MiB raw, no internal address',
    { timeout: 15_000 },
    async (t) => {
      if (refused) {
        console.error(`SKIPPED: ${refused}`);
        return t.skip(refused);
      }
      const client = run(NS.outside, MACHINE.outside, 'netns-client', [
        gatewayUrl,
        'alice',
        'pw',
        '10.77.',
        '9559',
        MACHINE.inside,
      ]);
      const r = await finished<{
        direct: Outcome;
        relayed: Outcome;
        capture: { bytes: number; connections: number; found: Record<string, number> };
      }>(client, 'the client', 13_000);

      for (const o of [r.direct, r.relayed]) {
        // alice sees the SD and Calculator; Internal exists inside but is not hers to see.
        assert.deepEqual(
          o.services.map((s) => s.name),
          ['ServiceDirectory', 'Calculator'],
        );
        assert.deepEqual(
          o.serviceInfos.map((s) => s.name),
          ['ServiceDirectory', 'Calculator'],
        );
        for (const info of [...o.services, ...o.serviceInfos]) {
          assert.ok(info.endpoints.length > 0, `${info.name} has endpoints`);
          for (const e of info.endpoints) {
            assert.ok(
              e === 'qi:ServiceDirectory' || e === gatewayUrl,
              `endpoint ${e} of ${info.name} is not the gateway's ${gatewayUrl}`,
            );
          }
          assert.equal(info.machineId, MACHINE.gw, `${info.name} is presented as living on the gateway host`);
          assert.ok(
            !JSON.stringify(info).includes('10.77.'),
            `${info.name}'s ServiceInfo shows an internal address: ${JSON.stringify(info)}`,
          );
        }
        assert.equal(o.sum, 42);
        assert.equal(o.fired.length, 2);
        assert.ok(Number.isInteger(o.fired[0]) && o.fired[0] > 0);
        assert.equal(o.fired[1], 'tick from inside');
        assert.equal(o.volume, 0.75);
        assert.equal(o.echo.received, o.echo.sent);
        assert.ok(o.echo.same, 'the raw payload came back intact');
        assert.equal(o.counted, 11, 'an object returned by reference works through the gateway');
        assert.match(o.internal, /Cannot find service 'Internal'/);
      }
      assert.equal(r.direct.echo.sent, 1024 * 1024);

      // Everything the gateway sent to the relayed session went through the relay, and none of it names the inside.
      assert.equal(r.capture.connections, 1, 'the relayed session used one connection, through the relay');
      assert.ok(r.capture.bytes > r.relayed.echo.sent, `the relay saw the whole session (${r.capture.bytes} bytes)`);
      assert.equal(r.capture.found['10.77.'], 0, 'an internal address appears in what the gateway sent');
      assert.equal(r.capture.found['9559'], 0, 'the internal SD port appears in what the gateway sent');
      assert.equal(r.capture.found[MACHINE.inside], 0, 'the internal machine id appears in what the gateway sent');
      t.diagnostic(
        `connect ${r.direct.connectMs} ms, 1 MiB echo ${r.direct.echo.ms} ms, relayed session ${r.capture.bytes} bytes`,
      );
    },
  );
});
