// What the exchange modules may ask of the node that runs them: the clock,
// randomness, an action list to append to, and the SA tables. Keeps
// main-mode.ts, quick-mode.ts and informational.ts free of each other.

import type { Severity } from '../../log/syslog.ts';
import type { Phase } from '../../log/negotiation-log.ts';
import type { SendHost } from '../common/send-path.ts';
import type { FailHost } from '../common/fail-path.ts';
import type { ExchangeError, FailureCounts } from './fail.ts';
import type { IsakmpSa } from './isakmp-sa.ts';
import type { Retransmit, RetransmitSchedule } from './retransmit.ts';
import type { Action, ExchangeEnv, PeerPolicy, TunnelPolicy } from './types.ts';
import type { Identity } from '../wire/index.ts';

export interface ExchangeCounters {
  /** Datagrams dropped because they could not be decoded, decrypted or authenticated. */
  malformed: number;
  /** Datagrams dropped for being out of place (unknown SA, wrong state). */
  unexpected: number;
  retransmitted: number;
  mainModeFailed: number;
  quickModeFailed: number;
  /** Fresh MM1s not answered: their source is over the reply rate (ike/common/response-limit.ts)
   * or over the MM1 reply budget, shed before decoding (ike/common/reply-budget.ts). */
  halfOpenRefused: number;
  /** Half-open main modes dropped to make room for newer ones (ike/common/half-open.ts). */
  halfOpenEvicted: number;
  /** Duplicate requests not answered again (repeat cap or source rate). */
  repliesLimited: number;
  /** MM3s echoing a cookie of ours whose MM1 record was gone, answered with INVALID-COOKIE
   * (responder-cookie.ts) so the initiator starts again. */
  invalidCookieSent: number;
  /** Our main modes started again at once on the responder's INVALID-COOKIE (bounded per peer). */
  mainModeRestarts: number;
  /** IKEv1 fragments (fragments.ts) taken into reassembly. */
  fragmentsReceived: number;
  /** Fragments ignored: malformed, duplicate, without an ISAKMP SA, over a bound, stale. */
  fragmentsDropped: number;
  /** Messages reassembled from fragments. */
  reassembled: number;
  /** Fragments we sent (retransmissions included). */
  fragmentsSent: number;
}

export interface ExchangeContext extends SendHost<IsakmpSa>, FailHost<IsakmpSa, ExchangeError> {
  env: ExchangeEnv;
  out: Action[];
  /** We announce and use IKEv1 fragmentation (the Cisco/strongSwan vendor ID). */
  readonly fragmentation: boolean;
  /** Retransmission schedule of every exchange we wait on (retransmit.ts). */
  readonly retransmit: RetransmitSchedule;
  counters: ExchangeCounters;
  /** Failures per code (fail.ts), each counted once by fail(). */
  readonly failureCounts: FailureCounts;
  log(level: Severity, sa: IsakmpSa | null, phase: Phase, step: string, message: string, data?: Record<string, unknown>): void;
  /**
   * The one send path: a datagram on the SA's current ports, remembered by `via` (the
   * SA's main mode retransmission unless given: a quick mode's own, or null for a
   * message nobody retransmits, such as an informational or a cleartext notify).
   * Retransmissions and repeated answers go out through the same path
   * (ike/common/send-path.ts transmit), with their counter and log line.
   */
  send(sa: IsakmpSa, data: Buffer, expectReply: boolean, via?: Retransmit | null): void;
  /** Main mode finished: run queued quick modes, drop stale SAs (INITIAL-CONTACT). */
  established(sa: IsakmpSa, initialContact: boolean): void;
  /** Tear down an ISAKMP SA (and optionally its IPsec SAs), with or without Deletes. */
  removeSa(sa: IsakmpSa, notifyPeer: boolean): void;
  startQuickMode(sa: IsakmpSa, tunnel: TunnelPolicy, rekeyOf?: number): void;
  nextReqid(): number;
  /** Whether any other ISAKMP SA (even half-open) exists with this SA's peer. */
  hasOtherSas(sa: IsakmpSa): boolean;
  /** Responder with a `remote = %any` peer: the other %any peer whose remote-id is
   * `id`, which the SA then belongs to (config validate.ts checkRoamingPeers). */
  peerForIdentity(sa: IsakmpSa, id: Identity): PeerPolicy | null;
  /** The remote-ids an SA's peer could have been: all %any peers' for a %any peer. */
  acceptableIds(sa: IsakmpSa): Identity[];
}
