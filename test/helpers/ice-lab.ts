/**
 * The set-up of the direct-link tests on the namespace NAT lab (test/helpers/natlab.ts): cone NATs,
 * coturn on the public host (STUN and TURN), the public gateway (fixture ice-signal) and the robot
 * behind NAT A (fixture ice-robot: its own SD and link gateway, `DirectLink` registered on the public
 * gateway). Call it at the top of a test file: it adds the `before` and `after` hooks and fills the
 * object it returns; where the kernel refuses namespaces, `refused` says why and {@link IceLab.skipped}
 * skips each test loudly.
 */
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADDR, NatLab, ready, type Running, type Turn } from './natlab.js';

/** The path of the compiled process fixture `name` (test/remote/fixtures). */
export function iceFixture(name: string): string {
  return fileURLToPath(new URL(`../remote/fixtures/${name}.js`, import.meta.url));
}

/** The running lab; its fields are there once the `before` hook ran. */
export interface IceLab {
  /** Undefined where namespaces are refused. */
  lab: NatLab | undefined;
  /** Why the lab could not be made. */
  refused: string | undefined;
  turn: Turn;
  /** coturn's `stun:` and `turn:` URLs. */
  servers: string[];
  /** The public gateway's URL (the signaling path). */
  gatewayUrl: string;
  robot: Running;
  /** True (and the test skipped, loudly) where the lab could not be made. */
  skipped(t: { skip(m: string): void }): boolean;
}

/**
 * Sets up the lab; `first` runs once the TURN server is up, before the gateway and the robot start
 * (e.g. more processes on the public host to wait for).
 */
export function iceLab(first?: (lab: NatLab) => Promise<void>): IceLab {
  const fx = {
    skipped(t: { skip(m: string): void }): boolean {
      if (fx.refused === undefined) return false;
      console.error(`\n*** SKIPPED: direct-link tests need network namespaces: ${fx.refused} ***\n`);
      t.skip(fx.refused);
      return true;
    },
  } as IceLab;
  before(
    async () => {
      const made = NatLab.create('cone');
      if (typeof made === 'string') {
        fx.refused = made;
        return;
      }
      const lab = (fx.lab = made);
      fx.turn = lab.startTurn();
      fx.servers = [fx.turn.stun, fx.turn.turn];
      const signal = lab.run(lab.ns.pub, iceFixture('ice-signal'), [ADDR.pub]);
      await first?.(lab);
      fx.gatewayUrl = (await ready<{ url: string }>(signal, 'the public gateway')).url;
      fx.robot = lab.run(lab.ns.a, iceFixture('ice-robot'), [fx.gatewayUrl, JSON.stringify(fx.servers)]);
      await ready(fx.robot, 'the robot');
    },
    { timeout: 20_000 },
  );
  after(async () => {
    await fx.lab?.close();
  });
  return fx;
}
