/**
 * The machine id is a pure function of the machine: processes started before and after
 * `~/.config/qimessaging/machine_id` appears (libqi built without systemd writes it) agree, and a
 * gateway restarted after it appeared still reaches loopback-only services of the machine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Session, type AnyProxy } from '../../src/index.js';
import { machineIdFromSystemd, machineIdOf, type MachineSources } from '../../src/session/machine.js';
import { jsonLines, ready, type Running } from '../helpers/processes.js';

const home = mkdtempSync(join(tmpdir(), 'qi-machine-'));
const idFile = join(home, '.config', 'qimessaging', 'machine_id');
const running: Running[] = [];
after(() => {
  for (const p of running) p.child.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

/** Starts `dist/test/<relative>.js` with this test's home, or another one (and no QI_MACHINE_ID). */
function start(relative: string, args: string[] = [], userHome = home): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: userHome, XDG_CONFIG_HOME: join(userHome, '.config') };
  delete env.QI_MACHINE_ID;
  const script = fileURLToPath(new URL(`../${relative}.js`, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const p = { child, out: () => out, err: () => err };
  running.push(p);
  return p;
}

function appear(id: string): void {
  mkdirSync(join(home, '.config', 'qimessaging'), { recursive: true });
  writeFileSync(idFile, id);
}

async function idOf(userHome = home): Promise<string> {
  const relative = 'session/fixtures/machine-id';
  const p = start(relative, [], userHome);
  const { id } = await ready<{ id: string }>(p, relative);
  p.child.kill('SIGKILL');
  return id;
}

describe('machine id: the same for every process of the machine', () => {
  it('is the same before a machine_id file appears, after, and after it is removed', async () => {
    rmSync(idFile, { force: true });
    const p1 = start('session/fixtures/machine-id');
    const { id: first } = await ready<{ id: string }>(p1, 'P1');
    assert.equal(existsSync(idFile), false, 'computing the id wrote no file');
    appear(randomUUID()); // another program (libqi without systemd) writes its own id
    const second = await idOf();
    p1.child.stdin!.write('again\n');
    const p1Again = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`P1 did not answer: ${p1.out()}`)), 5000);
      p1.child.stdout!.on('data', () => {
        const lines = jsonLines(p1.out());
        if (lines.length < 2) return;
        clearTimeout(timer);
        resolve(String(lines[1].id));
      });
    });
    const otherUser = await idOf(mkdtempSync(join(home, 'other-user-'))); // another home, no file
    rmSync(idFile);
    const third = await idOf();
    p1.child.kill('SIGKILL');
    assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(
      { second, p1Again, otherUser, third },
      { second: first, p1Again: first, otherUser: first, third: first },
      'processes started before, after, by another user and after removal agree',
    );
  });

  it(
    'a gateway restarted after the file appeared still reaches a loopback-only service',
    { timeout: 30_000 },
    async () => {
      rmSync(idFile, { force: true });
      const sd = await ready<{ url: string }>(start('session/fixtures/sd-process', ['tcp://127.0.0.1:0']), 'sd');
      await ready(start('session/fixtures/service-process', [sd.url, 'Calculator', '--no-ipc']), 'service');
      const call = async (gatewayUrl: string) => {
        const client = await Session.connect(gatewayUrl, {
          auth: { user: 'alice', token: 'pw' },
          ipc: false,
          connectTimeoutMs: 5000,
        });
        try {
          const calc = (await client.service('Calculator')) as AnyProxy;
          return (await calc.add(2, 3)) as number;
        } finally {
          await client.close();
        }
      };
      const gw1 = start('gateway/fixtures/netns-gateway', [sd.url, 'tcp://127.0.0.1:0']);
      assert.equal(await call((await ready<{ url: string }>(gw1, 'gateway')).url), 5);
      appear(randomUUID());
      gw1.child.kill('SIGKILL');
      const gw2 = start('gateway/fixtures/netns-gateway', [sd.url, 'tcp://127.0.0.1:0']);
      assert.equal(await call((await ready<{ url: string }>(gw2, 'restarted gateway')).url), 5);
    },
  );
});

describe('machine id: where it comes from', () => {
  const machine = (
    files: Record<string, string>,
    env: Record<string, string> = {},
    platform: NodeJS.Platform = 'linux',
  ): MachineSources & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      env,
      platform,
      read: (p) => (asked.push(p), files[p]?.trim() || undefined),
      readlink: (p) => (asked.push(p), files[p]),
      hostname: () => 'nao',
    };
  };
  const SYSTEMD = '0123456789abcdef0123456789abcdef';

  it("is libqi-with-systemd's salted UUID of /etc/machine-id (vector checked with Python uuid5)", () => {
    assert.equal(machineIdFromSystemd(SYSTEMD), '83ac8615-f356-53d8-b2ac-2f6eb72e38c4');
    assert.equal(machineIdOf(machine({ '/etc/machine-id': SYSTEMD })), '83ac8615-f356-53d8-b2ac-2f6eb72e38c4');
  });

  it('takes QI_MACHINE_ID first, then /etc/machine-id, then the D-Bus id; skips empty and uninitialized ids', () => {
    assert.equal(machineIdOf(machine({ '/etc/machine-id': SYSTEMD }, { QI_MACHINE_ID: ' forced \n' })), 'forced');
    const dbus = 'fedcba9876543210fedcba9876543210';
    assert.equal(
      machineIdOf(machine({ '/etc/machine-id': 'uninitialized', '/var/lib/dbus/machine-id': dbus })),
      machineIdFromSystemd(dbus),
    );
    assert.equal(
      machineIdOf(machine({ '/etc/machine-id': '', '/var/lib/dbus/machine-id': dbus })),
      machineIdFromSystemd(dbus),
    );
  });

  it('never reads ~/.config/qimessaging/machine_id', () => {
    const m = machine({ '/proc/sys/kernel/random/boot_id': 'b', '/proc/self/ns/net': 'net:[1]' });
    machineIdOf(m);
    assert.deepEqual(
      m.asked.filter((p) => p.includes('qimessaging')),
      [],
    );
  });

  it('in a container without a system id: one id per boot and network namespace', () => {
    const box = (boot: string, net: string) =>
      machineIdOf(machine({ '/proc/sys/kernel/random/boot_id': boot, '/proc/self/ns/net': net }));
    assert.equal(box('b1', 'net:[1]'), box('b1', 'net:[1]'));
    assert.notEqual(box('b1', 'net:[1]'), box('b1', 'net:[2]'), 'another network namespace has another loopback');
    assert.notEqual(box('b1', 'net:[1]'), box('b2', 'net:[1]'));
  });

  it('elsewhere (macOS, Windows, no /proc): the host name', () => {
    const mac = machineIdOf(machine({}, {}, 'darwin'));
    assert.equal(mac, machineIdOf(machine({}, {}, 'darwin')));
    assert.equal(machineIdOf(machine({}, {}, 'linux')), mac, 'Linux without /proc');
    assert.notEqual(
      mac,
      machineIdOf(machine({ '/proc/sys/kernel/random/boot_id': 'b', '/proc/self/ns/net': 'net:[1]' })),
    );
  });
});
