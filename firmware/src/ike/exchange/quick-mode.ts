// Quick mode, RFC 2409 §5.5, negotiating one pair of ESP tunnel-mode SAs
// between two subnets (client IDs IDci/IDcr), optional PFS (KE), and the
// RESPONDER-LIFETIME notify of RFC 2407 §4.6.3.1:
//   QM1 I->R  HASH(1) SA Ni [KE] IDci IDcr
//   QM2 R->I  HASH(2) SA Nr [KE] IDci IDcr [N(RESPONDER-LIFETIME)]
//   QM3 I->R  HASH(3)
// The resulting SA pair is keyed and installed by child-sa.ts. As responder, a
// QM1 whose client IDs match no tunnel exactly may still be answered under the
// default response rule (narrower selectors, see selector-match.ts).

import { transmit } from '../common/send-path.ts';
import { dhGroupById, type DhKeyPair } from '../crypto/dh.ts';
import { quickModeHash1, quickModeHash2, quickModeHash3 } from '../crypto/exchange-hash.ts';
import { constantTimeEqual, wipe } from '../crypto/secret.ts';
import {
  ExchangeType,
  IpsecAttr,
  LifeType,
  NotifyType,
  PayloadType,
  ProtocolId,
  attributeInteger,
  decodeAttributes,
  encodePayloads,
  lifetimeAttributes,
  notify,
  payloadsOfType,
  quickModeRest,
  trafficSelector,
  withHash,
  writeAttributes,
  attributesLength,
  type EncryptedMessage,
  type IdPayload,
  type Payload,
} from '../wire/index.ts';
import type { ExchangeContext } from './context.ts';
import { quickFailureOfNotify, type FailureExtra } from './failure.ts';
import { fail, type Failure } from './fail.ts';
import { quickModeConfigLines } from '../common/config-lines.ts';
import { groupName, phase2OfferNames, tunnelMethodNames } from './proposal-names.ts';
import { describeIdentity, sameIdPayload } from './identity.ts';
import { notifyName, sendInformational } from './informational.ts';
import {
  mainModeConfirmed,
  udpEncapsulated,
  type EstablishedSa,
  type IsakmpSa,
  type PendingQuickMode,
  type QuickModeDone,
  type QuickModeExchange,
  type QuickModeInitiating,
  type QuickModeResponding,
} from './isakmp-sa.ts';
import { NONCE_LENGTH } from './main-mode.ts';
import { ownCopy } from '../common/own-buffer.ts';
import { choosePhase2, encapsulationMode, phase2Offer, verifyPhase2Reply } from './proposals.ts';
import { Retransmit } from './retransmit.ts';
import { cidrPrefix, formatPrefix, matchDefaultResponse, samePrefix } from './selector-match.ts';
import { completePair, dropPreinstalledInbound, installInbound } from './child-sa.ts';
import { decryptMessage, encryptMessage, restAfterHash } from './secure-message.ts';
import type { EspMethod, TunnelPolicy } from './types.ts';

/** How long a finished quick mode is kept to answer a retransmitted QM2 again. */
export const QM_LINGER_MS = 30_000;

/** RFC 4303 §2.1: SPIs 1..255 are reserved. */
function newSpi(ctx: ExchangeContext): Buffer {
  for (;;) {
    const s = ctx.env.random(4);
    if (s.readUInt32BE(0) > 255) return s;
  }
}

function newMessageId(ctx: ExchangeContext, sa: IsakmpSa): number {
  for (;;) {
    const id = ctx.env.random(4).readUInt32BE(0);
    if (id !== 0 && !sa.quick.has(id) && !sa.infoSeen.has(id)) return id;
  }
}

function ids(t: TunnelPolicy, role: 'initiator' | 'responder'): { initiator: IdPayload; responder: IdPayload } {
  const local = trafficSelector(t.local, t.ports?.protocol ?? 0, t.ports?.localPort ?? 0);
  const remote = trafficSelector(t.remote, t.ports?.protocol ?? 0, t.ports?.remotePort ?? 0);
  return role === 'initiator' ? { initiator: local, responder: remote } : { initiator: remote, responder: local };
}

/** The quick mode fail path (fail.ts): `qm` null for a QM1 refused before its exchange existed. */
function failQuick(ctx: ExchangeContext, sa: IsakmpSa, qm: QuickModeExchange | null, messageId: number, f: Failure): void {
  fail(ctx, { phase: 'quick', sa, qm, messageId }, f);
}

/**
 * The peer refused a pending quick mode with an authenticated error notify
 * (informational.ts refusedQuickMode): it fails at once, not when retransmission
 * gives up. Ours (QM1 sent): the reason is the notify's, and `explain` names the
 * filter and the action's methods and PFS, since the peer's refusal does not say
 * which of them it objects to. One we answered (QM2 sent): its pre-installed
 * inbound SA is deleted at once.
 */
export function peerRefusedQuickMode(ctx: ExchangeContext, sa: IsakmpSa, messageId: number, notifyType: number): void {
  const qm = sa.quick.get(messageId);
  if (!qm) return;
  const code = quickFailureOfNotify(notifyType);
  if (qm.role === 'responder' && qm.state === 'QM2_SENT') {
    failQuick(ctx, sa, qm, messageId, { code: 'peer-notify', peerNotify: notifyType, reason: `peer refused our QM2 with ${notifyName(notifyType)}` });
    return;
  }
  if (qm.role !== 'initiator' || qm.state !== 'QM1_SENT') return;
  const t = qm.tunnel;
  const pfs = groupName(t.pfsGroup);
  const what =
    code === 'ts-mismatch'
      ? `its policy has no tunnel for ${t.local} <-> ${t.remote}`
      : `it accepts none of our ESP methods (${t.methods.map((m) => m.esp).join(', ')}) ` +
        `with ${pfs ? `PFS ${pfs}` : 'no PFS'}, or refuses an attribute of them`;
  const reason = `peer sent ${notifyName(notifyType)}`;
  failQuick(ctx, sa, qm, messageId, {
    code: 'peer-notify',
    peerNotify: notifyType,
    reason,
    extra: {
      detail: `${reason}: ${what}`,
      offeredPfs: pfs,
      configLines: quickModeConfigLines(t),
      ...(code === 'ts-mismatch' ? { offeredSelectors: [{ local: t.local, remote: t.remote }] } : {}),
    },
  });
}

export function initiateQuickMode(ctx: ExchangeContext, sa: EstablishedSa, tunnel: TunnelPolicy, rekeyOf?: number): void {
  const k = sa.mm;
  const messageId = newMessageId(ctx, sa);
  const inSpi = newSpi(ctx);
  const ni = ctx.env.random(NONCE_LENGTH);
  const udp = udpEncapsulated(sa);
  const offer = phase2Offer(inSpi, tunnel.methods, encapsulationMode(udp, sa.natFlavour ?? 'rfc'), tunnel.pfsGroup);
  let dh: DhKeyPair | null = null;
  if (tunnel.pfsGroup !== null) {
    const g = dhGroupById(tunnel.pfsGroup);
    if (!g) return failQuick(ctx, sa, null, messageId, { code: 'pfs-unsupported', reason: `PFS group ${groupName(tunnel.pfsGroup)} unsupported` });
    dh = g.generate(ctx.env.random);
  }
  const rest = quickModeRest({ proposals: [offer], nonce: ni, ...(dh ? { ke: dh.publicKey } : {}), ids: ids(tunnel, 'initiator') });
  const h1 = quickModeHash1(k.suite.hash, k.keys.skeyidA, messageId, encodePayloads(rest).bytes);
  const qm: QuickModeInitiating = {
    messageId,
    role: 'initiator',
    state: 'QM1_SENT',
    tunnel,
    inSpi,
    ni,
    offer,
    retransmit: new Retransmit(ctx.retransmit),
    dh,
    rekeyOf: rekeyOf ?? null,
  };
  sa.quick.set(messageId, qm);
  sa.quickModes++;
  const data = encryptMessage(k.crypto, sa, ExchangeType.QUICK, messageId, withHash(h1, rest));
  ctx.log('info', sa, 'quick', 'QM1', `${rekeyOf !== undefined ? 'rekeying' : 'negotiating'} ${tunnel.local} <-> ${tunnel.remote}`, {
    spi: inSpi.toString('hex'),
    tunnel: tunnel.name,
  });
  sendQuick(ctx, sa, qm, data, true);
}

/** Quick mode messages go through the one send path, remembered by the exchange's own retransmission. */
function sendQuick(ctx: ExchangeContext, sa: IsakmpSa, qm: QuickModeExchange, data: Buffer, expectReply: boolean): void {
  ctx.send(sa, data, expectReply, qm.retransmit);
}

function idPair(payloads: readonly Payload[]): { initiator: IdPayload; responder: IdPayload } | null {
  const list = payloadsOfType(payloads, PayloadType.ID);
  if (list.length === 0) return null;
  const [initiator, responder] = list;
  return list.length === 2 && initiator && responder ? { initiator, responder } : null;
}

/**
 * The tunnel answering a QM1 with client IDs `theirIds`. The peer's IDci is our remote
 * subnet, its IDcr our local one (RFC 2409 §5.5). An exact match always wins. Failing
 * that, the default response rule (filter action `default-response`): a tunnel with
 * `defaultResponse` whose subnets contain the peer's IDs answers with its own methods
 * and PFS, keyed for exactly the peer's IDs (a derived policy, so the install actions
 * carry the narrowed selectors and the engine's most specific outbound SA is this one).
 */
function responderTunnel(tunnels: readonly TunnelPolicy[], theirIds: { initiator: IdPayload; responder: IdPayload }): TunnelPolicy | undefined {
  const exact = tunnels.find((t) => {
    const mine = ids(t, 'responder');
    return sameIdPayload(mine.initiator, theirIds.initiator) && sameIdPayload(mine.responder, theirIds.responder);
  });
  if (exact) return exact;
  const m = matchDefaultResponse(tunnels, theirIds.initiator, theirIds.responder);
  if (!m) return undefined;
  const local = formatPrefix(m.local);
  const remote = formatPrefix(m.remote);
  // The same subnets in another encoding (e.g. an address ID for a /32 tunnel): the tunnel itself.
  const ourLocal = cidrPrefix(m.tunnel.local);
  const ourRemote = cidrPrefix(m.tunnel.remote);
  if (ourLocal && ourRemote && samePrefix(ourLocal, m.local) && samePrefix(ourRemote, m.remote)) return m.tunnel;
  return { ...m.tunnel, name: `${m.tunnel.name}~${remote}`, local, remote };
}

/** CIDR text of a quick mode ID (failure records). */
function selectorText(p: IdPayload): string {
  const id = p.id;
  if ('mask' in id) {
    const bits = id.mask.includes(':')
      ? id.mask.split(':').reduce((n, g) => n + (g === '' ? 0 : parseInt(g, 16).toString(2).replace(/0/g, '').length), 0)
      : id.mask.split('.').reduce((n, o) => n + Number(o).toString(2).replace(/0/g, '').length, 0);
    return `${id.address}/${bits}`;
  }
  return describeIdentity(id);
}

/** RESPONDER-LIFETIME data: life type/duration attributes (RFC 2407 §4.6.3.1). */
function responderLifetimeNotify(spi: Buffer, seconds: number, kilobytes: number): Payload {
  const attrs = lifetimeAttributes(IpsecAttr.SA_LIFE_TYPE, IpsecAttr.SA_LIFE_DURATION, [
    { type: LifeType.SECONDS, duration: seconds },
    { type: LifeType.KILOBYTES, duration: kilobytes },
  ]);
  const data = Buffer.alloc(attributesLength(attrs));
  writeAttributes(data, 0, attrs);
  return notify(NotifyType.RESPONDER_LIFETIME, ProtocolId.ESP, spi, data);
}

function applyResponderLifetime(payloads: readonly Payload[], p: { lifetimeSeconds: number; lifetimeKilobytes: number }): void {
  for (const n of payloadsOfType(payloads, PayloadType.NOTIFY)) {
    if (n.notifyType !== NotifyType.RESPONDER_LIFETIME) continue;
    const attrs = decodeAttributes(n.data, 0);
    if (!attrs.ok) continue;
    let type: number | null = null;
    for (const a of attrs.value) {
      if (a.type === IpsecAttr.SA_LIFE_TYPE) type = attributeInteger(a);
      else if (a.type === IpsecAttr.SA_LIFE_DURATION) {
        const v = attributeInteger(a);
        if (v === null) continue;
        if (type === LifeType.SECONDS) p.lifetimeSeconds = Math.min(p.lifetimeSeconds, v);
        if (type === LifeType.KILOBYTES) p.lifetimeKilobytes = Math.min(p.lifetimeKilobytes, v);
      }
    }
  }
}

/** What a quick mode handler decided: our next message (sent through the exchange's
 * retransmission), a drop, or a failure of the exchange (fail.ts). */
export type QuickOutcome =
  | {
      kind: 'next';
      send: { data: Buffer; expectReply: boolean; via: QuickModeExchange } | null;
      /** Runs once the message is out: installing the pair (and deleting the pair it
       * replaces) comes after our QM3, as the peer expects QM3 before that Delete. */
      afterSend: (() => void) | null;
    }
  | { kind: 'drop'; code: QuickDropCode; why: string }
  | { kind: 'fail'; qm: QuickModeExchange | null; failure: Failure };

export type QuickDropCode =
  /** HASH(1)/(2)/(3) does not verify (RFC 2409 §5.5): counted as malformed. */
  | 'hash-mismatch'
  /** The exchange is finished (its duplicates are answered before dispatch). */
  | 'after-done'
  /** The state belongs to the other role. */
  | 'other-role'
  /** The exchange changed state between lookup and handling. */
  | 'wrong-state';

/** What every quick mode handler gets: the decrypted payloads, the bytes HASH covers and the HASH itself. */
interface QuickInput {
  messageId: number;
  payloads: Payload[];
  rest: Buffer;
  hash: Buffer;
  raw: Buffer;
}

type QuickState = QuickModeExchange['state'];
interface QuickHandler {
  kind: 'handler';
  state: QuickState;
  run(ctx: ExchangeContext, sa: EstablishedSa, qm: QuickModeExchange, x: QuickInput): QuickOutcome;
}
type QuickRefusal = { kind: 'refusal'; code: QuickDropCode; why: string };
type QuickEntry = QuickHandler | QuickRefusal;

function onQuick<S extends QuickState>(
  state: S,
  handle: (ctx: ExchangeContext, sa: EstablishedSa, qm: Extract<QuickModeExchange, { state: S }>, x: QuickInput) => QuickOutcome,
): QuickHandler {
  const inState = (q: QuickModeExchange): q is Extract<QuickModeExchange, { state: S }> => q.state === state;
  return {
    kind: 'handler',
    state,
    run: (ctx, sa, qm, x) => {
      if (inState(qm)) return handle(ctx, sa, qm, x);
      return { kind: 'drop', code: 'wrong-state', why: `handler for ${state} in ${qm.state}` };
    },
  };
}

const refuseQuick = (code: QuickDropCode, why: string): QuickRefusal => ({ kind: 'refusal', code, why });
const hashMismatch = (step: string): QuickOutcome => ({ kind: 'drop', code: 'hash-mismatch', why: step });
const failedQuick = (qm: QuickModeExchange | null, failure: Failure): QuickOutcome => ({ kind: 'fail', qm, failure });

/** Responder, no exchange yet: QM1 (HASH(1)) -> QM2. */
function responderQm1(ctx: ExchangeContext, sa: EstablishedSa, x: QuickInput): QuickOutcome {
  const k = sa.mm;
  if (!constantTimeEqual(quickModeHash1(k.suite.hash, k.keys.skeyidA, x.messageId, x.rest), x.hash)) return hashMismatch('QM1');
  sa.lastHeard = ctx.env.now();
  mainModeConfirmed(sa);
  return respond(ctx, sa, x.messageId, x.payloads, x.raw);
}

/** Initiator in QM1_SENT: QM2 (HASH(2)) -> QM3, both SAs installed. */
function initiatorQm2(ctx: ExchangeContext, sa: EstablishedSa, qm: QuickModeInitiating, x: QuickInput): QuickOutcome {
  const k = sa.mm;
  if (!constantTimeEqual(quickModeHash2(k.suite.hash, k.keys.skeyidA, x.messageId, qm.ni, x.rest), x.hash)) return hashMismatch('QM2');
  sa.lastHeard = ctx.env.now();
  mainModeConfirmed(sa);
  return finishInitiator(ctx, sa, qm, x.payloads, x.raw);
}

/** Responder in QM2_SENT: QM3 (HASH(3)) -> the outbound SA (the inbound one went in with QM2). */
function responderQm3(ctx: ExchangeContext, sa: EstablishedSa, qm: QuickModeResponding, x: QuickInput): QuickOutcome {
  const k = sa.mm;
  if (!constantTimeEqual(quickModeHash3(k.suite.hash, k.keys.skeyidA, x.messageId, qm.ni, qm.nr), x.hash)) return hashMismatch('QM3');
  sa.lastHeard = ctx.env.now();
  // HASH(3) shows the initiator has our QM2: nothing is left to resend (issue 10: memory
  // per tunnel; the exchange lingers QM_LINGER_MS with only QM3, to drop its duplicates).
  qm.retransmit.stop();
  sa.quick.set(x.messageId, done(ctx, qm, x.raw));
  // The initiator has proven with HASH(3) that it holds the keys: the outbound SA and the pair's record.
  const p = qm.accepted;
  completePair(ctx, sa, { role: 'responder', tunnel: qm.tunnel, ni: qm.ni, nr: qm.nr, gqmxy: p.gqmxy, rekeyOf: null }, qm.inbound, p);
  wipe(qm.ni, qm.nr);
  return { kind: 'next', send: null, afterSend: null };
}

/**
 * Quick mode handlers by (role, state) of the exchange a message belongs to (its
 * message ID), and for a message ID we do not know: a new QM1, to which we are the
 * responder. Every (role, state) has a handler or a typed refusal; the test that
 * enumerates the table is test/unit/ike-exchange-handlers.test.ts.
 */
export const QUICK_MODE_HANDLERS: {
  new: (ctx: ExchangeContext, sa: EstablishedSa, x: QuickInput) => QuickOutcome;
  initiator: Record<QuickState, QuickEntry>;
  responder: Record<QuickState, QuickEntry>;
} = {
  new: responderQm1,
  initiator: {
    QM1_SENT: onQuick('QM1_SENT', initiatorQm2),
    QM2_SENT: refuseQuick('other-role', 'a responder state'),
    DONE: refuseQuick('after-done', 'unexpected quick mode message'),
  },
  responder: {
    QM2_SENT: onQuick('QM2_SENT', responderQm3),
    QM1_SENT: refuseQuick('other-role', 'an initiator state'),
    DONE: refuseQuick('after-done', 'unexpected quick mode message'),
  },
};

/** Any quick mode message for this SA (new QM1, or a reply to ours): decrypt, find the
 * handler for the exchange's (role, state), act on its outcome. */
export function handleQuickMode(ctx: ExchangeContext, sa: EstablishedSa, msg: EncryptedMessage, raw: Buffer): void {
  const k = sa.mm;
  const messageId = msg.header.messageId;
  const qm = sa.quick.get(messageId);
  if (qm && qm.state !== 'QM1_SENT' && qm.lastReceived.equals(raw)) {
    // RFC 2409 §5.5 relies on retransmission: answer a duplicate with our last message
    // (a responder's finished exchange has none left to send: a repeated QM3 is dropped).
    if (qm.retransmit.last) transmit(ctx, sa, [qm.retransmit.last], { kind: 'repeat' });
    return;
  }
  if (messageId === 0) {
    ctx.counters.malformed++;
    return ctx.log('warning', sa, 'quick', 'QM', 'dropped: quick mode with message ID 0');
  }
  const d = decryptMessage(k.crypto, msg.header.nextPayload, messageId, msg.body);
  if (!d.ok) {
    ctx.counters.malformed++;
    if (!qm) k.crypto.forget(messageId);
    return ctx.log('warning', sa, 'quick', 'QM', `dropped: ${d.reason}`, { messageId });
  }
  const payloads = d.value.payloads;
  const hash = payloads[0];
  if (hash?.type !== PayloadType.HASH) {
    d.rollback();
    ctx.counters.malformed++;
    return ctx.log('warning', sa, 'quick', 'QM', 'dropped: first payload is not HASH (RFC 2409 §5.5)');
  }
  const x: QuickInput = { messageId, payloads, rest: restAfterHash(d.value), hash: hash.data, raw };
  let outcome: QuickOutcome;
  if (!qm) outcome = QUICK_MODE_HANDLERS.new(ctx, sa, x);
  else {
    const entry = QUICK_MODE_HANDLERS[qm.role][qm.state];
    outcome = entry.kind === 'handler' ? entry.run(ctx, sa, qm, x) : { kind: 'drop', code: entry.code, why: entry.why };
  }
  switch (outcome.kind) {
    case 'drop':
      d.rollback();
      if (outcome.code === 'hash-mismatch') {
        if (!qm) k.crypto.forget(messageId);
        ctx.counters.malformed++;
        ctx.log('warning', sa, 'quick', outcome.why, 'dropped: HASH mismatch', { messageId });
      } else {
        ctx.counters.unexpected++;
        ctx.log('warning', sa, 'quick', qm?.state ?? 'QM', `dropped: ${outcome.why}`, { messageId });
      }
      return;
    case 'fail':
      failQuick(ctx, sa, outcome.qm, messageId, outcome.failure);
      return;
    case 'next':
      if (outcome.send) sendQuick(ctx, sa, outcome.send.via, outcome.send.data, outcome.send.expectReply);
      outcome.afterSend?.();
  }
}

/** The exchange is over: it lingers (QM_LINGER_MS) to answer a retransmission of `lastReceived`. */
function done(ctx: ExchangeContext, qm: PendingQuickMode, lastReceived: Buffer): QuickModeDone {
  return {
    messageId: qm.messageId,
    role: qm.role,
    state: 'DONE',
    tunnel: qm.tunnel,
    retransmit: qm.retransmit,
    // Kept to spot duplicates while it lingers: its own memory, not a slice of a pool slab.
    lastReceived: ownCopy(lastReceived),
    forgetAt: ctx.env.now() + QM_LINGER_MS,
  };
}

function respond(ctx: ExchangeContext, sa: EstablishedSa, messageId: number, payloads: Payload[], raw: Buffer): QuickOutcome {
  const k = sa.mm;
  const saPayload = payloadsOfType(payloads, PayloadType.SA)[0];
  const nonce = payloadsOfType(payloads, PayloadType.NONCE)[0];
  const theirIds = idPair(payloads);
  if (!saPayload || !nonce) {
    return failedQuick(null, {
      code: 'malformed-request',
      reason: 'QM1 lacks SA or nonce',
      notify: { type: NotifyType.PAYLOAD_MALFORMED },
    });
  }
  const firstSpi = saPayload.proposals[0]?.spi;
  const acceptableSelectors = sa.peer.tunnels.map((t) => ({ local: t.local, remote: t.remote }));
  if (!theirIds) {
    return failedQuick(null, {
      code: 'ts-mismatch',
      reason: 'QM1 without client IDs (gateway-to-gateway SAs are not configured)',
      notify: { type: NotifyType.INVALID_ID_INFORMATION, ...(firstSpi ? { spi: firstSpi } : {}) },
      extra: { acceptableSelectors },
    });
  }
  const tunnel = responderTunnel(sa.peer.tunnels, theirIds);
  if (!tunnel) {
    // From the peer's side: its local is IDci, its remote IDcr.
    const offeredSelectors = [{ local: selectorText(theirIds.initiator), remote: selectorText(theirIds.responder) }];
    return failedQuick(null, {
      code: 'ts-mismatch',
      reason: 'traffic selectors match no configured tunnel',
      notify: { type: NotifyType.INVALID_ID_INFORMATION, ...(firstSpi ? { spi: firstSpi } : {}) },
      extra: { offeredSelectors, acceptableSelectors },
    });
  }
  const offer = phase2OfferNames(saPayload);
  const proposals: FailureExtra = {
    offered: offer.names,
    acceptable: tunnelMethodNames(tunnel),
    offeredPfs: offer.pfs,
    requiredPfs: groupName(tunnel.pfsGroup),
    ...(tunnel.action
      ? { configField: `filter-actions.${tunnel.action}.${offer.pfs !== groupName(tunnel.pfsGroup) ? 'pfs' : 'security-methods'}` }
      : {}),
  };
  const refusal = { type: NotifyType.NO_PROPOSAL_CHOSEN, ...(firstSpi ? { spi: firstSpi } : {}) };
  // Without PFS of our own we follow an initiator that offers it (any group we support
  // but the weak group 1); a PFS group we set is required.
  const followPfs = (g: number): boolean => g !== 1 && dhGroupById(g) !== undefined;
  const choice = choosePhase2(saPayload, tunnel.methods, tunnel.pfsGroup, udpEncapsulated(sa), followPfs);
  if (typeof choice === 'string') {
    const code = tunnel.pfsGroup !== null && offer.pfs !== groupName(tunnel.pfsGroup) ? 'pfs-mismatch' : 'no-proposal';
    return failedQuick(null, { code, reason: choice, notify: refusal, extra: proposals });
  }
  // Session key refresh limit (quick-mode-limit; 1 = master key PFS) as responder: past
  // it this ISAKMP SA keys nothing more. The request is not answered; we bring the
  // tunnel up ourselves under a fresh main mode (whose completion retires this SA).
  const limit = sa.peer.quickModeLimit ?? 0;
  if ((limit > 0 && sa.quickModes >= limit) || sa.retired) {
    const why = sa.retired ? 'this ISAKMP SA is over' : `session key refresh limit (${limit}) reached`;
    ctx.log('info', sa, 'quick', 'QM1', `${why}: answering with a fresh main mode`, {
      tunnel: tunnel.name,
      messageId,
    });
    // The request most likely rekeys the tunnel's newest pair: our quick mode under the
    // fresh main mode rekeys it in its place (the pair is retired and the peer told when
    // the new one is in). A plain new pair left the old one to the peer's unanswered
    // rekey: both sides kept pairs the other had deleted (test/unit/ike-rekey-interleavings).
    const newest = sa.children.filter((c) => c.tunnel.name === tunnel.name).sort((x, y) => y.createdAt - x.createdAt)[0];
    // Our own rekey of it on this SA crossed the peer's: a peer at the same count refuses
    // ours as we refuse its, and both waited a minute for the retransmissions to give
    // up. The fresh main mode rekeys it too, at once (waiting for our rekey's first
    // retransmission let a kilobyte limit run out first). If the peer answers ours after
    // all (its limit is higher), the fresh main mode's rekey finds it done (ike-node.ts).
    const crossed = [...sa.quick.values()].some((q) => q.role === 'initiator' && q.state === 'QM1_SENT' && q.rekeyOf === newest?.reqid);
    if (newest && (crossed || !newest.rekeying)) {
      newest.rekeying = true;
      ctx.startQuickMode(sa, tunnel, newest.reqid);
    } else if (!newest) ctx.startQuickMode(sa, tunnel);
    // No exchange is kept for it: its IV goes too, or the peer's retransmission of it
    // (the same bytes) were decrypted under the IV this copy advanced, as garbage.
    k.crypto.forget(messageId);
    return { kind: 'next', send: null, afterSend: null };
  }
  const pfsGroup = choice.attributes.group ?? null;
  const ke = payloadsOfType(payloads, PayloadType.KE)[0];
  let dh: DhKeyPair | undefined;
  let gqmxy: Buffer | undefined;
  if (pfsGroup !== null) {
    const g = dhGroupById(pfsGroup);
    if (!g || !ke) {
      const reason = 'PFS required but no KE payload';
      return failedQuick(null, { code: 'pfs-mismatch', reason, notify: refusal, extra: proposals });
    }
    dh = g.generate(ctx.env.random);
    try {
      gqmxy = dh.computeSecret(ke.data);
    } catch {
      return failedQuick(null, {
        code: 'invalid-ke',
        reason: 'invalid PFS KE',
        notify: { type: NotifyType.INVALID_KEY_INFORMATION, ...(firstSpi ? { spi: firstSpi } : {}) },
      });
    }
  } else if (ke) {
    return failedQuick(null, { code: 'pfs-mismatch', reason: 'unexpected PFS KE payload', notify: refusal, extra: proposals });
  }
  const inSpi = newSpi(ctx);
  const nr = ctx.env.random(NONCE_LENGTH);
  const rest = quickModeRest({
    proposals: [{ protocol: ProtocolId.ESP, spi: inSpi, transforms: [{ id: choice.transformId, attributes: choice.attributes }] }],
    nonce: nr,
    ...(dh ? { ke: dh.publicKey } : {}),
    ids: theirIds,
  });
  // Keep the initiator's proposal and transform numbers (RFC 2408 §4.2).
  // (The reply holds one proposal with one transform: the loops renumber exactly those.)
  const replySa = rest[0];
  const offeredT = saPayload.proposals.find((p) => p.number === choice.proposalNumber)?.transforms.find((t) => t.id === choice.transformId);
  if (replySa?.type === PayloadType.SA) {
    for (const p of replySa.proposals) {
      p.number = choice.proposalNumber;
      if (offeredT) for (const t of p.transforms) t.number = offeredT.number;
    }
  }
  if (choice.responderLifetime) rest.push(responderLifetimeNotify(inSpi, choice.lifetimeSeconds, choice.lifetimeKilobytes));
  const h2 = quickModeHash2(k.suite.hash, k.keys.skeyidA, messageId, nonce.data, encodePayloads(rest).bytes);
  const ni = Buffer.from(nonce.data);
  const accepted = {
    esp: choice.esp,
    peerSpi: choice.peerSpi,
    lifetimeSeconds: choice.lifetimeSeconds,
    lifetimeKilobytes: choice.lifetimeKilobytes,
    gqmxy: gqmxy ?? null,
  };
  sa.quickModes++;
  const rule = sa.peer.tunnels.includes(tunnel) ? '' : ' (default response rule)';
  ctx.log('info', sa, 'quick', 'QM2', `accepted ${choice.esp} for ${tunnel.local} <-> ${tunnel.remote}${rule}`, {
    tunnel: tunnel.name,
    spi: inSpi.toString('hex'),
  });
  // RFC 2409 §5.5: KEYMAT is computable once QM2 is sent. The initiator installs both
  // directions on QM2 and may send at once, so our inbound SA goes in with QM2, not
  // with QM3 (as racoon does); completePair() adds the outbound SA on QM3, and
  // dropPreinstalledInbound() deletes it if the exchange never completes.
  const inbound = installInbound(ctx, sa, { role: 'responder', tunnel, ni, nr, gqmxy: accepted.gqmxy, rekeyOf: null }, inSpi, accepted);
  const qm: QuickModeResponding = {
    messageId,
    role: 'responder',
    state: 'QM2_SENT',
    tunnel,
    inSpi,
    ni,
    nr,
    retransmit: new Retransmit(ctx.retransmit),
    accepted,
    inbound,
    lastReceived: Buffer.from(raw),
  };
  sa.quick.set(messageId, qm);
  const qm2 = encryptMessage(k.crypto, sa, ExchangeType.QUICK, messageId, withHash(h2, rest));
  return { kind: 'next', send: { data: qm2, expectReply: true, via: qm }, afterSend: null };
}

function finishInitiator(ctx: ExchangeContext, sa: EstablishedSa, qm: QuickModeInitiating, payloads: Payload[], raw: Buffer): QuickOutcome {
  const k = sa.mm;
  const saPayload = payloadsOfType(payloads, PayloadType.SA)[0];
  const nonce = payloadsOfType(payloads, PayloadType.NONCE)[0];
  if (!saPayload || !nonce) return failedQuick(qm, { code: 'invalid-reply', reason: 'QM2 lacks SA or nonce' });
  const choice = verifyPhase2Reply(saPayload, qm.offer, qm.tunnel.methods);
  if (typeof choice === 'string') {
    const spi = saPayload.proposals[0]?.spi;
    return failedQuick(qm, {
      code: 'invalid-reply',
      reason: choice,
      notify: { type: NotifyType.NO_PROPOSAL_CHOSEN, ...(spi ? { spi } : {}) },
    });
  }
  const theirIds = idPair(payloads);
  const mine = ids(qm.tunnel, 'initiator');
  if (theirIds && !(sameIdPayload(theirIds.initiator, mine.initiator) && sameIdPayload(theirIds.responder, mine.responder))) {
    return failedQuick(qm, {
      code: 'ts-mismatch',
      reason: 'responder changed the client IDs',
      notify: { type: NotifyType.INVALID_ID_INFORMATION, spi: choice.peerSpi },
    });
  }
  let gqmxy: Buffer | null = null;
  const ke = payloadsOfType(payloads, PayloadType.KE)[0];
  if (qm.dh) {
    if (!ke) return failedQuick(qm, { code: 'invalid-reply', reason: 'PFS KE missing in QM2' });
    try {
      gqmxy = qm.dh.computeSecret(ke.data);
    } catch {
      return failedQuick(qm, { code: 'invalid-ke', reason: 'invalid PFS KE in QM2' });
    }
  }
  applyResponderLifetime(payloads, choice);
  const nr = Buffer.from(nonce.data);
  qm.retransmit.answered();
  const finished = done(ctx, qm, raw);
  sa.quick.set(qm.messageId, finished);
  const h3 = quickModeHash3(k.suite.hash, k.keys.skeyidA, qm.messageId, qm.ni, nr);
  const qm3 = encryptMessage(k.crypto, sa, ExchangeType.QUICK, qm.messageId, withHash(h3, []));
  // Our inbound SA goes into the engine before QM3 leaves: the responder installs its
  // outbound SA on QM3 and may send on it at once (CI: echo requests lost as badSpi when
  // QM3 overtook our install). The outbound SA, and the Delete of a rekeyed pair, come
  // after QM3, so that the responder never gets the Delete first and is left with
  // nothing to send on (its inbound SA has been in since QM2, RFC 2409 §5.5).
  const pair = { role: 'initiator' as const, tunnel: qm.tunnel, ni: qm.ni, nr, gqmxy, rekeyOf: qm.rekeyOf };
  const inbound = installInbound(ctx, sa, pair, qm.inSpi, choice);
  const afterSend = (): void => {
    ctx.log('info', sa, 'quick', 'QM3', `established ${choice.esp}`, { tunnel: qm.tunnel.name });
    completePair(ctx, sa, pair, inbound, choice);
    wipe(qm.ni, nr);
  };
  return { kind: 'next', send: { data: qm3, expectReply: false, via: finished }, afterSend };
}

export type { EspMethod };
