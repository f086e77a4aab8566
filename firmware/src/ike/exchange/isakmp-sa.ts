// State of one ISAKMP SA (phase 1) and of the IPsec SA pairs negotiated
// under it. Plain data: the exchange modules mutate it, isakmp-sa owns
// nothing but the shape and the key-wiping rule.

import type { EspAlgorithm } from '../../dataplane/types.ts';
import type { DhKeyPair } from '../crypto/dh.ts';
import type { IsakmpCryptoState } from '../crypto/isakmp-crypto-state.ts';
import type { Phase1Suite } from '../crypto/phase1-suite.ts';
import { wipePhase1Keys, type Phase1Keys } from '../crypto/skeyid.ts';
import { wipe } from '../crypto/secret.ts';
import { ownCopy } from '../common/own-buffer.ts';
import type { NatTFlavour, Phase1Attributes, Phase2Proposal } from '../wire/index.ts';
import type { Retransmit } from './retransmit.ts';
import type { Endpoint, PeerAuth, PeerPolicy, TunnelPolicy } from './types.ts';

export type MainModeState = 'MM1_SENT' | 'MM2_SENT' | 'MM3_SENT' | 'MM4_SENT' | 'MM5_SENT' | 'ESTABLISHED' | 'DEAD';

export interface QuickModeExchange {
  messageId: number;
  role: 'initiator' | 'responder';
  state: 'QM1_SENT' | 'QM2_SENT' | 'DONE';
  tunnel: TunnelPolicy;
  inSpi: Buffer;
  ni: Buffer;
  nr?: Buffer;
  dh?: DhKeyPair;
  offer?: Phase2Proposal;
  /** Responder: chosen algorithm and SA parameters, installed on QM3. */
  pending?: { esp: EspAlgorithm; peerSpi: Buffer; lifetimeSeconds: number; lifetimeKilobytes: number; gqmxy?: Buffer };
  retransmit: Retransmit;
  /** Last message received in this exchange, to spot retransmissions. */
  lastReceived?: Buffer;
  /** Replaces the child with this reqid once installed (rekey). */
  rekeyOf?: number;
  /** DONE exchanges linger so a retransmitted QM2 gets QM3 again; dropped after this time. */
  forgetAt?: number;
}

export interface ChildSa {
  reqid: number;
  tunnel: TunnelPolicy;
  esp: EspAlgorithm;
  inSpi: number;
  outSpi: number;
  initiator: boolean;
  createdAt: number;
  rekeyAt: number;
  expiresAt: number;
  rekeying: boolean;
}

export interface IsakmpSa {
  peer: PeerPolicy;
  role: 'initiator' | 'responder';
  state: MainModeState;
  ckyI: Buffer;
  ckyR: Buffer;
  local: Endpoint;
  remote: Endpoint;
  createdAt: number;
  expiresAt: number;
  /** Responder: the peer's MM1 offer in config notation (failure records). */
  peerOffer?: string[];
  /** Initiator: what MM1 offered. */
  offered: Phase1Attributes[];
  chosen?: Phase1Attributes;
  /** The authentication method the chosen transform names (set with `chosen`). */
  auth?: PeerAuth;
  suite?: Phase1Suite;
  /** Body of the initiator's SA payload (RFC 2409 §5 SAi_b). */
  saiB: Buffer;
  dh?: DhKeyPair;
  gxi?: Buffer;
  gxr?: Buffer;
  ni?: Buffer;
  nr?: Buffer;
  keys?: Phase1Keys;
  crypto?: IsakmpCryptoState;
  /** NAT-T numbering both sides announced (RFC 3947 §3), null = none. */
  natFlavour: NatTFlavour | null;
  /** RFC 3947 §3.2 results: we are behind a NAT / the peer is. */
  natLocal: boolean;
  natRemote: boolean;
  peerDpd: boolean;
  /** Both sides announced the IKEv1 fragmentation vendor ID (wire/fragment.ts): main
   * mode messages larger than the fragment size go out as fragments. */
  peerFragmentation: boolean;
  /** Fragment ID of the last message we sent fragmented (incremented per message). */
  fragmentId: number;
  /** The last message we fragmented and its fragments: a retransmission resends the
   * same fragments, same fragment ID. */
  sentFragments?: { original: Buffer; fragments: Buffer[] };
  retransmit: Retransmit;
  /** Last datagram accepted from the peer, to spot retransmissions of it. */
  lastReceived?: Buffer;
  quick: Map<number, QuickModeExchange>;
  children: ChildSa[];
  /** Inbound SAs of pairs we retired after a rekey, kept until `until` for ESP still in flight on them. */
  lingeringInbound?: { spi: number; until: number }[];
  /** Message IDs seen in informational exchanges (replay of a DPD or Delete is ignored). */
  infoSeen: Set<number>;
  lastHeard: number;
  dpdSeq: number;
  dpdPendingSince: number | null;
  /** MM5 carries INITIAL-CONTACT only when we hold no other SA with this peer (RFC 2407 §4.6.3.3). */
  sendInitialContact: boolean;
  /** Started to replace an ISAKMP SA nearing its lifetime: takes over its IPsec SAs. */
  replacing: boolean;
  /** Encrypted notifies answering our MM5 that our keys cannot authenticate: the peer
   * derived other keys, i.e. the pre-shared keys differ (RFC 2409 §5.4). */
  unreadableReplies: number;
  /** Tunnels to negotiate once main mode completes. */
  queued: TunnelPolicy[];
  /** Rekeys waiting for this (replacement) main mode: the pairs' reqids. */
  queuedRekeys: { tunnel: TunnelPolicy; rekeyOf: number }[];
  /** Quick modes negotiated under this SA, for the session key refresh limit. */
  quickModes: number;
  /**
   * The ISAKMP SA is over (its lifetime ran out, or the peer deleted it) while IPsec SA
   * pairs it keyed live on: in IKEv1 their lifetimes are independent (RFC 2409 §5.5
   * gives them their own). It keys nothing more (quick modes go to a fresh main mode)
   * and sends no DPD; the next main mode with the peer adopts the pairs, which
   * otherwise end at their own lifetime. Absent on a live SA.
   */
  retired?: 'expired' | 'deleted';
}

/** UDP encapsulation is in use (RFC 3948): a NAT was detected, or forced by policy. */
export function udpEncapsulated(sa: IsakmpSa): boolean {
  return sa.natFlavour !== null && (sa.natLocal || sa.natRemote || sa.peer.natTraversal === 'force');
}

export function cookieKey(ckyI: Buffer): string {
  return ckyI.toString('hex');
}

/**
 * Main mode is over: what only MM1..MM6 needed goes, so that an established SA holds
 * its keys, IV and the last messages (for duplicates) and nothing else. The DH key pair
 * (its private value and Node's native DH object, ~3 KB each), both public values, the
 * nonces (SKEYID input: wiped) and SAi_b were held for the SA's whole life before.
 * A retransmitted MM5 is answered from `retransmit.last`, never recomputed.
 */
export function releaseMainModeState(sa: IsakmpSa): void {
  // Assigned undefined, never `delete`d: deleting properties turns the object into a
  // dictionary (~3 KB per SA instead of a few hundred bytes; issue 10 heap snapshots).
  sa.dh = undefined;
  sa.gxi = undefined;
  sa.gxr = undefined;
  wipe(sa.ni, sa.nr);
  sa.ni = undefined;
  sa.nr = undefined;
  sa.saiB = EMPTY;
  sa.offered = [];
  sa.peerOffer = undefined;
  // Kept for the SA's life to spot duplicates: its own memory, not a slice of a pool slab.
  if (sa.lastReceived) sa.lastReceived = ownCopy(sa.lastReceived);
}

/**
 * A quick mode is DONE: it lingers (QM_LINGER_MS) only to recognise a duplicate of the
 * peer's last message and answer it from `retransmit.last`. The nonces (KEYMAT input:
 * wiped), the PFS key pair and shared secret, the offer and the pending parameters go now.
 */
export function releaseQuickModeState(qm: QuickModeExchange): void {
  wipe(qm.ni, qm.nr, qm.pending?.gqmxy);
  qm.ni = EMPTY;
  qm.nr = undefined;
  qm.dh = undefined;
  qm.offer = undefined;
  qm.pending = undefined;
  if (qm.lastReceived) qm.lastReceived = ownCopy(qm.lastReceived);
}

const EMPTY = Buffer.alloc(0);

/** Informational message IDs remembered per ISAKMP SA against replays. Message IDs are
 * random 32-bit values (RFC 2408 §3.1), so the recent ones suffice; an unbounded set
 * grew by one entry per DPD and per Delete for the SA's whole life (8 hours of DPD
 * every 10 s: 2,880 entries per tunnel). */
export const INFO_SEEN_MAX = 256;

export function rememberInformational(sa: IsakmpSa, messageId: number): void {
  sa.infoSeen.add(messageId);
  if (sa.infoSeen.size > INFO_SEEN_MAX) {
    // A Set iterates in insertion order: the first is the oldest.
    const oldest = sa.infoSeen.values().next().value;
    if (oldest !== undefined) sa.infoSeen.delete(oldest);
  }
}

/** Keys die with the SA (ground rule: wipe on death). */
export function wipeIsakmpSa(sa: IsakmpSa): void {
  sa.state = 'DEAD';
  if (sa.keys) wipePhase1Keys(sa.keys);
  sa.crypto?.wipe();
  wipe(sa.ni, sa.nr);
  for (const q of sa.quick.values()) wipe(q.ni, q.nr, q.pending?.gqmxy);
  sa.quick.clear();
  sa.retransmit.stop();
  sa.sentFragments = undefined;
}
