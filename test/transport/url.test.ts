import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QiUrlError } from '../../src/index.js';
import { formatEndpoint, parseEndpoint } from '../../src/wire.js';
import { isLoopbackHost } from '../../src/transport/index.js';

describe('endpoint URLs', () => {
  const ok: [string, object, string][] = [
    ['tcp://127.0.0.1:9559', { scheme: 'tcp', host: '127.0.0.1', port: 9559 }, 'tcp://127.0.0.1:9559'],
    ['tcps://pepper.local:9503', { scheme: 'tcps', host: 'pepper.local', port: 9503 }, 'tcps://pepper.local:9503'],
    ['tcpsm://10.0.0.2:1', { scheme: 'tcpsm', host: '10.0.0.2', port: 1 }, 'tcpsm://10.0.0.2:1'],
    ['nao.local', { scheme: 'tcp', host: 'nao.local', port: 9559 }, 'tcp://nao.local:9559'],
    ['192.168.1.10:1234', { scheme: 'tcp', host: '192.168.1.10', port: 1234 }, 'tcp://192.168.1.10:1234'],
    ['tcp://0.0.0.0:0', { scheme: 'tcp', host: '0.0.0.0', port: 0 }, 'tcp://0.0.0.0:0'],
    ['tcp://[::1]:0', { scheme: 'tcp', host: '::1', port: 0 }, 'tcp://[::1]:0'],
    ['tcp://[::1]', { scheme: 'tcp', host: '::1', port: 9559 }, 'tcp://[::1]:9559'],
    [
      'tcp://[fe80::1%eth0]:9559',
      { scheme: 'tcp', host: 'fe80::1', port: 9559, zone: 'eth0' },
      'tcp://[fe80::1%eth0]:9559',
    ],
    [
      'tcp://[fe80::1%25eth0]:9559',
      { scheme: 'tcp', host: 'fe80::1', port: 9559, zone: 'eth0' },
      'tcp://[fe80::1%eth0]:9559',
    ],
    ['unix:/run/qi/sd.sock', { scheme: 'unix', path: '/run/qi/sd.sock' }, 'unix:/run/qi/sd.sock'],
    ['unix:///tmp/a b.sock', { scheme: 'unix', path: '/tmp/a b.sock' }, 'unix:/tmp/a b.sock'],
    ['qi:ServiceDirectory', { scheme: 'qi', service: 'ServiceDirectory' }, 'qi:ServiceDirectory'],
  ];
  for (const [url, parsed, canonical] of ok) {
    it(`parses ${url}`, () => {
      assert.deepEqual(parseEndpoint(url), parsed);
      assert.equal(formatEndpoint(parseEndpoint(url)), canonical);
    });
  }
  const bad: [string, RegExp][] = [
    ['http://robot', /unknown scheme "http"/],
    ['tcp://::1:9559', /must be written in brackets/],
    ['tcp://[::1', /closed with '\]'/],
    ['tcp://[::1]x', /unexpected "x"/],
    ['tcp://[zz::1]:1', /not an IPv6 address/],
    ['tcp://host:99999', /not a port/],
    ['tcp://host:abc', /not a port/],
    ['tcp://:9559', /host is missing/],
    ['unix:', /needs a socket path/],
    ['qi:', /qi:ServiceName/],
  ];
  for (const [url, reason] of bad) {
    it(`rejects ${url}`, () => {
      assert.throws(
        () => parseEndpoint(url),
        (e: unknown) =>
          e instanceof QiUrlError &&
          e.code === 'ERR_QI_URL' &&
          reason.test(e.message) &&
          /Examples: tcp:\/\//.test(e.message),
      );
    });
  }
  it('knows loopback hosts', () => {
    assert.ok(
      isLoopbackHost('127.0.0.1') &&
        isLoopbackHost('127.5.0.1') &&
        isLoopbackHost('::1') &&
        isLoopbackHost('localhost'),
    );
    assert.ok(!isLoopbackHost('192.168.1.10') && !isLoopbackHost('nao.local'));
  });
});
