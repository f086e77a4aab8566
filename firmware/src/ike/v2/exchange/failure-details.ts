// What an IKEv2 negotiation failure was about, for the failure record that
// `sitelinkctl explain` renders (log/failure-record.ts): the proposals each side
// offered and accepts, written as sitelink.conf writes them; the traffic
// selectors (TSi/TSr, RFC 7296 §2.9) against our filters; the DH group a peer
// asked for against ours (INVALID_KE_PAYLOAD, §1.2/§1.3); and the config lines
// that decide it. The same notions as the IKEv1 records (ike/exchange/failure.ts),
// built from IKEv2 payloads. Pure functions of the policy and the payloads.

import type { FailureReason, FailureRecord } from '../../../log/failure-record.ts';
import { authConfigLines, quickModeConfigLines } from '../../common/config-lines.ts';
import { describeIdentity } from '../../exchange/identity.ts';
import { groupName, ikeMethodName, tunnelMethodNames } from '../../exchange/proposal-names.ts';
import type { PeerAuth, PeerPolicy, TunnelPolicy } from '../../exchange/types.ts';
import { EncrId, IntegId, PrfId, ProtocolId, TransformType, TsType } from '../wire/constants.ts';
import { invalidKeGroup } from '../wire/notify.ts';
import { NotifyType, notifyName } from '../wire/notify-types.ts';
import type { NotifyPayload, Proposal, Transform, TrafficSelector } from '../wire/payloads.ts';
import { selectorCidr } from './selectors.ts';
import { usableIkeMethods } from './proposals.ts';

/** What ctx.fail() adds to a record; `role` overrides the IKE SA's role for a
 * CREATE_CHILD_SA exchange the peer started. */
export type V2FailureExtra = Partial<Omit<FailureRecord, 'peer' | 'time' | 'phase' | 'reason' | 'exchange'>>;

/** A peer's offer can list many transforms of each type (strongSwan's default has
 * dozens): its combinations are named up to this many, then counted. */
export const MAX_OFFER_NAMES = 12;

const INTEG_NAMES: ReadonlyMap<number, string> = new Map([
  [IntegId.HMAC_MD5_96, 'md5'],
  [IntegId.HMAC_SHA1_96, 'sha1'],
  [IntegId.AES_XCBC_96, 'aesxcbc'],
  [IntegId.HMAC_SHA2_256_128, 'sha256'],
  [IntegId.HMAC_SHA2_384_192, 'sha384'],
  [IntegId.HMAC_SHA2_512_256, 'sha512'],
]);
const PRF_NAMES: ReadonlyMap<number, string> = new Map([
  [PrfId.HMAC_MD5, 'prfmd5'],
  [PrfId.HMAC_SHA1, 'prfsha1'],
  [PrfId.AES128_XCBC, 'prfaesxcbc'],
  [PrfId.HMAC_SHA2_256, 'prfsha256'],
  [PrfId.HMAC_SHA2_384, 'prfsha384'],
  [PrfId.HMAC_SHA2_512, 'prfsha512'],
]);

function encrName(t: Transform): string {
  const bits = t.keyLength ?? '';
  switch (t.id) {
    case EncrId.AES_CBC: return `aes${bits}`;
    case EncrId.AES_CTR: return `aes${bits}ctr`;
    case EncrId.AES_GCM_8: return `aes${bits}gcm8`;
    case EncrId.AES_GCM_12: return `aes${bits}gcm12`;
    case EncrId.AES_GCM_16: return `aes${bits}gcm16`;
    case EncrId.AES_CCM_16: return `aes${bits}ccm16`;
    case EncrId.CHACHA20_POLY1305: return 'chacha20poly1305';
    case EncrId.TRIPLE_DES: return '3des';
    case EncrId.DES: return 'des';
    case EncrId.NULL: return 'null';
    default: return `encr${t.id}${bits ? `-${bits}` : ''}`;
  }
}

const isAead = (t: Transform): boolean =>
  t.id === EncrId.AES_GCM_8 || t.id === EncrId.AES_GCM_12 || t.id === EncrId.AES_GCM_16 ||
  t.id === EncrId.AES_CCM_16 || t.id === EncrId.CHACHA20_POLY1305;

function ofType(p: Proposal, type: number): Transform[] {
  return p.transforms.filter((t) => t.type === type);
}

/** Every combination of the lists, in order, at most `room` of them; `total` counts all. */
function combine(lists: readonly (readonly string[])[], room: number): { names: string[]; total: number } {
  const total = lists.reduce((n, l) => n * Math.max(l.length, 1), 1);
  let names = [''];
  for (const l of lists) {
    if (l.length === 0) continue;
    const next: string[] = [];
    for (const prefix of names) for (const x of l) if (next.length < room) next.push(prefix ? `${prefix}-${x}` : x);
    names = next;
  }
  return { names: names.filter((n) => n !== ''), total };
}

function capped(perProposal: { names: string[]; total: number }[]): string[] {
  const out: string[] = [];
  let total = 0;
  for (const p of perProposal) {
    total += p.total;
    for (const n of p.names) if (out.length < MAX_OFFER_NAMES) out.push(n);
  }
  if (total > out.length) out.push(`(${total - out.length} more combinations)`);
  return out;
}

/**
 * An IKE SA offer (§3.3) in config notation, e.g. "aes128-sha256-modp2048" or, for
 * AEAD ciphers, "aes256gcm16-prfsha384-ecp384" (as ikeMethodName writes ours).
 */
export function ikeProposalNames(proposals: readonly Proposal[]): string[] {
  return capped(
    proposals
      .filter((p) => p.protocol === ProtocolId.IKE)
      .map((p) => {
        const encrs = ofType(p, TransformType.ENCR);
        const aead = encrs.length > 0 && encrs.every(isAead);
        const middle = aead
          ? ofType(p, TransformType.PRF).map((t) => PRF_NAMES.get(t.id) ?? `prf${t.id}`)
          : ofType(p, TransformType.INTEG).map((t) => INTEG_NAMES.get(t.id) ?? `integ${t.id}`);
        const groups = ofType(p, TransformType.DH).map((t) => groupName(t.id) ?? `group${t.id}`);
        return combine([encrs.map(encrName), middle, groups], MAX_OFFER_NAMES);
      }),
  );
}

/**
 * A child SA offer in the notation of security-methods, with the PFS group after a
 * slash when the proposal carries one (as IKEv1 quick mode records write it):
 * "aes128gcm16", "aes128-sha256/modp2048".
 */
export function espProposalNames(proposals: readonly Proposal[]): string[] {
  return capped(
    proposals
      .filter((p) => p.protocol === ProtocolId.ESP)
      .map((p) => {
        const integ = ofType(p, TransformType.INTEG)
          .filter((t) => t.id !== IntegId.NONE)
          .map((t) => INTEG_NAMES.get(t.id) ?? `integ${t.id}`);
        const esp = combine([ofType(p, TransformType.ENCR).map(encrName), integ], MAX_OFFER_NAMES);
        const groups = ofType(p, TransformType.DH).map((t) => groupName(t.id) ?? `group${t.id}`).filter((g) => g !== 'none');
        if (groups.length === 0) return esp;
        const names: string[] = [];
        for (const e of esp.names) for (const g of groups) if (names.length < MAX_OFFER_NAMES) names.push(`${e}/${g}`);
        return { names, total: esp.total * groups.length };
      }),
  );
}

const PROTOCOLS: ReadonlyMap<number, string> = new Map([[1, 'icmp'], [6, 'tcp'], [17, 'udp'], [58, 'ipv6-icmp']]);

function addressText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const words: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) words.push(b.readUInt16BE(i).toString(16));
  return words.join(':');
}

/** A traffic selector as sitelinkctl sas writes one: "198.18.1.0/24" or a range, with
 * "[tcp/5201]" when it names a protocol or port. */
export function selectorText(ts: TrafficSelector): string {
  const range =
    ts.tsType === TsType.IPV4_ADDR_RANGE || ts.tsType === TsType.IPV6_ADDR_RANGE
      ? selectorCidr(ts) ?? `${addressText(ts.startAddress)}-${addressText(ts.endAddress)}`
      : `(selector type ${ts.tsType})`;
  const anyPort = ts.startPort === 0 && ts.endPort === 0xffff;
  if (ts.protocol === 0 && anyPort) return range;
  const proto = ts.protocol === 0 ? 'any' : PROTOCOLS.get(ts.protocol) ?? String(ts.protocol);
  const port = anyPort ? '' : ts.startPort === ts.endPort ? `/${ts.startPort}` : `/${ts.startPort}-${ts.endPort}`;
  return `${range}[${proto}${port}]`;
}

/** NO_PROPOSAL_CHOSEN for the IKE SA: the peer's offer (when we responded) against
 * the proposals of ours IKEv2 can use; peers.<name>.proposals decides it. */
export function ikeProposalFailure(peer: PeerPolicy, role: 'initiator' | 'responder', peerOffer: readonly Proposal[] | null): V2FailureExtra {
  const ours = usableIkeMethods(peer).map(ikeMethodName);
  const field = `peers.${peer.name}.proposals`;
  return {
    notify: 'NO_PROPOSAL_CHOSEN',
    offered: role === 'responder' && peerOffer ? ikeProposalNames(peerOffer) : ours,
    acceptable: ours,
    configField: field,
    configLines: [`${field} = ${peer.ikeMethods.map(ikeMethodName).join(', ')}`, `peers.${peer.name}.allow-weak = ${peer.allowWeak ? 'yes' : 'no'}`],
  };
}

/** NO_PROPOSAL_CHOSEN for a child SA of `tunnel` (IKE_AUTH or CREATE_CHILD_SA): the
 * peer's ESP offer when we responded, our methods (with PFS in CREATE_CHILD_SA). */
export function childProposalFailure(
  tunnel: TunnelPolicy,
  role: 'initiator' | 'responder',
  peerOffer: readonly Proposal[] | null,
  inIkeAuth: boolean,
): V2FailureExtra {
  // §1.2: a child SA made in IKE_AUTH has no KE, so PFS does not apply to it.
  const ours = inIkeAuth ? tunnelMethodNames({ ...tunnel, pfsGroup: null }) : tunnelMethodNames(tunnel);
  const offerPfs = peerOffer?.flatMap((p) => ofType(p, TransformType.DH)).find((t) => t.id !== 0);
  return {
    notify: 'NO_PROPOSAL_CHOSEN',
    offered: role === 'responder' && peerOffer ? espProposalNames(peerOffer) : ours,
    acceptable: ours,
    ...(inIkeAuth
      ? {}
      : role === 'responder' && peerOffer
        ? { offeredPfs: groupName(offerPfs?.id) ?? null, requiredPfs: groupName(tunnel.pfsGroup) }
        : { offeredPfs: groupName(tunnel.pfsGroup) }),
    ...(tunnel.action ? { configField: `filter-actions.${tunnel.action}.security-methods` } : {}),
    configLines: quickModeConfigLines(tunnel),
  };
}

/** TS_UNACCEPTABLE: the selectors asked for against our filters. As responder, the
 * peer's TSi (its side) and TSr (ours); as initiator, ours, which the peer refused. */
export function selectorFailure(
  peer: PeerPolicy,
  role: 'initiator' | 'responder',
  asked: { tsi: readonly TrafficSelector[]; tsr: readonly TrafficSelector[] } | null,
  tunnel: TunnelPolicy | null,
): V2FailureExtra {
  const mine = tunnel ? [tunnel] : peer.tunnels;
  const offeredSelectors =
    role === 'responder' && asked
      ? asked.tsi.flatMap((i) => asked.tsr.map((r) => ({ local: selectorText(i), remote: selectorText(r) }))).slice(0, MAX_OFFER_NAMES)
      : mine.map((t) => ({ local: t.local, remote: t.remote }));
  return {
    notify: 'TS_UNACCEPTABLE',
    offeredSelectors,
    acceptableSelectors: peer.tunnels.map((t) => ({ local: t.local, remote: t.remote })),
    configLines: mine.flatMap((t) => quickModeConfigLines(t).slice(0, 1)),
  };
}

/** INVALID_KE_PAYLOAD that ends a negotiation: the peer asked for `asked`, which none
 * of our proposals (IKE SA) or our PFS setting (child SA) has. */
export function keGroupFailure(peer: PeerPolicy, asked: number | null, tunnel: TunnelPolicy | null): V2FailureExtra {
  const ours = tunnel ? [tunnel.pfsGroup] : usableIkeMethods(peer).map((m) => m.dhGroup);
  const configured = [...new Set(ours.map((g) => groupName(g) ?? 'none'))];
  const field = tunnel ? `filter-actions.${tunnel.action ?? '<action>'}.pfs` : `peers.${peer.name}.proposals`;
  const names = usableIkeMethods(peer).map(ikeMethodName);
  return {
    notify: 'INVALID_KE_PAYLOAD',
    offered: tunnel ? [] : names,
    acceptable: tunnel ? [] : names,
    askedGroup: groupName(asked) ?? '(none named)',
    configuredGroups: configured,
    configField: field,
    configLines: tunnel
      ? [`${field} = ${groupName(tunnel.pfsGroup) ?? 'none'}`]
      : [`${field} = ${peer.ikeMethods.map(ikeMethodName).join(', ')}`],
  };
}

/** AUTHENTICATION_FAILED (sent or received): the key or certificate and the identities. */
export function authenticationFailure(peer: PeerPolicy, auth: PeerAuth | undefined): V2FailureExtra {
  return {
    notify: 'AUTHENTICATION_FAILED',
    expectedId: describeIdentity(peer.remoteId),
    configLines: authConfigLines(peer, auth),
  };
}

/**
 * INVALID_SYNTAX (§3.10.1): the peer could not parse our message (`by` = 'peer'), or
 * we could not parse its. Neither side has a setting for it; the lines name what a
 * peer that lacks an extension is most likely to stumble over.
 */
export function syntaxFailure(peer: PeerPolicy, by: 'peer' | 'us'): V2FailureExtra {
  return {
    notify: 'INVALID_SYNTAX',
    configLines:
      by === 'peer'
        ? [
            `peers.${peer.name}.version = 2`,
            ...(peer.ppk ? [`peers.${peer.name}.ppk = ${peer.ppk.id.toString()} (RFC 8784: the peer may not support PPK)`] : []),
            'gateway.fragmentation (RFC 7383 fragments: the peer may not support them)',
          ]
        : [`peers.${peer.name}.version = 2`],
  };
}

/**
 * The peer refused a child SA we asked for (IKE_AUTH or CREATE_CHILD_SA) with
 * `err`, or answered with something we did not offer (`err` null): the record's
 * reason and what it was about.
 */
export function childRefusal(
  peer: PeerPolicy,
  tunnel: TunnelPolicy,
  err: Pick<NotifyPayload, 'notifyType' | 'data'> | null,
  inIkeAuth: boolean,
): { code: FailureReason; extra: V2FailureExtra } {
  const role = { role: 'initiator' as const };
  if (err === null) return { code: 'invalid-message', extra: role };
  switch (err.notifyType) {
    case NotifyType.TS_UNACCEPTABLE:
      return { code: 'ts-mismatch', extra: { ...selectorFailure(peer, 'initiator', null, tunnel), ...role } };
    case NotifyType.NO_PROPOSAL_CHOSEN:
      return { code: 'no-proposal-chosen', extra: { ...childProposalFailure(tunnel, 'initiator', null, inIkeAuth), ...role } };
    case NotifyType.INVALID_KE_PAYLOAD:
      return { code: 'dh-group-mismatch', extra: { ...keGroupFailure(peer, invalidKeGroup(err), tunnel), ...role } };
    case NotifyType.INVALID_SYNTAX:
      return { code: 'invalid-message', extra: { ...syntaxFailure(peer, 'peer'), ...role } };
    default:
      return { code: 'other', extra: { notify: notifyName(err.notifyType), ...role } };
  }
}
