// Informational exchanges under an ISAKMP SA, RFC 2409 §5.7:
//   HASH(1) N/D...,  HASH(1) = prf(SKEYID_a, M-ID | N/D)
// carrying Deletes (RFC 2408 §3.15), error notifies, and RFC 3706 dead
// peer detection (R-U-THERE / R-U-THERE-ACK with a sequence number).

import { informationalHash } from '../crypto/exchange-hash.ts';
import { constantTimeEqual } from '../crypto/secret.ts';
import {
  ExchangeType,
  NotifyType,
  PayloadType,
  ProtocolId,
  dpdNotify,
  encodePayloads,
  parseDpd,
  payloadsOfType,
  withHash,
  type DeletePayload,
  type EncryptedMessage,
  type NotifyPayload,
} from '../wire/index.ts';
import type { ExchangeContext } from './context.ts';
import { keyedOf, rememberInformational, type IsakmpSa, type PendingQuickMode } from './isakmp-sa.ts';
import { decryptMessage, encryptMessage, restAfterHash } from './secure-message.ts';

const NOTIFY_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(NotifyType).map(([k, v]) => [v, k]));

/** Error notifies a responder refuses a quick mode's proposal or IDs with (RFC 2408 §3.14.1). */
const PROPOSAL_REFUSALS: ReadonlySet<number> = new Set([
  NotifyType.ATTRIBUTES_NOT_SUPPORTED,
  NotifyType.NO_PROPOSAL_CHOSEN,
  NotifyType.BAD_PROPOSAL_SYNTAX,
  NotifyType.INVALID_KEY_INFORMATION,
  NotifyType.INVALID_ID_INFORMATION,
  NotifyType.INVALID_TRANSFORM_ID,
]);

export function notifyName(t: number): string {
  return NOTIFY_NAMES.get(t) ?? `notify ${t}`;
}

export function sendInformational(ctx: ExchangeContext, sa: IsakmpSa, rest: (NotifyPayload | DeletePayload)[]): void {
  const k = keyedOf(sa);
  if (!k) return;
  let messageId = 0;
  while (messageId === 0 || sa.quick.has(messageId)) messageId = ctx.env.random(4).readUInt32BE(0);
  const h = informationalHash(k.suite.hash, k.keys.skeyidA, messageId, encodePayloads(rest).bytes);
  const data = encryptMessage(k.crypto, sa, ExchangeType.INFORMATIONAL, messageId, withHash(h, rest));
  k.crypto.forget(messageId);
  ctx.send(sa, data, false, null);
}

export function sendDpd(ctx: ExchangeContext, sa: IsakmpSa): void {
  sa.dpdSeq = (sa.dpdSeq + 1) >>> 0 || 1;
  sa.dpdPendingSince = ctx.env.now();
  ctx.log('debug', sa, 'dpd', 'R-U-THERE', `sequence ${sa.dpdSeq}`);
  sendInformational(ctx, sa, [dpdNotify('r-u-there', { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR }, sa.dpdSeq)]);
}

export interface InformationalEffects {
  /** Peer deleted IPsec SAs: our outbound SPIs. */
  deletedOutSpis: number[];
  deleteIsakmp: boolean;
  /** Error notify types received (RFC 2408 §3.14.1: types below 16384). */
  errors: number[];
  /** Pending quick modes (ours awaiting QM2, or answered ones awaiting QM3) that the
   * peer refused with an error notify: message ID and the notify type. */
  refusedQuickModes: { messageId: number; notifyType: number }[];
}

/**
 * The pending quick mode an authenticated error notify is about (RFC 2408 §3.14.1).
 * Naming one of its SPIs (ours, or the peer's in a QM2 we sent) identifies it. With
 * no SPI (SPI size 0), or the ISAKMP SA's cookies as the SPI, the notify is about
 * this ISAKMP SA and so about the quick mode pending under it: the one whose message
 * ID the notify reuses, else the only one pending. With several pending and no
 * message ID to tell them apart, none is failed (they time out as before). The
 * SPI-less form counts only for the notifies a responder refuses a proposal with, so
 * that a complaint about something else (a malformed informational, say) does not
 * fail an unrelated quick mode.
 */
export function refusedQuickMode(sa: IsakmpSa, n: NotifyPayload, messageId: number): PendingQuickMode | 'ambiguous' | null {
  const pending = [...sa.quick.values()].filter((q): q is PendingQuickMode => q.state !== 'DONE');
  const bySpi = pending.find((q) => n.spi.equals(q.inSpi) || (q.state === 'QM2_SENT' && n.spi.equals(q.accepted.peerSpi)));
  if (bySpi) return bySpi;
  if (!(n.spi.length === 0 || n.spi.equals(Buffer.concat([sa.ckyI, sa.ckyR]))) || !PROPOSAL_REFUSALS.has(n.notifyType)) return null;
  const byId = pending.find((q) => q.messageId === messageId);
  if (byId) return byId;
  const [only, ...others] = pending;
  if (only === undefined) return null;
  return others.length === 0 ? only : 'ambiguous';
}

export function handleInformational(ctx: ExchangeContext, sa: IsakmpSa, msg: EncryptedMessage): InformationalEffects | null {
  const messageId = msg.header.messageId;
  const k = keyedOf(sa);
  if (!k || sa.infoSeen.has(messageId) || messageId === 0) {
    ctx.counters.unexpected++;
    ctx.log('warning', sa, 'informational', 'INFO', 'dropped: replayed or out-of-place informational', { messageId });
    return null;
  }
  const d = decryptMessage(k.crypto, msg.header.nextPayload, messageId, msg.body);
  const hash = d.ok ? d.value.payloads[0] : undefined;
  if (
    !d.ok ||
    hash?.type !== PayloadType.HASH ||
    !constantTimeEqual(informationalHash(k.suite.hash, k.keys.skeyidA, messageId, restAfterHash(d.value)), hash.data)
  ) {
    if (d.ok) d.rollback();
    k.crypto.forget(messageId);
    ctx.counters.malformed++;
    ctx.log('warning', sa, 'informational', 'INFO', `dropped: ${d.ok ? 'HASH(1) missing or wrong' : d.reason}`, { messageId });
    return null;
  }
  k.crypto.forget(messageId);
  rememberInformational(sa, messageId);
  sa.lastHeard = ctx.env.now();
  const effects: InformationalEffects = { deletedOutSpis: [], deleteIsakmp: false, errors: [], refusedQuickModes: [] };
  for (const n of payloadsOfType(d.value.payloads, PayloadType.NOTIFY)) {
    const dpd = parseDpd(n);
    if (dpd) {
      if (!dpd.spi.equals(Buffer.concat([sa.ckyI, sa.ckyR]))) continue;
      if (dpd.kind === 'r-u-there') {
        ctx.log('debug', sa, 'dpd', 'R-U-THERE-ACK', `sequence ${dpd.sequence}`);
        sendInformational(ctx, sa, [dpdNotify('r-u-there-ack', { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR }, dpd.sequence)]);
      } else if (dpd.sequence === sa.dpdSeq) sa.dpdPendingSince = null;
      continue;
    }
    ctx.log(n.notifyType < 16384 ? 'error' : 'info', sa, 'informational', 'NOTIFY', `peer sent ${notifyName(n.notifyType)}`, {
      spi: n.spi.toString('hex'),
    });
    if (n.notifyType < 16384) {
      effects.errors.push(n.notifyType);
      const q = refusedQuickMode(sa, n, messageId);
      if (q === 'ambiguous') {
        ctx.log(
          'warning',
          sa,
          'informational',
          'NOTIFY',
          `${notifyName(n.notifyType)} names no quick mode and several are pending: cannot tell which the peer refused`,
        );
      } else if (q) effects.refusedQuickModes.push({ messageId: q.messageId, notifyType: n.notifyType });
    }
  }
  for (const del of payloadsOfType(d.value.payloads, PayloadType.DELETE)) {
    if (del.protocol === ProtocolId.ISAKMP) {
      if (del.spis.some((s) => s.equals(Buffer.concat([sa.ckyI, sa.ckyR])))) effects.deleteIsakmp = true;
    } else if (del.protocol === ProtocolId.ESP && del.spiSize === 4) {
      for (const s of del.spis) effects.deletedOutSpis.push(s.readUInt32BE(0));
    }
  }
  return effects;
}
