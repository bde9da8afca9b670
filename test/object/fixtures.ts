/** A test object type and a harness serving it over a real TCP connection. */
import {
  ObjectServer,
  RemoteBackend,
  acceptChannel,
  connect,
  createProxy,
  enableObjectReferences,
  openChannel,
  type Channel,
} from '../../src/wire.js';
import { loopbackListener } from '../helpers/net.js';
import { Calculator, calculator } from './calculator.js';

export { Calculator, Counter, Point, calculator, counter, type CalcState } from './calculator.js';

/** Serves `object` as service 2 over TCP and returns a typed proxy from a connected client. */
export async function served(object = calculator()) {
  const servers: Channel[] = [];
  const l = await loopbackListener((s) => {
    const ch = acceptChannel(s);
    enableObjectReferences(ch);
    new ObjectServer(object, ch, 2, 1, 'Calculator');
    servers.push(ch);
  });
  const client = await openChannel(await connect(l.url));
  enableObjectReferences(client);
  const backend = await RemoteBackend.fetch(client, 2, 1, 'Calculator');
  return { proxy: createProxy<typeof Calculator>(backend), client, object, servers, backend };
}
