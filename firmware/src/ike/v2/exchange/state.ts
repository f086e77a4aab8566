// The state of one IKEv2 SA and its child SAs (RFC 7296 §2), as the
// exchanges in this folder share it. Keys live here until the SA dies, then
// wipeIkeSa() zeroes them.

import type { DhKeyPair } from '../../crypto/dh.ts';
import { wipe } from '../../crypto/secret.ts';
import type { EspAlgorithm } from '../../../dataplane/types.ts';
import type { ChildSaInstall, Endpoint, IkeMethod, PeerAuth, PeerPolicy, TunnelPolicy } from '../../exchange/types.ts';
import type { IkeSaKeys } from '../crypto/key-derivation.ts';
import { wipeIkeSaKeys } from '../crypto/key-derivation.ts';
import type { EncrAlgorithm, IntegAlgorithm, PrfAlgorithm } from '../crypto/transforms.ts';
import type { FragmentAssembly } from '../wire/fragments.ts';
import type { ChosenAddKe } from './addke-proposals.ts';
import type { AddKeInitiator } from '../crypto/additional-ke.ts';
import { wipeIntermediate, type IntermediateState } from './intermediate-state.ts';
import { wipePpkKeys, type PpkKeys } from '../crypto/ppk.ts';
import type { Payload, Proposal, TrafficSelector } from '../wire/payloads.ts';

export type IkeSaState =
  /** Initiator: IKE_SA_INIT request sent. */
  | 'INIT_SENT'
  /** Responder: IKE_SA_INIT answered, waiting for IKE_AUTH (half-open, §2.6). */
  | 'INIT_DONE'
  /** Initiator: IKE_AUTH request sent. */
  | 'AUTH_SENT'
  | 'ESTABLISHED'
  /** Delete of the IKE SA sent, waiting for the answer. */
  | 'DELETING'
  | 'DEAD';

export interface IkeSuite {
  encr: EncrAlgorithm;
  integ: IntegAlgorithm | undefined;
  prf: PrfAlgorithm;
  group: number;
  /** RFC 9370 additional key exchanges agreed for this SA (IKE_SA_INIT, or the CREATE_CHILD_SA that rekeyed it), in ADDKE order. */
  addKe: ChosenAddKe[];
  /** Config-style name, e.g. "aes256-sha256-modp2048" or "aes256gcm16-prfsha256-curve25519-ke1_mlkem768". */
  name: string;
}

export interface ChildSaV2 {
  tunnel: TunnelPolicy;
  reqid: number;
  /** SPI we receive with (we chose it). */
  inSpi: number;
  /** SPI we send with (the peer chose it). */
  outSpi: number;
  algorithm: EspAlgorithm;
  localTs: TrafficSelector[];
  remoteTs: TrafficSelector[];
  /** CIDR text of the installed selectors. */
  localCidr: string;
  remoteCidr: string;
  pfsGroup: number | null;
  /** RFC 9370 additional key exchanges its CREATE_CHILD_SA ran (IKE_FOLLOWUP_KE), for status. */
  addKe?: ChosenAddKe[];
  esn: boolean;
  createdAt: number;
  rekeyAt: number;
  expiresAt: number;
  /** A CREATE_CHILD_SA rekeying this child is under way (§2.8). */
  rekeying: boolean;
  /** Rekeys of this child the peer refused so far (rekey-retry.ts). */
  rekeyRetries?: number;
  /** We asked the peer to delete it (§2.25.1: a peer's rekey of it gets TEMPORARY_FAILURE). */
  deleting?: boolean;
  /** The peer rekeyed it and will delete it (§2.8): our timers leave it alone. */
  peerRekeyed?: boolean;
  /** Responder of a rekey: the outbound SA, installed once the initiator deletes the old pair (child.ts). */
  pendingOut?: ChildSaInstall;
  /** Our redundant pair of a lost collision (§2.8.1): its outbound SA is out of the engine already. */
  outWithdrawn?: boolean;
  /** Children created by rekeying this one, with the nonces of their exchange and whether we started it (§2.8.1). */
  successors?: { child: ChildSaV2; nonces: Buffer[]; mine: boolean }[];
}

/**
 * RFC 9370 §2.2.2: a CREATE_CHILD_SA that agreed additional key exchanges, whose
 * SA exists only once every IKE_FOLLOWUP_KE exchange has run (followup-ke.ts).
 * The initiator keeps it in its pending request, the responder in IkeSaV2.followups.
 */
export interface FollowupKe {
  kind: 'ike' | 'child';
  /** For logs: "IKE SA rekey", "child SA rekey of lan". */
  what: string;
  /** Ni and Nr of the CREATE_CHILD_SA (§2.8.1/§2.8.2 collisions compare them). */
  nonces: [Buffer, Buffer];
  /** SK(0) from the CREATE_CHILD_SA's KE, then SK(1)..SK(n) as the exchanges complete (§2.2.4). */
  secrets: Buffer[];
  /** Additional key exchanges still to run, next first, and those done. */
  pending: ChosenAddKe[];
  done: ChosenAddKe[];
  /** The ADDITIONAL_KEY_EXCHANGE data the next request carries (the responder's blob). */
  link: Buffer;
  /** Responder: the state goes when the next request is not in by then. */
  expiresAt: number;
  /** Initiator: lost a collision (§2.8.2): the remaining exchanges do not run. */
  abandoned: boolean;
  /** Every secret is in: creates the SA (an IKE SA the node must register, or null). Wipes the secrets. */
  finish(secrets: Buffer[]): IkeSaV2 | null;
  /** Ends without the SA (the old one stays); releases what finish would have used. */
  abort(why: string): void;
}

/** What a request we sent was for, so its response goes to the right handler. */
export type RequestPurpose =
  | { kind: 'sa-init' }
  | { kind: 'intermediate' }
  | { kind: 'auth'; childSpi: number; tunnel: TunnelPolicy | null; offered: Proposal[]; method: PeerAuth }
  | { kind: 'create-child'; tunnel: TunnelPolicy; spi: number; nonce: Buffer; dh: DhKeyPair | null; offered: Proposal[] }
  | { kind: 'rekey-child'; old: ChildSaV2; newSpi: number; nonce: Buffer; dh: DhKeyPair | null; offered: Proposal[] }
  | { kind: 'rekey-ike'; spi: Buffer; nonce: Buffer; dh: DhKeyPair; methods: IkeMethod[]; retried?: boolean }
  | { kind: 'followup-ke'; f: FollowupKe; ke: AddKeInitiator }
  | { kind: 'dpd' }
  | { kind: 'delete-child'; child: ChildSaV2 }
  | { kind: 'delete-ike' };

export interface PendingRequest {
  messageId: number;
  exchange: number;
  datagrams: Buffer[];
  purpose: RequestPurpose;
  sentAt: number;
  nextAt: number;
  tries: number;
}

export interface QueuedRequest {
  exchange: number;
  /** Built when the window opens, so nonces and SPIs are fresh. */
  build: () => { inner: Payload[]; purpose: RequestPurpose } | null;
}

export interface IkeSaV2 {
  peer: PeerPolicy;
  role: 'initiator' | 'responder';
  state: IkeSaState;
  spiI: Buffer;
  spiR: Buffer;
  local: Endpoint;
  remote: Endpoint;
  /** NAT_DETECTION_* results (§2.23): a NAT in front of us / in front of the peer. */
  natLocal: boolean;
  natRemote: boolean;
  /** The peer announced IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 §2.3). */
  peerFragments: boolean;
  ni: Buffer;
  nr: Buffer;
  dh: DhKeyPair | null;
  /** DH group of our KE in IKE_SA_INIT (changes when the responder asks for another, §1.2). */
  keGroup: number;
  /** IKE_SA_INIT requests sent for this SA (INVALID_KE and COOKIE retries are bounded). */
  initAttempts: number;
  suite: IkeSuite | null;
  /** Initiator: the IKE methods behind our proposals, in proposal number order. */
  offeredIke: IkeMethod[];
  keys: IkeSaKeys | null;
  /** IKE_SA_INIT request and response as sent (RealMessage1/2, §2.15). */
  initRequest: Buffer;
  initResponse: Buffer;
  /** COOKIE the responder asked us to echo (§2.6). */
  cookie: Buffer | null;
  /** Our next request's Message ID, and the one in flight (window size 1, §2.3). */
  nextRequestId: number;
  pending: PendingRequest | null;
  queue: QueuedRequest[];
  /** Message ID we expect in the peer's next request, and our cached answer to the previous one (§2.1). */
  expectedRequestId: number;
  lastResponse: { messageId: number; datagrams: Buffer[] } | null;
  assembly: { messageId: number; response: boolean; parts: FragmentAssembly; startedAt: number } | null;
  children: ChildSaV2[];
  createdAt: number;
  expiresAt: number;
  /** Last authenticated message from the peer (DPD, §2.4). */
  lastHeard: number;
  /** The initiator's IKE_AUTH sends INITIAL_CONTACT (§2.4) when it has no other SA with the peer. */
  initialContact: boolean;
  /** An IKE SA rekey of this SA is under way or done (§1.3.2). */
  /** Rekeys of this IKE SA the peer refused so far, and when the next try is due (rekey-retry.ts). */
  rekeyRetries?: number;
  rekeyRetryAt?: number;
  rekeying: boolean;
  /** Hashes the peer accepts for signatures (SIGNATURE_HASH_ALGORITHMS, RFC 7427 §4). */
  peerHashes: number[];
  /** Both sides sent USE_PPK in IKE_SA_INIT (RFC 8784 §3). */
  ppkOffered: boolean;
  /** Initiator: the PPK-derived keys while IKE_AUTH is in flight. */
  ppkKeys: PpkKeys | null;
  /** RFC 9242/9370: the IKE_INTERMEDIATE exchanges between IKE_SA_INIT and IKE_AUTH (null without additional key exchanges). */
  intermediate?: IntermediateState | null;
  /** How each side authenticated, for status: e.g. "rsa-pss-sha256/ecdsa-sha256 +ppk". */
  authName: string;
  /** Responder: CREATE_CHILD_SAs of the peer waiting for their IKE_FOLLOWUP_KE exchanges (RFC 9370 §2.2.2; bounded). */
  followups?: FollowupKe[];
  /** The IKE SA that replaced this one (its child SAs live there now). */
  replacedBy?: IkeSaV2;
  /** §2.8.2: IKE SAs created by rekeying this one, with their exchange's nonces and whether we started it. */
  ikeSuccessors?: { sa: IkeSaV2; nonces: Buffer[]; mine: boolean }[];
}

/** Where a child SA lives now: `sa`, or the IKE SA that replaced it (§1.3.2 moves the children). */
export function homeOf(sa: IkeSaV2, child: ChildSaV2): IkeSaV2 | null {
  for (let s: IkeSaV2 | undefined = sa, hops = 0; s && hops < 8; s = s.replacedBy, hops++) if (s.children.includes(child)) return s;
  return null;
}

export function spiText(sa: Pick<IkeSaV2, 'spiI' | 'spiR'>): string {
  return `${sa.spiI.toString('hex')}_${sa.spiR.toString('hex')}`;
}

/** What a shed field points to: one empty Buffer for every SA, not one each. */
const SHED = Buffer.alloc(0);

/**
 * Once IKE_AUTH is done (and an IKE SA rekey's new SA, which has no IKE_AUTH): an
 * established SA no longer needs the two IKE_SA_INIT messages (RealMessage1/2 in
 * the AUTH payloads, RFC 7296 §2.15), the nonces of IKE_SA_INIT (AUTH, §2.15, and the
 * first child SA's KEYMAT, §2.17: both done; rekeys bring nonces of their own,
 * §2.17, §2.18) nor SK_pi/SK_pr (AUTH only, §2.15: wiped). Each was a Buffer of its
 * own (common/own-buffer.ts): six JS objects, six ArrayBuffers and six backing
 * stores, ~2.6 KB per tunnel of a hub's memory (issue 10). The nonces are public
 * (sent in clear) and may be shared with a rekey's bookkeeping: dropped, not wiped.
 */
export function shedAuthState(sa: IkeSaV2): void {
  sa.ni = SHED;
  sa.nr = SHED;
  sa.initRequest = SHED;
  sa.initResponse = SHED;
  if (sa.keys) {
    wipe(sa.keys.pi, sa.keys.pr);
    sa.keys.pi = SHED;
    sa.keys.pr = SHED;
  }
}

/** Whether shedAuthState() has run: the SA keeps no IKE_SA_INIT request to compare a copy with. */
export function authStateShed(sa: IkeSaV2): boolean {
  return sa.initRequest === SHED;
}

export function wipeIkeSa(sa: IkeSaV2): void {
  if (sa.keys) wipeIkeSaKeys(sa.keys);
  sa.keys = null;
  sa.dh = null;
  wipe(sa.ni, sa.nr);
  if (sa.ppkKeys) wipePpkKeys(sa.ppkKeys);
  sa.ppkKeys = null;
  if (sa.intermediate) wipeIntermediate(sa.intermediate);
  sa.intermediate = null;
  for (const f of sa.followups ?? []) wipe(...f.secrets);
  sa.followups = [];
  if (sa.pending?.purpose.kind === 'followup-ke') {
    wipe(...sa.pending.purpose.f.secrets);
    sa.pending.purpose.ke.wipe();
  }
  sa.assembly?.parts.clear();
  sa.assembly = null;
  sa.state = 'DEAD';
}
