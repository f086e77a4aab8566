// The one shape of a failed negotiation, for both IKE versions (IKEv1
// exchange/fail.ts, IKEv2 v2/exchange/node.ts): what failed is counted, logged
// once, recorded once for `sitelinkctl explain`, the peer is told when the
// version's rules call for a notify, and what failed is removed, always in
// that order and only here. Each version decides the code, the log level, the
// record's reason and the wire form of the notify; this file owns the
// sequence, so neither version can count without logging or record twice.

import type { Phase } from '../../log/negotiation-log.ts';
import type { Severity } from '../../log/syslog.ts';
import type { Action, FailureDetail } from '../exchange/types.ts';

/** What the fail path needs of a node. */
export interface FailHost<SA, Code extends string> {
  readonly out: Action[];
  log(level: Severity, sa: SA | null, phase: Phase, step: string, message: string, data?: Record<string, unknown>): void;
  /** Count one failure: the phase's total, and per code where the version keeps those. */
  countFailure(phase: 'main' | 'quick', code: Code): void;
}

export interface FailureReport<Code extends string> {
  /** Main mode / IKE SA, or quick mode / child SA. */
  phase: 'main' | 'quick';
  code: Code;
  level: Severity;
  log: { phase: Phase; step: string; message: string; data?: Record<string, unknown> };
  /** The `explain` record; null when this failure is not recorded (e.g. a spoofable half-open timeout). */
  record: { reason: string; detail: FailureDetail } | null;
  /** Tells the peer (the version's error notify), before anything is removed. */
  notify?: () => void;
  /** Removes what failed (the SA, or the exchange with what it pre-installed). */
  remove?: () => void;
}

export function failWith<SA extends { peer: { name: string } }, Code extends string>(
  host: FailHost<SA, Code>,
  sa: SA,
  r: FailureReport<Code>,
): void {
  host.countFailure(r.phase, r.code);
  host.log(r.level, sa, r.log.phase, r.log.step, r.log.message, r.log.data);
  if (r.record) host.out.push({ kind: 'failed', peer: sa.peer.name, phase: r.phase, reason: r.record.reason, detail: r.record.detail });
  r.notify?.();
  r.remove?.();
}
