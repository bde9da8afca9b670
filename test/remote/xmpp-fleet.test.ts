/**
 * Robot identity on a real Prosody: three robots announce name, model, version and services in their
 * presence; a watcher and `qi xmpp-robots` list them (and a followed robot never seen, offline). A robot
 * announcing hostile text (terminal escapes, bidi overrides, 5,000 characters) is listed cleaned and cut;
 * a stranger's presence claiming to be a robot is not listed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, Session, listenStandalone } from '../../src/index.js';
import { IDENTITY_MAX, RobotWatcher, XmppGateway, XmppLink, closeXmppLinks } from '../../src/remote/index.js';
import { xml } from '../../src/remote/xmpp/lib.js';
import { calculator } from '../object/fixtures.js';
import { runQi } from '../helpers/demo-robot.js';
import { DOMAIN, Prosody } from '../helpers/prosody.js';

let server: Prosody | string;
let sd: Session;
let gw: Gateway;
const robots: XmppGateway[] = [];

const acct = (name: string) => ({
  service: (server as Prosody).service,
  jid: `${name}@${DOMAIN}`,
  password: `${name}-pw`,
});
const HOSTILE = {
  name: `\x1b]0;pwned\x07\x1b[31mred${'A'.repeat(5000)}`,
  model: '\u202Eledom\u200B',
  version: 'x\x1b[2J\x9b1m\ny',
};

before(async () => {
  server = await Prosody.start();
  if (typeof server === 'string') return;
  for (const n of ['r1', 'r2', 'r3', 'r4', 'alice', 'mallory']) server.register(n, `${n}-pw`);
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
  gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  const identities = [{ name: 'Pepper-3F', model: 'Pepper', version: 'NAOqi 2.9.5.172' }, undefined, HOSTILE];
  for (const [i, identity] of identities.entries())
    robots.push(
      await XmppGateway.start({ account: acct(`r${i + 1}`), allow: [`alice@${DOMAIN}`], gateway: gw, identity }),
    );
});

after(async () => {
  await closeXmppLinks();
  for (const r of robots) await r.close();
  await gw?.close();
  await sd?.close();
});

describe('robot identity (Prosody)', () => {
  it('three robots announce who they are; a watcher lists them, cleaned, and ignores a stranger', async (t) => {
    if (typeof server === 'string') return t.skip(server);
    const follow = ['r1', 'r2', 'r3', 'r4'].map((n) => `${n}@${DOMAIN}`);
    const w = await RobotWatcher.start(acct('alice'), follow);
    const mallory = await XmppLink.open(acct('mallory'), {}, 'm');
    try {
      for (const j of follow.slice(0, 3)) await w.waitFor(j, true, 5000);
      // A stranger sends the watcher a presence that claims a robot; then a ping: once it is answered
      // (an error: nobody handles it), the presence before it has been read.
      await mallory.xmpp.send(
        xml('presence', { to: w.link.jid }, xml('qi', { xmlns: 'urn:qimessaging:robot', services: 9, name: 'fake' })),
      );
      await mallory.xmpp.iqCaller
        .request(xml('iq', { type: 'get', to: w.link.jid }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 3000)
        .catch(() => {});
      const list = w.list();
      assert.deepEqual(
        list.map((r) => [r.jid, r.online]),
        [...follow.map((j, i) => [j, i < 3])],
        'the three robots online, the fourth offline, mallory not at all',
      );
      assert.deepEqual(
        { name: list[0].name, model: list[0].model, version: list[0].version, services: list[0].services },
        { name: 'Pepper-3F', model: 'Pepper', version: 'NAOqi 2.9.5.172', services: 1 },
      );
      assert.equal(list[1].name, 'r2', 'a robot with no name given is named after its JID');
      const h = list[2];
      assert.ok(h.name !== undefined && h.name.length <= IDENTITY_MAX, `name cut to ${IDENTITY_MAX}`);
      assert.match(h.name, /^\]0;pwned\[31mredA+$/, 'no control character left');
      assert.equal(h.model, 'ledom', 'no bidi override nor zero-width space');
      assert.equal(h.version, 'x[2J1my');
      // Gone: listed offline, with what it said of itself.
      const gone = w.waitFor(follow[1], false, 5000);
      await robots[1].close();
      assert.deepEqual([(await gone).online, (await gone).name], [false, 'r2']);
      robots[1] = await XmppGateway.start({ account: acct('r2'), allow: [`alice@${DOMAIN}`], gateway: gw });
      await w.waitFor(follow[1], true, 5000);
    } finally {
      await mallory.close();
      await w.close();
    }
  });

  it('qi xmpp-robots prints the fleet with names, models and versions, and nothing a terminal would obey', async (t) => {
    if (typeof server === 'string') return t.skip(server);
    const as = ['--xmpp-service', server.service, '--xmpp-jid', `alice@${DOMAIN}`, '--xmpp-password', 'alice-pw'];
    const follow = ['r1', 'r2', 'r3', 'r4'].map((n) => `${n}@${DOMAIN}`);
    const r = await runQi([...as, 'xmpp-robots', '--follow', ...follow, '--time', '1.5'], 20_000);
    assert.equal(r.code, 0, r.stderr);
    const d = DOMAIN.replace('.', '\\.');
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 4, r.stdout);
    assert.match(
      lines[0],
      new RegExp(`^online  r1@${d}  1 services  xmpp://r1@${d}/qi  \\(Pepper-3F, Pepper, NAOqi 2\\.9\\.5\\.172\\)$`),
    );
    assert.match(lines[1], new RegExp(`^online  r2@${d}  1 services  xmpp://r2@${d}/qi  \\(r2\\)$`));
    assert.match(lines[2], new RegExp(`^online  r3@${d}  1 services  xmpp://r3@${d}/qi  \\(\\]0;pwned`));
    assert.match(lines[3], new RegExp(`^offline r4@${d}$`));
    assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e\u200b]/, 'no control or formatting character');
    // Without --follow: the robots the account already follows (its roster), r4 not (it never approved).
    const json = await runQi([...as, '--json', 'xmpp-robots', '--time', '1'], 20_000);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      (JSON.parse(json.stdout) as { jid: string; model?: string | null }[]).map((x) => [x.jid, x.model ?? null]),
      [
        [follow[0], 'Pepper'],
        [follow[1], null],
        [follow[2], 'ledom'],
      ],
    );
  });
});
