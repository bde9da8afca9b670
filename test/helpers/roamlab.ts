/**
 * A robot whose outside address moves, in network namespaces (issue 20, docs/roaming.md):
 *
 *   head (10.50.0.2) eth0 ── veth ── in0 robot (10.50.0.1/24: the internal network, never changes)
 *                                        out0 ── veth ── eth0 client  (the outside network: a hotspot's
 *                                                                       subnet, which changes)
 *
 * `head` is a second computer of the robot, on the internal network only.
 *
 * The test moves the outside addresses with {@link RoamLab.move}, as joining another hotspot does.
 */
import { Netns } from './netns.js';
import type { Running } from './running.js';

export const INTERNAL = '10.50.0.1';
export const HEAD = '10.50.0.2';

/** Outside subnets: two hotspots (documentation ranges), robot `.7`, client `.2`. */
export const HOTSPOT = {
  one: { robot: '198.51.100.7', client: '198.51.100.2' },
  two: { robot: '192.0.2.7', client: '192.0.2.2' },
} as const;

type Role = 'robot' | 'client' | 'head';

/** The namespaces and links; see the module comment. */
export class RoamLab {
  private constructor(readonly net: Netns<Role>) {}

  /** Builds the lab on hotspot one; returns why it cannot where the kernel refuses namespaces. */
  static create(): RoamLab | string {
    const net = Netns.create<Role>(['robot', 'client', 'head'], 'qi-roam');
    if (typeof net === 'string') return net;
    try {
      net.ip('robot', 'link', 'add', 'in0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', net.ns.head);
      net.ip('robot', 'addr', 'add', `${INTERNAL}/24`, 'dev', 'in0');
      net.ip('head', 'addr', 'add', `${HEAD}/24`, 'dev', 'eth0');
      for (const dev of ['lo', 'eth0']) net.ip('head', 'link', 'set', dev, 'up');
      net.ip('robot', 'link', 'add', 'out0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', net.ns.client);
      for (const dev of ['lo', 'in0', 'out0']) net.ip('robot', 'link', 'set', dev, 'up');
      for (const dev of ['lo', 'eth0']) net.ip('client', 'link', 'set', dev, 'up');
    } catch (e) {
      net.killNow();
      throw e;
    }
    const lab = new RoamLab(net);
    lab.join('one');
    lab.name('one');
    return lab;
  }

  /** Gives both ends an address of `hotspot` (on top of what they have). */
  join(hotspot: keyof typeof HOTSPOT): void {
    const h = HOTSPOT[hotspot];
    this.net.ip('robot', 'addr', 'add', `${h.robot}/24`, 'dev', 'out0');
    this.net.ip('client', 'addr', 'add', `${h.client}/24`, 'dev', 'eth0');
  }

  /** Takes both ends' addresses of `hotspot` away. */
  leave(hotspot: keyof typeof HOTSPOT): void {
    const h = HOTSPOT[hotspot];
    this.net.ip('robot', 'addr', 'del', `${h.robot}/24`, 'dev', 'out0');
    this.net.ip('client', 'addr', 'del', `${h.client}/24`, 'dev', 'eth0');
  }

  /** Leaves one hotspot for another. */
  move(from: keyof typeof HOTSPOT, to: keyof typeof HOTSPOT): void {
    this.leave(from);
    this.join(to);
  }

  /** Gives the robot's second computer another internal address (a new DHCP lease). */
  moveHead(to: string): void {
    this.net.ip('head', 'addr', 'flush', 'dev', 'eth0');
    this.net.ip('head', 'addr', 'add', `${to}/24`, 'dev', 'eth0');
  }

  /** Makes `robot.test` resolve to the robot's address on `hotspot` in the client's namespace (as mDNS would). */
  name(hotspot: keyof typeof HOTSPOT): void {
    this.nameAt(HOTSPOT[hotspot].robot);
  }

  /** Makes `robot.test` resolve to `address` in the client's namespace. */
  nameAt(address: string): void {
    this.net.etc('client', 'hosts', `127.0.0.1 localhost\n${address} robot.test\n`);
  }

  /** Gives the robot another outside address on the same hotspot (a new lease); the client's stays. */
  renumberRobot(to: string): void {
    this.net.ip('robot', 'addr', 'flush', 'dev', 'out0');
    this.net.ip('robot', 'addr', 'add', `${to}/24`, 'dev', 'out0');
  }

  /** Runs a node script in a namespace, with a machine id of its own (the namespaces share the host's). */
  run(role: Role, script: string, args: string[] = [], stdin: 'ignore' | 'pipe' = 'ignore'): Running {
    return this.net.run(role, script, args, { QI_MACHINE_ID: `roamlab-${role}` }, stdin);
  }

  close(): Promise<void> {
    return this.net.close();
  }
}
