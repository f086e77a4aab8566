// IKE_FOLLOWUP_KE (RFC 9370 §2.2.2): the additional key exchanges of a
// CREATE_CHILD_SA (IKE SA rekey, new or rekeyed child SA) that agreed ADDKE
// transforms, one exchange per transform in ADDKE order, over the IKE SA that
// carried the CREATE_CHILD_SA:
//   HDR(CREATE_CHILD_SA), SK {SA, Ni, KEi, ...}  -->
//                    <--  HDR(CREATE_CHILD_SA), SK {SA, Nr, KEr, N(ADDITIONAL_KEY_EXCHANGE)(link1), ...}
//   HDR(IKE_FOLLOWUP_KE), SK {KEi(1), N(ADDITIONAL_KEY_EXCHANGE)(link1)}  -->
//                    <--  HDR(IKE_FOLLOWUP_KE), SK {KEr(1), N(ADDITIONAL_KEY_EXCHANGE)(link2)}
//   ...                   the last response carries no link
// The link is an opaque blob of the responder's that ties each request to its
// CREATE_CHILD_SA (other exchanges may run in between). The new SA exists only
// once the last one completed; its keys take every shared secret (§2.2.4, see
// crypto/key-derivation.ts). Failures keep the old SA: a request whose link the
// responder does not know is answered STATE_NOT_FOUND and the initiator gives up
// that SA; a bad KE is INVALID_SYNTAX; a responder drops the state of a
// CREATE_CHILD_SA whose next IKE_FOLLOWUP_KE has not come within
// FOLLOWUP_TIMEOUT_MS (§2.2.2 suggests 5-20 s), and keeps at most
// MAX_FOLLOWUPS per IKE SA (more CREATE_CHILD_SAs get TEMPORARY_FAILURE).

import { wipe } from '../../crypto/secret.ts';
import { addKeMethodName } from '../../exchange/proposal-names.ts';
import { AddKeError, addKeLengths, answerAddKe, startAddKe } from '../crypto/additional-ke.ts';
import { ExchangeType, PayloadType } from '../wire/constants.ts';
import type { Message } from '../wire/message.ts';
import { notify } from '../wire/notify.ts';
import { isErrorNotify, NotifyType, notifyName } from '../wire/notify-types.ts';
import { firstOfType, payloadsOfType, type KePayload, type Payload } from '../wire/payloads.ts';
import type { V2Context } from './context.ts';
import { request, respond } from './messages.ts';
import type { ChosenAddKe } from './addke-proposals.ts';
import type { FollowupKe, IkeSaV2, RequestPurpose } from './state.ts';

/** §2.2.2: "a reasonable time (e.g. 5-20 seconds)" for the next IKE_FOLLOWUP_KE request. */
export const FOLLOWUP_TIMEOUT_MS = 20_000;
/** CREATE_CHILD_SAs of the peer waiting for their IKE_FOLLOWUP_KE exchanges, per IKE SA. */
export const MAX_FOLLOWUPS = 4;
/** Our link blob; a peer's may be 1..MAX_LINK bytes (we echo it, so it is bounded). */
export const LINK_LENGTH = 8;
export const MAX_LINK = 64;

type FollowupPurpose = Extract<RequestPurpose, { kind: 'followup-ke' }>;

/** The ADDITIONAL_KEY_EXCHANGE link of a message, or null (absent, empty or oversized). */
export function followupLink(inner: readonly Payload[]): Buffer | null {
  const n = payloadsOfType(inner, PayloadType.NOTIFY).find((p) => p.notifyType === NotifyType.ADDITIONAL_KEY_EXCHANGE);
  return n && n.data.length >= 1 && n.data.length <= MAX_LINK ? Buffer.from(n.data) : null;
}

export const linkNotify = (link: Buffer): Payload => notify(NotifyType.ADDITIONAL_KEY_EXCHANGE, link);

/** Why a KE payload is not the one of this exchange, or null when it is. */
export function keProblem(ke: KePayload | undefined, id: number, length: number): string | null {
  if (!ke) return 'no KE payload';
  if (ke.group !== id) return `KE of method ${addKeMethodName(ke.group)}, negotiated ${addKeMethodName(id)}`;
  if (ke.data.length !== length) return `${addKeMethodName(id)} KE data is ${ke.data.length} bytes, expected ${length}`;
  return null;
}

const lowest = (nonces: readonly Buffer[]): Buffer => nonces.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));

/** The initiator's IKE_FOLLOWUP_KE in flight on `sa` for an IKE SA rekey, if any. */
function ourIkeFollowup(sa: IkeSaV2): FollowupKe | undefined {
  const p = sa.pending?.purpose;
  return p?.kind === 'followup-ke' && p.f.kind === 'ike' && !p.f.abandoned ? p.f : undefined;
}

/** Our own rekey of this IKE SA is under way (its CREATE_CHILD_SA or its IKE_FOLLOWUP_KE). */
export const ourRekeyInFlight = (sa: IkeSaV2): boolean => sa.pending?.purpose.kind === 'rekey-ike' || ourIkeFollowup(sa) !== undefined;

/** Why an exchange stops when the IKE SA carrying it is removed. */
export const SA_GONE = 'the IKE SA is gone';

/** Why the redundant exchange of a collision stops (its abort must not restart a rekey). */
export const LOST_COLLISION = 'lost the simultaneous rekey';

/**
 * RFC 7296 §2.8.2 with RFC 9370 §2.2.2: both ends rekeyed this IKE SA with
 * additional key exchanges. Once both CREATE_CHILD_SAs are done each end knows
 * the four nonces; the exchange holding the lowest is redundant and, since its
 * SA does not exist yet, simply does not continue (what strongSwan does): its
 * initiator stops, its responder forgets the state. `mine` is our exchange when
 * its IKE_FOLLOWUP_KE has not been sent yet. True when `mine` may go on.
 */
export function settleIkeCollision(ctx: V2Context, sa: IkeSaV2, mine: FollowupKe | undefined = ourIkeFollowup(sa)): boolean {
  const theirs = sa.followups?.find((f) => f.kind === 'ike');
  if (!mine || !theirs) return true;
  const oursLoses = Buffer.compare(lowest(mine.nonces), lowest(theirs.nonces)) <= 0;
  ctx.log(
    'info',
    sa,
    'main',
    'REKEY',
    `simultaneous IKE SA rekey with additional key exchanges (RFC 7296 §2.8.2, RFC 9370 §2.2.2): the lowest nonce is in ` +
      `${oursLoses ? 'ours, which stops before its IKE_FOLLOWUP_KE' : "the peer's, whose IKE_FOLLOWUP_KE state we drop"}`,
  );
  if (oursLoses) {
    mine.abandoned = true;
    mine.abort(LOST_COLLISION);
    return false;
  }
  sa.followups = sa.followups!.filter((f) => f !== theirs);
  theirs.abort(LOST_COLLISION);
  return true;
}

/** Initiator: the next IKE_FOLLOWUP_KE request of `f` (the first right after the CREATE_CHILD_SA response). */
export function sendFollowup(ctx: V2Context, sa: IkeSaV2, f: FollowupKe): void {
  request(ctx, sa, ExchangeType.IKE_FOLLOWUP_KE, () => {
    if (f.abandoned) return null;
    if (sa.state !== 'ESTABLISHED') {
      f.abort('the IKE SA is going away');
      return null;
    }
    const next = f.pending[0]!;
    const ke = startAddKe(next.id, ctx.env.random);
    ctx.log('info', sa, 'main', 'IKE_FOLLOWUP_KE', `${f.what}: additional key exchange ${next.slot} (${addKeMethodName(next.id)}) requested`, {
      direction: 'out',
    });
    return { inner: [{ type: PayloadType.KE, group: next.id, data: ke.data }, linkNotify(f.link)], purpose: { kind: 'followup-ke', f, ke } };
  });
}

/** Initiator: the IKE_FOLLOWUP_KE response. Returns the new IKE SA once an IKE SA rekey completes. */
export function handleFollowupResponse(ctx: V2Context, sa: IkeSaV2, inner: readonly Payload[], p: FollowupPurpose): IkeSaV2 | null {
  const { f, ke } = p;
  if (f.abandoned) {
    ke.wipe();
    return null;
  }
  const next = f.pending[0]!;
  const stop = (why: string): null => {
    ke.wipe();
    f.abort(why);
    return null;
  };
  const err = payloadsOfType(inner, PayloadType.NOTIFY).find((n) => isErrorNotify(n.notifyType));
  if (err) return stop(`IKE_FOLLOWUP_KE answered ${notifyName(err.notifyType)}`);
  const kePayload = firstOfType(inner, PayloadType.KE);
  const problem = keProblem(kePayload, next.id, addKeLengths(next.id)!.response);
  if (problem) return stop(`IKE_FOLLOWUP_KE response: ${problem}`);
  let secret: Buffer;
  try {
    secret = ke.complete(kePayload!.data);
  } catch (e) {
    if (!(e instanceof AddKeError)) throw e;
    return stop(`IKE_FOLLOWUP_KE response: invalid ${addKeMethodName(next.id)} data: ${e.message}`);
  } finally {
    ke.wipe();
  }
  f.secrets.push(secret);
  f.done.push(f.pending.shift()!);
  ctx.log('info', sa, 'main', 'IKE_FOLLOWUP_KE', `${f.what}: additional key exchange ${next.slot} (${addKeMethodName(next.id)}) done`, {
    direction: 'in',
  });
  if (f.pending.length === 0) return f.finish(f.secrets);
  const link = followupLink(inner);
  if (!link) {
    f.abort('IKE_FOLLOWUP_KE response without the ADDITIONAL_KEY_EXCHANGE link of the next exchange');
    return null;
  }
  f.link = link;
  sendFollowup(ctx, sa, f);
  return null;
}

/** Responder: keeps `f` until its IKE_FOLLOWUP_KE requests come (the CREATE_CHILD_SA response carried f.link). */
export function awaitFollowups(ctx: V2Context, sa: IkeSaV2, f: FollowupKe): void {
  f.expiresAt = ctx.env.now() + FOLLOWUP_TIMEOUT_MS;
  (sa.followups ??= []).push(f);
  if (f.kind === 'ike') settleIkeCollision(ctx, sa);
}

/** Responder: room for one more CREATE_CHILD_SA with additional key exchanges on `sa`. */
export const followupRoom = (sa: IkeSaV2): boolean => (sa.followups?.length ?? 0) < MAX_FOLLOWUPS;

/** A fresh link blob for the responder's next exchange. */
export const newLink = (ctx: V2Context): Buffer => ctx.env.random(LINK_LENGTH);

/** Responder: one IKE_FOLLOWUP_KE request. Returns the new IKE SA once an IKE SA rekey completes. */
export function respondFollowup(ctx: V2Context, sa: IkeSaV2, m: Message, inner: readonly Payload[]): IkeSaV2 | null {
  const answer = (out: Payload[]): void => respond(ctx, sa, ExchangeType.IKE_FOLLOWUP_KE, m.header.messageId, out);
  const link = followupLink(inner);
  const f = link ? sa.followups?.find((x) => x.link.equals(link)) : undefined;
  if (!f) {
    // §2.2.2: unknown (timed out, lost a collision, or never ours): the initiator gives that SA up.
    ctx.log('info', sa, 'main', 'IKE_FOLLOWUP_KE', 'STATE_NOT_FOUND: no CREATE_CHILD_SA waits for this link', { direction: 'out' });
    answer([notify(NotifyType.STATE_NOT_FOUND)]);
    return null;
  }
  const next = f.pending[0]!;
  const drop = (why: string): null => {
    sa.followups = sa.followups!.filter((x) => x !== f);
    ctx.log('warning', sa, 'main', 'IKE_FOLLOWUP_KE', `INVALID_SYNTAX: ${why}`, { direction: 'out' });
    answer([notify(NotifyType.INVALID_SYNTAX)]);
    f.abort(why);
    return null;
  };
  const ke = firstOfType(inner, PayloadType.KE);
  const problem = keProblem(ke, next.id, addKeLengths(next.id)!.request);
  if (problem) return drop(problem);
  let r: { data: Buffer; secret: Buffer };
  try {
    r = answerAddKe(next.id, ke!.data, ctx.env.random);
  } catch (e) {
    if (!(e instanceof AddKeError)) throw e;
    return drop(`invalid ${addKeMethodName(next.id)} data: ${e.message}`);
  }
  f.secrets.push(r.secret);
  f.done.push(f.pending.shift()!);
  const out: Payload[] = [{ type: PayloadType.KE, group: next.id, data: r.data }];
  ctx.log('info', sa, 'main', 'IKE_FOLLOWUP_KE', `${f.what}: additional key exchange ${next.slot} (${addKeMethodName(next.id)}) done`, {
    direction: 'out',
  });
  if (f.pending.length > 0) {
    f.link = newLink(ctx);
    f.expiresAt = ctx.env.now() + FOLLOWUP_TIMEOUT_MS;
    answer([...out, linkNotify(f.link)]);
    return null;
  }
  sa.followups = sa.followups!.filter((x) => x !== f);
  // The SA goes in before the last answer leaves (the initiator installs and sends on it at once).
  const done = f.finish(f.secrets);
  answer(out);
  return done;
}

/** Responder: drops the states whose next request is overdue (tick). */
export function expireFollowups(ctx: V2Context, sa: IkeSaV2, now: number): void {
  if (!sa.followups?.length) return;
  const late = sa.followups.filter((f) => now >= f.expiresAt);
  if (late.length === 0) return;
  sa.followups = sa.followups.filter((f) => now < f.expiresAt);
  for (const f of late) f.abort(`no IKE_FOLLOWUP_KE within ${FOLLOWUP_TIMEOUT_MS / 1000} s`);
}

/** The SA goes: every CREATE_CHILD_SA still waiting for additional key exchanges ends without its SA. */
export function abortFollowups(sa: IkeSaV2, why: string): void {
  const all = sa.followups ?? [];
  sa.followups = [];
  for (const f of all) f.abort(why);
  const p = sa.pending?.purpose;
  if (p?.kind === 'followup-ke' && !p.f.abandoned) {
    p.f.abandoned = true;
    p.ke.wipe();
    p.f.abort(why);
  }
}

/**
 * A follow-up state right after its CREATE_CHILD_SA (RFC 9370 §2.2.2): SK(0) in, every agreed
 * additional exchange still to run. Its abort wipes the secrets so far, then runs `onAbort`.
 */
export function newFollowup(o: {
  kind: FollowupKe['kind'];
  what: string;
  nonces: [Buffer, Buffer];
  sk0: Buffer;
  addKe: readonly ChosenAddKe[];
  link: Buffer;
  finish: FollowupKe['finish'];
  onAbort: (why: string, f: FollowupKe) => void;
}): FollowupKe {
  const f: FollowupKe = {
    kind: o.kind,
    what: o.what,
    nonces: o.nonces,
    secrets: [o.sk0],
    pending: [...o.addKe],
    done: [],
    link: o.link,
    expiresAt: 0,
    abandoned: false,
    finish: o.finish,
    abort: (why) => {
      wipeFollowup(f);
      o.onAbort(why, f);
    },
  };
  return f;
}

/** Common part of every abort: the secrets so far are wiped. */
export function wipeFollowup(f: FollowupKe): void {
  wipe(...f.secrets);
  f.secrets.length = 0;
}
