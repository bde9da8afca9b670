/**
 * What `qi xmpp-gateway` announces of the robot: asked of NAOqi when the SD has its services
 * (`ALSystem.robotName()`, `ALSystem.systemVersion()`, `ALMemory.getData("RobotConfig/Body/Type")`),
 * else our own version; `--name` and `--model` win over both. Each question gets two seconds.
 */
import { Session, type AnyProxy, type SessionOptions } from '../index.js';
import type { RobotIdentity } from '../remote/index.js';
import { packageVersion } from './version.js';

const ASK_MS = 2000;

async function ask(session: Session, service: string, method: string, ...args: unknown[]): Promise<string | undefined> {
  try {
    const names = (await session.services()).map((s) => s.name);
    if (!names.includes(service)) return undefined;
    const p = (await session.service(service, { timeoutMs: ASK_MS })) as AnyProxy;
    const v = await (p[method] as (...a: unknown[]) => Promise<unknown>)(...args, { timeoutMs: ASK_MS });
    return typeof v === 'string' && v !== '' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The identity to announce for the robot behind `sd`. */
export async function robotIdentity(
  sd: string,
  options: SessionOptions,
  given: { name?: string; model?: string },
): Promise<RobotIdentity> {
  let naoqi: RobotIdentity = {};
  const session = await Session.connect(sd, { ...options, reconnect: false }).catch(() => undefined);
  if (session !== undefined) {
    try {
      naoqi = {
        name: await ask(session, 'ALSystem', 'robotName'),
        version: await ask(session, 'ALSystem', 'systemVersion'),
        model: await ask(session, 'ALMemory', 'getData', 'RobotConfig/Body/Type'),
      };
    } finally {
      await session.close();
    }
  }
  return {
    name: given.name ?? naoqi.name,
    model: given.model ?? naoqi.model,
    version: naoqi.version === undefined ? `qimessaging ${packageVersion()}` : `NAOqi ${naoqi.version}`,
  };
}
