// One IKEv1 speaker: the table of ISAKMP SAs and the dispatcher that routes
// datagrams and clock ticks into main mode, quick mode and informational
// exchanges. Pure: every call returns the actions to carry out (send,
// install, delete, log); the daemon or a test does the I/O.

import { authMethodName } from './phase1-auth.ts';
import type { Severity } from '../../log/syslog.ts';
import type { DropTag, Phase } from '../../log/negotiation-log.ts';
import {
  ExchangeType,
  FRAGMENT_OVERHEAD,
  HEADER_LENGTH,
  MAX_FRAGMENTS,
  NotifyType,
  PayloadType,
  ProtocolId,
  decodeFragment,
  decodeMessage,
  deleteIsakmp,
  encodeFragments,
  encodeMessage,
  isFragmentMessage,
  isakmpSpi,
  notify,
  payloadsOfType,
  type CleartextMessage,
  type DecodedMessage,
  type Identity,
} from '../wire/index.ts';
import { sameIdentity } from './identity.ts';
import type { ExchangeCounters } from './context.ts';
import { emptyFailureCounts, fail, type ExchangeError, type FailureCounts } from './fail.ts';
import { phase1AttributesName } from './proposal-names.ts';
import { handleInformational, notifyName, sendInformational } from './informational.ts';
import { cookieKey, isEstablished, negotiatedOf, udpEncapsulated, wipeIsakmpSa, type IsakmpSa } from './isakmp-sa.ts';
import { handleMainMode, initiateMainMode, respondMainMode1 } from './main-mode.ts';
import { adoptPairs, expireLingeringInbound, REKEY_INBOUND_LINGER_MS, retireChild } from './child-sa.ts';
import { Reassembler } from './fragments.ts';
import { DEFAULT_RETRANSMIT, type Retransmit, type RetransmitSchedule } from './retransmit.ts';
import { handleQuickMode, initiateQuickMode, peerRefusedQuickMode } from './quick-mode.ts';
import { nextDeadline, runTimers, type TimerHost } from './timers.ts';
import { SaIndex } from '../common/sa-index.ts';
import { transmit } from '../common/send-path.ts';
import { HalfOpenTable, halfOpenKey } from '../common/half-open.ts';
import { Mm1Records, peekFreshMm1, type Mm1Record } from './mm1-records.ts';
import { MM1_BUDGET, ReplyBudget, type ReplyBudgetLimits } from '../common/reply-budget.ts';
import { ownCopy } from '../common/own-buffer.ts';
import { INVALID_COOKIE_RATE, MAIN_MODE_RESTART_MS, ResponderCookies } from './responder-cookie.ts';
import { RepeatAnswers, SourceRateLimit } from '../common/response-limit.ts';
import type { EspAlgorithm } from '../../dataplane/types.ts';
import {
  HALF_OPEN_MAX,
  HALF_OPEN_TOTAL_MAX,
  IKE_PORT,
  ROAMING,
  type Action,
  type Endpoint,
  type ExchangeEnv,
  type PeerPolicy,
  type PortSelector,
  type TunnelPolicy,
} from './types.ts';

export interface ChildStatus {
  peer: string;
  tunnel: string;
  esp: EspAlgorithm;
  inSpi: number;
  outSpi: number;
  encap: 'udp' | 'none';
  ageSeconds: number;
  expiresInSeconds: number;
  /** The pair's own selectors and PFS (a default-response pair is narrower than its rule). */
  localTs: string;
  remoteTs: string;
  ports?: PortSelector;
  pfsGroup: number | null;
  /** IKEv2: RFC 9370 additional key exchanges the pair was keyed with after the PFS group, e.g. "-ke1_mlkem768". */
  addKe?: string;
  /** Kilobyte lifetime of the negotiated method as configured. */
  lifetimeKilobytes: number;
  /** 64-bit extended sequence numbers were negotiated (RFC 4303 §2.2.1; IKEv2 only:
   * our IKEv1 quick mode refuses RFC 4304 ESN proposals). */
  esn?: boolean;
}

export interface IsakmpStatus {
  peer: string;
  role: 'initiator' | 'responder';
  state: string;
  local: Endpoint;
  remote: Endpoint;
  natLocal: boolean;
  natRemote: boolean;
  cookies: string;
  /** The chosen phase 1 suite as the config writes it, e.g. "aes256-sha256-modp2048" (empty while negotiating). */
  proposal: string;
  /** Negotiated authentication method (config name), '' while not chosen yet. */
  auth: string;
  remainingSeconds: number;
  children: ChildStatus[];
}

/** Unauthenticatable encrypted answers to MM5 before we call it a PSK mismatch. */
export const UNREADABLE_REPLIES_LIMIT = 2;

/** Largest IP datagram we send an IKE message in when the peer does IKEv1
 * fragmentation: larger main mode messages go out as fragments. 1280 is
 * strongSwan's default charon.fragment_size ("complete IP datagram size") and
 * the IPv6 minimum MTU (RFC 8200 §5), so it passes PPPoE (1492), most tunnels and
 * every IPv6 path without IP fragmentation; 576 (the IPv4 minimum) would split a
 * 4096-bit RSA MM5 into 5+ fragments for the rare path that needs it. */
export const FRAGMENT_IP_DATAGRAM = 1280;

export interface IkeNodeOptions {
  /** Announce and use IKEv1 fragmentation (default true). */
  fragmentation?: boolean;
  /** Retransmission schedule (default DEFAULT_RETRANSMIT: 2 s doubling, 5 tries). */
  retransmit?: RetransmitSchedule;
  /** How many fresh MM1s are answered per second (common/reply-budget.ts; default
   * MM1_BUDGET); null: every one (unit tests of what lies behind the budget). */
  mm1Budget?: ReplyBudgetLimits | null;
}

/** The largest ISAKMP datagram (UDP payload) that fits FRAGMENT_IP_DATAGRAM: IPv4 20 /
 * IPv6 40 bytes of IP header, 8 of UDP, and off port 500 the 4-byte non-ESP marker
 * (RFC 3948 §2.2) the daemon puts in front. */
export function maxIkeDatagram(to: Endpoint, localPort: number): number {
  const ip = to.address.includes(':') ? 40 : 20;
  const marker = localPort === IKE_PORT ? 0 : 4;
  return FRAGMENT_IP_DATAGRAM - ip - 8 - marker;
}

/** Whether a tunnel name belongs to one of these rules: the rule itself, one of its
 * ports (`RULE#2`, policy-from-config.ts) or a default-response pair (`RULE~CIDR`). */
export function ofRules(tunnel: string, rules: readonly string[]): boolean {
  return rules.some((r) => tunnel === r || tunnel.startsWith(`${r}#`) || tunnel.startsWith(`${r}~`));
}

function phase1Name(sa: IsakmpSa): string {
  const n = negotiatedOf(sa);
  return n ? phase1AttributesName(n.chosen) : '';
}

function authName(sa: IsakmpSa): string {
  const n = negotiatedOf(sa);
  return n ? authMethodName(n.chosen.authMethod) : '';
}

export class IkeNode implements TimerHost {
  readonly env: ExchangeEnv;
  out: Action[] = [];
  readonly counters: ExchangeCounters = {
    malformed: 0,
    unexpected: 0,
    retransmitted: 0,
    mainModeFailed: 0,
    quickModeFailed: 0,
    halfOpenRefused: 0,
    halfOpenEvicted: 0,
    repliesLimited: 0,
    invalidCookieSent: 0,
    mainModeRestarts: 0,
    fragmentsReceived: 0,
    fragmentsDropped: 0,
    reassembled: 0,
    fragmentsSent: 0,
  };
  readonly failureCounts: FailureCounts = emptyFailureCounts();
  readonly fragmentation: boolean;
  readonly retransmit: RetransmitSchedule;
  readonly #reassembler: Reassembler;
  readonly #peers: Map<string, PeerPolicy>;
  /** Peer name by configured remote address, the first peer configured there (who an
   * MM1 or a dropped datagram comes from); ROAMING: the first %any peer. */
  readonly #byAddress = new Map<string, string>();
  /** The remote = %any peers. */
  #roaming: PeerPolicy[] = [];
  readonly #sas = new Map<string, IsakmpSa>();
  /** The SAs by peer and by next timer deadline (ike/common/sa-index.ts): a tick or an
   * MM1 on a hub costs what concerns one spoke, not a walk over every SA. */
  readonly #index = new SaIndex<IsakmpSa>(
    (sa, mine) => nextDeadline(sa, mine.some((o) => o !== sa && o.createdAt > sa.createdAt)),
    // nextDeadline looks at the siblings (newerSaExists) only for established SAs.
    (sa) => sa.state === 'ESTABLISHED',
  );
  /** Responder main modes not yet authenticated (ike/common/half-open.ts), grouped per peer. */
  readonly #halfOpen = new HalfOpenTable<IsakmpSa>({ perGroup: HALF_OPEN_MAX, total: HALF_OPEN_TOTAL_MAX });
  /** MM1s answered without an SA (mm1-records.ts): an MM3 echoing our cookie builds its exchange. */
  readonly #answered = new Mm1Records();
  readonly #repeats = new RepeatAnswers<IsakmpSa>();
  readonly #repeatedMm2 = new RepeatAnswers<Mm1Record>();
  readonly #replyRate: SourceRateLimit;
  /** MM2s to fresh MM1s per second, in all and per peer or source prefix (common/reply-budget.ts). */
  readonly #mm1Budget: ReplyBudget | null;
  /** Our responder cookies, derived from a rotating secret (responder-cookie.ts). */
  readonly #cookies: ResponderCookies;
  /** INVALID-COOKIE answers per source: their own budget, so copies of MM1s cannot spend it. */
  readonly #invalidCookieRate: SourceRateLimit;
  /** Per peer: when our main mode was last started again on an INVALID-COOKIE. */
  readonly #restartedAt = new Map<string, number>();
  /** Per peer: when evictions were last logged, and how many since. */
  readonly #evictions = new Map<string, { loggedAt: number; since: number }>();
  #reqid = 0;

  constructor(env: ExchangeEnv, peers: readonly PeerPolicy[], options: IkeNodeOptions = {}) {
    this.env = env;
    this.fragmentation = options.fragmentation ?? true;
    this.retransmit = options.retransmit ?? DEFAULT_RETRANSMIT;
    this.#reassembler = new Reassembler(env.now, this.counters);
    this.#replyRate = new SourceRateLimit(env.now);
    const budget = options.mm1Budget === undefined ? MM1_BUDGET : options.mm1Budget;
    this.#mm1Budget = budget === null ? null : new ReplyBudget(env.now, budget);
    this.#cookies = new ResponderCookies(env.now, env.random);
    this.#invalidCookieRate = new SourceRateLimit(env.now, INVALID_COOKIE_RATE);
    this.#peers = new Map(peers.map((p) => [p.name, p]));
    this.#indexPeers();
  }

  #indexPeers(): void {
    this.#byAddress.clear();
    for (const p of this.#peers.values()) if (!this.#byAddress.has(p.remoteAddress)) this.#byAddress.set(p.remoteAddress, p.name);
    this.#roaming = [...this.#peers.values()].filter((p) => p.remoteAddress === ROAMING);
  }

  #addSa(sa: IsakmpSa): void {
    this.#sas.set(cookieKey(sa.ckyI), sa);
    this.#index.add(sa);
  }

  // ------------------------------------------------------------ ExchangeContext (timers.ts: TimerHost)

  log(level: Severity, sa: IsakmpSa | null, phase: Phase, step: string, message: string, data?: Record<string, unknown>): void {
    if (sa) this.#index.touch(sa);
    this.out.push({
      kind: 'log',
      event: { level, phase, step, message, ...(sa ? { peer: sa.peer.name } : {}), ...(data ? { data } : {}) },
    });
  }

  /** A dropped datagram: the log summarises repeats per `what` and source class (log/rate-limit.ts). */
  #dropped(
    level: Severity,
    sa: IsakmpSa | null,
    step: string,
    message: string,
    what: string,
    from: Endpoint,
    data?: Record<string, unknown>,
    claimed?: PeerPolicy,
  ): void {
    const peer = sa?.peer ?? claimed ?? this.#peers.get(this.#byAddress.get(from.address) ?? '');
    const drop: DropTag = { what, source: peer ? `peer ${peer.name}` : 'unconfigured addresses', from: from.address };
    this.out.push({
      kind: 'log',
      event: { level, phase: 'main', step, message, drop, ...(sa ? { peer: sa.peer.name } : {}), ...(data ? { data } : {}) },
    });
  }

  send(sa: IsakmpSa, data: Buffer, expectReply: boolean, via: Retransmit | null = sa.retransmit): void {
    const m = { data, to: sa.remote, localPort: sa.local.port };
    this.#index.touch(sa);
    via?.sent(m, this.env.now(), expectReply);
    transmit(this, sa, [m], { kind: 'new' });
  }

  /** Per code, and in the phase's total (ike/common/fail-path.ts). */
  countFailure(phase: 'main' | 'quick', code: ExchangeError): void {
    this.failureCounts[code]++;
    if (phase === 'main') this.counters.mainModeFailed++;
    else this.counters.quickModeFailed++;
  }

  /** Both kinds of resend count as retransmitted in IKEv1's counters. */
  countResend(): void {
    this.counters.retransmitted++;
  }

  nextReqid(): number {
    this.#reqid = (this.#reqid % 0x7fffffff) + 1;
    return this.#reqid;
  }

  peerForIdentity(sa: IsakmpSa, id: Identity): PeerPolicy | null {
    if (sa.role !== 'responder' || sa.peer.remoteAddress !== ROAMING) return null;
    return this.#roaming.find((p) => p !== sa.peer && sameIdentity(p.remoteId, id)) ?? null;
  }

  acceptableIds(sa: IsakmpSa): Identity[] {
    if (sa.peer.remoteAddress !== ROAMING) return [sa.peer.remoteId];
    return this.#roaming.map((p) => p.remoteId);
  }

  hasOtherSas(sa: IsakmpSa): boolean {
    return this.#sasOf(sa.peer.name).some((o) => o !== sa);
  }

  established(sa: IsakmpSa, initialContact: boolean): void {
    // A %any SA may have just learnt which peer it is (main-mode.ts): file it there first.
    this.#index.refile(sa);
    sa.lastHeard = this.env.now();
    for (const other of this.#sasOf(sa.peer.name)) {
      if (other === sa) continue;
      if (initialContact && other.state === 'ESTABLISHED' && other.createdAt <= sa.createdAt) {
        // RFC 2407 §4.6.3.3: the peer rebooted; everything older is stale.
        this.log('info', other, 'main', 'INITIAL-CONTACT', 'peer restarted: dropping older SAs');
        this.removeSa(other, false);
      } else if (other.retired) {
        // A main mode (either side's) adopts the pairs of an ISAKMP SA that is over.
        adoptPairs(other, sa);
        this.removeSa(other, other.retired === 'expired');
      } else if (sa.replacing && other.state === 'ESTABLISHED' && other.createdAt <= (sa.replacesUpTo ?? -Infinity)) {
        // Our ISAKMP SA rekey: the IPsec SAs live on under the new ISAKMP SA, the old
        // one is deleted (the peer moves its IPsec SAs when that Delete arrives). Only
        // the SAs this main mode was started to replace: a main mode the peer started
        // at the same time (both reached the refresh limit or the lifetime margin) is a
        // duplicate that lives to its own expiry, as strongSwan and Windows keep them.
        // Deleting it here made both sides delete each other's new SA, and the quick
        // modes queued under them went unanswered until the old pairs expired.
        adoptPairs(other, sa);
        this.removeSa(other, true);
      }
    }
    if (sa.natLocal && sa.peer.keepaliveSeconds > 0) {
      // RFC 3948 §4: the NATed side keeps the mapping open.
      this.out.push({ kind: 'keepalive', to: sa.remote, seconds: sa.peer.keepaliveSeconds });
    }
    this.#startQueued(sa);
  }

  /** The quick modes waiting for `sa` (established): new tunnels, then rekeys. */
  #startQueued(sa: IsakmpSa): void {
    const queued = sa.queued;
    const rekeys = sa.queuedRekeys;
    sa.queued = [];
    sa.queuedRekeys = [];
    for (const t of queued) this.startQuickMode(sa, t);
    const pairs = this.#sasOf(sa.peer.name).flatMap((o) => o.children);
    for (const r of rekeys) {
      if (pairs.some((c) => c.reqid === r.rekeyOf)) this.startQuickMode(sa, r.tunnel, r.rekeyOf);
      // The pair is gone. Replaced meanwhile (the peer answered the rekey that crossed
      // its own at the refresh limit, quick-mode.ts): nothing left to do; a second pair
      // made here was retired by one side and sent on by the other. Gone with no
      // successor (expired, deleted): the tunnel needs a new one.
      else if (!pairs.some((c) => c.tunnel.name === r.tunnel.name)) this.startQuickMode(sa, r.tunnel);
    }
  }

  removeSa(sa: IsakmpSa, notifyPeer: boolean): void {
    this.#index.refile(sa);
    for (const c of [...sa.children]) retireChild(this, sa, c, notifyPeer);
    expireLingeringInbound(this, sa, this.env.now(), true);
    if (notifyPeer && sa.state === 'ESTABLISHED')
      sendInformational(this, sa, [deleteIsakmp({ initiatorCookie: sa.ckyI, responderCookie: sa.ckyR })]);
    if (sa.natLocal && sa.peer.keepaliveSeconds > 0 && this.#sasOf(sa.peer.name).every((o) => o === sa)) {
      this.out.push({ kind: 'keepalive', to: sa.remote, seconds: 0 });
    }
    wipeIsakmpSa(sa);
    this.#halfOpen.remove(sa);
    this.#reassembler.discard(sa.ckyI);
    this.#sas.delete(cookieKey(sa.ckyI));
    this.#index.remove(sa);
  }

  startQuickMode(sa: IsakmpSa, tunnel: TunnelPolicy, rekeyOf?: number): void {
    this.#index.touch(sa);
    const limit = sa.peer.quickModeLimit ?? 0;
    if (!sa.retired && (limit === 0 || sa.quickModes < limit)) {
      // Callers start quick modes only under established SAs (main mode queues them).
      if (isEstablished(sa)) initiateQuickMode(this, sa, tunnel, rekeyOf);
      return;
    }
    // Session key refresh limit reached: the next quick mode runs under a fresh main
    // mode (fresh SKEYID_d; with limit 1 this is master key PFS).
    const running = this.#sasOf(sa.peer.name).find((o) => o.replacing && o.role === 'initiator' && o.state !== 'ESTABLISHED');
    if (running) running.replacesUpTo = Math.max(running.replacesUpTo ?? -Infinity, sa.createdAt);
    const fresh = running ?? this.#replace(sa);
    if (rekeyOf !== undefined) fresh.queuedRekeys.push({ tunnel, rekeyOf });
    else if (!fresh.queued.includes(tunnel)) fresh.queued.push(tunnel);
  }

  // ------------------------------------------------------------ public API

  #drain(): Action[] {
    this.#index.flush();
    const out = this.out;
    this.out = [];
    // Nothing to send (a datagram dropped, counted and logged): nothing to fragment.
    if (!out.some((a) => a.kind === 'send')) return out;
    // On the way out, so that first sends, timer retransmissions and answers to
    // duplicate requests alike go as the same fragments.
    const sent = out.flatMap((a) => (a.kind === 'send' ? this.#fragmentSend(a) : [a]));
    const logs = this.out;
    this.out = [];
    return [...sent, ...logs];
  }

  /** A main mode message too large for FRAGMENT_IP_DATAGRAM to a peer that does IKEv1
   * fragmentation becomes one send per fragment (wire/fragment.ts); the daemon adds
   * the non-ESP marker to each on port 4500. */
  #fragmentSend(a: Extract<Action, { kind: 'send' }>): Action[] {
    if (a.data.length < HEADER_LENGTH || isFragmentMessage(a.data) || a.data[18] !== ExchangeType.MAIN) return [a];
    const sa = this.#sas.get(cookieKey(a.data.subarray(0, 8)));
    const limit = maxIkeDatagram(a.to, a.localPort);
    if (!sa || !sa.peerFragmentation || a.data.length <= limit) return [a];
    let frags = sa.sentFragments?.original.equals(a.data) ? sa.sentFragments.fragments : null;
    if (frags === null) {
      // Beyond 16 fragments the peer would not reassemble it either; let IP fragment it.
      if (Math.ceil(a.data.length / (limit - FRAGMENT_OVERHEAD)) > MAX_FRAGMENTS) return [a];
      sa.fragmentId = (sa.fragmentId % 0xffff) + 1;
      frags = encodeFragments(a.data, sa.fragmentId, limit);
      sa.sentFragments = { original: a.data, fragments: frags };
      this.log(
        'info',
        sa,
        'main',
        'FRAGMENTS',
        `sending ${a.data.length}-byte message as ${frags.length} fragments (fragment ID ${sa.fragmentId})`,
        {
          fragments: frags.length,
          bytes: a.data.length,
        },
      );
    }
    this.counters.fragmentsSent += frags.length;
    return frags.map((data) => ({ ...a, data }));
  }

  #sasOf(peer: string): IsakmpSa[] {
    return this.#index.ofPeer(peer);
  }

  peers(): PeerPolicy[] {
    return [...this.#peers.values()];
  }

  /** Whether `name` is one of this node's peers (without copying them, as peers() does). */
  hasPeer(name: string): boolean {
    return this.#peers.has(name);
  }

  /** Bring up every tunnel of a peer (idempotent: running negotiations are reused). */
  initiate(peerName: string): Action[] {
    this.#initiate(peerName);
    return this.#drain();
  }

  #initiate(peerName: string): void {
    const peer = this.#peers.get(peerName);
    if (!peer) {
      this.log('warning', null, 'daemon', 'INITIATE', `no peer "${peerName}"`);
      return;
    }
    const sas = this.#sasOf(peerName);
    const live = sas.find((s) => s.state === 'ESTABLISHED');
    const pending = sas.find((s) => s.state !== 'ESTABLISHED' && s.role === 'initiator');
    const missing = (s: IsakmpSa | undefined): TunnelPolicy[] =>
      peer.tunnels.filter(
        (t) =>
          !sas.some(
            (x) =>
              x.children.some((c) => c.tunnel.name === t.name) ||
              [...x.quick.values()].some((q) => q.state !== 'DONE' && q.tunnel.name === t.name) ||
              (x === s ? false : x.queued.includes(t)),
          ),
      );
    if (live) {
      for (const t of missing(undefined)) this.startQuickMode(live, t);
    } else if (pending) {
      for (const t of missing(pending)) if (!pending.queued.includes(t)) pending.queued.push(t);
    } else if (peer.remoteAddress === ROAMING) {
      this.log('info', null, 'main', 'MM1', `not initiating to ${peer.name}: remote = %any, waiting for the peer to connect`);
    } else {
      this.out.push({ kind: 'initiating', peer: peer.name });
      const sa = initiateMainMode(
        this,
        peer,
        { address: peer.localAddress, port: IKE_PORT },
        { address: peer.remoteAddress, port: IKE_PORT },
      );
      sa.sendInitialContact = sas.length === 0;
      sa.queued = [...peer.tunnels];
      this.#addSa(sa);
    }
  }

  /** New configuration: SAs of removed peers and of those in `reset` are deleted (with
   * Deletes to the peer); unchanged peers keep theirs. */
  setPeers(peers: readonly PeerPolicy[], reset: readonly string[], changedRules: readonly string[] = []): Action[] {
    const next = new Map(peers.map((p) => [p.name, p]));
    for (const sa of [...this.#sas.values()]) {
      const p = next.get(sa.peer.name);
      if (!p || reset.includes(sa.peer.name)) {
        this.removeSa(sa, true);
        continue;
      }
      // Per tunnel (docs/config.md, reload): a peer whose main mode settings stayed keeps
      // its ISAKMP SA and the pairs of its unchanged rules; only the pairs of changed or
      // removed rules go (with Deletes), and the SA answers with the new tunnel list.
      for (const c of [...sa.children]) if (ofRules(c.tunnel.name, changedRules)) retireChild(this, sa, c, true);
      sa.queued = sa.queued.flatMap((t) => p.tunnels.filter((x) => x.name === t.name));
      sa.peer = p;
    }
    this.#peers.clear();
    for (const [k, v] of next) this.#peers.set(k, v);
    this.#indexPeers();
    return this.#drain();
  }

  /** Operator rekey: every IPsec SA pair of the peer is renegotiated now (make-before-break). */
  rekey(peerName: string): Action[] {
    for (const sa of this.#sasOf(peerName)) {
      this.#index.touch(sa);
      for (const c of sa.children) c.rekeyAt = Math.min(c.rekeyAt, this.env.now());
    }
    runTimers(this, this.#index.takeDue(this.env.now()), this.env.now());
    return this.#drain();
  }

  /** Delete everything with a peer, telling it so (Deletes for IPsec and ISAKMP SAs). */
  terminate(peerName: string): Action[] {
    for (const sa of this.#sasOf(peerName)) this.removeSa(sa, true);
    return this.#drain();
  }

  shutdown(): Action[] {
    this.#answered.clear();
    for (const sa of [...this.#sas.values()]) this.removeSa(sa, true);
    return this.#drain();
  }

  /** The engine saw authenticated ESP from a new address (RFC 3948 §5, NAT mapping changed). */
  peerMoved(reqid: number, from: Endpoint): Action[] {
    for (const sa of this.#sas.values()) {
      if (!sa.children.some((c) => c.reqid === reqid)) continue;
      if (sa.remote.address === from.address && sa.remote.port === from.port) continue;
      this.#index.touch(sa);
      this.log('info', sa, 'natt', 'PEER-MOVED', `peer now at ${from.address}:${from.port}`);
      sa.remote = { ...from };
      sa.retransmit.redirect(sa.remote, sa.local.port);
      for (const c of sa.children) this.out.push({ kind: 'update-remote', peer: sa.peer.name, spi: c.outSpi, remote: sa.remote });
    }
    return this.#drain();
  }

  /** Engine soft/hard limits: rekey early, or drop a dead pair. */
  saLimit(spi: number, direction: 'in' | 'out', hard: boolean): Action[] {
    for (const sa of this.#sas.values()) {
      const c = sa.children.find((x) => (direction === 'in' ? x.inSpi : x.outSpi) === spi);
      if (!c) continue;
      this.#index.touch(sa);
      if (hard) retireChild(this, sa, c, true);
      else c.rekeyAt = Math.min(c.rekeyAt, this.env.now());
    }
    runTimers(this, this.#index.takeDue(this.env.now()), this.env.now());
    return this.#drain();
  }

  receive(data: Buffer, from: Endpoint, localPort: number): Action[] {
    this.#receive(data, from, localPort);
    return this.#drain();
  }

  #receive(data: Buffer, from: Endpoint, localPort: number): void {
    if (isFragmentMessage(data)) {
      this.#fragment(data, from, localPort);
      return;
    }
    if (this.#mm1Budget !== null && peekFreshMm1(data) && this.#shedMm1(this.#mm1Budget, data, from)) return;
    const d = decodeMessage(data);
    if (!d.ok) {
      this.counters.malformed++;
      this.#dropped(
        'warning',
        null,
        'RECV',
        `dropped malformed datagram from ${from.address}:${from.port}: ${d.reason}`,
        'malformed datagrams',
        from,
        { offset: d.offset },
      );
      return;
    }
    const msg = d.value;
    const h = msg.header;
    let sa = this.#sas.get(cookieKey(h.initiatorCookie)) ?? this.#resume(msg, from, localPort);
    if (!sa) {
      if (h.exchangeType !== ExchangeType.MAIN || msg.encrypted || h.responderCookie.some((b) => b !== 0)) {
        this.counters.unexpected++;
        this.#dropped(
          'debug',
          null,
          'RECV',
          `dropped: no ISAKMP SA for cookie ${h.initiatorCookie.toString('hex')} from ${from.address}`,
          'datagrams for no ISAKMP SA',
          from,
        );
        return;
      }
      const peer = this.#peerAt(from.address);
      if (!peer) {
        this.counters.unexpected++;
        this.#dropped('warning', null, 'MM1', `dropped: no peer configured for ${from.address}`, 'MM1', from);
        return;
      }
      // Reflection: a source no peer is configured at (the %any peer) gets MM2s at a bounded
      // rate per address. A configured peer's address is exempt here; the reply budget
      // (#shedMm1) bounds MM1s toward it, with its own lane for the real peer's retransmissions.
      if (peer.remoteAddress === ROAMING && !this.#replyRate.allow(from.address)) {
        this.counters.halfOpenRefused++;
        this.#dropped(
          'debug',
          null,
          'MM1',
          `dropped: reply rate limit for ${from.address} reached`,
          'MM1 over the reply rate',
          from,
          undefined,
          peer,
        );
        return;
      }
      // The peer starting a main mode is as much a sign of life as a reply.
      this.out.push({ kind: 'heard', peer: peer.name });
      this.#mainMode1(peer, msg, from, localPort, data);
      return;
    }
    const zeroR = h.responderCookie.every((b) => b === 0);
    if (
      !(sa.role === 'initiator' && sa.state === 'MM1_SENT') &&
      !h.responderCookie.equals(sa.ckyR) &&
      !(zeroR && sa.state === 'MM2_SENT')
    ) {
      this.counters.unexpected++;
      this.#dropped(
        'warning',
        sa,
        'RECV',
        `dropped: responder cookie does not match (from ${from.address})`,
        'datagrams with a wrong responder cookie',
        from,
      );
      return;
    }
    if (sa.role === 'responder' && sa.state === 'MM2_SENT' && (from.address !== sa.remote.address || from.port !== sa.remote.port)) {
      // Half-open state is per (address, port, cookie): the same cookie from elsewhere is not this exchange.
      this.counters.unexpected++;
      this.#dropped(
        'debug',
        sa,
        'RECV',
        `dropped: cookie of a half-open main mode with ${sa.remote.address}:${sa.remote.port} from ${from.address}:${from.port}`,
        'datagrams for another half-open exchange',
        from,
      );
      return;
    }
    this.#index.touch(sa);
    this.out.push({ kind: 'heard', peer: sa.peer.name });
    if (sa.lastReceived?.equals(data)) {
      // A retransmitted request: answer again with our last reply (responder side only;
      // the initiator retransmits on its own timer). Only a few times per request, and at
      // a bounded rate per source: copies of one request are not a reflector.
      const last = sa.retransmit.last;
      if (sa.role === 'responder' && last && h.exchangeType === ExchangeType.MAIN) {
        if (!this.#repeats.allow(sa, sa.lastReceived) || !this.#replyRate.allow(from.address)) {
          this.counters.repliesLimited++;
          return;
        }
        transmit(this, sa, [last], { kind: 'repeat' });
      }
      return;
    }
    // RFC 3947 §4: the initiator moved to 4500 with MM5; the responder follows. Later
    // address changes are only believed from authenticated ESP (engine 'peer-moved').
    if (
      sa.role === 'responder' &&
      sa.state === 'MM4_SENT' &&
      localPort !== sa.local.port &&
      sa.natFlavour !== null &&
      localPort !== IKE_PORT
    ) {
      sa.local = { address: sa.local.address, port: localPort };
      sa.remote = { ...from };
    }
    switch (h.exchangeType) {
      case ExchangeType.MAIN:
        handleMainMode(this, sa, msg, from, data);
        // Past MM2 the initiator has shown it receives our replies (MM3 echoed our cookie).
        if (sa.role === 'responder' && sa.state !== 'MM2_SENT') {
          if (sa.state === 'ESTABLISHED') this.#halfOpen.remove(sa);
          else this.#halfOpen.prove(sa);
        }
        return;
      case ExchangeType.QUICK:
        if (!isEstablished(sa) || !msg.encrypted) {
          this.counters.unexpected++;
          this.log('warning', sa, 'quick', 'RECV', 'dropped: quick mode before main mode completed or not encrypted');
          return;
        }
        handleQuickMode(this, sa, msg, data);
        return;
      case ExchangeType.INFORMATIONAL:
        this.#informational(sa, msg);
        return;
      default:
        this.counters.unexpected++;
        this.log('warning', sa, 'main', 'RECV', `dropped: unsupported exchange type ${h.exchangeType}`);
    }
  }

  /**
   * One IKEv1 fragment (wire/fragment.ts). Accepted only for an ISAKMP SA that
   * exists with both cookies set, i.e. after MM2, and from the SA's peer
   * address: spoofed fragments cannot create state beyond the bounded
   * reassembly buffers. strongSwan fragments a message only when it is larger
   * than its fragment_size (message.c fragment()), even with fragmentation =
   * force, so MM1 and MM2 (SA proposals, no certificates) are never fragmented
   * in practice; what needs fragments is MM5/MM6 with certificates.
   */
  #fragment(data: Buffer, from: Endpoint, localPort: number): void {
    const d = decodeFragment(data);
    if (!d.ok) {
      this.counters.fragmentsDropped++;
      this.#dropped(
        'warning',
        null,
        'FRAGMENT',
        `dropped malformed fragment from ${from.address}:${from.port}: ${d.reason}`,
        'malformed fragments',
        from,
        { offset: d.offset },
      );
      return;
    }
    const f = d.value;
    const sa = this.#sas.get(cookieKey(f.initiatorCookie));
    if (!sa || f.responderCookie.every((b) => b === 0) || !f.responderCookie.equals(sa.ckyR) || from.address !== sa.remote.address) {
      this.counters.fragmentsDropped++;
      this.#dropped(
        'debug',
        null,
        'FRAGMENT',
        `dropped fragment from ${from.address}: no ISAKMP SA for its cookies`,
        'fragments for no ISAKMP SA',
        from,
      );
      return;
    }
    const r = this.#reassembler.add(f);
    if (r.kind === 'dropped') {
      this.log('debug', sa, 'main', 'FRAGMENT', `dropped fragment ${f.number}: ${r.reason}`);
      return;
    }
    if (r.kind === 'incomplete') return;
    // The reassembled datagram must be an ISAKMP message of this very SA, not another fragment.
    if (isFragmentMessage(r.datagram) || r.datagram.length < HEADER_LENGTH || !r.datagram.subarray(0, 16).equals(data.subarray(0, 16))) {
      this.counters.malformed++;
      this.log('warning', sa, 'main', 'FRAGMENT', 'dropped reassembled message: not an ISAKMP message of this SA');
      return;
    }
    this.log('info', sa, 'main', 'FRAGMENTS', `reassembled ${r.fragments} fragments into a ${r.datagram.length}-byte message`, {
      fragments: r.fragments,
      bytes: r.datagram.length,
    });
    this.#receive(r.datagram, from, localPort);
  }

  /** Makes room in the half-open table for one more main mode of `peer`: the oldest
   * unproven ones go (ike/common/half-open.ts). Logged at most every 10 s per peer. */
  #evictHalfOpen(peer: string): void {
    const victims = this.#halfOpen.victims(peer);
    for (const v of victims) this.removeSa(v, false);
    this.#noteEvicted(peer, victims.length);
  }

  /** Counts evicted half-open main modes (SAs or MM1 records); logged at most every 10 s per peer. */
  #noteEvicted(peer: string, count: number): void {
    if (count === 0) return;
    this.counters.halfOpenEvicted += count;
    const now = this.env.now();
    const e = this.#evictions.get(peer) ?? { loggedAt: -Infinity, since: 0 };
    e.since += count;
    if (now - e.loggedAt >= 10_000) {
      this.log(
        'warning',
        null,
        'main',
        'MM1',
        `half-open main modes full for ${peer} (${this.#halfOpen.count(peer)} SAs, ${this.#halfOpen.size} in all; ` +
          `${this.#answered.size} answered MM1s, ${Math.ceil(this.#answered.bytes() / 1024)} KiB): ` +
          `evicted ${e.since} unanswered oldest first (MM1 flood?)`,
      );
      e.loggedAt = now;
      e.since = 0;
    }
    this.#evictions.set(peer, e);
  }

  /** The peer an MM1 from `address` is for: one configured with this address first; else the
   * one roaming peer (remote = %any). */
  #peerAt(address: string): PeerPolicy | undefined {
    return this.#peers.get(this.#byAddress.get(address) ?? this.#byAddress.get(ROAMING) ?? '');
  }

  /**
   * The reply budget (common/reply-budget.ts), from the header alone: a fresh MM1 (no SA,
   * no record for its cookie) that a configured peer would answer, over the budget, is
   * shed here before it is decoded, counted (halfOpenRefused) and logged as a summary.
   * Anything else goes on: MM1s from unconfigured addresses, and those within the budget,
   * are decoded and counted as before. An MM1 whose header is right but whose body is
   * malformed is, over the budget, counted as shed: it is never decoded.
   */
  #shedMm1(budget: ReplyBudget, data: Buffer, from: Endpoint): boolean {
    const ckyI = data.subarray(0, 8);
    if (this.#sas.size > 0 && this.#sas.has(cookieKey(ckyI))) return false;
    if (this.#answered.size > 0 && this.#answered.get(ckyI) !== undefined) return false;
    const peer = this.#peerAt(from.address);
    if (!peer) return false;
    // A configured peer's MM1s spend its own budget; the %any peer's, their source prefix's.
    if (budget.admit(ckyI, from.address, peer.remoteAddress === ROAMING ? undefined : peer.name) !== 'shed') return false;
    this.counters.halfOpenRefused++;
    const message = `dropped: MM1 over the reply budget (from ${from.address})`;
    this.#dropped('debug', null, 'MM1', message, 'MM1 over the reply budget', from, undefined, peer);
    return true;
  }

  /**
   * An MM1 with a cookie we hold no SA for: answered with MM2, keeping only a record of
   * it (mm1-records.ts) until MM3 echoes our cookie. A copy of an MM1 we answered (the
   * initiator retransmits when our MM2 was lost) gets the same MM2 again, a few times.
   */
  #mainMode1(peer: PeerPolicy, msg: CleartextMessage, from: Endpoint, localPort: number, data: Buffer): void {
    const local = { address: peer.localAddress, port: localPort };
    const h = msg.header;
    const rec = this.#answered.get(h.initiatorCookie);
    if (rec) {
      if (rec.remote.address !== from.address || rec.remote.port !== from.port || !rec.mm1.equals(data)) {
        // Half-open state is per (address, port, cookie): the same cookie from elsewhere is not this exchange.
        this.counters.unexpected++;
        this.#dropped(
          'debug',
          null,
          'RECV',
          `dropped: cookie of a half-open main mode with ${rec.remote.address}:${rec.remote.port} from ${from.address}:${from.port}`,
          'datagrams for another half-open exchange',
          from,
          undefined,
          peer,
        );
        return;
      }
      if (!this.#repeatedMm2.allow(rec, rec.mm1) || !this.#replyRate.allow(from.address)) {
        this.counters.repliesLimited++;
        return;
      }
      // Our MM2 again, byte for byte as sent (no proposal choice, no encoding).
      transmit(this, null, [{ data: rec.mm2, to: rec.remote, localPort }], { kind: 'repeat' });
      return;
    }
    const fresh = respondMainMode1(this, peer, msg, local, from, data, this.#cookies.make(h.initiatorCookie, from));
    const mm2 = fresh?.retransmit.last?.data;
    if (!fresh || !mm2) return;
    const mm1 = fresh.lastReceived ?? ownCopy(data);
    const kept = { mm1, mm2, ckyR: fresh.ckyR, remote: { ...from }, localPort, peer: peer.name, at: this.env.now() };
    this.#noteEvicted(peer.name, this.#answered.put(fresh.ckyI, kept));
  }

  /**
   * An MM3 for an MM1 we answered without an SA: if it comes from the MM1's address and
   * port and echoes the responder cookie we sent, the initiator received our MM2 (return
   * path), so the exchange is built from the MM1 with that cookie, without sending MM2
   * again, and the MM3 goes on as if the SA had been there all along. If the record is
   * gone (evicted by a flood, or expired) but the cookie is still ours, the initiator is
   * told so (#forgottenMm3) and starts again at once.
   */
  #resume(msg: DecodedMessage, from: Endpoint, localPort: number): IsakmpSa | undefined {
    const h = msg.header;
    if (h.exchangeType !== ExchangeType.MAIN || msg.encrypted || h.responderCookie.every((b) => b === 0)) return undefined;
    const rec = this.#answered.size === 0 ? undefined : this.#answered.take(h.initiatorCookie, h.responderCookie, from, this.env.now());
    if (!rec) {
      this.#forgottenMm3(h.initiatorCookie, h.responderCookie, from, localPort);
      return undefined;
    }
    const peer = this.#peers.get(rec.peer);
    if (!peer) return undefined;
    const mm1 = decodeMessage(rec.mm1);
    if (!mm1.ok || mm1.value.encrypted) return undefined;
    const mark = this.out.length;
    const sa = respondMainMode1(this, peer, mm1.value, { address: peer.localAddress, port: rec.localPort }, from, rec.mm1, rec.ckyR);
    // The MM2 went out before; its copy stays in sa.retransmit for duplicate MM3s.
    this.out = [...this.out.slice(0, mark), ...this.out.slice(mark).filter((a) => a.kind !== 'send')];
    if (!sa) return undefined;
    sa.sendInitialContact = false;
    this.#evictHalfOpen(peer.name);
    this.#addSa(sa);
    this.#halfOpen.add(halfOpenKey(from.address, from.port, sa.ckyI), peer.name, sa);
    this.log('debug', sa, 'main', 'MM3', `the initiator echoed our cookie from ${from.address}:${from.port}: main mode state built from its MM1`);
    return sa;
  }

  /**
   * A main mode message past MM1 for no SA and no record, echoing a responder cookie we
   * derived for this initiator cookie, address and port within the last one or two
   * windows (responder-cookie.ts): the answer to one of our MM2s whose record is gone.
   * RFC 2408 §3.14.1 INVALID-COOKIE in an unprotected informational (as for any main
   * mode failure, fail.ts) tells the initiator to start again now rather than after its
   * retransmissions. Only who received our MM2 there can get here; still bounded per
   * source. Anything else stays a datagram for no SA (dropped and counted by the caller).
   */
  #forgottenMm3(ckyI: Buffer, ckyR: Buffer, from: Endpoint, localPort: number): void {
    if (!this.#cookies.isOurs(ckyI, ckyR, from) || !this.#invalidCookieRate.allow(from.address)) return;
    this.counters.invalidCookieSent++;
    const data = encodeMessage(
      { initiatorCookie: ckyI, responderCookie: ckyR, exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: 0 },
      [notify(NotifyType.INVALID_COOKIE, ProtocolId.ISAKMP, isakmpSpi({ initiatorCookie: ckyI, responderCookie: ckyR }))],
    );
    transmit(this, null, [{ data, to: { ...from }, localPort }], { kind: 'new' });
    const peer = this.#byAddress.get(from.address) ?? this.#byAddress.get(ROAMING);
    this.#dropped(
      'info',
      null,
      'MM3',
      `MM3 from ${from.address}:${from.port} echoes our cookie but its MM1 record is gone (evicted or expired): sent INVALID-COOKIE`,
      'MM3s for forgotten MM1s (INVALID-COOKIE sent)',
      from,
      undefined,
      peer === undefined ? undefined : this.#peers.get(peer),
    );
  }

  /**
   * The responder's INVALID-COOKIE (unprotected) against our main mode after MM3: it lost
   * the state of our exchange (#forgottenMm3 on a sitelink responder), so waiting for our
   * MM3 retransmissions is waiting for nothing. A new main mode takes over the tunnels
   * queued on this one, at once, at most once per MAIN_MODE_RESTART_MS per peer: the
   * notify is not authenticated (who saw our MM2 and MM3 could forge it). Within that
   * time the notify is ignored and the exchange goes on retransmitting as before (the
   * responder answers a later MM3 with INVALID-COOKIE again, and then we restart).
   */
  #restartOnInvalidCookie(sa: IsakmpSa): void {
    const now = this.env.now();
    const last = this.#restartedAt.get(sa.peer.name);
    if (last !== undefined && now - last < MAIN_MODE_RESTART_MS) {
      this.counters.unexpected++;
      this.log('debug', sa, 'main', 'MM3', `INVALID-COOKIE ignored: main mode restarted ${now - last} ms ago`);
      return;
    }
    this.#restartedAt.set(sa.peer.name, now);
    this.counters.mainModeRestarts++;
    const fresh = initiateMainMode(this, sa.peer, { ...sa.local }, { ...sa.remote });
    fresh.sendInitialContact = sa.sendInitialContact;
    fresh.replacing = sa.replacing;
    if (sa.replacesUpTo !== undefined) fresh.replacesUpTo = sa.replacesUpTo;
    fresh.queued = sa.queued;
    fresh.queuedRekeys = sa.queuedRekeys;
    sa.queued = [];
    sa.queuedRekeys = [];
    this.log('info', fresh, 'main', 'MM1', 'the responder lost our main mode (INVALID-COOKIE): starting again with new cookies');
    this.removeSa(sa, false);
    this.#addSa(fresh);
  }

  #informational(sa: IsakmpSa, msg: Exclude<ReturnType<typeof decodeMessage>, { ok: false }>['value']): void {
    if (!msg.encrypted) {
      // Unprotected notify (RFC 2408 §5): only believed while main mode is still running.
      const notes = payloadsOfType(msg.payloads, PayloadType.NOTIFY);
      for (const n of notes) this.log('error', sa, 'informational', 'NOTIFY', `peer sent ${notifyName(n.notifyType)} (unauthenticated)`);
      const err = notes.find((n) => n.notifyType < 16384);
      if (err?.notifyType === NotifyType.INVALID_COOKIE && sa.role === 'initiator' && sa.state === 'MM3_SENT') {
        this.#restartOnInvalidCookie(sa);
        return;
      }
      if (err && sa.state !== 'ESTABLISHED') {
        fail(this, { phase: 'main', sa }, {
          code: 'peer-notify',
          peerNotify: err.notifyType,
          reason: `peer sent ${notifyName(err.notifyType)}`,
          extra: { detail: `peer sent ${notifyName(err.notifyType)} (unauthenticated notify)` },
        });
      }
      return;
    }
    if (sa.state !== 'ESTABLISHED' && !(sa.role === 'initiator' && sa.state === 'MM5_SENT')) {
      this.counters.unexpected++;
      this.log('debug', sa, 'informational', 'RECV', `dropped: encrypted informational in state ${sa.state}`);
      return;
    }
    const fx = handleInformational(this, sa, msg);
    if (sa.mm.state === 'MM5_SENT') {
      // The peer answered MM5 with a notify instead of MM6.
      const err = fx?.errors[0];
      if (err !== undefined) {
        fail(this, { phase: 'main', sa }, {
          code: 'peer-notify',
          peerNotify: err,
          reason: `peer sent ${notifyName(err)}`,
          extra: { detail: `peer answered MM5 with ${notifyName(err)}` },
        });
      } else if (!fx && ++sa.mm.unreadableReplies >= UNREADABLE_REPLIES_LIMIT) {
        // Twice in answer to MM5 (and its retransmission) is no coincidence.
        fail(this, { phase: 'main', sa }, {
          code: 'psk-mismatch',
          reason: 'peer could not decrypt MM5 (pre-shared keys differ)',
          logMessage: 'main mode failed: the peer cannot read our MM5 and we cannot read its answer: the pre-shared keys differ',
          extra: { detail: 'the peer answered MM5 with notifies encrypted under keys we do not share: different pre-shared keys' },
        });
      }
      return;
    }
    if (!fx) return;
    for (const r of fx.refusedQuickModes) peerRefusedQuickMode(this, sa, r.messageId, r.notifyType);
    // A pair may be filed under another ISAKMP SA with this peer than the one the Delete
    // came under (duplicate main modes after a collision, pairs moved to a replacement):
    // the peer deleted it all the same, and ignoring that left the two sides with
    // different pair sets, so later each retired a pair the other still sent on.
    // A pair the peer replaced (another pair serves the tunnel): our inbound SA lingers
    // as a rekey initiator's does. The peer's engine may still send a packet or two on
    // the old pair after its Delete (ESP leaves from the engine's workers, the Delete
    // from the daemon: they can cross), and dropping them lost pings in rekeys under
    // traffic (CI: a reply counted as badSpi). The last pair of a tunnel goes at once.
    for (const spi of fx.deletedOutSpis) {
      const sas = this.#sasOf(sa.peer.name);
      for (const o of sas) {
        const c = o.children.find((x) => x.outSpi === spi);
        if (!c) continue;
        const replaced = sas.some((x) => x.children.some((p) => p !== c && p.tunnel.name === c.tunnel.name));
        this.#index.touch(o);
        retireChild(this, o, c, false, replaced ? REKEY_INBOUND_LINGER_MS : 0);
      }
    }
    if (fx.deleteIsakmp) {
      this.log('info', sa, 'informational', 'DELETE', 'peer deleted the ISAKMP SA');
      // IPsec SAs outlive their ISAKMP SA in IKEv1: when the peer rekeyed the ISAKMP SA
      // they move to the newest one; with none left they live on under this one,
      // retired, until a new main mode adopts them or they expire (their rekey starts
      // that main mode).
      const heir = this.#sasOf(sa.peer.name)
        .filter((o) => o !== sa && o.state === 'ESTABLISHED' && !o.retired)
        .sort((x, y) => y.createdAt - x.createdAt)[0];
      if (heir) {
        adoptPairs(sa, heir);
        this.#startQueued(heir);
      }
      if (sa.children.length === 0) this.removeSa(sa, false);
      else {
        sa.retired = 'deleted';
        this.#index.touch(sa);
      }
    }
  }

  /** Timers: retransmission, half-open expiry, DPD, rekey and expiry. Call about once a second. */
  tick(): Action[] {
    const now = this.env.now();
    this.#answered.expire(now);
    runTimers(this, this.#index.takeDue(now), now);
    return this.#drain();
  }

  // ------------------------------------------------------------ TimerHost

  sasOf(peer: string): IsakmpSa[] {
    return this.#sasOf(peer);
  }

  restart(peer: string): void {
    this.#initiate(peer);
  }

  replaceIsakmpSa(sa: IsakmpSa): void {
    this.#replace(sa);
  }

  #replace(sa: IsakmpSa): IsakmpSa {
    // A roaming peer is called back where it was last seen (works unless it sits behind a NAT
    // that only keeps its NAT-T mapping; then the peer's own rekey takes over).
    const remote = sa.peer.remoteAddress === ROAMING ? sa.remote.address : sa.peer.remoteAddress;
    const fresh = initiateMainMode(this, sa.peer, { address: sa.peer.localAddress, port: IKE_PORT }, { address: remote, port: IKE_PORT });
    fresh.replacing = true;
    fresh.replacesUpTo = sa.createdAt;
    this.#addSa(fresh);
    return fresh;
  }

  /** Self-check of the timer index (tests): every live SA whose timers have work at some
   * point is scheduled no later than that point, and nothing is kept for dead SAs. */
  timerIndexErrors(): string[] {
    this.#index.flush();
    const errors: string[] = [];
    for (const sa of this.#sas.values()) {
      const mine = this.#sasOf(sa.peer.name);
      if (!mine.includes(sa)) errors.push(`${cookieKey(sa.ckyI)} not filed under peer ${sa.peer.name}`);
      const need = nextDeadline(sa, mine.some((o) => o !== sa && o.createdAt > sa.createdAt));
      const have = this.#index.deadlineOf(sa) ?? Infinity;
      if (have > need) errors.push(`${cookieKey(sa.ckyI)} (${sa.state}) scheduled at ${have}, timers need ${need}`);
    }
    if (this.#index.size !== this.#sas.size) errors.push(`index holds ${this.#index.size} SAs, the table ${this.#sas.size}`);
    if (this.#index.scheduled > this.#sas.size) errors.push(`${this.#index.scheduled} deadlines for ${this.#sas.size} SAs`);
    return errors;
  }

  /** Sizes of the SA indexes (tests: they shrink back when SAs die). */
  indexSizes(): { sas: number; scheduled: number; peers: number; answeredMm1s: number; answeredMm1Bytes: number } {
    return {
      sas: this.#index.size,
      scheduled: this.#index.scheduled,
      peers: this.#index.peers,
      answeredMm1s: this.#answered.size,
      answeredMm1Bytes: this.#answered.bytes(),
    };
  }

  status(): IsakmpStatus[] {
    const now = this.env.now();
    return [...this.#sas.values()].map((sa) => ({
      peer: sa.peer.name,
      role: sa.role,
      state: sa.state,
      local: sa.local,
      remote: sa.remote,
      natLocal: sa.natLocal,
      natRemote: sa.natRemote,
      cookies: `${sa.ckyI.toString('hex')}:${sa.ckyR.toString('hex')}`,
      proposal: phase1Name(sa),
      auth: authName(sa),
      remainingSeconds: Math.max(0, Math.floor((sa.expiresAt - now) / 1000)),
      children: sa.children.map((c) => ({
        peer: sa.peer.name,
        tunnel: c.tunnel.name,
        esp: c.esp,
        inSpi: c.inSpi,
        outSpi: c.outSpi,
        encap: udpEncapsulated(sa) ? ('udp' as const) : ('none' as const),
        ageSeconds: Math.floor((now - c.createdAt) / 1000),
        expiresInSeconds: Math.floor((c.expiresAt - now) / 1000),
        localTs: c.tunnel.local,
        remoteTs: c.tunnel.remote,
        ...(c.tunnel.ports ? { ports: c.tunnel.ports } : {}),
        pfsGroup: c.tunnel.pfsGroup,
        lifetimeKilobytes: c.tunnel.methods.find((m) => m.esp === c.esp)?.lifetimeKilobytes ?? 0,
      })),
    }));
  }
}


