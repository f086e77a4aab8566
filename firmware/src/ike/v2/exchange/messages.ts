// Building, protecting and sending IKEv2 messages for one SA: header flags
// (§3.1), the sender's SK keys (§2.14: the initiator of the IKE SA sends with
// SK_ei/SK_ai, the responder with SK_er/SK_ar, whoever started the exchange),
// RFC 7383 fragmentation when the message would not fit, the request window
// of one with retransmission by the requester only (§2.1, §2.3), and the
// responder's cache of its last answer.

import { transmit, type SendReason } from '../../common/send-path.ts';
import type { SkKeys } from '../wire/encrypted.ts';
import { sealMessage } from '../wire/encrypted.ts';
import { sealFragments } from '../wire/fragments.ts';
import { HeaderFlag } from '../wire/constants.ts';
import type { HeaderFields } from '../wire/message.ts';
import type { Payload } from '../wire/payloads.ts';
import type { V2Context } from './context.ts';
import type { IkeSaV2, RequestPurpose } from './state.ts';
import { IKE_PORT } from '../../exchange/types.ts';

/** Default schedule (§2.1): retransmit after 2 s, doubling, giving up after the sixth try (~2 min). */
export const RETRANSMIT_BASE_MS = 2000;
export const RETRANSMIT_TRIES = 6;
/** Largest IP datagram we send unfragmented when the peer does RFC 7383 (strongSwan's default, the IPv6 minimum MTU). */
export const FRAGMENT_IP_DATAGRAM = 1280;

export function headerFor(sa: IkeSaV2, exchange: number, messageId: number, response: boolean): HeaderFields {
  const flags = (sa.role === 'initiator' ? HeaderFlag.INITIATOR : 0) | (response ? HeaderFlag.RESPONSE : 0);
  return { spiI: sa.spiI, spiR: sa.spiR, exchange, flags, messageId };
}

function keysOf(sa: IkeSaV2, sender: 'initiator' | 'responder'): SkKeys {
  if (!sa.keys || !sa.suite) throw new Error('IKE SA has no keys yet');
  const i = sender === 'initiator';
  return {
    encr: sa.suite.encr,
    integ: sa.suite.integ,
    encKey: i ? sa.keys.ei : sa.keys.er,
    integKey: sa.suite.integ ? (i ? sa.keys.ai : sa.keys.ar) : undefined,
  };
}

export const outKeys = (sa: IkeSaV2): SkKeys => keysOf(sa, sa.role);
export const inKeys = (sa: IkeSaV2): SkKeys => keysOf(sa, sa.role === 'initiator' ? 'responder' : 'initiator');

/** The UDP payload budget for one IKE message towards the peer (IP and UDP headers, non-ESP marker off port 500);
 * the IP datagram limit is the peer's fragment-size, 1280 by default. */
export function maxDatagram(sa: IkeSaV2): number {
  const ip = sa.remote.address.includes(':') ? 40 : 20;
  return (sa.peer.fragmentSize ?? FRAGMENT_IP_DATAGRAM) - ip - 8 - (sa.local.port === IKE_PORT ? 0 : 4);
}

export function protect(ctx: V2Context, sa: IkeSaV2, header: HeaderFields, inner: readonly Payload[]): Buffer[] {
  const keys = outKeys(sa);
  const whole = sealMessage(header, [], inner, keys, ctx.env.random(keys.encr.ivLength));
  if (whole.length <= maxDatagram(sa) || !sa.peerFragments || !ctx.fragmentation) return [whole];
  const frags = sealFragments(header, inner, keys, maxDatagram(sa), () => ctx.env.random(keys.encr.ivLength));
  ctx.counters.fragmentsSent += frags.length;
  ctx.log('debug', sa, 'main', 'FRAGMENT', `${whole.length}-byte message sent as ${frags.length} fragments (RFC 7383)`);
  return frags;
}

/** One message (or its fragments) to the SA's peer on its current ports, through the
 * send path both IKE versions share (ike/common/send-path.ts): resends counted and logged there. */
export function sendDatagrams(ctx: V2Context, sa: IkeSaV2, datagrams: readonly Buffer[], why: SendReason = { kind: 'new' }): void {
  transmit(ctx, sa, datagrams.map((data) => ({ data, to: sa.remote, localPort: sa.local.port })), why);
}

/**
 * Sends a request, or queues it while one is in flight (window size 1, §2.3).
 * `build` runs when the request actually goes out, so it can return null to
 * drop a request that is no longer needed.
 */
export function request(ctx: V2Context, sa: IkeSaV2, exchange: number, build: () => { inner: Payload[]; purpose: RequestPurpose } | null): void {
  if (sa.pending) {
    sa.queue.push({ exchange, build });
    return;
  }
  const b = build();
  if (b === null) return;
  const messageId = sa.nextRequestId++;
  const datagrams = protect(ctx, sa, headerFor(sa, exchange, messageId, false), b.inner);
  const now = ctx.env.now();
  sa.pending = { messageId, exchange, datagrams, purpose: b.purpose, sentAt: now, nextAt: now + ctx.retransmit.baseMs, tries: 0 };
  sendDatagrams(ctx, sa, datagrams);
}

/** The window is free again (the response arrived and was handled): send the next queued request. */
export function nextQueued(ctx: V2Context, sa: IkeSaV2): void {
  while (!sa.pending && sa.queue.length > 0 && sa.state !== 'DEAD') {
    const q = sa.queue.shift()!;
    request(ctx, sa, q.exchange, q.build);
  }
}

/** Answers the peer's request and caches the answer for its retransmissions (§2.1). */
export function respond(ctx: V2Context, sa: IkeSaV2, exchange: number, messageId: number, inner: readonly Payload[]): void {
  const datagrams = protect(ctx, sa, headerFor(sa, exchange, messageId, true), inner);
  sa.lastResponse = { messageId, datagrams };
  sa.expectedRequestId = messageId + 1;
  sendDatagrams(ctx, sa, datagrams);
}
