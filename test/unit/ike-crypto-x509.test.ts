// Certificate authentication: IKEv1 signatures (RSA PKCS#1 v1.5 without
// DigestInfo, ECDSA r|s per RFC 4754) and peer certificate validation
// including CRLs. All CAs, certificates and CRLs are made with the openssl
// command line in a temporary directory at test time; no key is committed.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPrivateKey, publicDecrypt, constants, X509Certificate, createHash, sign, verify } from 'node:crypto';
import { authHashPrf, signAuthHash, verifyAuthHash } from '../../firmware/src/ike/crypto/signature.ts';
import { hashById, HashId } from '../../firmware/src/ike/crypto/hash.ts';
import { verifyPeerCertificate } from '../../firmware/src/ike/crypto/x509-verify.ts';
import type { CertPolicy } from '../../firmware/src/ike/crypto/x509-verify.ts';
import { certFields, crlDistributionPoints, MAX_DISTRIBUTION_POINTS } from '../../firmware/src/ike/crypto/x509-fields.ts';
import { parseCrl } from '../../firmware/src/ike/crypto/crl.ts';
import { DerError } from '../../firmware/src/ike/crypto/der.ts';

let opensslOk = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  opensslOk = false;
}
const skip = opensslOk ? false : 'SKIPPED: the openssl command line tool is not installed';

const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-ike-x509-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string): string => path.join(dir, name);
const ossl = (...args: string[]): Buffer => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

const EXT = `
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
[leafA]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:gwA.lab,email:ops@a.lab,IP:198.51.100.1
[leafB]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:gwB.lab
[leafEnc]
basicConstraints = CA:FALSE
keyUsage = critical,keyEncipherment
subjectAltName = DNS:enc.lab
[leafNoKu]
basicConstraints = CA:FALSE
[leafCdp]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:cdp.lab
crlDistributionPoints = cdp1, cdp2, cdp3, cdp4
[cdp1]
fullname = URI:http://198.51.100.7:8080/root.crl, URI:ldap://ldap.lab/cn=Test%20Root, URI:https://crl.lab/root.crl
[cdp2]
fullname = URI:http://crl.lab/partitioned.crl
reasons = keyCompromise
[cdp3]
fullname = URI:http://crl.lab/indirect.crl
CRLissuer = email:ca@crl.lab
[cdp4]
fullname = URI:http://crl.lab/second.crl
[ca]
default_ca = rootca
[rootca]
dir = ${dir}
database = ${dir}/index.txt
crlnumber = ${dir}/crlnumber
certificate = ${dir}/root.pem
private_key = ${dir}/root.key
default_md = sha256
default_crl_days = 30
`;

function key(name: string, kind: 'rsa2048' | 'rsa1024' | 'p256' | 'p384' | 'p521'): void {
  const args =
    kind === 'rsa2048' || kind === 'rsa1024'
      ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${kind === 'rsa2048' ? 2048 : 1024}`]
      : ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${{ p256: 'P-256', p384: 'P-384', p521: 'P-521' }[kind]}`];
  ossl(...args, '-out', f(`${name}.key`));
}

function selfSigned(name: string, subj: string): void {
  ossl('req', '-new', '-x509', '-key', f(`${name}.key`), '-subj', subj, '-days', '3650', '-sha256',
    '-config', f('ext.cnf'), '-extensions', 'root', '-out', f(`${name}.pem`));
}

function issue(name: string, subj: string, issuer: string, ext: string, serial: string): void {
  ossl('req', '-new', '-key', f(`${name}.key`), '-subj', subj, '-out', f(`${name}.csr`));
  ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${issuer}.pem`), '-CAkey', f(`${issuer}.key`),
    '-set_serial', serial, '-days', '365', '-sha256', '-extfile', f('ext.cnf'), '-extensions', ext, '-out', f(`${name}.pem`));
}

const sha1 = hashById(HashId.SHA1);
if (!sha1) throw new Error('sha1 missing');
const cert = (name: string): X509Certificate => new X509Certificate(readFileSync(f(`${name}.pem`)));

/** Parses every truncation of data, and data with each of bits flipped in every
 * byte: how many of them raised something other than DerError. */
function nonDerErrors(parse: (b: Buffer) => unknown, data: Buffer, bits: number[]): number {
  let other = 0;
  const attempt = (b: Buffer): void => {
    try {
      parse(b);
    } catch (e) {
      if (!(e instanceof DerError)) other++;
    }
  };
  for (let n = 0; n < data.length; n++) attempt(data.subarray(0, n));
  for (let i = 0; i < data.length; i++) {
    for (const bit of bits) {
      const b = Buffer.from(data);
      b[i]! ^= bit;
      attempt(b);
    }
  }
  return other;
}

t.test('certificates and CRLs', { skip }, async (t) => {
  writeFileSync(f('ext.cnf'), EXT);
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('crlnumber'), '01\n');
  key('root', 'rsa2048');
  selfSigned('root', '/O=sitelink test/CN=Test Root');
  key('other', 'p256');
  selfSigned('other', '/O=elsewhere/CN=Other Root');
  key('inter', 'p384');
  issue('inter', '/O=sitelink test/CN=Test Intermediate', 'root', 'inter', '0x1001');
  key('leafA', 'rsa2048');
  issue('leafA', '/O=sitelink test/CN=gwA.lab', 'inter', 'leafA', '0x00a1b2');
  key('leafB', 'p256');
  issue('leafB', '/O=sitelink test/CN=gwB.lab', 'root', 'leafB', '0x2002');
  key('weak', 'rsa1024');
  issue('weak', '/CN=weak.lab', 'root', 'leafNoKu', '0x2003');
  key('enc', 'p256');
  issue('enc', '/CN=enc.lab', 'root', 'leafEnc', '0x2004');
  key('noku', 'p521');
  issue('noku', '/CN=noku.lab', 'root', 'leafNoKu', '0x2005');

  const root = cert('root');
  const inter = cert('inter');
  // An hour on: inside the validity of the certificates and of the CRLs made below (30 days).
  const base: CertPolicy = { trustedRoots: [root], crlLevel: 0, now: new Date(Date.now() + 3600e3) };
  const ok = (r: ReturnType<typeof verifyPeerCertificate>): boolean => r.ok;
  const reason = (r: ReturnType<typeof verifyPeerCertificate>): string => (r.ok ? 'ok' : r.reason);

  t.test('chain, identity, key strength, keyUsage, dates', async (t) => {
    const a = cert('leafA');
    const idA = { type: 'fqdn', value: 'gwA.lab' } as const;
    t.ok(ok(verifyPeerCertificate([a, inter], idA, base)), 'leaf -> intermediate -> root accepted');
    t.ok(ok(verifyPeerCertificate([a, inter], { type: 'user_fqdn', value: 'ops@a.lab' }, base)), 'email SAN');
    t.ok(ok(verifyPeerCertificate([a, inter], { type: 'ipv4', value: '198.51.100.1' }, base)), 'IP SAN');
    t.match(reason(verifyPeerCertificate([a, inter], { type: 'fqdn', value: 'gwB.lab' }, base)), /identity/, 'wrong FQDN refused');
    t.match(reason(verifyPeerCertificate([a, inter], { type: 'ipv4', value: '198.51.100.2' }, base)), /identity/, 'wrong IP refused');
    t.match(reason(verifyPeerCertificate([a], idA, base)), /no path/, 'missing intermediate: no path');
    t.match(reason(verifyPeerCertificate([a, inter], idA, { ...base, trustedRoots: [cert('other')] })), /no path/, 'untrusted root refused');
    t.match(reason(verifyPeerCertificate([a, inter], idA, { ...base, now: new Date(Date.now() + 2 * 365 * 86400e3) })), /expired/, 'expired leaf refused');
    t.match(reason(verifyPeerCertificate([a, inter], idA, { ...base, now: new Date('2001-01-01T00:00:00Z') })), /not valid before/, 'not-yet-valid refused');
    t.match(reason(verifyPeerCertificate([cert('weak')], { type: 'fqdn', value: 'weak.lab' }, base)), /1024 bits/, 'RSA-1024 refused');
    t.ok(ok(verifyPeerCertificate([cert('weak')], { type: 'fqdn', value: 'weak.lab' }, { ...base, minRsaBits: 1024 })), 'RSA floor is configurable');
    t.match(reason(verifyPeerCertificate([cert('enc')], { type: 'fqdn', value: 'enc.lab' }, base)), /digitalSignature/, 'keyUsage without digitalSignature refused');
    t.ok(ok(verifyPeerCertificate([cert('noku')], { type: 'fqdn', value: 'noku.lab' }, base)), 'no keyUsage, CN match, P-521 accepted');
    // A cert signed by a different key with the same issuer name must not chain.
    key('fakeroot', 'rsa2048');
    selfSigned('fakeroot', '/O=sitelink test/CN=Test Root'); // same DN as the real root
    key('forged', 'p256');
    issue('forged', '/O=sitelink test/CN=gwB.lab', 'fakeroot', 'leafB', '0x3001');
    t.match(reason(verifyPeerCertificate([cert('forged')], { type: 'fqdn', value: 'gwB.lab' }, base)), /no path/, 'bad signature refused');

    // ID_DER_ASN1_DN: the subject DER our reader extracts is the DN openssl sees.
    const dn = certFields(a.raw).subjectDer;
    const dump = execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: dn }).toString();
    t.match(dump, /commonName[\s\S]*gwA\.lab/, 'extracted subject DER is the leaf DN');
    t.ok(ok(verifyPeerCertificate([a, inter], { type: 'der_asn1_dn', value: dn }, base)), 'DN identity match');
    t.notOk(ok(verifyPeerCertificate([a, inter], { type: 'der_asn1_dn', value: certFields(a.raw).issuerDer }, base)), 'other DN refused');
  });

  t.test('CRL levels 0, 1, 2', async (t) => {
    const b = cert('leafB');
    const idB = { type: 'fqdn', value: 'gwB.lab' } as const;
    const cnf = ['-config', f('ext.cnf')];
    ossl('ca', ...cnf, '-gencrl', '-out', f('clean.crl'));
    ossl('ca', ...cnf, '-revoke', f('leafB.pem'));
    ossl('ca', ...cnf, '-gencrl', '-out', f('revoked.crl'));
    ossl('crl', '-in', f('revoked.crl'), '-outform', 'DER', '-out', f('revoked.der'));
    const clean = readFileSync(f('clean.crl'));
    const revoked = readFileSync(f('revoked.der'));

    const parsed = parseCrl(revoked);
    t.ok(parsed.revoked.has('2002'), 'DER CRL lists serial 0x2002');
    t.ok(parsed.nextUpdate && parsed.nextUpdate > parsed.thisUpdate, 'thisUpdate/nextUpdate read');
    t.equal(parseCrl(clean).revoked.size, 0, 'PEM CRL with no entries');
    t.ok(certFields(cert('root').raw).subjectDer.equals(parsed.issuerDer), 'CRL issuer is the root DN');

    // A CRL with the right issuer name but signed by another key.
    const fake = ['-config', f('fake.cnf')];
    writeFileSync(f('fake.cnf'), EXT.replace(`${dir}/root.key`, `${dir}/fakeroot.key`).replace(`${dir}/root.pem`, `${dir}/fakeroot.pem`).replace(/index\.txt/, 'index2.txt'));
    writeFileSync(f('index2.txt'), readFileSync(f('index.txt')));
    ossl('ca', ...fake, '-gencrl', '-out', f('forged.crl'));
    const forged = readFileSync(f('forged.crl'));
    t.ok(parseCrl(forged).revoked.has('2002'), 'forged CRL claims revocation');

    const later = new Date(Date.now() + 60 * 86400e3); // past nextUpdate (30 days), leaf still valid
    const v = (level: 0 | 1 | 2, crls: Buffer[], now?: Date): string =>
      reason(verifyPeerCertificate([b], idB, { ...base, crlLevel: level, crls, ...(now ? { now } : {}) }));

    t.equal(v(0, [revoked]), 'ok', 'level 0 ignores CRLs');
    t.equal(v(1, []), 'ok', 'level 1: missing CRL accepted');
    t.match(v(2, []), /no current/, 'level 2: missing CRL fails');
    t.equal(v(1, [clean]), 'ok', 'level 1: clean CRL');
    t.equal(v(2, [clean]), 'ok', 'level 2: clean current CRL');
    t.match(v(1, [revoked]), /revoked/, 'level 1: revoked fails');
    t.match(v(2, [clean, revoked]), /revoked/, 'level 2: revoked fails');
    t.equal(v(1, [forged]), 'ok', 'level 1: badly signed CRL is ignored');
    t.match(v(2, [forged]), /no current/, 'level 2: badly signed CRL is an error');
    t.equal(v(1, [clean], later), 'ok', 'level 1: stale CRL accepted');
    t.match(v(2, [clean], later), /no current/, 'level 2: stale CRL fails');
    t.match(v(1, [revoked], later), /revoked/, 'revocation in a stale CRL still counts');
    t.equal(v(1, [Buffer.from('garbage')]), 'ok', 'level 1: unparseable CRL ignored');
    t.match(v(2, [Buffer.from('garbage'), clean]), /parsed/, 'level 2: unparseable CRL fails');

    // Malformed input: every truncation and many bit flips either parse or
    // throw DerError; nothing else escapes (bounds checked before reads).
    t.equal(nonDerErrors(parseCrl, revoked, [0x01, 0x80]), 0, 'truncated/flipped CRLs only ever raise DerError');

    // Intermediate chain: level 2 needs a CRL from the intermediate for the leaf too.
    const a = cert('leafA');
    t.match(reason(verifyPeerCertificate([a, inter], { type: 'fqdn', value: 'gwA.lab' }, { ...base, crlLevel: 2, crls: [clean] })),
      /Intermediate/, 'level 2: missing intermediate CRL fails');
  });

  t.test('cRLDistributionPoints (RFC 5280 §4.2.1.13)', async (t) => {
    key('cdp', 'p256');
    issue('cdp', '/O=sitelink test/CN=cdp.lab', 'root', 'leafCdp', '0x2006');
    const c = cert('cdp');
    const text = ossl('x509', '-in', f('cdp.pem'), '-noout', '-ext', 'crlDistributionPoints').toString();
    t.match(text, /URI:http:\/\/198\.51\.100\.7:8080\/root\.crl[\s\S]*Reasons[\s\S]*CRL Issuer[\s\S]*second\.crl/, 'openssl wrote four points');
    t.same(
      crlDistributionPoints(certFields(c.raw)),
      ['http://198.51.100.7:8080/root.crl', 'http://crl.lab/second.crl'],
      'the http:// fullName URIs; ldap:, https:, partitioned (reasons) and indirect (cRLIssuer) points skipped',
    );
    t.same(crlDistributionPoints(certFields(cert('leafB').raw)), [], 'no extension: none');

    // Hand-assembled vectors: SEQUENCE { SEQUENCE { [0] { [0] { [6] "uri" ... } } } }.
    const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
      const body = Buffer.concat(parts);
      if (body.length > 255) throw new Error('lengths up to 255 only');
      const len = body.length < 128 ? [body.length] : [0x81, body.length]; // X.690 §8.1.3
      return Buffer.concat([Buffer.from([tag, ...len]), body]);
    };
    const uri = (u: string | Buffer): Buffer => tlv(0x86, Buffer.isBuffer(u) ? u : Buffer.from(u, 'latin1'));
    const dp = (...names: Buffer[]): Buffer => tlv(0x30, tlv(0xa0, tlv(0xa0, ...names)));
    const ext = (...dps: Buffer[]): Buffer => tlv(0x30, ...dps);
    const of = (value: Buffer): string[] =>
      crlDistributionPoints({
        issuerDer: Buffer.alloc(0),
        subjectDer: Buffer.alloc(0),
        extensions: new Map([['2.5.29.31', { critical: false, value }]]),
      });
    const one = ext(dp(uri('http://a/b.crl')));
    t.equal(one.toString('hex'), '30163014a012a010860e687474703a2f2f612f622e63726c', 'the builder makes the layout below');
    t.same(of(Buffer.from('30163014a012a010860e687474703a2f2f612f622e63726c', 'hex')), ['http://a/b.crl'], 'vector: 30 16 30 14 a0 12 a0 10 86 0e "http://a/b.crl"');
    const many = ext(...Array.from({ length: 6 }, (_, i) => dp(uri(`http://h${i}/c.crl`))));
    t.equal(of(many).length, MAX_DISTRIBUTION_POINTS, `at most ${MAX_DISTRIBUTION_POINTS} points per certificate`);
    t.same(of(ext(dp(uri('http://a/x.crl'), uri('http://a/x.crl')))), ['http://a/x.crl'], 'duplicates once');
    t.same(of(ext(dp(uri(Buffer.from('http://a/\x01.crl', 'latin1'))), dp(uri('HTTP://B/y.crl')))), ['HTTP://B/y.crl'], 'control characters skipped');
    t.same(of(ext(tlv(0x30, tlv(0xa0, tlv(0xa1, tlv(0x31)))))), [], 'nameRelativeToCRLIssuer: no URL');
    t.same(of(ext(dp(tlv(0x82, Buffer.from('crl.lab'))))), [], 'a dNSName is no URL');
    t.throws(() => of(Buffer.from('3003020100', 'hex')), DerError, 'not a SEQUENCE OF DistributionPoint: DerError');

    // Every truncation and bit flip of the real extension parses or throws DerError.
    const value = certFields(c.raw).extensions.get('2.5.29.31')!.value;
    t.equal(nonDerErrors(of, value, [0x01, 0x20, 0x80]), 0, 'malformed extensions only ever raise DerError');

    // The check names the chain's points to the CRL source, after the chain verified.
    const asked: string[][] = [];
    const idCdp = { type: 'fqdn', value: 'cdp.lab' } as const;
    const r = verifyPeerCertificate([c], idCdp, { ...base, crlLevel: 1, crls: (points) => (asked.push([...points]), []) });
    t.ok(r.ok, 'level 1 without the CRL: accepted');
    t.same(asked, [['http://198.51.100.7:8080/root.crl', 'http://crl.lab/second.crl']], 'the CRL source was asked for the points');
    asked.length = 0;
    verifyPeerCertificate([c], idCdp, { ...base, trustedRoots: [cert('other')], crlLevel: 1, crls: (points) => (asked.push([...points]), []) });
    t.same(asked, [], 'an untrusted chain makes us fetch nothing');
  });

  t.test('IKEv1 signatures over HASH_I', async (t) => {
    const hashI = createHash('sha256').update('HASH_I stand-in').digest();
    const rsaPriv = createPrivateKey(readFileSync(f('leafA.key')));
    const rsaPub = cert('leafA').publicKey;
    const sig = signAuthHash(3, rsaPriv, hashI);
    t.equal(sig.length, 256, 'RSA-2048 signature');
    // RFC 2409 §5.1: PKCS#1 v1.5 over the raw hash, no DigestInfo.
    const recovered = publicDecrypt({ key: rsaPub, padding: constants.RSA_PKCS1_PADDING }, sig);
    t.ok(recovered.equals(hashI), 'signature block holds exactly HASH_I (no DigestInfo)');
    writeFileSync(f('sig.bin'), sig);
    ossl('x509', '-in', f('leafA.pem'), '-pubkey', '-noout', '-out', f('leafA.pub'));
    const viaOpenssl = ossl('pkeyutl', '-verifyrecover', '-pubin', '-inkey', f('leafA.pub'), '-in', f('sig.bin'));
    t.ok(viaOpenssl.equals(hashI), 'openssl pkeyutl -verifyrecover agrees');
    t.ok(verifyAuthHash(3, rsaPub, hashI, sig), 'RSA verifies');
    const bad = Buffer.from(sig);
    bad[10]! ^= 1;
    t.notOk(verifyAuthHash(3, rsaPub, hashI, bad), 'tampered RSA signature fails');
    t.notOk(verifyAuthHash(3, rsaPub, Buffer.alloc(32), sig), 'other hash fails');

    for (const [method, name, size, sha] of [[9, 'leafB', 32, 'sha256'], [10, 'inter', 48, 'sha384'], [11, 'noku', 66, 'sha512']] as const) {
      const priv = createPrivateKey(readFileSync(f(`${name}.key`)));
      const pub = cert(name).publicKey;
      // Default form (strongSwan's): HASH_I itself is the ECDSA digest.
      const s = signAuthHash(method, priv, hashI);
      t.equal(s.length, 2 * size, `ECDSA method ${method}: r|s of ${2 * size} bytes (RFC 4754 §7)`);
      t.ok(verifyAuthHash(method, pub, hashI, s), `ECDSA method ${method} verifies`);
      // Independent check: openssl pkeyutl without -digest runs ECDSA on the input as the digest.
      writeFileSync(f('h.bin'), hashI);
      writeFileSync(f('sig.der'), rsToDer(s));
      ossl('pkey', '-in', f(`${name}.key`), '-pubout', '-out', f(`${name}.pub`));
      t.match(ossl('pkeyutl', '-verify', '-pubin', '-inkey', f(`${name}.pub`), '-in', f('h.bin'), '-sigfile', f('sig.der')).toString(),
        /Verified Successfully/, `ECDSA method ${method}: openssl verifies our signature over the raw HASH_I`);
      // Not ECDSA-with-SHA-2 over HASH_I: the digest is HASH_I itself.
      t.notOk(verify(sha, hashI, { key: pub, dsaEncoding: 'ieee-p1363' }, s), `method ${method}: not ECDSA-${sha}(HASH_I)`);
      // And the other way: node's ECDSA-with-SHA-2 over m is ECDSA over the digest SHA-2(m), so our raw-digest verifier accepts it.
      const m = Buffer.from('a message node hashes itself');
      const theirs = sign(sha, m, { key: priv, dsaEncoding: 'ieee-p1363' });
      t.ok(verifyAuthHash(method, pub, createHash(sha).update(m).digest(), theirs), `method ${method}: node's ECDSA-${sha} verifies as a raw digest`);
      t.ok(verify(sha, m, { key: pub, dsaEncoding: 'ieee-p1363' }, signAuthHash(method, priv, createHash(sha).update(m).digest())),
        `method ${method}: our signature over SHA-2(m) verifies with node's ECDSA-${sha} over m`);
      const sha2 = hashById(method === 9 ? HashId.SHA2_256 : method === 10 ? HashId.SHA2_384 : HashId.SHA2_512);
      t.equal(authHashPrf(method, sha1), sha2, `method ${method}: HASH_I is computed with HMAC-${sha} (RFC 4754 §3)`);
      const s2 = Buffer.from(s);
      s2[s2.length - 1]! ^= 1;
      t.notOk(verifyAuthHash(method, pub, hashI, s2), `ECDSA method ${method}: tampered fails`);
      t.notOk(verifyAuthHash(method, pub, Buffer.alloc(32, 1), s), `ECDSA method ${method}: other hash fails`);
      t.notOk(verifyAuthHash(3, pub, hashI, s), 'EC key under the RSA method fails');
    }
    t.equal(authHashPrf(3, sha1), sha1, 'RSA keeps the negotiated PRF');
    t.throws(() => signAuthHash(9, rsaPriv, hashI), /EC key/, 'RSA key under ECDSA method refused');
    t.notOk(verifyAuthHash(10, cert('leafB').publicKey, hashI, Buffer.alloc(96)), 'P-256 key under the P-384 method fails');
  });
});

/** r|s to a DER Ecdsa-Sig-Value (RFC 3279 §2.2.3), for openssl. */
function rsToDer(sig: Buffer): Buffer {
  const int = (b: Buffer): Buffer => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    const body = (v[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.of(0), v]) : v;
    return Buffer.concat([Buffer.of(0x02, body.length), body]);
  };
  const half = sig.length / 2;
  const seq = Buffer.concat([int(sig.subarray(0, half)), int(sig.subarray(half))]);
  const len = seq.length < 128 ? Buffer.of(seq.length) : Buffer.of(0x81, seq.length);
  return Buffer.concat([Buffer.of(0x30), len, seq]);
}
