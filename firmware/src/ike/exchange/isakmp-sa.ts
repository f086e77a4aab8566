// State of one ISAKMP SA (phase 1) and of the IPsec SA pairs negotiated
// under it: main mode and each quick mode as a discriminated union per state,
// so a state holds exactly the material its next step needs. Plain data: the
// exchange modules replace the state objects, isakmp-sa owns the shapes and
// the key-wiping rule.

import type { EspAlgorithm } from '../../dataplane/types.ts';
import type { LazyMap } from '../common/lazy-map.ts';
import type { DhKeyPair } from '../crypto/dh.ts';
import type { IsakmpCryptoState } from '../crypto/isakmp-crypto-state.ts';
import type { Phase1Suite } from '../crypto/phase1-suite.ts';
import { wipeEstablishedKeys, wipePhase1Keys, type EstablishedKeys, type Phase1Keys } from '../crypto/skeyid.ts';
import { wipe } from '../crypto/secret.ts';
import type { NatTFlavour, Phase1Attributes, Phase2Proposal } from '../wire/index.ts';
import type { Retransmit } from './retransmit.ts';
import type { InformationalReplay } from './informational-replay.ts';
import type { Endpoint, PeerAuth, PeerPolicy, TunnelPolicy } from './types.ts';

export type MainModeState = MainMode['state'];

/** What MM1/MM2 settled: the transform, the authentication method it names, the suite. */
export interface Negotiated {
  chosen: Phase1Attributes;
  auth: PeerAuth;
  suite: Phase1Suite;
}

/** Negotiated and keyed (after MM3/MM4, RFC 2409 §5 and Appendix B). */
export interface Keyed extends Negotiated {
  keys: Phase1Keys;
  crypto: IsakmpCryptoState;
}

/** Established: only SKEYID_d and SKEYID_a remain (skeyid.ts keepEstablishedKeys). */
export interface KeyedEstablished extends Negotiated {
  keys: EstablishedKeys;
  crypto: IsakmpCryptoState;
}

/** What HASH_I/HASH_R and SKEYID are computed from (RFC 2409 §5): held from MM3/MM4 to MM6. */
export interface AuthInput {
  /** Body of the initiator's SA payload (SAi_b). */
  saiB: Buffer;
  gxi: Buffer;
  gxr: Buffer;
  ni: Buffer;
  nr: Buffer;
}

/**
 * Main mode, one shape per state (RFC 2409 §5). Initiator: MM1_SENT, MM3_SENT,
 * MM5_SENT; responder: MM1_RECEIVED (only while its MM1 is being refused), MM2_SENT,
 * MM4_SENT. Each holds exactly what the next step needs: once ESTABLISHED only the
 * keys remain (the DH pair, public values, nonces and SAi_b are gone).
 */
export type MainMode =
  /** Initiator: what MM1 offered. */
  | { state: 'MM1_SENT'; offered: Phase1Attributes[]; saiB: Buffer }
  /** Responder: an MM1 being processed (a refusal fails the SA in this state). */
  | { state: 'MM1_RECEIVED'; peerOffer: string[] }
  /** Responder: `peerOffer` is the MM1 offer in config notation (failure records). */
  | (Negotiated & { state: 'MM2_SENT'; peerOffer: string[]; saiB: Buffer })
  | (Negotiated & { state: 'MM3_SENT'; saiB: Buffer; dh: DhKeyPair; gxi: Buffer; ni: Buffer })
  | (Keyed & AuthInput & { state: 'MM4_SENT'; peerOffer: string[] })
  /** Initiator: `unreadableReplies` counts encrypted notifies answering MM5 that our keys
   * cannot authenticate: the peer derived other keys, i.e. the PSKs differ (RFC 2409 §5.4). */
  | (Keyed & AuthInput & { state: 'MM5_SENT'; unreadableReplies: number })
  | (KeyedEstablished & { state: 'ESTABLISHED' })
  /** Removed: keys wiped. */
  | { state: 'DEAD' };

export type MainModeOf<S extends MainModeState> = Extract<MainMode, { state: S }>;

interface QuickModeBase {
  messageId: number;
  tunnel: TunnelPolicy;
  retransmit: Retransmit;
}

/** Initiator, QM1 sent: our SPI, nonce, PFS key pair and offer. `rekeyOf`: the reqid of
 * the pair this one replaces once installed, or null. */
export interface QuickModeInitiating extends QuickModeBase {
  role: 'initiator';
  state: 'QM1_SENT';
  inSpi: Buffer;
  ni: Buffer;
  dh: DhKeyPair | null;
  offer: Phase2Proposal;
  rekeyOf: number | null;
}

/** Responder, QM2 sent: what it accepted (the outbound SA goes in on QM3), and the
 * inbound SA it installed with QM2 (RFC 2409 §5.5: KEYMAT is computable then). */
export interface QuickModeResponding extends QuickModeBase {
  role: 'responder';
  state: 'QM2_SENT';
  inSpi: Buffer;
  ni: Buffer;
  nr: Buffer;
  accepted: { esp: EspAlgorithm; peerSpi: Buffer; lifetimeSeconds: number; lifetimeKilobytes: number; gqmxy: Buffer | null };
  inbound: { reqid: number; spi: number };
  /** The QM1 we answered, to spot its retransmissions. */
  lastReceived: Buffer;
}

/** Finished: lingers until `forgetAt` so a retransmitted QM2 (or QM1) gets our last message again. */
export interface QuickModeDone extends QuickModeBase {
  role: 'initiator' | 'responder';
  state: 'DONE';
  lastReceived: Buffer;
  forgetAt: number;
}

export type QuickModeExchange = QuickModeInitiating | QuickModeResponding | QuickModeDone;

/** Waiting for the peer (QM2 or QM3): what retransmission, refusals and failures act on. */
export type PendingQuickMode = QuickModeInitiating | QuickModeResponding;

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
  /** Main mode progress and the material of its state. */
  mm: MainMode;
  /** `mm.state`, for the many readers that only branch on it. */
  readonly state: MainModeState;
  ckyI: Buffer;
  ckyR: Buffer;
  local: Endpoint;
  remote: Endpoint;
  createdAt: number;
  expiresAt: number;
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
   * same fragments, same fragment ID; null before the first. */
  sentFragments: { original: Buffer; fragments: Buffer[] } | null;
  retransmit: Retransmit;
  /** Last datagram accepted from the peer, to spot retransmissions of it (null before the first). */
  lastReceived: Buffer | null;
  quick: LazyMap<number, QuickModeExchange>;
  children: ChildSa[];
  /** Inbound SAs of pairs we retired after a rekey, kept until `until` for ESP still in flight on them. */
  lingeringInbound: { spi: number; until: number }[];
  /** Message IDs seen in informational exchanges (replay of a DPD or Delete is ignored). */
  infoSeen: InformationalReplay;
  lastHeard: number;
  dpdSeq: number;
  dpdPendingSince: number | null;
  /** MM5 carries INITIAL-CONTACT only when we hold no other SA with this peer (RFC 2407 §4.6.3.3). */
  sendInitialContact: boolean;
  /** Started to replace an ISAKMP SA nearing its lifetime: takes over its IPsec SAs. */
  replacing: boolean;
  /** A replacement supersedes the SAs created up to this instant (the SA it was started
   * for and older ones), not SAs the peer started meanwhile: when both sides start a new
   * main mode at once, each must not delete the other's (timers.ts, superseded()). */
  replacesUpTo?: number;
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

/** An SA whose main mode is complete: quick mode and informational exchanges run under it. */
export type EstablishedSa = IsakmpSa & { mm: MainModeOf<'ESTABLISHED'> };

export function isEstablished(sa: IsakmpSa): sa is EstablishedSa {
  return sa.mm.state === 'ESTABLISHED';
}

/** The SA's phase 1 keys, once it has them (MM4/MM5 on, ESTABLISHED). */
export function keyedOf(sa: IsakmpSa): KeyedEstablished | null {
  const m = sa.mm;
  return m.state === 'MM4_SENT' || m.state === 'MM5_SENT' || m.state === 'ESTABLISHED' ? m : null;
}

/** The negotiated transform and authentication method, once MM1/MM2 settled them. */
export function negotiatedOf(sa: IsakmpSa): Negotiated | null {
  const m = sa.mm;
  return m.state === 'MM1_SENT' || m.state === 'MM1_RECEIVED' || m.state === 'DEAD' ? null : m;
}

/** Responder: the peer's MM1 offer in config notation, while main mode runs. */
export function peerOfferOf(sa: IsakmpSa): string[] {
  const m = sa.mm;
  return m.state === 'MM1_RECEIVED' || m.state === 'MM2_SENT' || m.state === 'MM4_SENT' ? m.peerOffer : [];
}

/**
 * `state` as a getter on one prototype shared by every SA. Defined on each object (an
 * object literal's `get state()` after a spread), it gave each SA its own getter
 * closure, accessor pair, hidden class and descriptor array: ~0.9 KB per tunnel in
 * the hub's heap snapshots (issue 10: memory per tunnel).
 */
const ISAKMP_SA_PROTOTYPE: object = Object.defineProperty({}, 'state', {
  get(this: IsakmpSa): MainModeState {
    return this.mm.state;
  },
});

/** A fresh SA in main mode state `mm`. `state` reads through to `mm.state`. */
export function newIsakmpSa(init: Omit<IsakmpSa, 'state'>): IsakmpSa {
  // A spread copy is a fast-mode object (Object.assign onto Object.create(...) of this
  // many properties turned it into a dictionary, ~1.6 KB each); setting the prototype
  // afterwards is a map transition V8 caches, shared by every SA.
  return Object.setPrototypeOf({ ...init }, ISAKMP_SA_PROTOTYPE) as IsakmpSa;
}

/** UDP encapsulation is in use (RFC 3948): a NAT was detected, or forced by policy. */
export function udpEncapsulated(sa: IsakmpSa): boolean {
  return sa.natFlavour !== null && (sa.natLocal || sa.natRemote || sa.peer.natTraversal === 'force');
}

export function cookieKey(ckyI: Buffer): string {
  return ckyI.toString('hex');
}

/**
 * The peer sent a message whose HASH verified under the established SA's keys (a
 * quick mode or an informational exchange): it has our last main mode message, so
 * the copies kept to answer a retransmission of its own last one (the responder's
 * MM6 for a repeated MM5; the initiator's MM5; fragments of either) can go. They
 * stayed for the SA's life before (issue 10: memory per tunnel). Only a quick mode
 * proves it: the initiator may send an informational before it has MM6.
 */
export function mainModeConfirmed(sa: IsakmpSa): void {
  if (sa.lastReceived === null && sa.retransmit.last === null) return;
  sa.lastReceived = null;
  sa.retransmit.stop();
  sa.sentFragments = null;
}

/** Wipes what a pending quick mode holds that could key an SA (nonces, g^qm xy). */
export function wipeQuickMode(qm: QuickModeExchange): void {
  if (qm.state === 'QM1_SENT') wipe(qm.ni);
  else if (qm.state === 'QM2_SENT') wipe(qm.ni, qm.nr, qm.accepted.gqmxy ?? undefined);
}

/** Wipes main mode material that is secret (nonces feed SKEYID; keys and IV). */
export function wipeMainMode(m: MainMode): void {
  switch (m.state) {
    case 'MM3_SENT':
      wipe(m.ni);
      return;
    case 'MM4_SENT':
    case 'MM5_SENT':
      wipe(m.ni, m.nr);
      wipePhase1Keys(m.keys);
      m.crypto.wipe();
      return;
    case 'ESTABLISHED':
      wipeEstablishedKeys(m.keys);
      m.crypto.wipe();
      return;
    default:
  }
}

/** Keys die with the SA (ground rule: wipe on death). */
export function wipeIsakmpSa(sa: IsakmpSa): void {
  wipeMainMode(sa.mm);
  sa.mm = { state: 'DEAD' };
  for (const q of sa.quick.values()) wipeQuickMode(q);
  sa.quick.clear();
  sa.retransmit.stop();
  sa.sentFragments = null;
}
