// Peer certificate validation (firmware/src/ike/crypto/x509-verify.ts): the
// CERT payloads a peer sends in main mode 5/6, checked against a trusted
// root, an identity and a CRL. The root (lib/x509-verify-root.der, a public
// certificate; its key was discarded) signed the seeds' leaf, intermediate
// and CRL, so mutations start from a chain that validates.
// Input: a flags byte (bits 0-1: CRL level 0/1/2; bits 2-3: the identity
// type: fqdn, user_fqdn, ipv4, der_asn1_dn taken from the leaf), then up to
// four blobs, each a 2-byte length and its bytes: leaf, intermediates, and a
// last one that is the CRL when bit 4 is set.
// Properties: never throws; an accepted chain starts at the leaf, ends at the
// trusted root, and every certificate in it is signed by the next one
// (checked here with node's own X509Certificate.verify).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { verifyPeerCertificate, type CrlLevel, type PeerId } from '../../firmware/src/ike/crypto/x509-verify.ts';
import { certFields } from '../../firmware/src/ike/crypto/x509-fields.ts';
import { check } from './lib/check.ts';

// From the repository root, where both tap and scripts/fuzz.mjs run (the bundle lives elsewhere).
const root = new X509Certificate(readFileSync('test/fuzz/lib/x509-verify-root.der'));
// A fixed evaluation time inside the root's validity: runs do not depend on the clock.
const now = new Date(Date.parse(root.validFrom) + 86_400_000);

function subjectOf(cert: X509Certificate | undefined): Buffer {
  try {
    return cert ? certFields(cert.raw).subjectDer : Buffer.alloc(0);
  } catch {
    return Buffer.alloc(0);
  }
}

export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const flags = data[0]!;
  const blobs: Buffer[] = [];
  for (let off = 1; off + 2 <= data.length && blobs.length < 4; ) {
    const len = Math.min(data.readUInt16BE(off), data.length - off - 2);
    blobs.push(data.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  const crl = flags & 16 ? blobs.pop() : undefined;
  const certs: X509Certificate[] = [];
  for (const b of blobs) {
    try {
      certs.push(new X509Certificate(b));
    } catch {
      // the payload decoder hands over only what node parses; so does this
    }
  }
  const leaf = certs[0];
  const kind = (flags >> 2) & 3;
  const id: PeerId =
    kind === 0 ? { type: 'fqdn', value: 'gw.example' }
    : kind === 1 ? { type: 'user_fqdn', value: 'gw@example' }
    : kind === 2 ? { type: 'ipv4', value: '192.0.2.1' }
    : { type: 'der_asn1_dn', value: subjectOf(leaf) };
  const r = verifyPeerCertificate(certs, id, { trustedRoots: [root], crlLevel: (flags & 3) % 3 as CrlLevel, crls: crl ? [crl] : [], now });
  if (!r.ok) {
    check(typeof r.reason === 'string' && r.reason.length > 0, 'refused without a reason');
    return;
  }
  check(r.chain[0] === leaf, 'the chain does not start at the leaf');
  check(r.chain[r.chain.length - 1]!.raw.equals(root.raw), 'the chain does not end at the trusted root');
  for (let i = 0; i + 1 < r.chain.length; i++) check(r.chain[i]!.verify(r.chain[i + 1]!.publicKey), `certificate ${i} is not signed by the next one`);
}
