/**
 * `.srv` files as ROS keeps them (`<pkg>/srv/<Name>.srv`, nested messages from `<pkg>/msg`): the
 * definition the ROS graph bridge reads from them hashes to the md5sum genmsg computes with the same
 * files, and what is missing or hostile (a huge file, a type that is not one) is refused by name.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadServiceDefinition } from '../../src/bridges/index.js';
import { serviceType } from '../../src/bridges/rosgraph/ros-services.js';
import { rosSkip } from '../helpers/rosmaster.js';

const STD_MSGS = '/usr/share/std_msgs/msg';

/** genmsg's md5sum of a .srv file, its messages looked up in the given package folders. */
const GENMSG_MD5 = `
import sys, genmsg, genmsg.msg_loader
ctx = genmsg.MsgContext.create_default()
spec = genmsg.msg_loader.load_srv_from_file(ctx, sys.argv[1], sys.argv[2])
genmsg.msg_loader.load_depends(ctx, spec, {'std_msgs': ['${STD_MSGS}'], 'qi_test': [sys.argv[3]]})
print(genmsg.compute_md5(ctx, spec))
`;

describe('ROS .srv files', { skip: rosSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'qi-srv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
    return join(dir, path);
  };

  it('reads a .srv with nested messages (Header, its own package, std_msgs) to the md5sum genmsg computes', () => {
    write('qi_test/msg/Target.msg', '# where to look\nHeader header\nstd_msgs/String label\nfloat64[3] xyz\n');
    const srv = write(
      'qi_test/srv/Look.srv',
      'Target target  # a comment\nint8 FAST=1\nint8 mode\n---\nbool ok\nstd_msgs/Header[] seen\n',
    );
    const byFile = loadServiceDefinition(`/look=${srv}`, ['/usr/share']);
    assert.equal(byFile.type, 'qi_test/Look');
    const byType = loadServiceDefinition('look=qi_test/Look', [dir, '/usr/share']);
    assert.deepEqual(byType, byFile);
    const ours = serviceType(byType);
    const theirs = execFileSync('/usr/bin/python3', ['-c', GENMSG_MD5, srv, 'qi_test/Look', join(dir, 'qi_test/msg')])
      .toString()
      .trim();
    assert.equal(ours.md5, theirs);
    assert.deepEqual(
      ours.request.fields.map((f) => f.name),
      ['target', 'mode'],
    );
  });

  it('refuses what it cannot read, by name', () => {
    assert.throws(
      () => loadServiceDefinition('/x=qi_test/Nope', [dir]),
      /qi_test\/Nope is not installed: no qi_test\/srv\/Nope\.srv in/,
    );
    const missing = write('qi_test/srv/Missing.srv', 'qi_test/Gone g\n---\n');
    assert.throws(
      () => loadServiceDefinition(`/x=${missing}`, []),
      /uses qi_test\/Gone, whose qi_test\/msg\/Gone\.msg is not in/,
    );
    const huge = write('qi_test/srv/Huge.srv', `${'int8 a\n'.repeat(200_000)}---\n`);
    assert.throws(() => loadServiceDefinition(`/x=${huge}`, []), /is over 1048576 bytes/);
    const odd = write('qi_test/srv/Odd.srv', '../../etc/passwd x\n---\n');
    assert.throws(() => loadServiceDefinition(`/x=${odd}`, []), /not a message type/);
    assert.throws(() => loadServiceDefinition('/x=../../etc/passwd', [dir]), /is not a ROS service type/);
    assert.throws(() => loadServiceDefinition('=a/B', [dir]), /is not NAME=TYPE or NAME=FILE\.srv/);
  });
});
