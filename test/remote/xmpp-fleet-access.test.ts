/**
 * Who may reach which robot, and a robot cut off, on a real Prosody (the scenarios: test/helpers/xmpp-access.ts):
 * - roster groups: the robot lets in the contacts of a group of its own roster (here a group Prosody's
 *   mod_groups shares with its members); a JID in no group is refused at the bytestream offer, before any
 *   qi byte, and a member lists the robot without ever asking to follow it;
 * - provisioning: a robot whose account is deleted (`prosodyctl shell user delete`), or whose password
 *   changes (`prosodyctl shell user password`), is cut off with a reason naming the account and stops
 *   logging in; `qi xmpp-gateway` exits; clients see it leave.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DOMAIN, Prosody } from '../helpers/prosody.js';
import {
  accountRemovedScenario,
  fleetAccess,
  groupAccessScenario,
  passwordChangedScenario,
  startXmppGatewayCli,
} from '../helpers/xmpp-access.js';

const f = fleetAccess(() => {
  const groups = join(tmpdir(), `qi-groups-${process.pid}.txt`);
  writeFileSync(groups, `[operators]\nop1@${DOMAIN}\nop2@${DOMAIN}\nbox@${DOMAIN}\n`);
  return Prosody.start({ modules: ['groups', 'admin_socket', 'admin_shell'], config: `groups_file = "${groups}"` });
});

describe('fleet access (Prosody)', () => {
  it('lets in the roster group, refuses a JID in no group before any qi byte; members see it online', async (t) => {
    if (typeof f.server === 'string') return t.skip(f.server);
    await groupAccessScenario(f);
  });

  it('a robot whose account is deleted is cut off: qi xmpp-gateway exits naming it, a client sees it leave', async (t) => {
    if (typeof f.server === 'string') return t.skip(f.server);
    const p = f.server;
    // Without --allow nor --allow-group it refuses to start.
    const usage = startXmppGatewayCli({ sd: f.sd.endpoints[0], services: [p.service], name: 'doomed', args: [] });
    f.kids.push(usage.child);
    assert.equal(await usage.exited, 2, 'usage error without --allow');
    assert.match(usage.stderr(), /--allow-group/);
    await accountRemovedScenario(
      f,
      () => p.ctl('shell', 'user', 'delete', `doomed@${DOMAIN}`),
      /refused doomed@example\.test \(the server ended the session, not-authorized: Account deleted\)/,
    );
  });

  it('a robot whose password changes tries once more, is refused, and stops: no endless reconnect loop', async (t) => {
    if (typeof f.server === 'string') return t.skip(f.server);
    const p = f.server;
    await passwordChangedScenario(
      f,
      () => p.ctl('shell', 'user', 'password', `moved@${DOMAIN}`, 'new-pw'),
      'after the server reset the session',
    );
  });
});
