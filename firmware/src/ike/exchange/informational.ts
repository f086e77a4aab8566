// Informational exchanges under an ISAKMP SA, RFC 2409 §5.7:
//   HASH(1) N/D...,  HASH(1) = prf(SKEYID_a, M-ID | N/D)
// carrying Deletes (RFC 2408 §3.15), error notifies, and RFC 3706 dead
// peer detection (R-U-THERE / R-U-THERE-ACK with a sequence number). Once
// authenticated, each payload goes to the handler of its kind
// (INFORMATIONAL_HANDLERS, like handlers.ts for main mode), which returns a
// typed outcome; applyOutcome() alone sends, logs and collects the effects.

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
import { keyedOf, type IsakmpSa, type PendingQuickMode } from './isakmp-sa.ts';
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
  sa.infoSeen.remember(messageId);
  sa.lastHeard = ctx.env.now();
  const effects: InformationalEffects = { deletedOutSpis: [], deleteIsakmp: false, errors: [], refusedQuickModes: [] };
  // Each payload through the handler table below (notifies, then Deletes); the caller
  // acts on the collected effects once all are read.
  const payloads = [...payloadsOfType(d.value.payloads, PayloadType.NOTIFY), ...payloadsOfType(d.value.payloads, PayloadType.DELETE)];
  for (const p of payloads) applyOutcome(ctx, sa, runInformationalHandler(sa, p, messageId), effects);
  return effects;
}

// ---- The handler table: one entry per kind of informational payload ----

/** What an authenticated informational payload is (RFC 2408 §3.14, §3.15; RFC 3706). */
export type InformationalKind =
  | 'dpd-r-u-there'
  | 'dpd-ack'
  /** A notify type below 16384: an error (RFC 2408 §3.14.1). */
  | 'error-notify'
  | 'status-notify'
  | 'delete-isakmp'
  | 'delete-esp'
  /** A Delete of another protocol (AH) or with SPIs we never use: nothing of ours. */
  | 'delete-other';

/** What a handler decided; applyOutcome() alone acts on it (sends, logs, effects). */
export type InformationalOutcome =
  | { kind: 'answer-dpd'; sequence: number }
  | { kind: 'dpd-acked'; sequence: number }
  | { kind: 'peer-error'; notifyType: number; spi: Buffer; refused: { messageId: number } | 'ambiguous' | null }
  | { kind: 'peer-status'; notifyType: number; spi: Buffer }
  | { kind: 'delete-isakmp' }
  | { kind: 'delete-esp'; spis: number[] }
  | { kind: 'ignored'; why: string };

export type InformationalPayload = NotifyPayload | DeletePayload;

export function informationalKind(p: InformationalPayload): InformationalKind {
  if (p.type === PayloadType.NOTIFY) {
    const dpd = parseDpd(p);
    if (dpd) return dpd.kind === 'r-u-there' ? 'dpd-r-u-there' : 'dpd-ack';
    return p.notifyType < 16384 ? 'error-notify' : 'status-notify';
  }
  if (p.protocol === ProtocolId.ISAKMP) return 'delete-isakmp';
  if (p.protocol === ProtocolId.ESP && p.spiSize === 4) return 'delete-esp';
  return 'delete-other';
}

type InformationalHandler = (sa: IsakmpSa, p: InformationalPayload, messageId: number) => InformationalOutcome;

const cookiesOf = (sa: IsakmpSa): Buffer => Buffer.concat([sa.ckyI, sa.ckyR]);

/** Every kind has an entry (the type holds the table complete); handlers only decide. */
export const INFORMATIONAL_HANDLERS: Readonly<Record<InformationalKind, InformationalHandler>> = {
  'dpd-r-u-there': (sa, p) => {
    const dpd = p.type === PayloadType.NOTIFY ? parseDpd(p) : null;
    if (!dpd || !dpd.spi.equals(cookiesOf(sa))) return { kind: 'ignored', why: 'R-U-THERE for another ISAKMP SA' };
    return { kind: 'answer-dpd', sequence: dpd.sequence };
  },
  'dpd-ack': (sa, p) => {
    const dpd = p.type === PayloadType.NOTIFY ? parseDpd(p) : null;
    if (!dpd || !dpd.spi.equals(cookiesOf(sa))) return { kind: 'ignored', why: 'R-U-THERE-ACK for another ISAKMP SA' };
    return { kind: 'dpd-acked', sequence: dpd.sequence };
  },
  'error-notify': (sa, p, messageId) => {
    if (p.type !== PayloadType.NOTIFY) return { kind: 'ignored', why: 'not a notify' };
    const q = refusedQuickMode(sa, p, messageId);
    return { kind: 'peer-error', notifyType: p.notifyType, spi: p.spi, refused: q === 'ambiguous' || q === null ? q : { messageId: q.messageId } };
  },
  'status-notify': (_sa, p) =>
    p.type === PayloadType.NOTIFY ? { kind: 'peer-status', notifyType: p.notifyType, spi: p.spi } : { kind: 'ignored', why: 'not a notify' },
  'delete-isakmp': (sa, p) =>
    p.type === PayloadType.DELETE && p.spis.some((s) => s.equals(cookiesOf(sa)))
      ? { kind: 'delete-isakmp' }
      : { kind: 'ignored', why: 'Delete of another ISAKMP SA' },
  'delete-esp': (_sa, p) =>
    p.type === PayloadType.DELETE ? { kind: 'delete-esp', spis: p.spis.map((s) => s.readUInt32BE(0)) } : { kind: 'ignored', why: 'not a Delete' },
  'delete-other': () => ({ kind: 'ignored', why: 'Delete of a protocol or SPI size we do not use' }),
};

export function runInformationalHandler(sa: IsakmpSa, p: InformationalPayload, messageId: number): InformationalOutcome {
  return INFORMATIONAL_HANDLERS[informationalKind(p)](sa, p, messageId);
}

function applyOutcome(ctx: ExchangeContext, sa: IsakmpSa, o: InformationalOutcome, effects: InformationalEffects): void {
  switch (o.kind) {
    case 'answer-dpd':
      ctx.log('debug', sa, 'dpd', 'R-U-THERE-ACK', `sequence ${o.sequence}`);
      sendInformational(ctx, sa, [dpdNotify('r-u-there-ack', { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR }, o.sequence)]);
      return;
    case 'dpd-acked':
      if (o.sequence === sa.dpdSeq) sa.dpdPendingSince = null;
      return;
    case 'peer-status':
      ctx.log('info', sa, 'informational', 'NOTIFY', `peer sent ${notifyName(o.notifyType)}`, { spi: o.spi.toString('hex') });
      return;
    case 'peer-error':
      ctx.log('error', sa, 'informational', 'NOTIFY', `peer sent ${notifyName(o.notifyType)}`, { spi: o.spi.toString('hex') });
      effects.errors.push(o.notifyType);
      if (o.refused === 'ambiguous') {
        ctx.log(
          'warning',
          sa,
          'informational',
          'NOTIFY',
          `${notifyName(o.notifyType)} names no quick mode and several are pending: cannot tell which the peer refused`,
        );
      } else if (o.refused) effects.refusedQuickModes.push({ messageId: o.refused.messageId, notifyType: o.notifyType });
      return;
    case 'delete-isakmp':
      effects.deleteIsakmp = true;
      return;
    case 'delete-esp':
      effects.deletedOutSpis.push(...o.spis);
      return;
    case 'ignored':
      return;
  }
}
