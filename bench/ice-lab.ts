/**
 * `ice.bench.ts --lab`: the same rows on the namespace NAT lab (test/helpers/natlab.ts, cone NATs), where
 * issue 19's targets are measured. Three processes, each started by the lab in its namespace:
 *
 *   pub (203.0.113.1): coturn (STUN for the NATs' mappings; TURN stays unused on this direct path) and the
 *     public gateway in front of its own ServiceDirectory (`--role=signal`);
 *   a, behind NAT A: the robot (`--role=robot`): a ServiceDirectory with Calculator and a gateway with no
 *     listener that takes the direct links; it logs in to the public gateway, registers Calculator there
 *     (the gateway path) and one DirectLinkHost per stack (`DirectLink-<stack>`);
 *   b, behind NAT B: the client (`--role=client`), which measures the gateway path (b → NAT B → public
 *     gateway → NAT A → robot, over TCP) and then one link per stack (b ↔ a through both NATs, srflx
 *     candidates), and prints the figures as one JSON line.
 *
 * CPU figures add up the three node processes (the public gateway is idle on the link rows; coturn and the
 * kernel's NAT work outside them are not counted). A stack that finds no direct path within its budget is
 * reported and left out of the table. Needs root and coturn's `turnserver`; without them it says so and returns.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../src/index.js';
import { DirectLink, DirectLinkHost, type IceStackName } from '../src/remote/index.js';
import { calculator } from '../test/object/calculator.js';
import { ADDR, NatLab, finished, ready } from '../test/helpers/natlab.js';
import { flag } from './harness.js';
import { measurePath, printPaths, type PathColumn } from './paths.js';

const SELF = fileURLToPath(import.meta.url);

/** What the client prints. */
interface ClientResult {
  columns: PathColumn[];
  setups: string[];
}

/** Builds the lab, runs the three roles and prints the table; false when the lab cannot be built here. */
export async function runLab(stacks: IceStackName[], seconds: number): Promise<boolean> {
  try {
    execFileSync('turnserver', ['--version'], { stdio: 'ignore', timeout: 5000 });
  } catch {
    console.log("ice bench --lab: needs coturn's turnserver (Debian package coturn); not run.");
    return false;
  }
  const lab = NatLab.create('cone');
  if (typeof lab === 'string') {
    console.log(`ice bench --lab: ${lab}; it needs root. Not run.`);
    return false;
  }
  try {
    const turn = lab.startTurn();
    await new Promise((r) => setTimeout(r, 500)); // coturn binds its port
    const servers = JSON.stringify([turn.stun, turn.turn]);
    const signal = lab.run(lab.ns.pub, SELF, ['--role=signal']);
    const { url } = await ready<{ url: string }>(signal, 'the public gateway');
    const robot = lab.run(lab.ns.a, SELF, ['--role=robot', url, servers, stacks.join(',')]);
    await ready(robot, 'the robot', 20_000);
    const pids = [robot.child.pid, signal.child.pid].join(',');
    const client = lab.run(lab.ns.b, SELF, ['--role=client', url, servers, stacks.join(','), String(seconds), pids]);
    const result = await finished<ClientResult>(client, 'the client', (seconds * 2 + 60) * 1000 * (stacks.length + 1));
    console.log(
      `ICE link benchmark on the NAT lab (cone NATs, direct path): node ${process.version}, ${seconds} s per cell; ` +
        `client behind NAT B, robot behind NAT A, public gateway and STUN between them; libdatachannel mtu ${process.env.QI_ICE_MTU || '1280 (default; QI_ICE_MTU sets it)'}`,
    );
    for (const s of result.setups) console.log(`link on ${s}`);
    printPaths(result.columns);
    return true;
  } finally {
    await lab.close();
  }
}

/** Prints the line the parent waits for, as JSON. */
const say = (x: unknown) => console.log(JSON.stringify(x));

async function signalRole(): Promise<void> {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  const gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: `tcp://${ADDR.pub}:0`,
    access: { anonymous: { allow: ['*', 'register:*'] } },
  });
  say({ url: gw.url });
}

async function robotRole(url: string, servers: string[], stacks: IceStackName[]): Promise<void> {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  const calc = calculator();
  await sd.registerService('Calculator', calc);
  const local = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  const pub = await Session.connect(url, { ipc: false });
  await pub.registerService('Calculator', calc);
  for (const stack of stacks)
    await DirectLinkHost.register(pub, { name: `DirectLink-${stack}`, iceServers: servers, accept: local, stack });
  say({ ready: true });
}

async function clientRole(url: string, servers: string[], stacks: IceStackName[], seconds: number, pids: number[]) {
  const watch = [process.pid, ...pids];
  const signaling = await Session.connect(url, { ipc: false });
  const columns: PathColumn[] = [
    {
      label: 'gateway TCP',
      short: 'gateway',
      figures: await measurePath((await signaling.service('Calculator')) as AnyProxy, seconds, watch),
    },
  ];
  const setups: string[] = [];
  for (const stack of stacks) {
    const link = await DirectLink.open(signaling, { service: `DirectLink-${stack}`, iceServers: servers, stack });
    if (link.path !== 'direct') {
      // Under load a stack may miss its budget: said, and the other stacks still run.
      setups.push(`${stack}: NO direct link (${link.path}: ${link.reason}); its column is left out`);
      await link.close();
      continue;
    }
    setups.push(
      `${link.stack}: ${link.path}, ${link.local?.type} ${link.local?.address} ↔ ${link.remote?.type} ${link.remote?.address}, set up in ${link.setupMs} ms`,
    );
    const figures = await measurePath((await link.session.service('Calculator')) as AnyProxy, seconds, watch);
    columns.push({ label: `link ${link.stack}`, short: link.stack === 'libdatachannel' ? 'ldc' : link.stack, figures });
    await link.close();
  }
  await signaling.close();
  say({ columns, setups } satisfies ClientResult);
}

const role = flag('role');
if (role !== undefined) {
  const [a, b, c, d, e] = process.argv.slice(2).filter((x) => !x.startsWith('--role'));
  const stacks = (c ?? '').split(',') as IceStackName[];
  try {
    if (role === 'signal') await signalRole();
    else if (role === 'robot') await robotRole(a, JSON.parse(b) as string[], stacks);
    else if (role === 'client') {
      await clientRole(a, JSON.parse(b) as string[], stacks, Number(d), e.split(',').map(Number));
      process.exit(0);
    } else throw new Error(`unknown role ${role}`);
  } catch (err) {
    say({ error: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
}
