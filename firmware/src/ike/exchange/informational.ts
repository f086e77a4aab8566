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
import { quickFailureOfNotify, quickModeFailure } from './failure.ts';
import { tunnelMethodNames } from './proposal-names.ts';
import type { IsakmpSa } from './isakmp-sa.ts';
import { decryptMessage, encryptMessage, restAfterHash } from './secure-message.ts';

const NOTIFY_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(NotifyType).map(([k, v]) => [v, k]));

export function notifyName(t: number): string {
  return NOTIFY_NAMES.get(t) ?? `notify ${t}`;
}

export function sendInformational(ctx: ExchangeContext, sa: IsakmpSa, rest: (NotifyPayload | DeletePayload)[]): void {
  if (!sa.crypto || !sa.keys || !sa.suite) return;
  let messageId = 0;
  while (messageId === 0 || sa.quick.has(messageId)) messageId = ctx.env.random(4).readUInt32BE(0);
  const h = informationalHash(sa.suite.hash, sa.keys.skeyidA, messageId, encodePayloads(rest).bytes);
  const data = encryptMessage(sa.crypto, sa, ExchangeType.INFORMATIONAL, messageId, withHash(h, rest));
  sa.crypto.forget(messageId);
  ctx.out.push({ kind: 'send', localPort: sa.local.port, to: sa.remote, data });
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
  /** Quick modes we answered (QM2 sent, QM3 awaited) that the peer refused with an
   * error notify naming either SPI: message ID and the notify type. */
  refusedAnswers: { messageId: number; notifyType: number }[];
}

export function handleInformational(ctx: ExchangeContext, sa: IsakmpSa, msg: EncryptedMessage): InformationalEffects | null {
  const messageId = msg.header.messageId;
  if (!sa.crypto || !sa.keys || !sa.suite || sa.infoSeen.has(messageId) || messageId === 0) {
    ctx.counters.unexpected++;
    ctx.log('warning', sa, 'informational', 'INFO', 'dropped: replayed or out-of-place informational', { messageId });
    return null;
  }
  const d = decryptMessage(sa.crypto, msg.header.nextPayload, messageId, msg.body);
  const hash = d.ok ? d.value.payloads[0] : undefined;
  if (!d.ok || hash?.type !== PayloadType.HASH || !constantTimeEqual(informationalHash(sa.suite.hash, sa.keys.skeyidA, messageId, restAfterHash(d.value)), hash.data)) {
    if (d.ok) d.rollback();
    sa.crypto.forget(messageId);
    ctx.counters.malformed++;
    ctx.log('warning', sa, 'informational', 'INFO', `dropped: ${d.ok ? 'HASH(1) missing or wrong' : d.reason}`, { messageId });
    return null;
  }
  sa.crypto.forget(messageId);
  sa.infoSeen.add(messageId);
  sa.lastHeard = ctx.env.now();
  const effects: InformationalEffects = { deletedOutSpis: [], deleteIsakmp: false, errors: [], refusedAnswers: [] };
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
    ctx.log(n.notifyType < 16384 ? 'error' : 'info', sa, 'informational', 'NOTIFY', `peer sent ${notifyName(n.notifyType)}`, { spi: n.spi.toString('hex') });
    if (n.notifyType < 16384) {
      effects.errors.push(n.notifyType);
      // An error about one of our quick modes: the peer refused it (RFC 2408 §3.14.1).
      for (const q of sa.quick.values()) {
        if (q.role === 'initiator' && q.state === 'QM1_SENT' && n.spi.equals(q.inSpi)) {
          q.retransmit.stop();
          sa.quick.delete(q.messageId);
          sa.crypto.forget(q.messageId);
          ctx.counters.quickModeFailed++;
          const names = tunnelMethodNames(q.tunnel);
          const code = quickFailureOfNotify(n.notifyType);
          quickModeFailure(ctx, sa, 'initiator', code, `peer sent ${notifyName(n.notifyType)}`, {
            offered: names,
            acceptable: names,
            detail: `peer sent ${notifyName(n.notifyType)}`,
            ...(code === 'ts-mismatch' ? { offeredSelectors: [{ local: q.tunnel.local, remote: q.tunnel.remote }] } : {}),
            ...(q.tunnel.action ? { configField: `filter-actions.${q.tunnel.action}.security-methods` } : {}),
          });
        } else if (q.role === 'responder' && q.state === 'QM2_SENT' && (n.spi.equals(q.inSpi) || (q.pending !== undefined && n.spi.equals(q.pending.peerSpi)))) {
          // The initiator refused our QM2: the inbound SA installed with it must go now,
          // not when QM2 retransmission gives up (quick-mode.ts abandonAnswer).
          effects.refusedAnswers.push({ messageId: q.messageId, notifyType: n.notifyType });
        }
      }
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
