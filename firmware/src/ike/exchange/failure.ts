// Failure actions: what went wrong in a negotiation, in the terms of the
// failure record `sitelinkctl explain` renders (log/failure-record.ts). The
// daemon adds the time and the message sequence.

import type { FailureReason, FailureRecord } from '../../log/failure-record.ts';
import type { ExchangeContext } from './context.ts';
import { NotifyType } from '../wire/index.ts';
import type { IsakmpSa } from './isakmp-sa.ts';
import { groupName, ikeMethodName } from './proposal-names.ts';
import { describeIdentity } from './identity.ts';
import { protocolName } from '../../config/values.ts';
import type { FailureDetail, PeerAuth, PeerPolicy, TunnelPolicy } from './types.ts';

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
    // An attribute (lifetime, group, encapsulation) the peer does not support: the same
    // lines decide it as the proposals themselves.
    case NotifyType.ATTRIBUTES_NOT_SUPPORTED: return 'no-proposal-chosen';
    case NotifyType.INVALID_ID_INFORMATION: return 'ts-mismatch';
    case NotifyType.AUTHENTICATION_FAILED: return 'authentication-failed';
    default: return 'other';
  }
}

/** The config lines that decide a quick mode of `t`: its filter and its action's
 * methods and PFS (for `explain` when the peer refuses or ignores it). */
export function quickModeConfigLines(t: TunnelPolicy): string[] {
  const ports = t.ports ? ` [${protocolName(t.ports.protocol)}${t.ports.localPort ? ` ${t.ports.localPort}` : ''} -> ${t.ports.remotePort || 'any'}]` : '';
  const filter = `${t.filterList ? `filter-lists.${t.filterList}` : `rules.${t.name}`}: source = ${t.local}, destination = ${t.remote}${ports}`;
  const action = t.action ?? '<action>';
  return [
    filter,
    `filter-actions.${action}.security-methods = ${t.methods.map((m) => m.esp).join(', ')}`,
    `filter-actions.${action}.pfs = ${groupName(t.pfsGroup) ?? 'none'}`,
  ];
}

/** The config lines that decide whether a peer accepts our authentication: the
 * secrets entry (named, never its value) or certificate, and the identities. */
export function authConfigLines(peer: PeerPolicy, auth: PeerAuth | undefined): string[] {
  const sig = auth ? auth.kind === 'signature' : peer.psk === null;
  const remoteId = describeIdentity(peer.remoteId);
  return [
    sig ? `peers.${peer.name}.certificate / ca (our certificate and the CA the peer trusts)` : `secrets file, psk { ${remoteId} = ... } (the same key as on the peer)`,
    `peers.${peer.name}.remote-id = ${remoteId}`,
    `peers.${peer.name}.local-id = ${describeIdentity(peer.localId)}`,
  ];
}
