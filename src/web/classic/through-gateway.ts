/**
 * The qi side of a browser connection when the classic API is served by a gateway in the same process:
 * an in-memory connection handed to the gateway as if the browser had opened it itself (its `remote` is
 * the browser's address), so that the gateway's per-address limits, access rules and counters see the
 * browser, not the gateway's own address. The browser's calls then go through that connection only: a
 * gateway serves every service on the connection a client reached it by.
 */
import { QiAuthError, openChannel, type Channel, type Credentials } from '../../channel/index.js';
import { RemoteBackend, createProxy, enableObjectReferences, type AnyProxy } from '../../object/index.js';
import { normalizeServiceInfo } from '../../session/index.js';
import { MessageStream } from '../../transport/index.js';
import { streamPair } from './pair.js';

/** What takes outside connections: a `Gateway` (its `acceptStream`). */
export interface StreamAcceptor {
  acceptStream(stream: MessageStream): void;
  /** Whether its ServiceDirectory is reached now (`Gateway.metrics.sdConnected`). */
  readonly metrics?: { readonly sdConnected: boolean };
  /** Tells when its ServiceDirectory is lost and back (`Gateway.watchDirectory`). */
  watchDirectory?(watcher: (connected: boolean) => void): () => void;
}

/** What the bridge needs of a qi session; a `Session` is one. */
export interface ClassicQi {
  service(name: string): Promise<unknown>;
  close(): Promise<void>;
  /** The connection to the ServiceDirectory: the browser is let go when it closes. */
  readonly directoryConnection?: Pick<Channel, 'onClose'>;
}

/**
 * Opens a qi client connection to `gateway` that the gateway sees coming from `remote` (the browser,
 * e.g. `ws://192.168.1.20:51234`) and reaching it at `local` (the endpoint the browser reached).
 */
export async function qiThroughGateway(
  gateway: StreamAcceptor,
  remote: string,
  local: string,
  auth?: Credentials,
): Promise<ClassicQi> {
  // Without its SD the gateway would take the page but give it no service: let the page try again later.
  if (gateway.metrics?.sdConnected === false)
    throw new Error("the robot's services are restarting; the page reconnects by itself once they are back");
  const [theirs, ours] = streamPair();
  gateway.acceptStream(new MessageStream(theirs, remote, local));
  // The gateway closes a connection at once when its address has all its slots (maxConnectionsPerAddress).
  const refused = () =>
    new Error(
      "the gateway did not take this page's connection: too many connections from your address (close other pages or apps using this robot), or it is shutting down; try again later",
    );
  if (ours.destroyed) throw refused();
  let ch: Channel;
  try {
    ch = await openChannel(new MessageStream(ours, local, remote), { auth });
  } catch (e) {
    ours.destroy();
    throw e instanceof QiAuthError ? e : refused();
  }
  // Services and subscriptions of a restarted SD are new ones: the page starts over (its `connected` again).
  const unwatch = gateway.watchDirectory?.((connected) => connected || ch.close());
  if (unwatch) ch.onClose(unwatch);
  enableObjectReferences(ch);
  const sd = await RemoteBackend.fetch(ch, 1, 1, 'ServiceDirectory');
  // One proxy per service while it keeps its id, as a Session does: no MetaObject fetched again per call.
  const proxies = new Map<string, { id: number; proxy: Promise<AnyProxy> }>();
  return {
    directoryConnection: ch,
    async service(name: string): Promise<unknown> {
      const info = normalizeServiceInfo(await sd.call('service', [name]));
      const known = proxies.get(info.name);
      if (known?.id === info.serviceId) return known.proxy;
      const proxy = RemoteBackend.fetch(ch, info.serviceId, 1, info.name).then((b) => createProxy(b) as AnyProxy);
      proxies.set(info.name, { id: info.serviceId, proxy });
      proxy.catch(() => proxies.get(info.name)?.proxy === proxy && proxies.delete(info.name));
      return proxy;
    },
    async close(): Promise<void> {
      proxies.clear();
      ch.close();
    },
  };
}
