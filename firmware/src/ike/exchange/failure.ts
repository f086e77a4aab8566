// Failure records: what went wrong in a negotiation, in the terms of the
// failure record `sitelinkctl explain` renders (log/failure-record.ts). The
// fail path (fail.ts, ike/common/fail-path.ts) emits them; the daemon adds the
// time and the message sequence.

import type { FailureReason, FailureRecord } from '../../log/failure-record.ts';
import { NotifyType } from '../wire/index.ts';
import { negotiatedOf, peerOfferOf, type IsakmpSa } from './isakmp-sa.ts';
import { ikeMethodName } from './proposal-names.ts';
import { describeIdentity } from './identity.ts';
import { authConfigLines, quickModeConfigLines } from '../common/config-lines.ts';
import type { FailureDetail, TunnelPolicy } from './types.ts';

export type FailureExtra = Partial<Omit<FailureRecord, 'peer' | 'time' | 'phase' | 'role' | 'reason' | 'exchange'>>;

export type FailureRecordOf = { reason: string; detail: FailureDetail };

export function mainModeRecord(sa: IsakmpSa, code: FailureReason, reason: string, extra: FailureExtra = {}): FailureRecordOf {
  const ours = sa.peer.ikeMethods.map(ikeMethodName);
  // The field that decides it: the proposals only when they are what failed.
  const auth = code === 'authentication-failed' || code === 'id-mismatch';
  const field =
    code === 'timeout' || code === 'authentication-failed'
      ? undefined
      : code === 'id-mismatch'
        ? `peers.${sa.peer.name}.remote-id`
        : `peers.${sa.peer.name}.proposals`;
  const detail: FailureDetail = {
    code,
    role: sa.role,
    offered: sa.role === 'initiator' ? ours : peerOfferOf(sa),
    acceptable: ours,
    ...(field ? { configField: field } : {}),
    remoteAddress: sa.remote.address,
    ...(auth ? { expectedId: describeIdentity(sa.peer.remoteId), configLines: authConfigLines(sa.peer, negotiatedOf(sa)?.auth) } : {}),
    ...extra,
  };
  return { reason, detail };
}

export function quickModeRecord(
  sa: IsakmpSa,
  role: 'initiator' | 'responder',
  code: FailureReason,
  reason: string,
  extra: FailureExtra = {},
): FailureRecordOf {
  return { reason, detail: { code, role, offered: [], acceptable: [], remoteAddress: sa.remote.address, ...extra } };
}

/**
 * Where an initiator's main mode went silent (retransmission gave up in `sa.state`):
 * no answer at all; or answers until our encrypted MM5 (ID and HASH/signature), which
 * a peer drops without a word when it cannot decrypt or verify it (RFC 2409 §5: the
 * keys derive from the PSK) — most likely different pre-shared keys, else an identity
 * the peer does not expect.
 */
export function mainModeSilence(sa: IsakmpSa): FailureExtra {
  const remote = `peers.${sa.peer.name}.remote = ${sa.peer.remoteAddress}`;
  switch (sa.state) {
    case 'MM1_SENT':
      return { silentAt: 'first-message', unanswered: 'MM1 (our proposals)', configLines: [remote] };
    case 'MM3_SENT':
      return { unanswered: 'MM3 (our key exchange and nonce)', lastAnswered: 'MM1 (answered by MM2)', configLines: [remote] };
    case 'MM5_SENT':
      return {
        silentAt: 'authentication',
        unanswered: 'MM5 (our identity and authentication, encrypted)',
        lastAnswered: 'MM3 (answered by MM4)',
        expectedId: describeIdentity(sa.peer.remoteId),
        configLines: authConfigLines(sa.peer, sa.mm.state === 'MM5_SENT' ? sa.mm.auth : undefined),
      };
    default:
      return {};
  }
}

/** A quick mode the peer never answered: its policy refused it silently. */
export function quickModeSilence(t: TunnelPolicy, role: 'initiator' | 'responder'): FailureExtra {
  return {
    silentAt: 'child-sa',
    unanswered: role === 'initiator' ? 'QM1 (our proposals and traffic selectors)' : 'QM2 (our answer; QM3 never came)',
    lastAnswered: 'main mode (the ISAKMP SA is up)',
    configLines: quickModeConfigLines(t),
    ...(t.action ? { configField: `filter-actions.${t.action}.security-methods` } : {}),
  };
}

/** Dead peer detection gave up on an established ISAKMP SA (RFC 3706). */
export function dpdSilence(sa: IsakmpSa): FailureExtra {
  const p = sa.peer;
  return {
    silentAt: 'established',
    unanswered: 'R-U-THERE (dead peer detection)',
    configLines: [
      `peers.${p.name}.remote = ${p.remoteAddress}`,
      ...(p.dpd
        ? [
            `peers.${p.name}.dpd-delay = ${p.dpd.delaySeconds}s`,
            `peers.${p.name}.dpd-timeout = ${p.dpd.timeoutSeconds}s`,
            `peers.${p.name}.dpd-action = ${p.dpd.action}`,
          ]
        : []),
    ],
  };
}

/** What a peer's error notify against one of our quick modes means (RFC 2408 §3.14.1). */
export function quickFailureOfNotify(notifyType: number): FailureReason {
  switch (notifyType) {
    case NotifyType.NO_PROPOSAL_CHOSEN: return 'no-proposal-chosen';
    // An attribute (lifetime, group, encapsulation) the peer does not support: the same
    // lines decide it as the proposals themselves.
    case NotifyType.ATTRIBUTES_NOT_SUPPORTED: return 'no-proposal-chosen';
    case NotifyType.INVALID_ID_INFORMATION: return 'ts-mismatch';
    case NotifyType.AUTHENTICATION_FAILED: return 'authentication-failed';
    default: return 'other';
  }
}

