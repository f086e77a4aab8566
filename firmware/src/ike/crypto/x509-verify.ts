// Peer certificate validation for signature authentication: chain to a
// configured trusted root, validity dates, key strength, keyUsage, identity
// match against the peer's ID payload, and CRL checking (RFC 5280 §6 in the
// subset an IKE gateway needs; no policy or name constraints processing).
//
// CRL levels: 0 = no checking; 1 = fail only if a CRL with a valid
// signature lists the certificate (missing, unreachable or stale CRLs are
// accepted); 2 = strict, every non-root certificate needs a current,
// validly signed CRL from its issuer and any error fails. At both levels a check
// waits (refuses, to be tried again) while a distribution point's first fetch is
// under way, so that its CRL is not skipped as "missing". The CRLs come from the
// caller: configured ones, and those at the cRLDistributionPoints of the chain's
// certificates (RFC 5280 §4.2.1.13), which the check names to the caller.

import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { certFields, crlDistributionPoints, hasDigitalSignatureUsage } from './x509-fields.ts';
import type { CertFields } from './x509-fields.ts';
import { sameDn } from './distinguished-name.ts';
import { normaliseSerial, parseCrl, verifyCrlSignature } from './crl.ts';
import type { Crl } from './crl.ts';
import { isoTime } from '../../base/iso-time.ts';

export type CrlLevel = 0 | 1 | 2;

/** What a CRL source knows now: its CRLs, and the distribution points whose first fetch
 * has not ended yet (neither a CRL nor an error). */
export interface CrlLookup {
  crls: readonly Buffer[];
  pending: readonly string[];
}

export interface CertPolicy {
  trustedRoots: readonly X509Certificate[];
  /** Minimum RSA modulus in bits (default 2048). */
  minRsaBits?: number;
  crlLevel: CrlLevel;
  /** CRLs already fetched (DER or PEM), or where to get the current ones at each check
   * (daemon/crl-store.ts refreshes them): called with the http:// distribution points
   * of the chain's certificates below the root, after the chain verified to a trusted
   * root (so only URLs a trusted CA signed). Fetching is the caller's I/O. */
  crls?: readonly Buffer[] | ((distributionPoints: readonly string[]) => readonly Buffer[] | CrlLookup);
  /** Evaluation time: the caller's wall clock (ExchangeEnv.wallClock), never read here. */
  now: Date;
  /** Longest chain accepted, leaf and root included (default 6). */
  maxDepth?: number;
}

/** The peer's ID payload (RFC 2407 §4.6.2.1 types 1, 2, 3, 5, 9). */
export type PeerId =
  | { type: 'ipv4' | 'ipv6'; value: string }
  | { type: 'fqdn'; value: string }
  | { type: 'user_fqdn'; value: string }
  | { type: 'der_asn1_dn'; value: Buffer };

export type CertResult = { ok: true; publicKey: KeyObject; chain: X509Certificate[] } | { ok: false; reason: string };

const EC_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

function fail(reason: string): CertResult {
  return { ok: false, reason };
}

/** Key strength rule: RSA >= minRsaBits, EC only on P-256/384/521. */
function keyProblem(cert: X509Certificate, minRsaBits: number): string | null {
  const k = cert.publicKey;
  if (k.asymmetricKeyType === 'rsa') {
    const bits = k.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits >= minRsaBits ? null : `RSA key of ${bits} bits is below ${minRsaBits}`;
  }
  if (k.asymmetricKeyType === 'ec') {
    const c = k.asymmetricKeyDetails?.namedCurve ?? '?';
    return EC_CURVES.has(c) ? null : `EC curve ${c} not allowed`;
  }
  return `key type ${k.asymmetricKeyType ?? '?'} not allowed`;
}

function validityProblem(cert: X509Certificate, now: Date): string | null {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return 'unreadable validity dates';
  if (now < from) return `not valid before ${isoTime(from)}`;
  if (now > to) return `expired ${isoTime(to)}`;
  return null;
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function identityMatches(leaf: X509Certificate, fields: CertFields, id: PeerId): boolean {
  switch (id.type) {
    case 'fqdn':
      return leaf.checkHost(id.value, { wildcards: false }) !== undefined;
    case 'user_fqdn':
      return leaf.checkEmail(id.value) !== undefined;
    case 'ipv4':
    case 'ipv6':
      return leaf.checkIP(id.value) !== undefined;
    case 'der_asn1_dn':
      return sameDn(fields.subjectDer, id.value);
  }
}

/** Build leaf -> ... -> trusted root from the certificates the peer sent. */
function buildChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  maxDepth: number,
): X509Certificate[] | string {
  const chain = [leaf];
  let cur = leaf;
  while (chain.length < maxDepth) {
    const root = roots.find((r) => issuedBy(cur, r));
    if (root) {
      if (!root.raw.equals(cur.raw)) chain.push(root);
      return chain;
    }
    const next = intermediates.find((c) => !chain.includes(c) && issuedBy(cur, c));
    if (!next) return 'no path to a trusted root';
    if (!next.ca) return 'an issuing certificate is not a CA';
    chain.push(next);
    cur = next;
  }
  return 'chain too long';
}

function crlProblem(
  cert: X509Certificate,
  issuer: X509Certificate,
  crls: readonly Crl[],
  level: CrlLevel,
  now: Date,
): { revoked: boolean; reason: string } | null {
  if (level === 0) return null;
  const issuerSubject = certFields(issuer.raw).subjectDer;
  const serial = normaliseSerial(cert.serialNumber);
  let current = false;
  for (const crl of crls) {
    if (!crl.issuerDer.equals(issuerSubject)) continue;
    if (!verifyCrlSignature(crl, issuer.publicKey)) continue; // never trust an unsigned claim
    // Revocation is permanent, so even a stale CRL's entry counts.
    if (crl.revoked.has(serial)) return { revoked: true, reason: `certificate ${serial} is revoked` };
    if (crl.thisUpdate <= now && (crl.nextUpdate === undefined || now <= crl.nextUpdate)) current = true;
  }
  if (level === 2 && !current) return { revoked: false, reason: `no current, validly signed CRL from ${issuer.subject.replace(/\n/g, ', ')}` };
  return null;
}

/**
 * Validate the peer's certificates (leaf first, then any intermediates it
 * sent) for signature authentication with ID payload `id`.
 */
export function verifyPeerCertificate(certs: readonly X509Certificate[], id: PeerId, policy: CertPolicy): CertResult {
  const leaf = certs[0];
  if (!leaf) return fail('no certificate');
  const now = policy.now;
  const minRsaBits = policy.minRsaBits ?? 2048;

  const chain = buildChain(leaf, certs.slice(1), policy.trustedRoots, policy.maxDepth ?? 6);
  if (typeof chain === 'string') return fail(chain);

  for (const c of chain) {
    const v = validityProblem(c, now);
    if (v) return fail(`${c.subject.replace(/\n/g, ', ')}: ${v}`);
  }
  for (const c of chain.slice(0, -1)) {
    const k = keyProblem(c, minRsaBits);
    if (k) return fail(`${c.subject.replace(/\n/g, ', ')}: ${k}`);
  }

  let fields: CertFields;
  try {
    fields = certFields(leaf.raw);
  } catch {
    return fail('leaf certificate could not be parsed');
  }
  if (hasDigitalSignatureUsage(fields) === false) return fail('keyUsage present without digitalSignature');
  if (!identityMatches(leaf, fields, id)) return fail('certificate does not match the peer identity');

  if (policy.crlLevel !== 0) {
    const points: string[] = [];
    for (const c of chain.slice(0, -1)) {
      try {
        for (const u of crlDistributionPoints(c === leaf ? fields : certFields(c.raw))) if (!points.includes(u)) points.push(u);
      } catch {
        if (policy.crlLevel === 2) return fail(`${c.subject.replace(/\n/g, ', ')}: unreadable cRLDistributionPoints`);
      }
    }
    const looked = typeof policy.crls === 'function' ? policy.crls(points) : policy.crls ?? [];
    const lookup: CrlLookup = 'pending' in looked ? looked : { crls: looked, pending: [] };
    const crls: Crl[] = [];
    for (const b of lookup.crls) {
      try {
        crls.push(parseCrl(b));
      } catch {
        if (policy.crlLevel === 2) return fail('a configured CRL could not be parsed');
      }
    }
    for (let i = 0; i + 1 < chain.length; i++) {
      const cert = chain[i];
      const issuer = chain[i + 1];
      if (!cert || !issuer) break;
      const p = crlProblem(cert, issuer, crls, policy.crlLevel, now);
      if (p && (p.revoked || lookup.pending.length === 0)) return fail(p.reason);
    }
    // A distribution point seen for the first time is being fetched: at either level the
    // answer waits for it (the peer's retransmission or next attempt gets it), so that a
    // revoked certificate is not accepted merely because its CRL was not here yet. Once
    // that fetch ended, level 1 accepts an unreachable CRL and level 2 does not.
    const waiting = lookup.pending[0];
    if (waiting !== undefined) return fail(`CRL at ${waiting} not fetched yet, try again`);
  }
  return { ok: true, publicKey: leaf.publicKey, chain };
}
