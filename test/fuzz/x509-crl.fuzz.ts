// Certificates (CERT payloads, RFC 2408 §3.9) and CRLs (files named in the
// config) through the project's own DER reader (ITU-T X.690): certFields and
// hasDigitalSignatureUsage on what node's X509Certificate accepted, parseCrl
// on anything. Input: first byte even = certificate, odd = CRL.
// Only DerError (the documented rejection) may come out of the DER code.
import { X509Certificate } from 'node:crypto';
import { children, DerError, parseDer } from '../../firmware/src/ike/crypto/der.ts';
import { certFields, hasDigitalSignatureUsage } from '../../firmware/src/ike/crypto/x509-fields.ts';
import { parseCrl } from '../../firmware/src/ike/crypto/crl.ts';
import { check, expectOnly } from './lib/check.ts';

/** Walks every constructed node: nesting and lengths must stay inside the input. */
function walk(buf: Buffer, depth: number): void {
  if (depth > 64) return;
  const node = parseDer(buf);
  check(node.raw.length === buf.length && node.content.length <= buf.length, 'DER node larger than its input');
  if ((node.tag & 0x20) === 0) return;
  for (const c of children(node)) walk(c.raw, depth + 1);
}

export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const body = data.subarray(1);
  expectOnly(() => walk(body, 0), DerError);
  if ((data[0]! & 1) === 1) {
    const crl = expectOnly(() => parseCrl(body), DerError);
    if (crl) check(crl.tbs.length < body.length, 'TBSCertList not inside the CRL');
    return;
  }
  // The node parser decides what is a certificate, as in the daemon (signature-auth.ts).
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(body);
  } catch {
    return;
  }
  void cert.subject;
  const fields = expectOnly(() => certFields(body), DerError);
  if (fields) expectOnly(() => hasDigitalSignatureUsage(fields), DerError);
}
