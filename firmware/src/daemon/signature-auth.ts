// Loads a peer's certificate, private key and CA (PEM paths from the
// validated config) into the SignatureAuth the exchanges use. The auth
// method follows the key: RSA -> 3 (RFC 2409 §5.1), EC P-256/384/521 ->
// 9/10/11 (RFC 4754 §3).

import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuthMethod, CrlSettings } from '../config/types.ts';
import { certFields } from '../ike/crypto/x509-fields.ts';
import { certificatesInPemFile as certificates, distributionPointsOfPemFiles } from '../ike/crypto/cert-files.ts';
import type { SignatureAuthMethod } from '../ike/crypto/signature.ts';
import type { SignatureAuth } from '../ike/exchange/types.ts';
import type { CrlLookup } from '../ike/crypto/x509-verify.ts';

const CURVES: Record<string, SignatureAuthMethod> = { prime256v1: 9, secp384r1: 10, secp521r1: 11 };

/** `crls` gives the current CRLs of the peer's sources and of the distribution points
 * the check names at each check (crl-store.ts). */
export function loadSignatureAuth(
  a: Exclude<AuthMethod, { kind: 'psk' }>,
  crl: CrlSettings = { level: 1, sources: [] },
  crls: (distributionPoints: readonly string[]) => readonly Buffer[] | CrlLookup = () => [],
): SignatureAuth | string {
  try {
    const privateKey = createPrivateKey(readFileSync(a.privateKey));
    let method: SignatureAuthMethod | undefined;
    if (privateKey.asymmetricKeyType === 'rsa') method = 3;
    else if (privateKey.asymmetricKeyType === 'ec') method = CURVES[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
    if (method === undefined) return `unsupported private key type in ${a.privateKey}`;
    if ((a.kind === 'rsa-sig') !== (method === 3))
      return `auth = ${a.kind} but ${a.privateKey} holds a ${privateKey.asymmetricKeyType ?? 'different'} key`;
    const mine = certificates(a.certificate);
    const roots = certificates(a.ca);
    if (mine.length === 0) return `no certificate in ${a.certificate}`;
    if (roots.length === 0) return `no CA certificate in ${a.ca}`;
    return {
      method,
      privateKey,
      certificates: mine.map((c) => Buffer.from(c.raw)),
      caSubjects: roots.map((c) => certFields(Buffer.from(c.raw)).subjectDer),
      trust: { trustedRoots: roots, crlLevel: crl.level, crls },
    };
  } catch (e) {
    return `cannot load certificate or key: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * The CRL distribution points of our own certificates and of the CA file (unreadable
 * files or extensions give none: loadSignatureAuth reports those). A peer's certificate
 * from the same CA usually names the same points, so fetching these before the first
 * negotiation lets even the first check of a peer's certificate use its CRL.
 */
export function ownDistributionPoints(a: Exclude<AuthMethod, { kind: 'psk' }>): string[] {
  return distributionPointsOfPemFiles([a.certificate, a.ca]);
}
