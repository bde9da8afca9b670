/**
 * Provisioning and access on a real ejabberd (Debian's 23.01), as xmpp-fleet-access.test.ts does on Prosody
 * (the scenarios: test/helpers/xmpp-access.ts):
 * - accounts made with `ejabberdctl register`, and many at once through the ReST API (`mod_http_api`);
 * - a shared roster group (`ejabberdctl srg_create` / `srg_user_add`): the robot lets in its members, with
 *   no roster subscription made by hand; a JID in no group is refused before any qi byte;
 * - an account removed (`ejabberdctl unregister`) while the robot is online: `qi xmpp-gateway` exits 3
 *   naming the account, a client sees it leave; a password changed (`ejabberdctl change_password`): the
 *   robot is cut off and stops logging in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RobotWatcher } from '../../src/remote/index.js';
import { DOMAIN, Ejabberd } from '../helpers/ejabberd.js';
import {
  accountRemovedScenario,
  fleetAccess,
  groupAccessScenario,
  passwordChangedScenario,
} from '../helpers/xmpp-access.js';

const f = fleetAccess(
  () => Ejabberd.start({ sharedRoster: true, api: true, proxy65: false }),
  (e) => {
    // One shared roster group whose members see each other (it displays itself).
    e.ctl('srg_create', 'operators', DOMAIN, 'operators', 'who may reach box', 'operators');
    for (const n of ['op1', 'op2', 'box']) e.ctl('srg_user_add', n, DOMAIN, 'operators', DOMAIN);
  },
);

describe('fleet access (ejabberd)', () => {
  it('makes accounts through the ReST API, many per second, where each ejabberdctl starts a node', async (t) => {
    if (typeof f.server === 'string') return t.skip(f.server);
    const e = f.server;
    let t0 = Date.now();
    e.register('one-by-ctl', 'x');
    const ctlMs = Date.now() - t0;
    t0 = Date.now();
    const names = Array.from({ length: 50 }, (_, i) => `api${i}`);
    await e.api(names.map((n) => ['register', { user: n, host: DOMAIN, password: `${n}-pw` }]));
    const apiMs = Date.now() - t0;
    t.diagnostic(`ejabberdctl register: ${ctlMs} ms for one; ReST API: ${apiMs} ms for 50`);
    assert.match(e.ctl('registered_users', DOMAIN), /^api49$/m);
    // An account made through the API logs in.
    const w = await RobotWatcher.start(f.acct('api49'), []);
    await w.close();
  });

  it('lets in a shared roster group, refuses a JID in no group before any qi byte; members see it online', async (t) => {
    if (typeof f.server === 'string') return t.skip(f.server);
    await groupAccessScenario(f);
  });

  it('an account removed with ejabberdctl unregister: qi xmpp-gateway exits 3 naming it, a client sees it leave', async (t) => {
    if (typeof f.server === 'string') return t.skip(f.server);
    const e = f.server;
    await accountRemovedScenario(
      f,
      () => e.ctl('unregister', 'doomed', DOMAIN),
      // ejabberd ends the session with `conflict: User removed`; the login again is refused.
      /refused doomed@example\.test \(authentication failed, not-authorized: Invalid username or password\)/,
    );
  });

  it('a password changed with ejabberdctl change_password: the robot is cut off, refused, and stops', async (t) => {
    if (typeof f.server === 'string') return t.skip(f.server);
    const e = f.server;
    await passwordChangedScenario(
      f,
      () => {
        // ejabberd keeps the sessions of an account whose password changes: kick_user ends them.
        e.ctl('change_password', 'moved', DOMAIN, 'new-pw');
        e.ctl('kick_user', 'moved', DOMAIN);
      },
      'after the kick',
    );
  });
});
