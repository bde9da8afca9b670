/**
 * A client of the ServiceDirectory that tries to take over another session's service by its id (ids
 * are small numbers, listed by `services`): pointing its endpoints at itself with updateServiceInfo
 * (directly, or through a service of its own that claims the victim's session id), marking it ready, or
 * unregistering it. Each is refused with a message that says who may; the service stays reachable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QiCallError, Session, listenStandalone, type AnyProxy, type ServiceInfo } from '../../src/index.js';
import { calculator } from '../object/fixtures.js';

describe('the ServiceDirectory refuses changes to a service from another connection', () => {
  let sd: Session;
  let victim: Session;
  let attacker: Session;
  let directory: AnyProxy;
  let id: number;
  let info: ServiceInfo;
  const evil = ['tcp://203.0.113.66:9559'];

  before(async () => {
    sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    const url = sd.endpoints.find((e) => e.startsWith('tcp:'))!;
    victim = await Session.connect(url, { ipc: false, followAddresses: false });
    id = await victim.registerService('Calculator', calculator());
    attacker = await Session.connect(url, { ipc: false, lpc: false });
    directory = await attacker.service('ServiceDirectory');
    info = await attacker.serviceInfo('Calculator');
  });
  after(async () => {
    await attacker.close();
    await victim.close();
    await sd.close();
  });

  const refused = (member: string) => (e: unknown) =>
    e instanceof QiCallError &&
    new RegExp(`${member}: service #${id} "Calculator" was registered by another connection`).test(e.message);

  it('updateServiceInfo of the victim: refused, endpoints unchanged', async () => {
    await assert.rejects(directory.updateServiceInfo({ ...info, endpoints: evil }), refused('updateServiceInfo'));
    assert.deepEqual((await attacker.serviceInfo('Calculator')).endpoints, info.endpoints);
  });

  it("an update of the attacker's own service claiming the victim's session id does not move the victim", async () => {
    const own = await attacker.registerService('Decoy', calculator());
    const mine = await attacker.serviceInfo('Decoy');
    await directory.updateServiceInfo({ ...mine, sessionId: info.sessionId, endpoints: evil });
    assert.deepEqual((await attacker.serviceInfo('Calculator')).endpoints, info.endpoints);
    await attacker.unregisterService(own);
  });

  it("registering the victim's name under its session id: the victim answers the directory's probe, refused", async () => {
    await assert.rejects(
      directory.registerService({ ...info, serviceId: 0, endpoints: evil }),
      (e: unknown) => e instanceof QiCallError && /is already registered/.test(e.message),
    );
    assert.deepEqual((await attacker.serviceInfo('Calculator')).endpoints, info.endpoints);
    assert.equal(await (await attacker.service('Calculator')).add(1, 1), 2);
  });

  it('unregisterService and serviceReady of the victim: refused, the service still answers', async () => {
    await assert.rejects(directory.unregisterService(id), refused('unregisterService'));
    await assert.rejects(directory.serviceReady(id), refused('serviceReady'));
    const calc = await attacker.service('Calculator');
    assert.equal(await calc.add(2, 3), 5);
  });

  it('the owner still updates and unregisters its own service', async () => {
    const own = await victim.service('ServiceDirectory');
    await own.updateServiceInfo({ ...info, endpoints: [...info.endpoints] });
    await victim.unregisterService(id);
    await assert.rejects(attacker.serviceInfo('Calculator'), QiCallError);
  });
});
