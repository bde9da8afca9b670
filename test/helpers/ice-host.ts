/**
 * The set-up of the direct-link tests on one host: a DirectLinkHost on 127.0.0.1 behind a gateway. A
 * ServiceDirectory on loopback with a Calculator, a gateway with no listener that takes the links'
 * sessions (user `bob`, token `pw`), the host registered on the SD as `DirectLink`, and a client
 * session to the SD (the signaling path). Links offer loopback host candidates only: the tests never
 * use this machine's network addresses. Call it inside a `describe`: it adds the `before` and `after`
 * hooks that start and stop everything, and fills the object it returns.
 */
import { after, before } from 'node:test';
import {
  Gateway,
  Session,
  listenStandalone,
  type AccessConfig,
  type LocalObject,
  type SessionOptions,
} from '../../src/index.js';
import {
  DirectLink,
  DirectLinkHost,
  type DirectLinkHostOptions,
  type DirectLinkOptions,
} from '../../src/remote/index.js';
import type { ObjectDefinition } from '../../src/object/index.js';
import { calculator } from '../object/fixtures.js';

/** What {@link iceHost} sets up. */
export interface IceHostOptions {
  /** What `bob` may call through the links' gateway (default `['Calculator']`). */
  allow?: string[];
  /** The links' gateway's whole access configuration (default: `bob` with `allow`). */
  access?: AccessConfig;
  /** More services on the SD, by name (beside `Calculator`). */
  services?: Record<string, LocalObject<ObjectDefinition>>;
  /** Options of the host (beside `accept` and `hostAddress`); `false`: no host. */
  host?: Partial<DirectLinkHostOptions> | false;
  /** Options of the client session (default `{ ipc: false }`). */
  client?: SessionOptions;
}

/** The running set-up; its fields are there once the `before` hook ran. */
export interface IceHost {
  sd: Session;
  /** The gateway that takes the links' sessions. */
  gw: Gateway;
  host: DirectLinkHost;
  /** A session to the SD: the signaling path. */
  client: Session;
  /** bob's credentials for the links' sessions. */
  auth: { user: string; token: string };
  /** Opens a link from `client` (loopback candidates, bob's credentials, 8 s budget), with `extra` on top. */
  open(extra?: DirectLinkOptions): Promise<DirectLink>;
}

/** Sets up a host on 127.0.0.1 behind a gateway; see the module comment. */
export function iceHost(options: IceHostOptions = {}): IceHost {
  const auth = { user: 'bob', token: 'pw' };
  const fx = {
    auth,
    open: (extra: DirectLinkOptions = {}) =>
      DirectLink.open(fx.client, { session: { auth }, hostAddress: '127.0.0.1', timeoutMs: 8000, ...extra }),
  } as IceHost;
  before(async () => {
    fx.sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    await fx.sd.registerService('Calculator', calculator());
    for (const [name, object] of Object.entries(options.services ?? {})) await fx.sd.registerService(name, object);
    fx.gw = await Gateway.start({
      sd: fx.sd.endpoints[0],
      listen: [],
      access: options.access ?? { users: { bob: { token: 'pw', allow: options.allow ?? ['Calculator'] } } },
    });
    if (options.host !== false)
      fx.host = await DirectLinkHost.register(fx.sd, { accept: fx.gw, hostAddress: '127.0.0.1', ...options.host });
    fx.client = await Session.connect(fx.sd.endpoints[0], options.client ?? { ipc: false });
  });
  after(async () => {
    await fx.client?.close();
    await fx.host?.close();
    await fx.gw?.close();
    await fx.sd?.close();
  });
  return fx;
}
