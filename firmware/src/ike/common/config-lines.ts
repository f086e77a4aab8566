// The config lines `sitelinkctl explain` names when a negotiation fails
// (log/failure-record.ts configLines), shared by IKEv1 and IKEv2: they are the
// same settings whatever the version.

import { protocolName } from '../../base/protocols.ts';
import { describeIdentity } from '../exchange/identity.ts';
import { groupName } from '../exchange/proposal-names.ts';
import type { PeerAuth, PeerPolicy, TunnelPolicy } from '../exchange/types.ts';

/** The config lines that decide a quick mode / child SA of `t`: its filter and its
 * action's methods and PFS (for `explain` when the peer refuses or ignores it). */
export function quickModeConfigLines(t: TunnelPolicy): string[] {
  const ports = t.ports
    ? ` [${protocolName(t.ports.protocol)}${t.ports.localPort ? ` ${t.ports.localPort}` : ''} -> ${t.ports.remotePort || 'any'}]`
    : '';
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
    sig
      ? `peers.${peer.name}.certificate / ca (our certificate and the CA the peer trusts)`
      : `secrets file, psk { ${remoteId} = ... } (the same key as on the peer)`,
    `peers.${peer.name}.remote-id = ${remoteId}`,
    `peers.${peer.name}.local-id = ${describeIdentity(peer.localId)}`,
  ];
}
