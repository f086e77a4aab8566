// What the IKEv2 exchanges need from the node that runs them: clock and
// randomness, the action list, counters, logging and SA bookkeeping. The
// node (node.ts) implements it; no I/O happens in this folder.

import type { V2FailureExtra } from './failure-details.ts';
import type { FailureReason } from '../../../log/failure-record.ts';
import type { Phase } from '../../../log/negotiation-log.ts';
import type { Severity } from '../../../log/syslog.ts';
import type { Action, ExchangeEnv } from '../../exchange/types.ts';
import type { RetransmitSchedule } from '../../exchange/retransmit.ts';
import type { FailHost } from '../../common/fail-path.ts';
import type { SendHost } from '../../common/send-path.ts';
import type { IkeSaV2 } from './state.ts';

export interface V2Counters {
  malformed: number;
  /** Well-formed but not for any SA or exchange we have, or failing integrity. */
  unexpected: number;
  retransmitted: number;
  /** Requests answered again from the response cache (§2.1). */
  cachedResponses: number;
  ikeFailed: number;
  childFailed: number;
  halfOpenRefused: number;
  /** IKE_SA_INIT requests answered with a COOKIE instead of state (§2.6). */
  cookiesSent: number;
  fragmentsSent: number;
  fragmentsReceived: number;
  /** Fragments dropped: failing their integrity check, malformed, over a bound, or of a message that timed out (RFC 7383 §2.6). */
  fragmentsDropped: number;
  /** Refused IKE SA and child SA rekeys tried again (rekey-retry.ts). */
  rekeyRetries: number;
}

export function newCounters(): V2Counters {
  return {
    malformed: 0,
    unexpected: 0,
    retransmitted: 0,
    cachedResponses: 0,
    ikeFailed: 0,
    childFailed: 0,
    halfOpenRefused: 0,
    cookiesSent: 0,
    fragmentsSent: 0,
    fragmentsReceived: 0,
    fragmentsDropped: 0,
    rekeyRetries: 0,
  };
}

export interface V2Context extends SendHost<IkeSaV2>, FailHost<IkeSaV2, FailureReason> {
  readonly env: ExchangeEnv;
  readonly out: Action[];
  readonly counters: V2Counters;
  /** Announce and use RFC 7383 fragmentation. */
  readonly fragmentation: boolean;
  /** Requests are resent after baseMs, doubling, `tries` times (§2.1 leaves the schedule to us; gateway config). */
  readonly retransmit: RetransmitSchedule;
  log(level: Severity, sa: IkeSaV2 | null, phase: Phase, step: string, message: string, data?: Record<string, unknown>): void;
  nextReqid(): number;
  /** A fresh inbound ESP SPI, non-zero and not in use (RFC 4303 §2.1: 1..255 reserved). */
  allocateSpi(): number;
  /** The SPI is no longer in use (child removed, or never installed). */
  releaseSpi(spi: number): void;
  /** Remove a replaced pair's inbound SA (and free its SPI) a little later: ESP the peer sent on it
   * just before the Delete may still be queued in the engine's workers. */
  lingerInbound(peer: string, spi: number): void;
  /** Record a failed negotiation for `explain` and the counters. */
  /** A failure record for `sitelinkctl explain`; `extra` says what it was about (failure-details.ts). */
  fail(sa: IkeSaV2, phase: 'main' | 'quick', code: FailureReason, reason: string, extra?: V2FailureExtra): void;
  /** Drop an IKE SA and its children (Delete sent first when `notifyPeer`). */
  removeSa(sa: IkeSaV2, notifyPeer: boolean): void;
  /** The SA is authenticated: register it, apply INITIAL_CONTACT. */
  established(sa: IkeSaV2, peerInitialContact: boolean): void;
  sasOf(peer: string): IkeSaV2[];
}
