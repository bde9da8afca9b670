/**
 * Test certificates made fresh with openssl for each run (nothing secret is committed): a CA, a server
 * certificate it signs for 127.0.0.1/::1/localhost, a self-signed "robot" certificate, and a client
 * certificate for mutual TLS; and for XMPP federations (issue 23), a certificate per domain, signed by that
 * CA or self-signed ({@link domainCertificate}).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certs {
  ca: string;
  server: { cert: string; key: string };
  robot: { cert: string; key: string };
  client: { cert: string; key: string };
}

let cached: Certs | undefined;
/** The CA's key, kept in memory to sign domain certificates later. */
let caKey = '';

export function testCerts(): Certs {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'qi-certs-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = (name: string) => ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  try {
    key('ca');
    ssl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=qimessaging test CA', '-days', '2', '-out', 'ca.pem');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n');
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const [name, ext] of [
      ['server', 'san.ext'],
      ['client', 'client.ext'],
    ]) {
      key(name);
      ssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
      ssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        ext,
        '-out',
        `${name}.pem`,
      );
    }
    key('robot');
    ssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'robot.key',
      '-subj',
      '/CN=nao.local',
      '-days',
      '2',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-out',
      'robot.pem',
    );
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    cached = {
      ca: read('ca.pem'),
      server: { cert: read('server.pem'), key: read('server.key') },
      robot: { cert: read('robot.pem'), key: read('robot.key') },
      client: { cert: read('client.pem'), key: read('client.key') },
    };
    caKey = read('ca.key');
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A certificate for an XMPP domain (subjectAltName DNS:DOMAIN, as servers check it on s2s), signed by the
 * test CA ({@link testCerts}'s `ca`), or self-signed when `signed` is false (a server nobody trusts).
 */
export function domainCertificate(domain: string, signed = true): { cert: string; key: string } {
  const certs = testCerts();
  const dir = mkdtempSync(join(tmpdir(), 'qi-certs-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'd.key');
    const subject = ['-subj', `/CN=${domain}`, '-days', '2'];
    if (signed) {
      writeFileSync(join(dir, 'ca.pem'), certs.ca);
      writeFileSync(join(dir, 'ca.key'), caKey);
      writeFileSync(join(dir, 'san.ext'), `subjectAltName=DNS:${domain}\n`);
      ssl('req', '-new', '-key', 'd.key', '-subj', `/CN=${domain}`, '-out', 'd.csr');
      const ca = ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'];
      ssl('x509', '-req', '-in', 'd.csr', ...ca, '-days', '2', '-extfile', 'san.ext', '-out', 'd.pem');
    } else {
      ssl(
        'req',
        '-x509',
        '-new',
        '-key',
        'd.key',
        ...subject,
        '-addext',
        `subjectAltName=DNS:${domain}`,
        '-out',
        'd.pem',
      );
    }
    return { cert: readFileSync(join(dir, 'd.pem'), 'utf8'), key: readFileSync(join(dir, 'd.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
