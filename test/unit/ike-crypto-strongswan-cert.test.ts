// IKEv1 main mode with certificate authentication against strongSwan: the
// SIG payloads strongSwan produces must verify with our signature code over
// our own HASH_I/HASH_R (RSA: PKCS#1 v1.5 without DigestInfo, RFC 2409
// §5.1; ECDSA: r|s over HASH_I computed with the curve's hash, RFC 4754), its RSA signature must equal ours bit for
// bit (PKCS#1 v1.5 is deterministic), SKEYID must follow the signature
// rule prf(Ni_b | Nr_b, g^xy), and the CERT payloads must pass our X.509
// validation. Test PKI made with openssl at run time; root only.

import t from 'tap';
import type { Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Lab, LAB, uniquePrefix } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, Charon } from '../lib/strongswan.ts';
import { readPcapUdp } from '../lib/pcap.ts';
import { sleep, waitUntil } from '../lib/wait.ts';
import { hashById, HashId } from '../../firmware/src/ike/crypto/hash.ts';
import { cipherById, CipherId } from '../../firmware/src/ike/crypto/cipher.ts';
import { derivePhase1Keys, skeyidSignature } from '../../firmware/src/ike/crypto/skeyid.ts';
import { phase1Iv } from '../../firmware/src/ike/crypto/iv.ts';
import { IsakmpCryptoState } from '../../firmware/src/ike/crypto/isakmp-crypto-state.ts';
import { hashI, hashR } from '../../firmware/src/ike/crypto/exchange-hash.ts';
import { authHashPrf, signAuthHash, verifyAuthHash } from '../../firmware/src/ike/crypto/signature.ts';
import type { SignatureAuthMethod } from '../../firmware/src/ike/crypto/signature.ts';
import { verifyPeerCertificate } from '../../firmware/src/ike/crypto/x509-verify.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl', '/usr/bin/tcpdump', '/usr/bin/openssl']);

function logged(log: string, label: string): Buffer {
  const lines = log.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /\] (.+) => (\d+) bytes @ 0x[0-9a-f]+$/.exec(lines[i] ?? '');
    if (!m || m[1] !== label) continue;
    const want = Number(m[2]);
    const out: number[] = [];
    for (let j = i + 1; out.length < want && j < lines.length; j++) {
      const d = /\]\s+\d+: ((?:[0-9A-F]{2} )*[0-9A-F]{2})/.exec(lines[j] ?? '');
      if (!d?.[1]) break;
      out.push(...d[1].split(' ').slice(0, want - out.length).map((h) => parseInt(h, 16)));
    }
    return Buffer.from(out);
  }
  throw new Error(`log: "${label}" not found`);
}

interface Payload { type: number; body: Buffer }
function walk(first: number, data: Buffer): Payload[] {
  const out: Payload[] = [];
  let type = first;
  let off = 0;
  while (type !== 0) {
    if (off + 4 > data.length) throw new Error('payload header past the end');
    const len = data.readUInt16BE(off + 2);
    if (len < 4 || off + len > data.length) throw new Error(`bad payload length ${len}`);
    out.push({ type, body: data.subarray(off + 4, off + len) });
    type = data.readUInt8(off);
    off += len;
  }
  return out;
}
const body = (ps: Payload[], type: number): Buffer => {
  const p = ps.find((x) => x.type === type);
  if (!p) throw new Error(`payload ${type} missing`);
  return p.body;
};

const CASES: { key: 'rsa' | 'p384'; method: SignatureAuthMethod }[] = [

  { key: 'rsa', method: 3 },
  { key: 'p384', method: 10 },
];

for (const c of CASES) {
  t.test(`IKEv1 ${c.key} certificates (auth method ${c.method}) against strongSwan`, { skip: skip ?? false }, async (t) => {
    const lab = new Lab(uniquePrefix('ckc'));
    t.teardown(() => lab.down());
    await lab.up();
    const base = `/tmp/sitelink-lab/${lab.prefix}/pki`;
    mkdirSync(base, { recursive: true, mode: 0o700 });
    t.teardown(() => rmSync(path.dirname(base), { recursive: true, force: true }));
    const f = (n: string): string => path.join(base, n);
    const ossl = (...a: string[]): void => { execFileSync('openssl', a, { cwd: base, stdio: 'ignore' }); };
    const keygen = (n: string): void => {
      if (c.key === 'rsa') ossl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f(`${n}.p8`));
      else ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', f(`${n}.p8`));
      ossl('pkey', '-in', f(`${n}.p8`), '-traditional', '-out', f(`${n}.key`)); // PKCS#1 / SEC1 for strongSwan's pem+pkcs1
    };
    writeFileSync(f('ext.cnf'), [
      '[ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign',
      '[a]', 'keyUsage = critical,digitalSignature', 'subjectAltName = DNS:gwA.lab',
      '[b]', 'keyUsage = critical,digitalSignature', 'subjectAltName = DNS:gwB.lab', '',
    ].join('\n'));
    keygen('root');
    ossl(
      'req',
      '-new',
      '-x509',
      '-key',
      f('root.key'),
      '-subj',
      '/O=sitelink lab/CN=Lab Root',
      '-days',
      '30',
      '-config',
      f('ext.cnf'),
      '-extensions',
      'ca',
      '-out',
      f('root.pem'),
    );
    for (const [n, serial] of [['a', '0x0a'], ['b', '0x0b']] as const) {
      keygen(n);
      ossl('req', '-new', '-key', f(`${n}.key`), '-subj', `/O=sitelink lab/CN=gw${n.toUpperCase()}.lab`, '-out', f(`${n}.csr`));
      ossl('x509', '-req', '-in', f(`${n}.csr`), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-set_serial', serial, '-days', '30',
        '-extfile', f('ext.cnf'), '-extensions', n, '-out', f(`${n}.pem`));
    }
    const conf = (me: 'a' | 'b', localAddr: string, remoteAddr: string, localTs: string, remoteTs: string): string => {
      const peer = me === 'a' ? 'b' : 'a';
      return [
        'connections {', '  lab {', '    version = 1', `    local_addrs = ${localAddr}`, `    remote_addrs = ${remoteAddr}`,
        '    proposals = aes128-sha256-modp2048', '    encap = yes', '    fragmentation = no', '    send_cert = always',
        '    local {', '      auth = pubkey', `      certs = ${f(`${me}.pem`)}`, `      id = gw${me.toUpperCase()}.lab`, '    }',
        '    remote {', '      auth = pubkey', `      id = gw${peer.toUpperCase()}.lab`, `      cacerts = ${f('root.pem')}`, '    }',
        '    children {', '      lab {', '        mode = tunnel', `        local_ts = ${localTs}`, `        remote_ts = ${remoteTs}`,
        '        esp_proposals = aes128gcm16', '      }', '    }', '  }', '}',
        '',
      ].join('\n');
    };

    const pcap = path.join(path.dirname(base), 'gwB.pcap');
    const dump = spawn('ip', ['netns', 'exec', lab.ns('gwB'), 'tcpdump', '-i', 'any', '--immediate-mode', '-U', '-n', '-w', pcap, 'udp'], {
      stdio: 'ignore',
    });
    t.teardown(() => { dump.kill('SIGTERM'); });
    await waitUntil(() => existsSync(pcap), 5000, 50);
    await sleep(300);
    // Private keys are read from the swanctl/private folder beside
    // swanctl.conf (the secrets section only carries passphrases), so they
    // are copied in after start and loaded with --load-creds.
    const start = async (me: 'a' | 'b', ns: string, text: string, level: number): Promise<Charon> => {
      const dir = path.join(path.dirname(base), `gw${me.toUpperCase()}`);
      const ch = await Charon.start(ns, dir, text, level);
      t.teardown(() => ch.stop());
      copyFileSync(f(`${me}.key`), path.join(dir, 'private', `${me}.key`));
      const r = await ch.swanctl(['--load-creds', '--file', path.join(dir, 'swanctl.conf')]);
      if (r.code !== 0) throw new Error(`swanctl --load-creds failed: ${r.stderr}`);
      return ch;
    };
    const gwB = await start('b', lab.ns('gwB'), conf('b', LAB.gwBWan, LAB.natPublic, LAB.subnetB, LAB.subnetA), 4);
    const gwA = await start('a', lab.ns('gwA'), conf('a', LAB.gwAWan, LAB.gwBWan, LAB.subnetA, LAB.subnetB), 1);
    const init = await gwA.initiate('lab');
    t.equal(init.code, 0, 'strongSwan pair authenticated with certificates');
    if (init.code !== 0) t.comment(init.stdout.slice(-2000)); // swanctl's own log lines, no key material
    await sleep(300);
    const log = gwB.log();
    dump.kill('SIGTERM');
    await waitUntil(() => dump.exitCode !== null, 3000, 50);
    if (init.code !== 0) return;
    verify(t, c.method, log, pcap, f);
  });
}

function verify(t: Test, method: SignatureAuthMethod, log: string, pcap: string, f: (n: string) => string): void {
  const sha256 = hashById(HashId.SHA2_256);
  const aes = cipherById(CipherId.AES_CBC, 128);
  if (!sha256 || !aes) throw new Error('algorithms missing');
  const seen = new Set<string>();
  const mm = readPcapUdp(pcap)
    .filter((r) => r.kind === 'ike' && r.payload.readUInt8(18) === 2)
    .map((r) => r.payload)
    .filter((p) => (seen.has(p.toString('hex')) ? false : (seen.add(p.toString('hex')), true)));
  if (!t.equal(mm.length, 6, 'six main mode messages')) {
    t.comment(readPcapUdp(pcap).map((r) => `${r.frame} ${r.src}:${r.srcPort} > ${r.dst}:${r.dstPort} ${r.kind} ${r.payload.length}`).join('\n'));
    return;
  }
  const m = (i: number): Buffer => mm[i] ?? Buffer.alloc(28);
  const chain = (x: Buffer): Payload[] => walk(x.readUInt8(16), x.subarray(28));
  const ckyI = m(0).subarray(0, 8);
  const ckyR = m(1).subarray(8, 16);
  const saiB = body(chain(m(0)), 1);
  const gxi = body(chain(m(2)), 4);
  const gxr = body(chain(m(3)), 4);
  const niB = body(chain(m(2)), 10);
  const nrB = body(chain(m(3)), 10);
  const gxy = logged(log, 'shared Diffie Hellman secret');

  const skeyid = skeyidSignature(sha256, niB, nrB, gxy);
  t.same(skeyid, logged(log, 'SKEYID'), 'SKEYID = prf(Ni_b | Nr_b, g^xy) for signatures');
  const k = derivePhase1Keys(sha256, skeyid, gxy, ckyI, ckyR, 16);
  const st = new IsakmpCryptoState(aes, sha256, k.encKey, phase1Iv(sha256, 16, gxi, gxr));
  const mm5 = walk(m(4).readUInt8(16), st.decrypt(0, m(4).subarray(28)));
  const mm6 = walk(m(5).readUInt8(16), st.decrypt(0, m(5).subarray(28)));
  t.ok(mm5.some((p) => p.type === 6) && mm5.some((p) => p.type === 9), 'MM5 carries CERT and SIG');
  const hx = { gxi, gxr, ckyI, ckyR, saiB };
  // RSA: the negotiated PRF (SHA-256); ECDSA-384: HMAC-SHA-384 (RFC 4754 §3).
  const authPrf = authHashPrf(method, sha256);
  const hI = hashI(authPrf, skeyid, hx, body(mm5, 5));
  const hR = hashR(authPrf, skeyid, hx, body(mm6, 5));
  t.same(hI, logged(log, 'HASH_I'), `HASH_I with ${authPrf.name} equals strongSwan's`);
  t.same(hR, logged(log, 'HASH_R'), `HASH_R with ${authPrf.name} equals strongSwan's`);

  const root = new X509Certificate(readFileSync(f('root.pem')));
  for (const [name, ps, h, id] of [['gwA', mm5, hI, 'gwA.lab'], ['gwB', mm6, hR, 'gwB.lab']] as const) {
    const certPayload = body(ps, 6);
    t.equal(certPayload.readUInt8(0), 4, `${name}: CERT encoding 4, X.509 signature (RFC 2408 §3.9)`);
    const cert = new X509Certificate(certPayload.subarray(1));
    const v = verifyPeerCertificate([cert], { type: 'fqdn', value: id }, { trustedRoots: [root], crlLevel: 0, now: new Date() });
    t.ok(v.ok, `${name}: certificate validates and matches ${id}`);
    const sig = body(ps, 9);
    t.ok(verifyAuthHash(method, cert.publicKey, h, sig), `${name}: strongSwan's SIG verifies over our ${name === 'gwA' ? 'HASH_I' : 'HASH_R'}`);
    t.notOk(verifyAuthHash(method, cert.publicKey, name === 'gwA' ? hR : hI, sig), `${name}: and not over the other hash`);
  }
  if (method === 3) {
    // PKCS#1 v1.5 signing is deterministic: our SIG for gwB equals strongSwan's.
    const ours = signAuthHash(3, createPrivateKey(readFileSync(f('b.key'))), hR);
    t.same(ours, body(mm6, 9), 'our RSA SIG_R is byte-identical to strongSwan\'s');
  } else {
    const sig = body(mm6, 9);
    t.equal(sig.length, 96, 'ECDSA P-384 SIG is r|s, 96 bytes');
    // Measured: strongSwan signs HASH_R itself (ECDSA_WITH_NULL), not SHA-384(HASH_R).
    const gwBKey = new X509Certificate(readFileSync(f('b.pem'))).publicKey;
    t.notOk(cryptoVerify('sha384', hR, { key: gwBKey, dsaEncoding: 'ieee-p1363' }, sig), 'strongSwan does not use the hash-per-curve form');
    const ours = signAuthHash(10, createPrivateKey(readFileSync(f('b.key'))), hR);
    t.ok(verifyAuthHash(10, gwBKey, hR, ours), 'our default-form ECDSA SIG_R verifies');
  }
  st.wipe();
}
