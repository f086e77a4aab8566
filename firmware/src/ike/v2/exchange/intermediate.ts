// IKE_INTERMEDIATE exchanges (RFC 9242) carrying RFC 9370 additional key
// exchanges between IKE_SA_INIT and IKE_AUTH, one per negotiated ADDKE
// transform, in ADDKE order (§2.2.2):
//   HDR, SK {KEi(n)}  -->
//                <--  HDR, SK {KEr(n)}
// Each exchange is protected by the keys of the previous step; when it
// completes both sides derive the next generation of SK_* (multiple-ke.ts) and
// extend the IntAuth chain that IKE_AUTH's AUTH covers (RFC 9242 §3.3). A KE
// payload of another method or length, or data failing the method's checks,
// is INVALID_SYNTAX and ends the half-open SA. ML-KEM-768/1024 KE payloads
// exceed 1 KB: messages.ts fragments them (RFC 7383) when the peer does.

import { wipe } from '../../crypto/secret.ts';
import { addKeMethodName } from '../../exchange/proposal-names.ts';
import { AddKeError, addKeLengths, answerAddKe, startAddKe } from '../crypto/additional-ke.ts';
import { intAuthA, intAuthOctets, nextIntAuth, updateKeysAfterAddKe } from '../crypto/multiple-ke.ts';
import { ExchangeType, PayloadType } from '../wire/constants.ts';
import type { HeaderFields, Message } from '../wire/message.ts';
import { notify } from '../wire/notify.ts';
import { isErrorNotify, NotifyType, notifyName } from '../wire/notify-types.ts';
import { encodePayloads } from '../wire/payload-chain.ts';
import { firstOfType, payloadsOfType, type Payload } from '../wire/payloads.ts';
import { keProblem } from './followup-ke.ts';
import { initiateAuth } from './auth.ts';
import type { V2Context } from './context.ts';
import { newIntermediate } from './intermediate-state.ts';
import { headerFor, request, respond } from './messages.ts';
import type { IkeSaV2 } from './state.ts';

/** After IKE_SA_INIT (both roles): the IKE_INTERMEDIATE exchanges this SA will run, if any. */
export function planIntermediate(sa: IkeSaV2): void {
  sa.intermediate = sa.suite && sa.suite.addKe.length > 0 ? newIntermediate(sa.suite.addKe) : null;
}

/** RFC 9242 §3.3.1 IntAuth_*_A from a message's header: the same whether it was sent whole or in fragments. */
function aOf(header: HeaderFields): (first: number, length: number) => Buffer {
  const { spiI, spiR, exchange, flags, messageId } = header;
  return (first, length) => intAuthA({ spiI, spiR, exchange, flags, messageId }, first, length);
}

type Side = 'i' | 'r';

/** Extends IntAuth_i (requests) or IntAuth_r (responses) with one message, under the SK_p in force. */
function chain(sa: IkeSaV2, side: Side, inner: readonly Payload[], a: (first: number, length: number) => Buffer): void {
  const st = sa.intermediate!;
  const p = encodePayloads(inner);
  const prev = side === 'i' ? st.intAuthI : st.intAuthR;
  const next = nextIntAuth(sa.suite!.prf, side === 'i' ? sa.keys!.pi : sa.keys!.pr, prev, a(p.first, p.bytes.length), p.bytes);
  wipe(p.bytes, prev);
  if (side === 'i') st.intAuthI = next;
  else st.intAuthR = next;
}

/** RFC 9370 §2.2.2: the n-th shared secret replaces SK_* (after the exchange that carried it). */
function rekeyWith(sa: IkeSaV2, secret: Buffer): void {
  const s = sa.suite!;
  const { ni, nr, spiI, spiR } = sa;
  sa.keys = updateKeysAfterAddKe({ prf: s.prf, encr: s.encr, integ: s.integ, keys: sa.keys!, secret, ni, nr, spiI, spiR });
}

/**
 * Initiator, after IKE_SA_INIT or an IKE_INTERMEDIATE response: the next
 * additional key exchange, or IKE_AUTH once all are done. False when the SA failed.
 */
export function continueAfterInit(ctx: V2Context, sa: IkeSaV2): boolean {
  const st = sa.intermediate;
  if (!st || st.pending.length === 0) {
    // The IKE_AUTH request takes the next Message ID at once: the window is free here.
    if (st) st.authMessageId = sa.nextRequestId;
    return initiateAuth(ctx, sa);
  }
  const next = st.pending[0]!;
  let inner: Payload[] = [];
  request(ctx, sa, ExchangeType.IKE_INTERMEDIATE, () => {
    st.inFlight?.wipe();
    st.inFlight = startAddKe(next.id, ctx.env.random);
    inner = [{ type: PayloadType.KE, group: next.id, data: st.inFlight.data }];
    return { inner, purpose: { kind: 'intermediate' } };
  });
  const header = headerFor(sa, ExchangeType.IKE_INTERMEDIATE, sa.pending!.messageId, false);
  chain(sa, 'i', inner, aOf(header));
  ctx.log('info', sa, 'main', 'IKE_INTERMEDIATE', `request sent: additional key exchange ${next.slot} (${addKeMethodName(next.id)})`, {
    direction: 'out',
  });
  return true;
}

/**
 * Responder: one IKE_INTERMEDIATE request. Returns false when the SA failed
 * (INVALID_SYNTAX was answered; the caller forgets the SA).
 */
export function respondIntermediate(ctx: V2Context, sa: IkeSaV2, m: Message, inner: readonly Payload[]): boolean {
  const st = sa.intermediate!;
  const next = st.pending[0]!;
  chain(sa, 'i', inner, aOf(m.header));
  const refuse = (why: string): false => {
    respond(ctx, sa, ExchangeType.IKE_INTERMEDIATE, m.header.messageId, [notify(NotifyType.INVALID_SYNTAX)]);
    ctx.fail(sa, 'main', 'invalid-message', `IKE_INTERMEDIATE: ${why}`);
    return false;
  };
  const problem = keProblem(firstOfType(inner, PayloadType.KE), next.id, addKeLengths(next.id)!.request);
  if (problem) return refuse(problem);
  let answer: { data: Buffer; secret: Buffer };
  try {
    answer = answerAddKe(next.id, firstOfType(inner, PayloadType.KE)!.data, ctx.env.random);
  } catch (e) {
    if (!(e instanceof AddKeError)) throw e;
    return refuse(`invalid ${addKeMethodName(next.id)} data: ${e.message}`);
  }
  const out: Payload[] = [{ type: PayloadType.KE, group: next.id, data: answer.data }];
  respond(ctx, sa, ExchangeType.IKE_INTERMEDIATE, m.header.messageId, out);
  const header = headerFor(sa, ExchangeType.IKE_INTERMEDIATE, m.header.messageId, true);
  chain(sa, 'r', out, aOf(header));
  rekeyWith(sa, answer.secret);
  st.done.push(st.pending.shift()!);
  ctx.log('info', sa, 'main', 'IKE_INTERMEDIATE', `additional key exchange ${next.slot} (${addKeMethodName(next.id)}) done, keys updated`, {
    direction: 'out',
  });
  return true;
}

/** Initiator: the IKE_INTERMEDIATE response. False when the SA failed. */
export function handleIntermediateResponse(ctx: V2Context, sa: IkeSaV2, m: Message, inner: readonly Payload[]): boolean {
  const st = sa.intermediate!;
  const next = st.pending[0]!;
  const err = payloadsOfType(inner, PayloadType.NOTIFY).find((n) => isErrorNotify(n.notifyType));
  if (err) {
    ctx.fail(sa, 'main', 'invalid-message', `IKE_INTERMEDIATE refused: ${notifyName(err.notifyType)}`);
    return false;
  }
  chain(sa, 'r', inner, aOf(m.header));
  const ke = firstOfType(inner, PayloadType.KE);
  const problem = keProblem(ke, next.id, addKeLengths(next.id)!.response);
  if (problem || !ke || !st.inFlight) {
    ctx.fail(sa, 'main', 'invalid-message', `IKE_INTERMEDIATE response: ${problem ?? 'no exchange in flight'}`);
    return false;
  }
  let secret: Buffer;
  try {
    secret = st.inFlight.complete(ke.data);
  } catch (e) {
    if (!(e instanceof AddKeError)) throw e;
    ctx.fail(sa, 'main', 'invalid-message', `IKE_INTERMEDIATE response: invalid ${addKeMethodName(next.id)} data: ${e.message}`);
    return false;
  } finally {
    st.inFlight.wipe();
    st.inFlight = null;
  }
  rekeyWith(sa, secret);
  st.done.push(st.pending.shift()!);
  ctx.log('info', sa, 'main', 'IKE_INTERMEDIATE', `response: additional key exchange ${next.slot} (${addKeMethodName(next.id)}) done, keys updated`, {
    direction: 'in',
  });
  return true;
}

/** What AUTH covers after MACedIDFor[I|R] (RFC 9242 §3.3.2), or undefined without IKE_INTERMEDIATE. */
export function intAuthOf(sa: IkeSaV2): Buffer | undefined {
  const st = sa.intermediate;
  return st && st.done.length > 0 ? intAuthOctets(st.intAuthI, st.intAuthR, st.authMessageId) : undefined;
}

/** Whether IKE_AUTH may start: every negotiated additional key exchange is done. */
export function intermediateDone(sa: IkeSaV2): boolean {
  return !sa.intermediate || sa.intermediate.pending.length === 0;
}

/** RFC 9242 §3.1: both sides announce IKE_INTERMEDIATE in IKE_SA_INIT. */
export function intermediateSupported(payloads: readonly Payload[]): boolean {
  return payloadsOfType(payloads, PayloadType.NOTIFY).some((n) => n.notifyType === NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED);
}

