// Throw-away PKI for the certificate tests: the openssl command line tool
// makes the keys and certificates; this is what those tests share. Not a test.
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { certFields } from '../../firmware/src/ike/crypto/x509-fields.ts';
import type { SignatureAuth } from '../../firmware/src/ike/exchange/types.ts';
import type { RunResult } from './proc.ts';
import type { GatewayConfig } from '../netns/ike-sitelinkd.ts';
import type { Charon } from './strongswan.ts';

/** Why certificate tests cannot run here, or null when the openssl tool is present. */
export function opensslSkipReason(): string | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'SKIPPED: the openssl command line tool is not installed';
  }
}

/** openssl x509v3 sections: a root CA, and leaf certificates for gwA.lab and gwB.lab
 * with the digitalSignature key usage that IKE signatures require. */
export const GATEWAY_CERT_EXT = `
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[gwA]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:gwA.lab
[gwB]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:gwB.lab
`;

/** Bumped when the way makeGatewayPki() builds its files changes, so old caches are not reused. */
const PKI_RECIPE = 1;
/** The certificates are valid 30 days; a cached PKI older than this is made again. */
const PKI_CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
const PKI_FILES = ['root.key', 'root.pem', 'gwA.key', 'gwA.pem', 'gwB.key', 'gwB.pem', 'ext.cnf'];

/**
 * A root CA (root.pem, root.key; RSA 2048) and gateway certificates gwA.pem/gwB.pem
 * with their keys in `dir`, keys in the traditional PEM forms (PKCS#1 RSA, SEC1 EC)
 * that charon's pem/pkcs1/openssl plugins read. `key` picks the gateway keys: RSA of
 * that many bits, or EC P-256.
 *
 * The files are copied from a cache under os.tmpdir() keyed by a hash of the PKI's
 * recipe (cachedGatewayPki): 4096-bit RSA keys take tens of seconds to generate on
 * this machine, and every certificate test of a suite run would otherwise pay that.
 * Each caller still gets its own copy, so tests that add leaves or CRLs stay apart.
 * Calls with the same `key` get the same root; a test that needs a second, foreign
 * root names another `variant`.
 */
export function makeGatewayPki(dir: string, key: 2048 | 4096 | 'ec', variant = 'lab'): void {
  const cache = cachedGatewayPki(key, variant);
  mkdirSync(dir, { recursive: true });
  for (const f of PKI_FILES) copyFileSync(path.join(cache, f), path.join(dir, f));
}

/**
 * The directory of a makeGatewayPki() PKI for `key`, generated once and kept under
 * os.tmpdir() (mode 0700, never in the repository) for later test files and runs.
 * Test files run in parallel: each generates into a private folder and renames it
 * into place; the loser of a race drops its copy and uses the winner's.
 */
export function cachedGatewayPki(key: 2048 | 4096 | 'ec', variant = 'lab'): string {
  const spec = JSON.stringify({ PKI_RECIPE, key, variant, GATEWAY_CERT_EXT });
  const hash = createHash('sha256').update(spec).digest('hex').slice(0, 16);
  const cache = path.join(tmpdir(), `sitelink-test-pki-${hash}`);
  const fresh = (): boolean => {
    try {
      return PKI_FILES.every((f) => existsSync(path.join(cache, f))) && Date.now() - statSync(cache).mtimeMs < PKI_CACHE_MAX_AGE_MS;
    } catch {
      return false;
    }
  };
  if (fresh()) return cache;
  const work = mkdtempSync(`${cache}.tmp-`);
  try {
    generateGatewayPki(work, key);
    if (existsSync(cache) && !fresh()) rmSync(cache, { recursive: true, force: true });
    try {
      renameSync(work, cache);
    } catch (e) {
      // Another test file put its copy there first (ENOTEMPTY/EEXIST): use that one.
      if (!fresh()) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return cache;
}

/** The openssl tool in `dir`. */
function openssl(dir: string): (...args: string[]) => void {
  return (...args) => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `<name>.key` in `dir`: RSA of that many bits (PKCS#1) or an EC key on the named curve (SEC1). */
function generateKey(dir: string, name: string, key: number | 'prime256v1' | 'secp384r1'): void {
  if (typeof key === 'number') openssl(dir)('genrsa', '-traditional', '-out', `${name}.key`, String(key));
  else openssl(dir)('ecparam', '-genkey', '-name', key, '-noout', '-out', `${name}.key`);
}

/** `<name>.pem` in `dir` for `<name>.key`: `subject`, signed by root.pem/root.key for 30
 * days with the x509v3 section `section` of the openssl config `extFile`. */
function issueCert(dir: string, name: string, subject: string, serial: string, extFile: string, section: string): void {
  const o = openssl(dir);
  o('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
  o('x509', '-req', '-in', `${name}.csr`, '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', serial,
    '-days', '30', '-sha256', '-extfile', extFile, '-extensions', section, '-out', `${name}.pem`);
}

function generateGatewayPki(dir: string, key: 2048 | 4096 | 'ec'): void {
  writeFileSync(path.join(dir, 'ext.cnf'), GATEWAY_CERT_EXT);
  generateKey(dir, 'root', 2048);
  openssl(dir)('req', '-new', '-x509', '-key', 'root.key', '-subj', '/O=sitelink lab/CN=Lab Root', '-days', '30', '-sha256',
    '-config', 'ext.cnf', '-extensions', 'root', '-out', 'root.pem');
  for (const [gw, serial] of [['gwA', '0x21'], ['gwB', '0x22']] as const) {
    generateKey(dir, gw, key === 'ec' ? 'prime256v1' : key);
    issueCert(dir, gw, `/O=sitelink lab/CN=${gw}.lab`, serial, 'ext.cnf', gw);
  }
}

/** swanctl.conf for charon as `self` (gwA or gwB) authenticating with its certificate
 * from makeGatewayPki() and expecting `other`'s, one tunnel; IKEv1 main mode unless
 * `version` says 2. The identities default to `<gw>.lab` (a DN must be given whole);
 * `connExtra` adds connection lines (e.g. ppk_id) and `secrets` a secrets section body. */
export function swanctlPubkey(o: {
  localAddr: string;
  remoteAddr: string;
  self: string;
  other: string;
  localTs: string;
  remoteTs: string;
  pki: string;
  fragmentation?: 'yes' | 'force' | 'no';
  version?: 1 | 2;
  localId?: string;
  remoteId?: string;
  connExtra?: Record<string, string>;
  secrets?: string[];
}): string {
  return [
    'connections {',
    '  lab {',
    `    version = ${o.version ?? 1}`,
    `    local_addrs = ${o.localAddr}`,
    `    remote_addrs = ${o.remoteAddr}`,
    '    proposals = aes128-sha256-modp2048',
    '    encap = yes',
    ...(o.fragmentation ? [`    fragmentation = ${o.fragmentation}`] : []),
    ...Object.entries(o.connExtra ?? {}).map(([k, v]) => `    ${k} = ${v}`),
    '    local {',
    '      auth = pubkey',
    `      certs = ${path.join(o.pki, `${o.self}.pem`)}`,
    `      id = "${o.localId ?? `${o.self}.lab`}"`,
    '    }',
    '    remote {',
    '      auth = pubkey',
    `      id = "${o.remoteId ?? `${o.other}.lab`}"`,
    `      cacerts = ${path.join(o.pki, 'root.pem')}`,
    '    }',
    '    children {',
    '      lab {',
    '        mode = tunnel',
    `        local_ts = ${o.localTs}`,
    `        remote_ts = ${o.remoteTs}`,
    '        esp_proposals = aes128gcm16',
    '      }',
    '    }',
    '  }',
    '}',
    ...(o.secrets ? ['secrets {', ...o.secrets.map((l) => `  ${l}`), '}'] : []),
    '',
  ].join('\n');
}

/** charon reads private keys from its credential folders: copies `gw`'s key from a
 * makeGatewayPki() folder there and loads it (and the config's other credentials);
 * swanctl --load-creds' result. */
export async function giveCharonKey(c: Charon, pki: string, gw: string, kind: 'rsa' | 'ec'): Promise<RunResult> {
  copyFileSync(path.join(pki, `${gw}.key`), path.join(c.dir, kind === 'rsa' ? 'rsa' : 'ecdsa', `${gw}.key`));
  return c.swanctl(['--load-creds', '--file', path.join(c.dir, 'swanctl.conf')]);
}

/** sitelinkd's certificate settings (GatewayConfig's `cert`) as `gw` with its key and
 * certificate from a makeGatewayPki() folder, trusting its root; `auth` is the method
 * list when it is not just `kind` (e.g. "psk, rsa-sig"). */
export function gatewayCert(pki: string, gw: string, kind: 'rsa-sig' | 'ecdsa-sig', auth?: string): NonNullable<GatewayConfig['cert']> {
  return {
    kind,
    ...(auth === undefined ? {} : { auth }),
    certificate: path.join(pki, `${gw}.pem`),
    privateKey: path.join(pki, `${gw}.key`),
    ca: path.join(pki, 'root.pem'),
  };
}

/** The exchange layer's signature settings for `gw` from makeGatewayPki() files in
 * `dir`: its key and certificate, trusting only that root (CRLs off). */
export function gatewaySignatureAuth(dir: string, gw: 'gwA' | 'gwB', method: 3 | 9): SignatureAuth {
  const ca = new X509Certificate(readFileSync(path.join(dir, 'root.pem')));
  return {
    method,
    privateKey: createPrivateKey(readFileSync(path.join(dir, `${gw}.key`))),
    certificates: [Buffer.from(new X509Certificate(readFileSync(path.join(dir, `${gw}.pem`))).raw)],
    caSubjects: [certFields(Buffer.from(ca.raw)).subjectDer],
    trust: { trustedRoots: [ca], crlLevel: 0 },
  };
}

/**
 * One more leaf certificate from the root of makeGatewayPki() in `dir`:
 * `<name>.pem` / `<name>.key`, with `subject` (openssl -subj form) and
 * `san` (an openssl subjectAltName value such as `IP:198.51.100.2`,
 * `email:gw@example.lab` or `DNS:x.lab`).
 */
export function makeLeafCert(dir: string, name: string, key: 'rsa2048' | 'rsa4096' | 'p256' | 'p384', subject: string, san: string): void {
  writeFileSync(
    path.join(dir, `${name}.cnf`),
    `[leaf]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nsubjectAltName = ${san}\n`,
  );
  generateKey(dir, name, ({ rsa2048: 2048, rsa4096: 4096, p256: 'prime256v1', p384: 'secp384r1' } as const)[key]);
  issueCert(dir, name, subject, `0x${Buffer.from(name).toString('hex').slice(0, 16)}`, `${name}.cnf`, 'leaf');
}

/** SignatureAuth for a leaf from makeLeafCert()/makeGatewayPki() trusting `rootDir`'s root (default: its own). */
export function leafSignatureAuth(dir: string, name: string, rootDir = dir): SignatureAuth {
  const ca = new X509Certificate(readFileSync(path.join(rootDir, 'root.pem')));
  const privateKey = createPrivateKey(readFileSync(path.join(dir, `${name}.key`)));
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  return {
    method: privateKey.asymmetricKeyType === 'rsa' ? 3 : curve === 'secp384r1' ? 10 : 9,
    privateKey,
    certificates: [Buffer.from(new X509Certificate(readFileSync(path.join(dir, `${name}.pem`))).raw)],
    caSubjects: [certFields(Buffer.from(ca.raw)).subjectDer],
    trust: { trustedRoots: [ca], crlLevel: 0 },
  };
}
