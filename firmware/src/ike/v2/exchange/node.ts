// One IKEv2 speaker (RFC 7296): the table of IKE SAs and the dispatcher that
// routes datagrams and clock ticks into IKE_SA_INIT, IKE_AUTH,
// CREATE_CHILD_SA and INFORMATIONAL. Pure like the IKEv1 node: every call
// returns the actions to carry out (send, install, delete, log); time and
// randomness come from ExchangeEnv.
//
// Message IDs (§2.3): window size 1 both ways. Only the requester
// retransmits; a responder answers a retransmitted request from its cache
// and never re-processes it (§2.1). Any authenticated message proves the peer
// alive (§2.4) and, behind a NAT, carries its current address (§2.23).

import { ikeV2Silence } from './silence.ts';
import type { Phase } from '../../../log/negotiation-log.ts';
import type { FailureReason } from '../../../log/failure-record.ts';
import type { V2FailureExtra } from './failure-details.ts';
import type { Severity } from '../../../log/syslog.ts';
import {
  HALF_OPEN_MAX,
  HALF_OPEN_TIMEOUT_MS,
  HALF_OPEN_TOTAL_MAX,
  IKE_PORT,
  ROAMING,
  type Action,
  type Endpoint,
  type ExchangeEnv,
  type FailureDetail,
  type PeerPolicy,
} from '../../exchange/types.ts';
import type { ChildStatus } from '../../exchange/ike-node.ts';
import { ExchangeType, HeaderFlag, PayloadType, ProtocolId } from '../wire/constants.ts';
import { notify } from '../wire/notify.ts';
import { NotifyType } from '../wire/notify-types.ts';
import { CookieJar } from './cookies.ts';
import { openEncrypted } from '../wire/encrypted.ts';
import { FragmentAssembly, REASSEMBLY_TIMEOUT_MS } from '../wire/fragments.ts';
import { isInitiator, isResponse } from '../wire/header.ts';
import { decodeMessage, encodeMessage, type Message } from '../wire/message.ts';
import { decodePayloads } from '../wire/payload-chain.ts';
import type { Payload } from '../wire/payloads.ts';
import { handleAuthResponse, respondAuth } from './auth.ts';
import { continueAfterInit, handleIntermediateResponse, intermediateDone, respondIntermediate } from './intermediate.ts';
import { wipeIntermediate } from './intermediate-state.ts';
import { removeChild, udpEncapsulated } from './child.ts';
import { createChild, handleCreateChildResponse, respondCreateChild } from './child-exchange.ts';
import { newCounters, type V2Context } from './context.ts';
import { deleteChild, deleteIke, respondInformational, sendDpd } from './informational.ts';
import { inKeys, nextQueued, respond, RETRANSMIT_BASE_MS, RETRANSMIT_TRIES, sendDatagrams } from './messages.ts';
import type { RetransmitSchedule } from '../../exchange/retransmit.ts';
import { handleInitResponse, initiateInit, respondInit } from './sa-init.ts';
import { handleIkeRekeyResponse, rekeyIke, respondIkeRekey } from './ike-rekey.ts';
import { addKeNames } from '../../exchange/proposal-names.ts';
import { abortFollowups, expireFollowups, handleFollowupResponse, respondFollowup, SA_GONE } from './followup-ke.ts';
import { authStateShed, homeOf, shedAuthState, spiText, wipeIkeSa, type IkeSaV2 } from './state.ts';
import { ikeRekeyAt, nextDeadlineV2 } from './deadline.ts';
import { ownCopy } from '../../common/own-buffer.ts';
import { SaIndex } from '../../common/sa-index.ts';
import { failWith } from '../../common/fail-path.ts';
import { transmit } from '../../common/send-path.ts';

/** Half-open IKE SAs (all peers) from which on IKE_SA_INIT needs a COOKIE (§2.6). */
export const COOKIE_THRESHOLD = 64;
/** How long a rekeyed-away pair's inbound SA outlives its Delete (§2.8 make-before-break, engine queues drained). */
export const INBOUND_LINGER_MS = 2000;

export { IKE_REKEY_MARGIN } from './deadline.ts';

export interface IkeV2Status {
  version: 2;
  peer: string;
  role: 'initiator' | 'responder';
  state: string;
  local: Endpoint;
  remote: Endpoint;
  natLocal: boolean;
  natRemote: boolean;
  spis: string;
  proposal: string;
  auth: string;
  remainingSeconds: number;
  children: ChildStatus[];
}

export class Ikev2Node implements V2Context {
  readonly env: ExchangeEnv;
  out: Action[] = [];
  readonly counters = newCounters();
  readonly fragmentation: boolean;
  readonly retransmit: RetransmitSchedule;
  #peers: Map<string, PeerPolicy>;
  /** By our own SPI: SPIi for SAs we initiated, SPIr for the others. */
  readonly #mine = new Map<string, IkeSaV2>();
  readonly #theirs = new Map<string, IkeSaV2>();
  /** By peer and next timer deadline (ike/common/sa-index.ts): ticks and per-peer lookups
   * cost what concerns one peer, not a walk over every SA. */
  readonly #index = new SaIndex<IkeSaV2>(
    (sa) => nextDeadlineV2(sa),
    // nextDeadlineV2 reads only the SA itself, never its siblings: a touched SA
    // (an IKE_SA_INIT flood posing as one peer) recomputes its own deadline only.
    () => false,
  );
  /** Responder SAs by the IKE_SA_INIT that made them (SPIi, address, port): a retransmitted
   * request finds its SA without a scan. */
  readonly #byInit = new Map<string, IkeSaV2>();
  readonly #initKeys = new Map<IkeSaV2, string>();
  /** Responder SAs created in IKE_SA_INIT, pruned of the ones past INIT_DONE when counted. */
  readonly #halfOpen = new Set<IkeSaV2>();
  /** Peer by configured remote address (first wins); ROAMING: the first %any peer. */
  #byAddress = new Map<string, PeerPolicy>();
  #reqid = 0;
  readonly #inSpis = new Set<number>();

  readonly #cookies: CookieJar;
  /** Half-open SAs above which IKE_SA_INIT needs a COOKIE (§2.6). */
  readonly cookieThreshold: number;

  constructor(
    env: ExchangeEnv,
    peers: readonly PeerPolicy[],
    options: { fragmentation?: boolean; retransmit?: RetransmitSchedule; cookieThreshold?: number } = {},
  ) {
    this.env = env;
    this.#cookies = new CookieJar(env);
    this.cookieThreshold = options.cookieThreshold ?? COOKIE_THRESHOLD;
    this.fragmentation = options.fragmentation ?? true;
    this.retransmit = options.retransmit ?? { baseMs: RETRANSMIT_BASE_MS, tries: RETRANSMIT_TRIES };
    this.#peers = new Map(peers.map((p) => [p.name, p]));
    this.#indexPeers();
  }

  #indexPeers(): void {
    this.#byAddress = new Map();
    for (const p of this.#peers.values()) if (!this.#byAddress.has(p.remoteAddress)) this.#byAddress.set(p.remoteAddress, p);
  }

  // ------------------------------------------------------------ V2Context

  log(level: Severity, sa: IkeSaV2 | null, phase: Phase, step: string, message: string, data?: Record<string, unknown>): void {
    if (sa) this.#index.touch(sa);
    const { direction, ...rest } = data ?? {};
    this.out.push({
      kind: 'log',
      event: {
        level,
        phase,
        step,
        message,
        ...(sa ? { peer: sa.peer.name } : {}),
        ...(direction === 'in' || direction === 'out' ? { direction } : {}),
        data: { version: 2, ...(sa ? { spis: spiText(sa) } : {}), ...rest },
      },
    });
  }

  /** A timer retransmission, or an answer repeated from the response cache (§2.1). */
  countResend(kind: 'retransmit' | 'repeat'): void {
    if (kind === 'retransmit') this.counters.retransmitted++;
    else this.counters.cachedResponses++;
  }

  nextReqid(): number {
    this.#reqid = (this.#reqid % 0x7fffffff) + 1;
    return this.#reqid;
  }

  allocateSpi(): number {
    for (;;) {
      const spi = this.env.random(4).readUInt32BE(0);
      if (spi > 255 && !this.#inSpis.has(spi)) {
        this.#inSpis.add(spi);
        return spi;
      }
    }
  }

  /** Inbound SAs of rekeyed-away pairs, removed INBOUND_LINGER_MS after their Delete (bounded by the SPIs in use). */
  readonly #lingering: { at: number; peer: string; spi: number }[] = [];

  lingerInbound(peer: string, spi: number): void {
    this.#lingering.push({ at: this.env.now() + INBOUND_LINGER_MS, peer, spi });
  }

  #dropLingering(now: number, all = false): void {
    while (this.#lingering.length > 0 && (all || this.#lingering[0]!.at <= now)) {
      const l = this.#lingering.shift()!;
      this.out.push({ kind: 'delete', peer: l.peer, direction: 'in', spi: l.spi });
      this.releaseSpi(l.spi);
    }
  }

  releaseSpi(spi: number): void {
    this.#inSpis.delete(spi);
  }

  /** Inbound SPIs reserved (installed children and exchanges in flight): bounded by what exists. */
  get spisInUse(): number {
    return this.#inSpis.size;
  }

  /** Counted, logged and recorded through the fail path IKEv1 uses too (ike/common/fail-path.ts); the
   * exchange that failed removes what it must (it returns 'failed' to the node). */
  fail(sa: IkeSaV2, phase: 'main' | 'quick', code: FailureReason, reason: string, extra: V2FailureExtra = {}): void {
    failWith(this, sa, {
      phase,
      code,
      level: 'warning',
      log: { phase, step: 'FAILED', message: reason },
      record: { reason, detail: { code, version: 2, role: sa.role, offered: [], acceptable: [], remoteAddress: sa.remote.address, ...extra } },
    });
  }

  countFailure(phase: 'main' | 'quick'): void {
    if (phase === 'main') this.counters.ikeFailed++;
    else this.counters.childFailed++;
  }

  removeSa(sa: IkeSaV2, notifyPeer: boolean): void {
    if (sa.state === 'DEAD') return;
    const p = sa.pending?.purpose;
    if (p?.kind === 'auth' && p.childSpi !== 0) this.releaseSpi(p.childSpi);
    else if (p?.kind === 'rekey-child') {
      this.releaseSpi(p.newSpi);
      // The child moved to the IKE SA that replaced this one: its timers may rekey it again.
      if (!sa.children.includes(p.old)) p.old.rekeying = false;
    }
    else if (p?.kind === 'create-child') this.releaseSpi(p.spi);
    // RFC 9370 §2.2.2: SAs still waiting for their additional key exchanges end with this one.
    abortFollowups(sa, SA_GONE);
    if (notifyPeer && sa.keys && (sa.state === 'ESTABLISHED' || sa.state === 'DELETING')) {
      deleteIke(this, sa);
    }
    for (const c of [...sa.children]) removeChild(this, sa, c);
    if (udpEncapsulated(sa) && sa.state === 'ESTABLISHED' && !this.sasOf(sa.peer.name).some((o) => o !== sa && o.state === 'ESTABLISHED')) {
      this.out.push({ kind: 'keepalive', to: sa.remote, seconds: 0 });
    }
    // Only our own entries: a rekeyed SA's successor may share neither, but never take another's slot.
    if (this.#mine.get(sa.spiI.toString('hex')) === sa) this.#mine.delete(sa.spiI.toString('hex'));
    if (this.#theirs.get(sa.spiR.toString('hex')) === sa) this.#theirs.delete(sa.spiR.toString('hex'));
    this.#index.remove(sa);
    this.#halfOpen.delete(sa);
    const k = this.#initKeys.get(sa);
    if (k !== undefined && this.#byInit.get(k) === sa) this.#byInit.delete(k);
    this.#initKeys.delete(sa);
    wipeIkeSa(sa);
  }

  established(sa: IkeSaV2, peerInitialContact: boolean): void {
    this.#index.touch(sa);
    this.#halfOpen.delete(sa);
    // The IntAuth chain (RFC 9242 §3.3) served IKE_AUTH only.
    if (sa.intermediate) wipeIntermediate(sa.intermediate);
    sa.intermediate = null;
    const now = this.env.now();
    sa.createdAt = now;
    sa.expiresAt = now + sa.peer.ikeLifetimeSeconds * 1000;
    sa.lastHeard = now;
    for (const other of this.sasOf(sa.peer.name)) {
      if (other === sa) continue;
      if (peerInitialContact) {
        // §2.4: the peer restarted; its old SAs are gone, drop ours without telling it.
        this.log('info', other, 'main', 'INITIAL_CONTACT', 'peer restarted: removing its old IKE SA');
        this.removeSa(other, false);
      } else if (other.state === 'ESTABLISHED' && other.createdAt < sa.createdAt && sa.role === 'initiator') {
        // Re-authentication done (make-before-break): retire the older SA.
        this.removeSa(other, true);
      }
    }
    if (udpEncapsulated(sa) && sa.natLocal && sa.peer.keepaliveSeconds > 0)
      this.out.push({ kind: 'keepalive', to: sa.remote, seconds: sa.peer.keepaliveSeconds });
    // Further tunnels to this peer as their own child SAs (one per negotiate rule).
    if (sa.role === 'initiator') for (const t of sa.peer.tunnels.slice(1)) createChild(this, sa, t);
  }

  sasOf(peer: string): IkeSaV2[] {
    return this.#index.ofPeer(peer);
  }

  // ------------------------------------------------------------ API (same shape as the IKEv1 node)

  #drain(): Action[] {
    this.#index.flush();
    const out = this.out;
    this.out = [];
    return out;
  }

  peers(): PeerPolicy[] {
    return [...this.#peers.values()];
  }

  /** Whether `name` is one of this node's peers (without copying them, as peers() does). */
  hasPeer(name: string): boolean {
    return this.#peers.has(name);
  }

  #newSa(peer: PeerPolicy, role: 'initiator' | 'responder', remote: Endpoint, spiI: Buffer): IkeSaV2 {
    const now = this.env.now();
    return {
      peer,
      role,
      state: role === 'initiator' ? 'INIT_SENT' : 'INIT_DONE',
      spiI,
      spiR: role === 'initiator' ? Buffer.alloc(8) : this.env.random(8),
      local: { address: peer.localAddress, port: IKE_PORT },
      remote,
      natLocal: false,
      natRemote: false,
      peerFragments: false,
      ni: Buffer.alloc(0),
      nr: Buffer.alloc(0),
      dh: null,
      keGroup: 0,
      initAttempts: 0,
      suite: null,
      offeredIke: [],
      keys: null,
      initRequest: Buffer.alloc(0),
      initResponse: Buffer.alloc(0),
      cookie: null,
      nextRequestId: 0,
      pending: null,
      queue: [],
      expectedRequestId: 0,
      lastResponse: null,
      assembly: null,
      children: [],
      createdAt: now,
      expiresAt: now + HALF_OPEN_TIMEOUT_MS,
      lastHeard: now,
      initialContact: false,
      rekeying: false,
      peerHashes: [],
      ppkOffered: false,
      ppkKeys: null,
      authName: '',
    };
  }

  /** Put a (rekeyed) SA into the table under our SPI. */
  #register(sa: IkeSaV2): void {
    if (sa.role === 'initiator') this.#mine.set(sa.spiI.toString('hex'), sa);
    else this.#theirs.set(sa.spiR.toString('hex'), sa);
    this.#index.add(sa);
  }

  /**
   * Idempotent, as the IKEv1 node's (the daemon's 30 s start = start sweep and
   * start = trap call it whenever they like): a peer with an IKE SA that is
   * being negotiated or is up gets no second one.
   */
  initiate(peerName: string): Action[] {
    const peer = this.#peers.get(peerName);
    const live = this.sasOf(peerName).some((s) => s.state !== 'DEAD' && s.state !== 'DELETING' && !s.replacedBy);
    if (peer && peer.remoteAddress !== ROAMING && !live) {
      const sa = this.#newSa(peer, 'initiator', { address: peer.remoteAddress, port: IKE_PORT }, this.env.random(8));
      sa.initialContact = this.sasOf(peer.name).length === 0;
      this.#register(sa);
      if (!initiateInit(this, sa)) this.removeSa(sa, false);
    }
    return this.#drain();
  }

  /** New policy: peers in `reset` (changed or removed) lose their SAs. */
  setPeers(peers: readonly PeerPolicy[], reset: readonly string[]): Action[] {
    for (const name of reset) for (const sa of this.sasOf(name)) this.removeSa(sa, true);
    this.#peers = new Map(peers.map((p) => [p.name, p]));
    this.#indexPeers();
    return this.#drain();
  }

  /** Rekey every child SA of the peer now (make-before-break), or with `what` = 'ike' its IKE SA (§1.3.2). */
  rekey(peerName: string, what: 'child' | 'ike' = 'child'): Action[] {
    for (const sa of this.sasOf(peerName)) {
      this.#index.touch(sa);
      if (sa.state !== 'ESTABLISHED' || sa.replacedBy) continue;
      if (what === 'ike') {
        if (!sa.rekeying) rekeyIke(this, sa);
        continue;
      }
      for (const c of sa.children) if (!c.rekeying) createChild(this, sa, c.tunnel, c);
    }
    return this.#drain();
  }

  terminate(peerName: string): Action[] {
    for (const sa of this.sasOf(peerName)) this.removeSa(sa, true);
    return this.#drain();
  }

  shutdown(): Action[] {
    for (const p of this.#peers.keys()) for (const sa of this.sasOf(p)) this.removeSa(sa, true);
    this.#dropLingering(this.env.now(), true);
    return this.#drain();
  }

  /** The engine saw the peer's ESP arrive from a new address (NAT rebinding): outbound SAs and IKE follow (§2.23). */
  peerMoved(reqid: number, from: Endpoint): Action[] {
    for (const sa of [...this.#mine.values(), ...this.#theirs.values()]) {
      if (!sa.children.some((c) => c.reqid === reqid) || !udpEncapsulated(sa)) continue;
      if (sa.remote.address === from.address && sa.remote.port === from.port) continue;
      this.#index.touch(sa);
      this.log('info', sa, 'natt', 'PEER-MOVED', `peer now at ${from.address}:${from.port}`);
      sa.remote = { ...from };
      for (const c of sa.children) this.out.push({ kind: 'update-remote', peer: sa.peer.name, spi: c.outSpi, remote: sa.remote });
    }
    return this.#drain();
  }

  /** Engine soft/hard limits (bytes, sequence numbers): rekey early, or delete a pair that may no longer be used. */
  saLimit(spi: number, direction: 'in' | 'out', hard: boolean): Action[] {
    for (const sa of [...this.#mine.values(), ...this.#theirs.values()]) {
      const c = sa.children.find((x) => (direction === 'in' ? x.inSpi : x.outSpi) === spi);
      if (!c || sa.state !== 'ESTABLISHED') continue;
      this.#index.touch(sa);
      if (hard) deleteChild(this, sa, c);
      else if (!c.rekeying) createChild(this, sa, c.tunnel, c);
    }
    return this.#drain();
  }

  receive(data: Buffer, from: Endpoint, localPort: number): Action[] {
    this.#receive(data, from, localPort);
    return this.#drain();
  }

  #receive(data: Buffer, from: Endpoint, localPort: number): void {
    const d = decodeMessage(data);
    if (!d.ok) {
      this.counters.malformed++;
      return;
    }
    const m = d.value;
    const h = m.header;
    if (h.exchange === ExchangeType.IKE_SA_INIT) {
      if (!isResponse(h) && isInitiator(h) && h.messageId === 0 && h.spiR.equals(Buffer.alloc(8))) this.#initRequest(m, from, localPort);
      else if (isResponse(h) && !isInitiator(h)) this.#initResponse(m, from);
      else this.counters.unexpected++;
      return;
    }
    // The I flag names the sender's role in the IKE SA; we are the other one.
    const sa = isInitiator(h) ? this.#theirs.get(h.spiR.toString('hex')) : this.#mine.get(h.spiI.toString('hex'));
    if (!sa || !sa.keys || !sa.spiI.equals(h.spiI) || !sa.spiR.equals(h.spiR)) {
      this.counters.unexpected++;
      return;
    }
    this.#index.touch(sa);
    if (isResponse(h)) {
      if (!sa.pending || sa.pending.messageId !== h.messageId || sa.pending.exchange !== h.exchange) {
        this.counters.unexpected++;
        return;
      }
    } else if (h.messageId !== sa.expectedRequestId) {
      if (sa.lastResponse && h.messageId === sa.lastResponse.messageId) {
        // §2.1: a retransmitted request gets the same answer, not a second processing. Only
        // the first fragment of a fragmented request triggers the resend (RFC 7383 §2.6.1).
        const frag = m.payloads[0]?.type === PayloadType.SKF && 'fragmentNumber' in m.payloads[0] ? m.payloads[0].fragmentNumber : 1;
        if (frag === 1) sendDatagrams(this, sa, sa.lastResponse.datagrams, { kind: 'repeat' });
      } else this.counters.unexpected++;
      return;
    }
    const inner = this.#open(sa, m);
    if (inner === null) return;
    this.#authenticated(sa, from, localPort);
    if (isResponse(h)) this.#response(sa, m, inner);
    else this.#request(sa, m, inner);
  }

  /** Decrypts (and reassembles, RFC 7383) an SK/SKF message; null when not (yet) complete or invalid. */
  #open(sa: IkeSaV2, m: Message): Payload[] | null {
    const o = openEncrypted(m, inKeys(sa));
    if (!o.ok) {
      this.counters.unexpected++;
      if (m.payloads[m.payloads.length - 1]?.type === PayloadType.SKF) this.counters.fragmentsDropped++;
      this.log('debug', sa, 'main', 'DROP', `unreadable message: ${o.reason}`);
      return null;
    }
    if (!o.value.fragment) {
      const chain = decodePayloads(o.value.innerFirst, o.value.chain);
      if (!chain.ok) {
        this.counters.malformed++;
        this.log('warning', sa, 'main', 'DROP', `malformed inner payloads: ${chain.reason}`);
        return null;
      }
      return chain.value.payloads;
    }
    this.counters.fragmentsReceived++;
    const response = isResponse(m.header);
    if (!sa.assembly || sa.assembly.messageId !== m.header.messageId || sa.assembly.response !== response) {
      if (sa.assembly) this.counters.fragmentsDropped += sa.assembly.parts.received;
      sa.assembly?.parts.clear();
      sa.assembly = { messageId: m.header.messageId, response, parts: new FragmentAssembly(), startedAt: this.env.now() };
    }
    const r = sa.assembly.parts.add(o.value);
    if (!r.ok) {
      this.counters.malformed++;
      this.counters.fragmentsDropped += sa.assembly.parts.received + 1;
      this.log('warning', sa, 'main', 'DROP', `fragmented message dropped: ${r.reason}`);
      sa.assembly.parts.clear();
      sa.assembly = null;
      return null;
    }
    if (!r.value.done) return null;
    this.log('debug', sa, 'main', 'FRAGMENT', `message ${m.header.messageId} reassembled from ${o.value.fragment.totalFragments} fragments`);
    sa.assembly = null;
    return r.value.payloads;
  }

  /** An authenticated message: the peer is alive, and behind a NAT it may have moved (§2.23). */
  #authenticated(sa: IkeSaV2, from: Endpoint, localPort: number): void {
    sa.lastHeard = this.env.now();
    this.out.push({ kind: 'heard', peer: sa.peer.name });
    if (from.address === sa.remote.address && from.port === sa.remote.port) return;
    const natted = udpEncapsulated(sa) || localPort !== IKE_PORT;
    if (!natted) return;
    this.log('info', sa, 'natt', 'MOVED', `peer now at ${from.address}:${from.port} (was ${sa.remote.address}:${sa.remote.port})`);
    sa.remote = { ...from };
    if (localPort !== IKE_PORT) sa.local = { address: sa.local.address, port: localPort };
    if (sa.pending) sa.pending.nextAt = Math.min(sa.pending.nextAt, this.env.now());
    for (const c of sa.children) this.out.push({ kind: 'update-remote', peer: sa.peer.name, spi: c.outSpi, remote: sa.remote });
  }

  #peerFor(from: Endpoint): PeerPolicy | undefined {
    return this.#byAddress.get(from.address) ?? this.#byAddress.get(ROAMING);
  }

  /** Responder SAs still in INIT_DONE (bounded by HALF_OPEN_TOTAL_MAX); the others leave the set. */
  #halfOpenSas(): IkeSaV2[] {
    const live: IkeSaV2[] = [];
    for (const sa of this.#halfOpen) {
      if (sa.state === 'INIT_DONE') live.push(sa);
      else this.#halfOpen.delete(sa);
    }
    return live;
  }

  #initRequest(m: Message, from: Endpoint, localPort: number): void {
    // A retransmitted IKE_SA_INIT request: answer again from the half-open SA (§2.1).
    const seen = this.#byInit.get(initKey(m.header.spiI, from));
    // Once established the SA keeps no copy of the request (state.ts shedAuthState): a
    // request with its SPI from its address is then a late copy too (an initiator's
    // SPIs are random, §2.6, and it stops sending IKE_SA_INIT at the first answer).
    const late = seen !== undefined && authStateShed(seen);
    const sameSource = seen !== undefined && seen.remote.address === from.address && seen.remote.port === from.port;
    if (seen && seen.state !== 'DEAD' && sameSource && (late || seen.initRequest.equals(m.raw))) {
      if (seen.state === 'INIT_DONE' && seen.lastResponse) sendDatagrams(this, seen, seen.lastResponse.datagrams, { kind: 'repeat' });
      return;
    }
    const peer = this.#peerFor(from);
    if (!peer) {
      this.counters.unexpected++;
      this.log('info', null, 'main', 'IKE_SA_INIT', `request from unknown address ${from.address}`);
      return;
    }
    const halfOpen = this.#halfOpenSas();
    if (halfOpen.length >= this.cookieThreshold && !this.#cookieOk(m, from, localPort)) return;
    if (halfOpen.length >= HALF_OPEN_TOTAL_MAX || halfOpen.filter((s) => s.peer === peer).length >= HALF_OPEN_MAX) {
      this.counters.halfOpenRefused++;
      return;
    }
    const sa = this.#newSa(peer, 'responder', { ...from }, ownCopy(m.header.spiI));
    sa.local = { address: peer.localAddress, port: localPort };
    if (respondInit(this, sa, m, from)) {
      this.#register(sa);
      this.#halfOpen.add(sa);
      const k = initKey(sa.spiI, from);
      this.#byInit.set(k, sa);
      this.#initKeys.set(sa, k);
    } else wipeIkeSa(sa);
  }

  /**
   * §2.6: under load a request must carry a COOKIE we made for its nonce,
   * address and SPI (the first payload); otherwise it is answered with a fresh
   * one and forgotten. Returns true when the request may go on.
   */
  #cookieOk(m: Message, from: Endpoint, localPort: number): boolean {
    const ni = m.payloads.find((p) => p.type === PayloadType.NONCE);
    if (!ni || !('data' in ni)) return false;
    const first = m.payloads[0];
    const cookie =
      first && first.type === PayloadType.NOTIFY && 'notifyType' in first && first.notifyType === NotifyType.COOKIE ? first.data : null;
    if (cookie && this.#cookies.check(cookie, ni.data, from, m.header.spiI)) return true;
    this.counters.cookiesSent++;
    const data = encodeMessage(
      { spiI: m.header.spiI, spiR: Buffer.alloc(8), exchange: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.RESPONSE, messageId: 0 },
      [notify(NotifyType.COOKIE, this.#cookies.make(ni.data, from, m.header.spiI))],
    );
    transmit(this, null, [{ data, to: from, localPort }], { kind: 'new' });
    return false;
  }

  #initResponse(m: Message, from: Endpoint): void {
    const sa = this.#mine.get(m.header.spiI.toString('hex'));
    // Past IKE_SA_INIT (an IKE_INTERMEDIATE in flight) a late copy of its response is not processed again.
    if (!sa || sa.state !== 'INIT_SENT' || !sa.pending || sa.pending.purpose.kind !== 'sa-init') {
      this.counters.unexpected++;
      return;
    }
    this.#index.touch(sa);
    const r = handleInitResponse(this, sa, m, from);
    if (r === 'failed') this.removeSa(sa, false);
    else if (r === 'auth') {
      sa.pending = null;
      sa.lastHeard = this.env.now();
      if (!continueAfterInit(this, sa)) this.removeSa(sa, false);
    }
  }

  #request(sa: IkeSaV2, m: Message, inner: Payload[]): void {
    switch (m.header.exchange) {
      case ExchangeType.IKE_AUTH:
        if (sa.role !== 'responder' || sa.state !== 'INIT_DONE' || !intermediateDone(sa)) {
          this.counters.unexpected++;
          return;
        }
        if (sa.intermediate) sa.intermediate.authMessageId = m.header.messageId;
        // true: authenticated and answered (the SA is established).
        if (!respondAuth(this, sa, m, inner)) this.removeSa(sa, false);
        else shedAuthState(sa);
        return;
      case ExchangeType.IKE_INTERMEDIATE:
        // RFC 9242 §3: only between IKE_SA_INIT and IKE_AUTH, and only for an exchange we agreed (RFC 9370).
        if (sa.role !== 'responder' || sa.state !== 'INIT_DONE' || intermediateDone(sa)) {
          this.counters.unexpected++;
          return;
        }
        if (!respondIntermediate(this, sa, m, inner)) this.removeSa(sa, false);
        return;
      case ExchangeType.CREATE_CHILD_SA: {
        if (sa.state === 'DELETING' || (sa.state === 'ESTABLISHED' && sa.replacedBy)) {
          // §2.25.2: the SA is being deleted or was rekeyed; the peer retries on the new one.
          this.log('info', sa, 'main', 'CREATE_CHILD_SA', 'TEMPORARY_FAILURE: this IKE SA is being rekeyed or deleted', { direction: 'out' });
          respond(this, sa, ExchangeType.CREATE_CHILD_SA, m.header.messageId, [notify(NotifyType.TEMPORARY_FAILURE)]);
          return;
        }
        if (sa.state !== 'ESTABLISHED') return;
        const saP = inner.find((p) => p.type === PayloadType.SA);
        if (saP && 'proposals' in saP && saP.proposals.some((p) => p.protocol === ProtocolId.IKE)) {
          const next = respondIkeRekey(this, sa, m, inner);
          if (next) this.#register(next);
        } else respondCreateChild(this, sa, m, inner);
        return;
      }
      case ExchangeType.IKE_FOLLOWUP_KE: {
        // RFC 9370 §2.2.2: only on an established SA (a CREATE_CHILD_SA of it asked for these).
        if (sa.state !== 'ESTABLISHED') {
          this.counters.unexpected++;
          return;
        }
        const next = respondFollowup(this, sa, m, inner);
        if (next) this.#register(next);
        return;
      }
      case ExchangeType.INFORMATIONAL:
        if (respondInformational(this, sa, m, inner) === 'delete-ike') this.removeSa(sa, false);
        return;
      default:
        this.counters.unexpected++;
    }
  }

  #response(sa: IkeSaV2, m: Message, inner: Payload[]): void {
    const purpose = sa.pending!.purpose;
    sa.pending = null;
    switch (purpose.kind) {
      case 'auth':
        if (!handleAuthResponse(this, sa, inner, purpose)) {
          if (purpose.childSpi !== 0) this.releaseSpi(purpose.childSpi);
          this.removeSa(sa, false);
          return;
        }
        if (sa.state === 'ESTABLISHED') shedAuthState(sa);
        break;
      case 'intermediate':
        if (!handleIntermediateResponse(this, sa, m, inner) || !continueAfterInit(this, sa)) {
          this.removeSa(sa, false);
          return;
        }
        return;
      case 'rekey-ike': {
        const next = handleIkeRekeyResponse(this, sa, inner, purpose);
        if (next) this.#register(next);
        break;
      }
      case 'rekey-child':
      case 'create-child':
        handleCreateChildResponse(this, sa, inner, purpose);
        break;
      case 'followup-ke': {
        const next = handleFollowupResponse(this, sa, inner, purpose);
        if (next) this.#register(next);
        break;
      }
      case 'delete-child': {
        // The pair may have moved to the IKE SA that replaced this one meanwhile (§1.3.2).
        const home = homeOf(sa, purpose.child);
        if (home) removeChild(this, home, purpose.child);
        break;
      }
      case 'delete-ike':
        this.removeSa(sa, false);
        return;
      case 'dpd':
      case 'sa-init':
        break;
    }
    nextQueued(this, sa);
  }

  // ------------------------------------------------------------ time

  tick(): Action[] {
    const now = this.env.now();
    this.#dropLingering(now);
    // Only the SAs whose deadline has come (deadline.ts mirrors the conditions below).
    for (const sa of this.#index.takeDue(now)) {
      if (sa.state === 'DEAD') continue;
      // Touched again: a restart below drains (and flushes) in the middle of this loop.
      this.#index.touch(sa);
      if (sa.state === 'INIT_DONE' && now - sa.createdAt > HALF_OPEN_TIMEOUT_MS) {
        this.log('warning', sa, 'main', 'IKE_SA_INIT', 'half-open IKE SA timed out');
        this.removeSa(sa, false);
        continue;
      }
      if (sa.assembly && now - sa.assembly.startedAt > REASSEMBLY_TIMEOUT_MS) {
        // RFC 7383 §2.6: an incomplete message is not kept for ever.
        this.counters.fragmentsDropped += sa.assembly.parts.received;
        this.log('info', sa, 'main', 'DROP', `fragments of message ${sa.assembly.messageId} timed out incomplete`);
        sa.assembly.parts.clear();
        sa.assembly = null;
      }
      if (sa.pending && now >= sa.pending.nextAt) {
        if (sa.pending.tries >= this.retransmit.tries) {
          this.#giveUp(sa);
          continue;
        }
        sa.pending.tries++;
        sa.pending.nextAt = now + this.retransmit.baseMs * 2 ** sa.pending.tries;
        const p = sa.pending;
        const message = `request ${p.messageId} again (try ${p.tries})`;
        sendDatagrams(this, sa, p.datagrams, { kind: 'retransmit', attempt: p.tries, phase: 'main', step: 'RETRANSMIT', message });
      }
      if (sa.state !== 'ESTABLISHED') continue;
      expireFollowups(this, sa, now);
      for (const c of [...sa.children]) {
        if (now >= c.expiresAt) {
          // Once: its Delete is queued or out (a silent peer answers neither until retransmission gives up).
          if (c.deleting) continue;
          this.log('info', sa, 'quick', 'EXPIRE', `child SA of ${c.tunnel.name} reached its lifetime`);
          deleteChild(this, sa, c);
        } else if (now >= c.rekeyAt && !c.rekeying) createChild(this, sa, c.tunnel, c);
      }
      const dpd = sa.peer.dpd;
      if (dpd && !sa.pending && now - sa.lastHeard >= dpd.delaySeconds * 1000) sendDpd(this, sa);
      // The IKE SA's initiator rekeys it (§1.3.2) before it expires; the peer may do so first.
      if (sa.role === 'initiator' && !sa.rekeying && now >= ikeRekeyAt(sa)) {
        sa.rekeying = true;
        rekeyIke(this, sa);
      }
      if (now >= sa.expiresAt) {
        this.log('info', sa, 'main', 'EXPIRE', 'IKE SA lifetime over');
        this.removeSa(sa, true);
      }
    }
    return this.#drain();
  }

  #initiate(peer: string): void {
    this.out.push(...this.initiate(peer));
  }

  /** No answer to our request after every retransmission (§2.4: the peer is dead). */
  #giveUp(sa: IkeSaV2): void {
    const waited = Math.round((this.env.now() - sa.pending!.sentAt) / 1000);
    const established = sa.state === 'ESTABLISHED' || sa.state === 'DELETING';
    // For explain: where the peer went silent (silence.ts).
    const silence = { waitedSeconds: waited, ...ikeV2Silence(sa, sa.pending!.purpose) };
    const restart = established && sa.state === 'ESTABLISHED' && sa.peer.dpd?.action === 'restart';
    const name = sa.peer.name;
    const detail: FailureDetail = {
      code: 'timeout',
      version: 2,
      role: sa.role,
      offered: [],
      acceptable: [],
      remoteAddress: sa.remote.address,
      ...silence,
    };
    const reason = established ? 'dead peer' : `no answer from ${sa.remote.address} after ${waited} s`;
    // A dead established peer counts as a failed IKE SA too (IKEv1 counts DPD deaths the same way).
    failWith(this, sa, {
      phase: 'main',
      code: 'timeout',
      level: 'warning',
      log: established
        ? { phase: 'dpd', step: 'DEAD', message: `peer did not answer for ${waited} s: IKE SA and child SAs removed` }
        : { phase: 'main', step: 'FAILED', message: reason },
      record: { reason, detail },
      remove: () => this.removeSa(sa, false),
    });
    if (restart) this.#initiate(name);
  }

  // ------------------------------------------------------------ status

  /** Self-check of the timer index (tests): every live SA is filed under its peer and
   * scheduled no later than tick() has work for it; nothing is kept for dead SAs. */
  timerIndexErrors(): string[] {
    this.#index.flush();
    const errors: string[] = [];
    const all = new Set([...this.#mine.values(), ...this.#theirs.values()]);
    for (const sa of all) {
      if (!this.sasOf(sa.peer.name).includes(sa)) errors.push(`${spiText(sa)} not filed under peer ${sa.peer.name}`);
      const need = nextDeadlineV2(sa);
      const have = this.#index.deadlineOf(sa) ?? Infinity;
      if (have > need) errors.push(`${spiText(sa)} (${sa.state}) scheduled at ${have}, tick needs ${need}`);
    }
    if (this.#index.size !== all.size) errors.push(`index holds ${this.#index.size} SAs, the tables ${all.size}`);
    if (this.#byInit.size > all.size || this.#initKeys.size > all.size) errors.push(`${this.#byInit.size} IKE_SA_INIT entries for ${all.size} SAs`);
    return errors;
  }

  /** Sizes of the SA indexes (tests: they shrink back when SAs die). */
  indexSizes(): { sas: number; scheduled: number; peers: number; initRequests: number; halfOpen: number } {
    return {
      sas: this.#index.size,
      scheduled: this.#index.scheduled,
      peers: this.#index.peers,
      initRequests: this.#byInit.size + this.#initKeys.size,
      halfOpen: this.#halfOpen.size,
    };
  }

  status(): IkeV2Status[] {
    const now = this.env.now();
    return [...this.#mine.values(), ...this.#theirs.values()].map((sa) => ({
      version: 2 as const,
      peer: sa.peer.name,
      role: sa.role,
      state: sa.state,
      local: sa.local,
      remote: sa.remote,
      natLocal: sa.natLocal,
      natRemote: sa.natRemote,
      spis: spiText(sa),
      proposal: sa.suite?.name ?? '',
      auth: sa.state === 'ESTABLISHED' ? sa.authName : '',
      remainingSeconds: Math.max(0, Math.round((sa.expiresAt - now) / 1000)),
      children: sa.children.map((c) => ({
        peer: sa.peer.name,
        tunnel: c.tunnel.name,
        esp: c.algorithm,
        inSpi: c.inSpi,
        outSpi: c.outSpi,
        encap: udpEncapsulated(sa) ? ('udp' as const) : ('none' as const),
        ageSeconds: Math.round((now - c.createdAt) / 1000),
        expiresInSeconds: Math.max(0, Math.round((c.expiresAt - now) / 1000)),
        localTs: c.localCidr,
        remoteTs: c.remoteCidr,
        ...(c.tunnel.ports ? { ports: c.tunnel.ports } : {}),
        pfsGroup: c.pfsGroup,
        ...(c.addKe ? { addKe: addKeNames(c.addKe.map((k) => ({ slot: k.slot, ids: [k.id] }))) } : {}),
        esn: c.esn,
        lifetimeKilobytes: c.tunnel.methods.find((m) => m.esp === c.algorithm)?.lifetimeKilobytes ?? 0,
      })),
    }));
  }
}

/** The #byInit key: the initiator's SPI and where its IKE_SA_INIT came from. */
function initKey(spiI: Buffer, from: Endpoint): string {
  return `${spiI.toString('hex')}|${from.address}|${from.port}`;
}
