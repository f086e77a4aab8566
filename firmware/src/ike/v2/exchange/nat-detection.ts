// NAT detection for IKEv2 (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP and
// NAT_DETECTION_DESTINATION_IP carry SHA-1(SPIi | SPIr | IP | port), SPIr
// being zero in the IKE_SA_INIT request. The hash function is the IKEv1 one
// (RFC 3947 §3.2, shared in ../../crypto/nat-d.ts) with the SPIs as cookies.

import { hashById, HashId } from '../../crypto/hash.ts';
import { natDetectionHash } from '../../crypto/nat-d.ts';
import type { Endpoint } from '../../exchange/types.ts';
import { notify } from '../wire/notify.ts';
import { NotifyType } from '../wire/notify-types.ts';
import type { NotifyPayload, Payload } from '../wire/payloads.ts';
import { payloadsOfType } from '../wire/payloads.ts';

const sha1 = hashById(HashId.SHA1)!;

export function natHash(spiI: Buffer, spiR: Buffer, e: Endpoint): Buffer {
  return natDetectionHash(sha1, spiI, spiR, e.address, e.port);
}

/**
 * Our two NAT-D notifies. `force` replaces the source hash with random bytes
 * so both sides see a NAT and use UDP encapsulation on port 4500 (what
 * strongSwan's encap=yes does).
 */
export function natNotifies(
  spiI: Buffer,
  spiR: Buffer,
  local: Endpoint,
  remote: Endpoint,
  force: boolean,
  random: (n: number) => Buffer,
): NotifyPayload[] {
  return [
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, force ? random(20) : natHash(spiI, spiR, local)),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(spiI, spiR, remote)),
  ];
}

export interface NatResult {
  /** The peer sent NAT-D notifies (it does NAT-T). */
  supported: boolean;
  /** A NAT in front of us: the peer saw another address than ours. */
  local: boolean;
  /** A NAT in front of the peer: it arrived from another address than it hashed. */
  remote: boolean;
}

/** Compare the peer's NAT-D hashes with what we see: `from` is where the message came from, `local` our own address. */
export function detectNat(payloads: readonly Payload[], spiI: Buffer, spiR: Buffer, local: Endpoint, from: Endpoint): NatResult {
  const n = payloadsOfType(payloads, 41);
  const src = n.filter((p) => p.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP);
  const dst = n.filter((p) => p.notifyType === NotifyType.NAT_DETECTION_DESTINATION_IP);
  if (src.length === 0 || dst.length === 0) return { supported: false, local: false, remote: false };
  const seen = natHash(spiI, spiR, from);
  const us = natHash(spiI, spiR, local);
  return {
    supported: true,
    remote: !src.some((p) => p.data.equals(seen)),
    local: !dst.some((p) => p.data.equals(us)),
  };
}
