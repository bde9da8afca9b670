/**
 * YARP's administrative port commands (port command `a`), the subset YARP's tools send to a source
 * port: `[add] /reader` (connect to a reader: `yarp read /r /qi/...`, `yarp connect`), `[del] /reader`,
 * `[list] [out]` / `[list] [in]` (optionally with a port name: that connection's `(from …) (to …)
 * (carrier tcp)`), `[ver]` and `[help]`. Replies follow YARP's: `0 "message"` on success, `-1 "why"`
 * on failure, `[fail] "why"` for an unknown command.
 */
import type { Bottle, BottleValue } from './bottle.js';
import type { YarpOutput } from './output.js';

/** What the commands act on (a port, ./port.ts). */
export interface AdminTarget {
  readonly name: string;
  readonly publishes: boolean;
  readonly outputs: ReadonlyMap<string, YarpOutput>;
  readonly inputs: ReadonlySet<string>;
  addOutput(target: string): Promise<void>;
  removeOutput(target: string): boolean;
}

const str = (v: string): BottleValue => ({ t: 'string', v });
const int = (v: number): BottleValue => ({ t: 'int32', v });
const vocab = (v: string): BottleValue => ({ t: 'vocab', v });
const word = (x: BottleValue | undefined) => (x && (x.t === 'vocab' || x.t === 'string') ? x.v : '');

/** A reader named in `[add]`: `/r`, `tcp:/r`, `tcp://host:port/r` give `/r` (and the carrier, if any). */
export function targetName(text: string): { name: string; carrier?: string } {
  const m = /^([A-Za-z_][A-Za-z0-9_+.]*):\/(?:\/[^/]*)?(\/.*)$/.exec(text);
  return m ? { name: m[2], carrier: m[1] } : { name: text };
}

const connection = (from: string, to: string): Bottle => [
  { t: 'list', v: [str('from'), str(from)] },
  { t: 'list', v: [str('to'), str(to)] },
  { t: 'list', v: [str('carrier'), str('tcp')] },
];

/** The reply to an administrative Bottle. */
export async function adminReply(port: AdminTarget, b: Bottle, _from: string): Promise<Bottle> {
  const cmd = word(b[0]);
  switch (cmd) {
    case 'add': {
      const { name, carrier } = targetName(word(b[1]));
      const wanted = word(b[2]) || carrier || 'tcp';
      if (!port.publishes) return [int(-1), str(`${port.name} takes input only: it cannot send to ${name}`)];
      if (!name.startsWith('/')) return [int(-1), str(`${JSON.stringify(name)} is not a port name`)];
      if (!/^(tcp|fast_tcp)$/.test(wanted))
        return [int(-1), str(`${port.name} sends with the tcp carrier only, not ${wanted}`)];
      try {
        await port.addOutput(name);
      } catch (e) {
        return [int(-1), str((e as Error).message)];
      }
      return [int(0), str(`Added connection from ${port.name} to ${name}`)];
    }
    case 'del': {
      const { name } = targetName(word(b[1]));
      return port.removeOutput(name)
        ? [int(0), str(`Removed connection from ${port.name} to ${name}`)]
        : [int(-1), str(`${port.name} has no connection to ${name}`)];
    }
    case 'list': {
      const dir = word(b[1]);
      const other = word(b[2]);
      const names = dir === 'in' ? [...port.inputs] : dir === 'out' ? [...port.outputs.keys()] : [];
      if (other === '') return names.map(str);
      if (!names.includes(other)) return [];
      return dir === 'in' ? connection(other, port.name) : connection(port.name, other);
    }
    case 'ver':
      return [vocab('ver'), int(1), int(2), int(3)];
    case 'help':
      return [
        vocab('many'),
        str('[add] $portname  # send this port to a reader'),
        str('[del] $portname  # stop sending to a reader'),
        str('[list] [in]|[out] [$portname]  # connections'),
        str('[ver]  # protocol version'),
      ];
    default:
      return [vocab('fail'), str(`${port.name} does not take the administrative command ${JSON.stringify(cmd)}`)];
  }
}
