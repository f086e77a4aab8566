// Failure actions: what went wrong in a negotiation, in the terms of the
// failure record `sitelinkctl explain` renders (log/failure-record.ts). The
// daemon adds the time and the message sequence.

import type { FailureReason, FailureRecord } from '../../log/failure-record.ts';
import type { ExchangeContext } from './context.ts';
import { NotifyType } from '../wire/index.ts';
import type { IsakmpSa } from './isakmp-sa.ts';
import { ikeMethodName } from './proposal-names.ts';
import type { FailureDetail } from './types.ts';

export type FailureExtra = Partial<Omit<FailureRecord, 'peer' | 'time' | 'phase' | 'role' | 'reason' | 'exchange'>>;

export function mainModeFailure(ctx: ExchangeContext, sa: IsakmpSa, code: FailureReason, reason: string, extra: FailureExtra = {}): void {
  const ours = sa.peer.ikeMethods.map(ikeMethodName);
  const detail: FailureDetail = {
    code,
    role: sa.role,
    offered: sa.role === 'initiator' ? ours : (sa.peerOffer ?? []),
    acceptable: ours,
    configField: `peers.${sa.peer.name}.proposals`,
    remoteAddress: sa.remote.address,
    ...extra,
  };
  ctx.out.push({ kind: 'failed', peer: sa.peer.name, phase: 'main', reason, detail });
}

export function quickModeFailure(ctx: ExchangeContext, sa: IsakmpSa, role: 'initiator' | 'responder', code: FailureReason, reason: string, extra: FailureExtra = {}): void {
  const detail: FailureDetail = { code, role, offered: [], acceptable: [], remoteAddress: sa.remote.address, ...extra };
  ctx.out.push({ kind: 'failed', peer: sa.peer.name, phase: 'quick', reason, detail });
}

/** What a peer's error notify against one of our quick modes means (RFC 2408 §3.14.1). */
export function quickFailureOfNotify(notifyType: number): FailureReason {
  switch (notifyType) {
    case NotifyType.NO_PROPOSAL_CHOSEN: return 'no-proposal-chosen';
    case NotifyType.INVALID_ID_INFORMATION: return 'ts-mismatch';
    case NotifyType.AUTHENTICATION_FAILED: return 'authentication-failed';
    default: return 'other';
  }
}
