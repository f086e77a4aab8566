// NAT discovery, RFC 3947 §3.2: each side sends HASH(CKY-I|CKY-R|IP|port)
// of the destination first, then of its own source. A receiver that finds
// no match for its own address is behind a NAT; no match for the sender's
// address as received means the sender is.

import { constantTimeEqual } from '../crypto/secret.ts';
import { natDetectionHash } from '../crypto/nat-d.ts';
import type { HashAlgorithm } from '../crypto/hash.ts';
import type { NatDPayload } from '../wire/index.ts';
import type { Endpoint } from './types.ts';

export function natDHashes(hash: HashAlgorithm, ckyI: Buffer, ckyR: Buffer, remote: Endpoint, local: Endpoint): Buffer[] {
  return [natDetectionHash(hash, ckyI, ckyR, remote.address, remote.port), natDetectionHash(hash, ckyI, ckyR, local.address, local.port)];
}

export interface NatResult {
  natLocal: boolean;
  natRemote: boolean;
}

/** `received` in wire order; `local` is our address/port, `from` the sender as we saw it. */
export function detectNat(
  hash: HashAlgorithm,
  ckyI: Buffer,
  ckyR: Buffer,
  received: readonly NatDPayload[],
  local: Endpoint,
  from: Endpoint,
): NatResult | string {
  const [dest, ...sources] = received;
  if (dest === undefined || sources.length === 0) return 'NAT-D payloads missing (need destination and at least one source)';
  const mine = natDetectionHash(hash, ckyI, ckyR, local.address, local.port);
  const theirs = natDetectionHash(hash, ckyI, ckyR, from.address, from.port);
  return {
    natLocal: !constantTimeEqual(dest.hash, mine),
    natRemote: !sources.some((s) => constantTimeEqual(s.hash, theirs)),
  };
}
