/**
 * IPv6 link-local endpoints with a scope id, over a real link: a veth pair inside a network namespace
 * created for the test (never the host's interfaces). Skipped, loudly, where namespaces are refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ns = `qi-test-${process.pid}`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' }).toString();

function setUp(): string | undefined {
  try {
    ip('netns', 'add', ns);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    for (const dev of ['v0', 'v1']) ip('netns', 'exec', ns, 'ip', 'link', 'set', dev, 'up');
    ip('netns', 'exec', ns, 'ip', '-6', 'addr', 'add', 'fe80::a/64', 'dev', 'v0', 'nodad');
    ip('netns', 'exec', ns, 'ip', '-6', 'addr', 'add', 'fe80::b/64', 'dev', 'v1', 'nodad');
    return undefined;
  } catch (e) {
    return `network namespaces are not available here (${(e as Error).message.split('\n')[0]})`;
  }
}

const refused = setUp();
after(() => {
  try {
    ip('netns', 'del', ns);
  } catch {
    // never created
  }
});

describe('IPv6 link-local with a scope id', () => {
  it('listens on fe80::a%v0 and connects through the other end of the link', (t) => {
    if (refused) {
      console.error(`SKIPPED: ${refused}`);
      return t.skip(refused);
    }
    const fixture = fileURLToPath(new URL('./fixtures/linklocal.js', import.meta.url));
    const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, fixture], { timeout: 20_000 }).toString();
    const r = JSON.parse(out) as { listening: string[]; connected: string; services: string[] };
    assert.match(r.listening[0], /^tcp:\/\/\[fe80::a%v0\]:[1-9]\d*$/);
    assert.match(r.connected, /^tcp:\/\/\[fe80::a%v1\]:\d+$/);
    assert.deepEqual(r.services, ['ServiceDirectory']);
  });
});
