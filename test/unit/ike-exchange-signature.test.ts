// Main mode with signature authentication (RFC 2409 §5.1 RSA, RFC 4754
// ECDSA) between two in-memory nodes, certificates from a throw-away PKI
// made with the openssl tool: tunnels come up; a certificate from another
// CA or for another name is refused with AUTHENTICATION-FAILED.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { certFields } from '../../firmware/src/ike/crypto/x509-fields.ts';
import type { SignatureAuth } from '../../firmware/src/ike/exchange/types.ts';
import { Harness } from './ike-exchange-harness.ts';
import { GATEWAY_CERT_EXT, opensslSkipReason } from '../lib/test-pki.ts';

const skip = opensslSkipReason() ?? false;

const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-ike-sig-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (n: string): string => path.join(dir, n);
const ossl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

const EXT = GATEWAY_CERT_EXT;

function key(name: string, kind: 'rsa' | 'p256'): void {
  if (kind === 'rsa') ossl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f(`${name}.key`));
  else ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(`${name}.key`));
}

function root(name: string): void {
  key(name, 'rsa');
  ossl(
    'req',
    '-new',
    '-x509',
    '-key',
    f(`${name}.key`),
    '-subj',
    `/O=sitelink test/CN=${name}`,
    '-days',
    '30',
    '-sha256',
    '-config',
    f('ext.cnf'),
    '-extensions',
    'root',
    '-out',
    f(`${name}.pem`),
  );
}

function leaf(name: string, ext: string, ca: string, kind: 'rsa' | 'p256', serial: string): void {
  key(name, kind);
  ossl('req', '-new', '-key', f(`${name}.key`), '-subj', `/O=sitelink test/CN=${name}`, '-out', f(`${name}.csr`));
  ossl(
    'x509',
    '-req',
    '-in',
    f(`${name}.csr`),
    '-CA',
    f(`${ca}.pem`),
    '-CAkey',
    f(`${ca}.key`),
    '-set_serial',
    serial,
    '-days',
    '30',
    '-sha256',
    '-extfile',
    f('ext.cnf'),
    '-extensions',
    ext,
    '-out',
    f(`${name}.pem`),
  );
}

function der(name: string): Buffer {
  return Buffer.from(new X509Certificate(readFileSync(f(`${name}.pem`))).raw);
}

function auth(name: string, method: 3 | 9, ca: string): SignatureAuth {
  const caCert = new X509Certificate(readFileSync(f(`${ca}.pem`)));
  return {
    method,
    privateKey: createPrivateKey(readFileSync(f(`${name}.key`))),
    certificates: [der(name)],
    caSubjects: [certFields(Buffer.from(caCert.raw)).subjectDer],
    trust: { trustedRoots: [caCert], crlLevel: 0 },
  };
}

t.test('signature authentication', { skip }, async (t) => {
  writeFileSync(f('ext.cnf'), EXT);
  root('rootCA');
  root('otherCA');
  leaf('gwA-rsa', 'gwA', 'rootCA', 'rsa', '0x10');
  leaf('gwB-rsa', 'gwB', 'rootCA', 'rsa', '0x11');
  leaf('gwA-ec', 'gwA', 'rootCA', 'p256', '0x12');
  leaf('gwB-ec', 'gwB', 'rootCA', 'p256', '0x13');
  leaf('gwA-other', 'gwA', 'otherCA', 'rsa', '0x14');
  leaf('gwB-as-A', 'gwA', 'rootCA', 'rsa', '0x15');

  for (const [label, method, a, b] of [
    ['RSA (method 3)', 3, 'gwA-rsa', 'gwB-rsa'],
    ['ECDSA P-256 (method 9)', 9, 'gwA-ec', 'gwB-ec'],
  ] as const) {
    t.test(`${label}: main mode + quick mode`, async (t) => {
      const h = new Harness({
        peerA: { psk: null, signature: auth(a, method, 'rootCA') },
        peerB: { psk: null, signature: auth(b, method, 'rootCA') },
      });
      h.bringUp();
      t.same(h.failed, { A: [], B: [] });
      const aOut = h.installs.A.find((s) => s.direction === 'out');
      const bIn = h.installs.B.find((s) => s.direction === 'in');
      t.ok(aOut && bIn && aOut.spi === bIn.spi && aOut.encKey.equals(bIn.encKey), 'IPsec SAs agree');
      t.ok(h.wire.some((d) => d.data.length > der(a).length), 'a message is large enough to carry the certificate');
    });
  }

  t.test('certificate from an untrusted CA is refused', async (t) => {
    const h = new Harness({
      peerA: { psk: null, signature: auth('gwA-other', 3, 'rootCA') },
      peerB: { psk: null, signature: auth('gwB-rsa', 3, 'rootCA') },
    });
    h.bringUp();
    t.match(h.failed.B[0], /certificate rejected/);
    t.equal(h.failures.B[0]?.code, 'authentication-failed');
    t.match(h.failed.A[0], /AUTHENTICATION_FAILED/);
    t.equal(h.installs.A.length + h.installs.B.length, 0);
  });

  t.test("a valid certificate for another name than the ID is refused", async (t) => {
    // B presents a certificate issued for gwA.lab while claiming gwB.lab.
    const h = new Harness({
      peerA: { psk: null, signature: auth('gwA-rsa', 3, 'rootCA') },
      peerB: { psk: null, signature: auth('gwB-as-A', 3, 'rootCA') },
    });
    h.bringUp();
    t.match(h.failed.A[0], /certificate rejected/, 'the initiator refuses MM6');
    t.equal(h.installs.A.length, 0);
  });
});
