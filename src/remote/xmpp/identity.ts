/**
 * What a robot says of itself in its presence: name, model, software version and number of services, as
 * attributes of `<qi xmlns="urn:qimessaging:robot"/>`. Presence because the server already relays it to
 * every follower whenever it changes (a few dozen bytes more per presence), where disco#info would cost
 * every watcher one request per robot. A robot's announcement is data from outside: every field is
 * bounded and stripped of control and formatting characters when read, so that a list of robots cannot
 * drive a terminal nor grow without bound.
 */
import { xml } from './lib.js';
import type { Element } from './xmpp-types.js';

/** The namespace of the element robots put in their presence. */
export const QI_ROBOT_NS = 'urn:qimessaging:robot';

/** Longest name, model or version kept (characters); longer ones are cut. */
export const IDENTITY_MAX = 64;
/** Longest status text kept (characters). */
export const STATUS_MAX = 200;

/** What a robot announces of itself (each at most {@link IDENTITY_MAX} characters). */
export interface RobotIdentity {
  /** Its name, e.g. `Pepper-3F` (a NAOqi robot's `ALSystem.robotName()`). */
  name?: string;
  /** Its model, e.g. `NAO`, `Pepper`. */
  model?: string;
  /** The software answering: NAOqi's version (`2.9.5.172`), or `qimessaging 1.2.3`. */
  version?: string;
}

/**
 * `text` without control or invisible formatting characters (C0, C1, DEL, bidi overrides, zero-width),
 * cut to `max` characters; `undefined` when nothing is left.
 */
export function cleanText(text: unknown, max: number): string | undefined {
  if (typeof text !== 'string') return undefined;
  const clean = [...text.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/gu, '')].slice(0, max).join('').trim();
  return clean === '' ? undefined : clean;
}

/**
 * The `<qi/>` element of a robot's presence (`login`: its link's `loginId`, new at each login: peers
 * that see it change know the robot was away).
 */
export function robotElement(services: number, identity: RobotIdentity = {}, login?: string): Element {
  return xml('qi', {
    xmlns: QI_ROBOT_NS,
    services,
    name: cleanText(identity.name, IDENTITY_MAX),
    model: cleanText(identity.model, IDENTITY_MAX),
    version: cleanText(identity.version, IDENTITY_MAX),
    login,
  });
}

/** What a `<qi/>` element announces, bounded and cleaned (services: a whole number up to 1,000,000). */
export function readRobotElement(qi: Element): RobotIdentity & { services?: number; login?: string } {
  const services = Number(qi.attrs.services);
  return {
    services: Number.isInteger(services) && services >= 0 && services <= 1_000_000 ? services : undefined,
    name: cleanText(qi.attrs.name, IDENTITY_MAX),
    model: cleanText(qi.attrs.model, IDENTITY_MAX),
    version: cleanText(qi.attrs.version, IDENTITY_MAX),
    login: cleanText(qi.attrs.login, IDENTITY_MAX),
  };
}
