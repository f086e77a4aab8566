// Main mode (identity protection), RFC 2409 §5 with pre-shared keys, plus
// RFC 3947 NAT-T (vendor IDs in MM1/MM2, NAT-D in MM3/MM4, float to 4500
// before MM5) and RFC 3706 DPD vendor ID:
//   MM1 I->R  SA VID*            MM2 R->I  SA VID*
//   MM3 I->R  KE Ni NAT-D*       MM4 R->I  KE Nr NAT-D*
//   MM5 I->R  *IDii HASH_I [N(INITIAL-CONTACT)]
//   MM6 R->I  *IDir HASH_R                      (* = encrypted)

import { IsakmpCryptoState } from '../crypto/isakmp-crypto-state.ts';
import { phase1Iv } from '../crypto/iv.ts';
import { resolvePhase1Suite } from '../crypto/phase1-suite.ts';
import { derivePhase1Keys, keepEstablishedKeys } from '../crypto/skeyid.ts';
import {
  ExchangeType,
  NotifyType,
  PayloadType,
  VendorId,
  FRAGMENTATION_VENDOR_ID,
  announcesFragmentation,
  encodeMessage,
  encodePayloadBody,
  identifyVendorId,
  idPayload,
  mainMode1,
  mainMode2,
  mainMode3,
  mainMode4,
  mainMode5,
  mainMode6,
  natTraversalFlavour,
  payloadsOfType,
  type CleartextMessage,
  type EncryptedMessage,
  type NatTFlavour,
  type Payload,
  type Phase1Attributes,
} from '../wire/index.ts';
import type { ExchangeContext } from './context.ts';
import { fail, type Failure } from './fail.ts';
import { dispatch, on, refuse, type DropCode, type HandlerTable, type Outcome } from './handlers.ts';
import { InformationalReplay } from './informational-replay.ts';
import { phase1AttributesName, phase1OfferNames } from './proposal-names.ts';
import { describeIdentity, sameIdentity } from './identity.ts';
import { newIsakmpSa, type AuthInput, type IsakmpSa, type Keyed, type MainMode, type MainModeOf, type Negotiated } from './isakmp-sa.ts';
import type { DhKeyPair } from '../crypto/dh.ts';
import { wipe } from '../crypto/secret.ts';
import { ownCopy } from '../common/own-buffer.ts';
import { LazyMap } from '../common/lazy-map.ts';
import { detectNat, natDHashes } from './nat-detection.ts';
import { authMethodName, authMethodsOf, certRequestsOf, ourAuth, peerAuthFor, skeyidFor, verifyPeerAuth, wireAuthMethod } from './phase1-auth.ts';
import { choosePhase1, offeredAuthMethods, phase1Transform, verifyPhase1Reply } from './proposals.ts';
import { Retransmit } from './retransmit.ts';
import { decryptMessage, encryptMessage } from './secure-message.ts';
import { NATT_PORT, type Endpoint, type PeerPolicy } from './types.ts';

/** strongSwan and most peers use 32-byte nonces; RFC 2409 §5 asks for 8..256. */
export const NONCE_LENGTH = 32;

function ourVendorIds(ctx: ExchangeContext, peer: PeerPolicy, answerTo?: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  if (peer.natTraversal !== 'off') {
    if (answerTo === undefined) out.push(VendorId.NAT_T_RFC3947.bytes, VendorId.NAT_T_DRAFT_02_N.bytes);
    else {
      // The responder echoes the one NAT-T flavour it will use (RFC 3947 §3.1).
      const f = natTraversalFlavour(answerTo);
      if (f === 'rfc') out.push(VendorId.NAT_T_RFC3947.bytes);
      else if (f === 'draft') out.push(VendorId.NAT_T_DRAFT_02_N.bytes);
    }
  }
  out.push(VendorId.DPD.bytes);
  // IKEv1 fragmentation (wire/fragment.ts): the initiator announces it, the responder
  // only answers a peer that announced it (strongSwan's isakmp_vendor.c does the same).
  if (ctx.fragmentation && (answerTo === undefined || answerTo.some(announcesFragmentation))) out.push(FRAGMENTATION_VENDOR_ID);
  return out;
}

function vendorIdsOf(payloads: readonly Payload[]): Buffer[] {
  return payloadsOfType(payloads, PayloadType.VENDOR_ID).map((v) => v.data);
}

function natFlavourFor(peer: PeerPolicy, vids: readonly Buffer[]): NatTFlavour | null {
  return peer.natTraversal === 'off' ? null : natTraversalFlavour(vids);
}

/** The main mode fail path (fail.ts) for this SA. */
function failMain(ctx: ExchangeContext, sa: IsakmpSa, f: Failure): void {
  fail(ctx, { phase: 'main', sa }, f);
}

function newSa(
  ctx: ExchangeContext,
  peer: PeerPolicy,
  role: IsakmpSa['role'],
  mm: MainMode,
  cookies: { ckyI: Buffer; ckyR: Buffer },
  local: Endpoint,
  remote: Endpoint,
): IsakmpSa {
  const now = ctx.env.now();
  return newIsakmpSa({
    peer,
    role,
    mm,
    ...cookies,
    local,
    remote,
    createdAt: now,
    expiresAt: now + peer.ikeLifetimeSeconds * 1000,
    natFlavour: null,
    natLocal: false,
    natRemote: false,
    peerDpd: false,
    peerFragmentation: false,
    fragmentId: 0,
    sentFragments: null,
    retransmit: new Retransmit(ctx.retransmit),
    lastReceived: null,
    quick: new LazyMap(),
    children: [],
    lingeringInbound: [],
    infoSeen: new InformationalReplay(),
    lastHeard: now,
    dpdSeq: 0,
    dpdPendingSince: null,
    queued: [],
    queuedRekeys: [],
    quickModes: 0,
    sendInitialContact: false,
    replacing: false,
  });
}

export function initiateMainMode(ctx: ExchangeContext, peer: PeerPolicy, local: Endpoint, remote: Endpoint): IsakmpSa {
  // One transform per (authentication method, proposal), methods in our order of
  // precedence: the auth method is a transform attribute (RFC 2409 Appendix A).
  const methods = [...new Set(authMethodsOf(peer).map(wireAuthMethod))];
  const offered = methods.flatMap((auth) => peer.ikeMethods.map((m) => phase1Transform(m, peer.ikeLifetimeSeconds, auth)));
  const [saPayload, ...rest] = mainMode1({ transforms: offered }, ourVendorIds(ctx, peer));
  const saiB = encodePayloadBody(saPayload);
  const sa = newSa(ctx, peer, 'initiator', { state: 'MM1_SENT', offered, saiB }, { ckyI: ctx.env.random(8), ckyR: Buffer.alloc(8) }, local, remote);
  const data = encodeMessage(
    { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
    [saPayload, ...rest],
  );
  ctx.log('info', sa, 'main', 'MM1', `offering ${offered.length} phase 1 transform(s), auth ${methods.map(authMethodName).join(', ')}`, {
    direction: 'out',
  });
  ctx.send(sa, data, true);
  return sa;
}

/** Responder, MM1 -> MM2. Returns the new half-open SA, or null when refused. */
export function respondMainMode1(
  ctx: ExchangeContext,
  peer: PeerPolicy,
  msg: CleartextMessage,
  local: Endpoint,
  from: Endpoint,
  raw: Buffer,
  ckyR?: Buffer,
): IsakmpSa | null {
  const saPayload = payloadsOfType(msg.payloads, PayloadType.SA)[0];
  const saSpan = msg.spans.find((s) => s.type === PayloadType.SA);
  // `ckyR`: the cookie derived for this MM1 (responder-cookie.ts), or the one its record
  // kept when the exchange is built at MM3; none given (tests): a random one.
  // Own memory: the cookies live as long as the SA, a pool slice would pin an 8 KB slab (ike/common/own-buffer.ts).
  const cookies = { ckyI: ownCopy(msg.header.initiatorCookie), ckyR: ckyR ? ownCopy(ckyR) : ctx.env.random(8) };
  if (saPayload === undefined || saSpan === undefined || msg.payloads[0]?.type !== PayloadType.SA) {
    ctx.counters.malformed++;
    ctx.log('warning', null, 'main', 'MM1', 'dropped: MM1 does not start with an SA payload', { peer: peer.name });
    return null;
  }
  const peerOffer = phase1OfferNames(saPayload);
  const sa = newSa(ctx, peer, 'responder', { state: 'MM1_RECEIVED', peerOffer }, cookies, local, from);
  const ourAuthMethods = authMethodsOf(peer).map(wireAuthMethod);
  const choice = choosePhase1(saPayload, peer.ikeMethods, ourAuthMethods);
  if ('refused' in choice) {
    if (choice.refused === 'no-auth-method') {
      // Algorithms agree but no authentication method does: point `explain` at peers.X.auth.
      const offered = offeredAuthMethods(saPayload).map(authMethodName);
      const acceptable = [...new Set(ourAuthMethods.map(authMethodName))];
      failMain(ctx, sa, {
        code: 'no-auth-method',
        reason: `${choice.reason}: peer offers ${offered.join(', ')}, we accept ${acceptable.join(', ')}`,
        notify: { type: NotifyType.NO_PROPOSAL_CHOSEN },
        extra: { offered, acceptable, configField: `peers.${peer.name}.auth` },
      });
    } else failMain(ctx, sa, { code: 'no-proposal', reason: choice.reason, notify: { type: NotifyType.NO_PROPOSAL_CHOSEN } });
    return null;
  }
  const suite = resolveSuite(choice.attributes, peer);
  if (!suite.ok) {
    failMain(ctx, sa, { code: 'suite-refused', reason: suite.reason, notify: { type: NotifyType.NO_PROPOSAL_CHOSEN } });
    return null;
  }
  // choosePhase1 picks only transforms naming one of our methods.
  const auth = peerAuthFor(peer, choice.attributes.authMethod);
  if (auth === undefined) {
    failMain(ctx, sa, { code: 'no-auth-method', reason: 'no common authentication method', notify: { type: NotifyType.NO_PROPOSAL_CHOSEN } });
    return null;
  }
  sa.mm = { state: 'MM2_SENT', peerOffer, chosen: choice.attributes, auth, suite: suite.suite, saiB: Buffer.from(saSpan.body) };
  const vids = vendorIdsOf(msg.payloads);
  sa.natFlavour = natFlavourFor(peer, vids);
  sa.peerDpd = vids.some((v) => identifyVendorId(v) === 'DPD');
  sa.peerFragmentation = ctx.fragmentation && vids.some(announcesFragmentation);
  // Own memory: the MM1 is kept in a record until its MM3 (mm1-records.ts), a pool slice would pin an 8 KB slab.
  sa.lastReceived = ownCopy(raw);
  const data = encodeMessage(
    { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
    mainMode2(choice.attributes, choice.transformNumber, ourVendorIds(ctx, peer, vids)),
  );
  // Anyone can send an MM1 with any source address: the choice is logged at info level
  // only once MM3 shows the initiator receives our replies (a spoofed MM1 flood must not
  // become a log flood, nor cost a log write per datagram).
  logChoice(ctx, sa, sa.mm, 'debug');
  // The responder does not retransmit on a timer: it answers duplicates of the request.
  ctx.send(sa, data, false);
  return sa;
}

function resolveSuite(a: Phase1Attributes, peer: PeerPolicy): ReturnType<typeof resolvePhase1Suite> {
  return resolvePhase1Suite(
    {
      encryption: a.encryption ?? 0,
      hash: a.hash ?? 0,
      group: a.group ?? 0,
      ...(a.keyLength !== undefined ? { keyLength: a.keyLength } : {}),
    },
    { allowWeak: peer.allowWeak },
  );
}

function logChoice(ctx: ExchangeContext, sa: IsakmpSa, n: Negotiated, level: 'debug' | 'info'): void {
  ctx.log(level, sa, 'main', 'MM2', `chose ${phase1AttributesName(n.chosen)}, auth ${authMethodName(n.chosen.authMethod)}`, {
    natt: sa.natFlavour ?? 'none',
  });
}

/** Both sides after MM3/MM4: SKEYID family and the phase 1 cipher state (RFC 2409 §5, Appendix B). */
function deriveKeys(
  sa: IsakmpSa,
  n: Negotiated,
  dh: DhKeyPair,
  x: AuthInput,
  peerPublic: Buffer,
): { ok: true; keyed: Keyed } | { ok: false; failure: Pick<Failure, 'code' | 'reason'> } {
  const suite = n.suite;
  let gxy: Buffer;
  try {
    gxy = dh.computeSecret(peerPublic);
  } catch (e) {
    return { ok: false, failure: { code: 'invalid-ke', reason: `invalid KE: ${e instanceof Error ? e.message : 'rejected'}` } };
  }
  const skeyid = skeyidFor(sa.peer, n, x.ni, x.nr, gxy);
  if (typeof skeyid === 'string') {
    gxy.fill(0);
    return { ok: false, failure: { code: 'no-credentials', reason: skeyid } };
  }
  const keys = derivePhase1Keys(suite.hash, skeyid, gxy, sa.ckyI, sa.ckyR, suite.cipher.keyLength);
  gxy.fill(0);
  const crypto = new IsakmpCryptoState(suite.cipher, suite.hash, keys.encKey, phase1Iv(suite.hash, suite.cipher.blockSize, x.gxi, x.gxr));
  return { ok: true, keyed: { chosen: n.chosen, auth: n.auth, suite, keys, crypto } };
}

function keyExchangePayloads(msg: CleartextMessage): { ke: Buffer; nonce: Buffer } | null {
  const ke = payloadsOfType(msg.payloads, PayloadType.KE)[0];
  const nonce = payloadsOfType(msg.payloads, PayloadType.NONCE)[0];
  return ke && nonce ? { ke: ke.data, nonce: nonce.data } : null;
}

function natD(msg: CleartextMessage, flavour: NatTFlavour) {
  return payloadsOfType(msg.payloads, flavour === 'rfc' ? PayloadType.NAT_D : PayloadType.NAT_D_DRAFT);
}

function applyNat(ctx: ExchangeContext, sa: IsakmpSa, n: Negotiated, msg: CleartextMessage, from: Endpoint): void {
  if (sa.natFlavour === null) return;
  const r = detectNat(n.suite.hash, sa.ckyI, sa.ckyR, natD(msg, sa.natFlavour), sa.local, from);
  if (typeof r === 'string') {
    // A peer that announced NAT-T but sends no NAT-D: carry on without NAT-T.
    ctx.log('warning', sa, 'natt', sa.role === 'initiator' ? 'MM4' : 'MM3', r);
    sa.natFlavour = null;
    return;
  }
  sa.natLocal = r.natLocal;
  sa.natRemote = r.natRemote;
  ctx.log('info', sa, 'natt', 'NAT-D', `local ${r.natLocal ? 'behind NAT' : 'not NATed'}, peer ${r.natRemote ? 'behind NAT' : 'not NATed'}`);
}

function ourId(sa: IsakmpSa) {
  return idPayload(sa.peer.localId);
}

function cookiesOf(sa: IsakmpSa) {
  return { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 } as const;
}

type Received = CleartextMessage | EncryptedMessage;

const drop = (code: DropCode, why: string): Outcome => ({ kind: 'drop', code, why });
const failed = (failure: Failure): Outcome => ({ kind: 'fail', failure });
const next = (data: Buffer, expectReply: boolean): Outcome => ({ kind: 'next', send: { data, expectReply }, established: null });

/** Initiator in MM1_SENT: MM2 (the responder's choice) -> MM3. */
function initiatorMm2(ctx: ExchangeContext, sa: IsakmpSa, mm: MainModeOf<'MM1_SENT'>, msg: Received, _from: Endpoint, raw: Buffer): Outcome {
  if (msg.encrypted) return drop('encrypted-before-keys', 'encrypted message before keys');
  const saPayload = payloadsOfType(msg.payloads, PayloadType.SA)[0];
  if (saPayload === undefined) return drop('missing-payload', 'MM2 without SA payload');
  const chosen = verifyPhase1Reply(saPayload, mm.offered);
  if (typeof chosen === 'string') return failed({ code: 'invalid-reply', reason: chosen });
  const suite = resolveSuite(chosen, sa.peer);
  if (!suite.ok) return failed({ code: 'suite-refused', reason: suite.reason });
  const auth = peerAuthFor(sa.peer, chosen.authMethod);
  if (!auth) return failed({ code: 'invalid-reply', reason: 'responder chose an authentication method we did not offer' });
  sa.retransmit.answered();
  sa.ckyR = ownCopy(msg.header.responderCookie);
  const vids = vendorIdsOf(msg.payloads);
  sa.natFlavour = natFlavourFor(sa.peer, vids);
  sa.peerDpd = vids.some((v) => identifyVendorId(v) === 'DPD');
  sa.peerFragmentation = ctx.fragmentation && vids.some(announcesFragmentation);
  const dh = suite.suite.group.generate(ctx.env.random);
  const mm3: MainModeOf<'MM3_SENT'> = {
    state: 'MM3_SENT',
    chosen,
    auth,
    suite: suite.suite,
    saiB: mm.saiB,
    dh,
    gxi: dh.publicKey,
    ni: ctx.env.random(NONCE_LENGTH),
  };
  sa.mm = mm3;
  sa.lastReceived = Buffer.from(raw);
  const certRequests = certRequestsOf(mm3);
  const payloads = mainMode3({
    ke: mm3.gxi,
    nonce: mm3.ni,
    ...(certRequests ? { certRequests } : {}),
    ...(sa.natFlavour !== null
      ? { natD: { flavour: sa.natFlavour, hashes: natDHashes(suite.suite.hash, sa.ckyI, sa.ckyR, sa.remote, sa.local) } }
      : {}),
  });
  ctx.log('info', sa, 'main', 'MM3', `responder chose ${phase1AttributesName(chosen)}, auth ${authMethodName(chosen.authMethod)}`);
  return next(encodeMessage(cookiesOf(sa), payloads), true);
}

/** Responder in MM2_SENT: MM3 (KE, nonce) -> MM4, keys derived. */
function responderMm3(ctx: ExchangeContext, sa: IsakmpSa, mm: MainModeOf<'MM2_SENT'>, msg: Received, from: Endpoint, raw: Buffer): Outcome {
  if (msg.encrypted) return drop('encrypted-before-keys', 'encrypted message before keys');
  const kx = keyExchangePayloads(msg);
  if (kx === null) return drop('missing-payload', 'MM3 without KE and nonce');
  logChoice(ctx, sa, mm, 'info');
  const suite = mm.suite;
  if (kx.ke.length !== suite.group.publicLength) {
    return failed({
      code: 'invalid-ke',
      reason: `KE is ${kx.ke.length} bytes, group needs ${suite.group.publicLength}`,
      notify: { type: NotifyType.INVALID_KEY_INFORMATION },
    });
  }
  const dh = suite.group.generate(ctx.env.random);
  const input: AuthInput = { saiB: mm.saiB, gxi: Buffer.from(kx.ke), gxr: dh.publicKey, ni: Buffer.from(kx.nonce), nr: ctx.env.random(NONCE_LENGTH) };
  const k = deriveKeys(sa, mm, dh, input, input.gxi);
  if (!k.ok) {
    wipe(input.ni, input.nr);
    return failed({ ...k.failure, notify: { type: NotifyType.INVALID_KEY_INFORMATION } });
  }
  sa.mm = { state: 'MM4_SENT', peerOffer: mm.peerOffer, ...k.keyed, ...input };
  applyNat(ctx, sa, mm, msg, from);
  sa.lastReceived = Buffer.from(raw);
  const certRequests = certRequestsOf(mm);
  const payloads = mainMode4({
    ke: input.gxr,
    nonce: input.nr,
    ...(certRequests ? { certRequests } : {}),
    ...(sa.natFlavour !== null ? { natD: { flavour: sa.natFlavour, hashes: natDHashes(suite.hash, sa.ckyI, sa.ckyR, from, sa.local) } } : {}),
  });
  ctx.log('info', sa, 'main', 'MM4', 'key exchange');
  return next(encodeMessage(cookiesOf(sa), payloads), false);
}

/** Initiator in MM3_SENT: MM4 (KE, nonce) -> keys, MM5 (our ID and authentication, encrypted). */
function initiatorMm4(ctx: ExchangeContext, sa: IsakmpSa, mm: MainModeOf<'MM3_SENT'>, msg: Received, from: Endpoint, raw: Buffer): Outcome {
  if (msg.encrypted) return drop('encrypted-before-keys', 'encrypted message before keys');
  const kx = keyExchangePayloads(msg);
  if (kx === null) return drop('missing-payload', 'MM4 without KE and nonce');
  if (kx.ke.length !== mm.suite.group.publicLength) return failed({ code: 'invalid-reply', reason: 'MM4 KE has the wrong length' });
  sa.retransmit.answered();
  const input: AuthInput = { saiB: mm.saiB, gxi: mm.gxi, gxr: Buffer.from(kx.ke), ni: mm.ni, nr: Buffer.from(kx.nonce) };
  const k = deriveKeys(sa, mm, mm.dh, input, input.gxr);
  if (!k.ok) return failed(k.failure);
  const mm5: MainModeOf<'MM5_SENT'> = { state: 'MM5_SENT', unreadableReplies: 0, ...k.keyed, ...input };
  sa.mm = mm5;
  applyNat(ctx, sa, mm, msg, from);
  // RFC 3947 §4: with a NAT in the path, switch to port 4500 from MM5 on.
  if (sa.natFlavour !== null && (sa.natLocal || sa.natRemote || sa.peer.natTraversal === 'force')) {
    sa.local = { address: sa.local.address, port: NATT_PORT };
    sa.remote = { address: sa.remote.address, port: NATT_PORT };
    ctx.log('info', sa, 'natt', 'MM5', 'floating to UDP 4500');
  }
  sa.lastReceived = Buffer.from(raw);
  // RFC 2407 §4.6.3.3: INITIAL-CONTACT only when we hold nothing else with this peer,
  // decided now (a crossing negotiation may have started since MM1).
  sa.sendInitialContact = sa.sendInitialContact && !ctx.hasOtherSas(sa);
  const id = ourId(sa);
  const payloads = mainMode5({
    id,
    auth: ourAuth(sa, mm5, encodePayloadBody(id)),
    ...(sa.sendInitialContact ? { initialContact: { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR } } : {}),
  });
  ctx.log('info', sa, 'main', 'MM5', `authenticating as ${describeIdentity(sa.peer.localId)}`);
  return next(encryptMessage(mm5.crypto, sa, ExchangeType.MAIN, 0, payloads), true);
}

/** Responder in MM4_SENT (MM5) or initiator in MM5_SENT (MM6): the peer's identity and authentication. */
function authenticate(
  ctx: ExchangeContext,
  sa: IsakmpSa,
  mm: MainModeOf<'MM4_SENT'> | MainModeOf<'MM5_SENT'>,
  msg: Received,
  _from: Endpoint,
  raw: Buffer,
): Outcome {
  const step = sa.role === 'responder' ? 'MM5' : 'MM6';
  if (!msg.encrypted) return drop('not-encrypted', `${step} not encrypted`);
  const d = decryptMessage(mm.crypto, msg.header.nextPayload, 0, msg.body);
  const authFail = (why: string): Outcome =>
    // A wrong PSK shows up here: different SKEYID_e garbles the payloads, or HASH_I/HASH_R differ.
    failed({
      code: 'auth-failed',
      reason: `authentication failed: ${why}`,
      ...(sa.role === 'responder' ? { notify: { type: NotifyType.AUTHENTICATION_FAILED } } : {}),
    });
  if (!d.ok) return authFail(`${d.reason} (pre-shared key mismatch?)`);
  const check = verifyPeerAuth(sa, mm, d.value.payloads, d.value.spans, ctx.env.wallClock());
  if (!check.ok) return authFail(check.reason);
  const id = check.id;
  if (!sameIdentity(id.id, sa.peer.remoteId)) {
    const other = ctx.peerForIdentity(sa, id.id);
    if (!other) {
      const expected = ctx.acceptableIds(sa).map(describeIdentity).join(' or ');
      return failed({
        code: 'id-mismatch',
        reason: 'peer identity mismatch',
        logMessage: `main mode failed: peer identity ${describeIdentity(id.id)} is not the configured ${expected}`,
        ...(sa.role === 'responder' ? { notify: { type: NotifyType.INVALID_ID_INFORMATION } } : {}),
        extra: { receivedId: describeIdentity(id.id), expectedId: expected, configField: `peers.${sa.peer.name}.remote-id` },
      });
    }
    // Several remote = %any peers share main mode settings (and certificate trust)
    // up to here; the identity the signature just proved says which branch this is.
    ctx.log('info', sa, 'main', step, `remote = %any: identity ${describeIdentity(id.id)} is peer ${other.name}`);
    sa.peer = other;
  }
  // Kept for the SA's life to spot duplicates: its own memory, not a slice of a pool slab.
  sa.lastReceived = ownCopy(raw);
  sa.retransmit.answered();
  // Main mode is over: only the keys stay (SKEYID_d and SKEYID_a: the rest is wiped,
  // after MM6's HASH_R). The DH values, nonces (SKEYID input: wiped) and SAi_b go; a
  // retransmitted MM5 is answered from `retransmit.last`.
  const establish = (): MainModeOf<'ESTABLISHED'> => ({
    state: 'ESTABLISHED',
    chosen: mm.chosen,
    auth: mm.auth,
    suite: mm.suite,
    keys: keepEstablishedKeys(mm.keys),
    crypto: mm.crypto,
  });
  if (sa.role === 'responder') {
    const initialContact = payloadsOfType(d.value.payloads, PayloadType.NOTIFY).some((n) => n.notifyType === NotifyType.INITIAL_CONTACT);
    const mine = ourId(sa);
    const mm6 = mainMode6({ id: mine, auth: ourAuth(sa, mm, encodePayloadBody(mine)) });
    wipe(mm.ni, mm.nr);
    const established = establish();
    sa.mm = established;
    ctx.log('info', sa, 'main', 'MM6', `ISAKMP SA established with ${describeIdentity(id.id)}`);
    const data = encryptMessage(established.crypto, sa, ExchangeType.MAIN, 0, mm6);
    return { kind: 'next', send: { data, expectReply: false }, established: { initialContact } };
  }
  wipe(mm.ni, mm.nr);
  sa.mm = establish();
  ctx.log('info', sa, 'main', 'MM6', `ISAKMP SA established with ${describeIdentity(id.id)}`);
  return { kind: 'next', send: null, established: { initialContact: false } };
}

/**
 * The main mode handlers by (role, state), strongSwan's seam (its ikev1 main_mode task
 * has build_i/process_r/build_r/process_i per state): each message a state can meet
 * has a handler, every other (role, state) an explicit typed refusal. MM1 has no entry:
 * it creates the SA (respondMainMode1). Exported for the test that enumerates it.
 */
export const MAIN_MODE_HANDLERS: HandlerTable<Received> = {
  initiator: {
    MM1_SENT: on('MM1_SENT', initiatorMm2),
    MM3_SENT: on('MM3_SENT', initiatorMm4),
    MM5_SENT: on('MM5_SENT', authenticate),
    MM1_RECEIVED: refuse('other-role', 'a responder state'),
    MM2_SENT: refuse('other-role', 'a responder state'),
    MM4_SENT: refuse('other-role', 'a responder state'),
    ESTABLISHED: refuse('after-established', 'main mode message after main mode completed'),
    DEAD: refuse('sa-gone', 'main mode message for a removed SA'),
  },
  responder: {
    MM2_SENT: on('MM2_SENT', responderMm3),
    MM4_SENT: on('MM4_SENT', authenticate),
    // Only while its MM1 is refused: the SA never enters the table in this state.
    MM1_RECEIVED: refuse('sa-gone', 'main mode message for a refused MM1'),
    MM1_SENT: refuse('other-role', 'an initiator state'),
    MM3_SENT: refuse('other-role', 'an initiator state'),
    MM5_SENT: refuse('other-role', 'an initiator state'),
    ESTABLISHED: refuse('after-established', 'main mode message after main mode completed'),
    DEAD: refuse('sa-gone', 'main mode message for a removed SA'),
  },
};

/** Initiator side and responder side of MM2..MM6 once the SA exists: the handler for
 * (role, state) decides, then one place acts on its outcome. */
export function handleMainMode(ctx: ExchangeContext, sa: IsakmpSa, msg: Received, from: Endpoint, raw: Buffer): void {
  const outcome = dispatch(MAIN_MODE_HANDLERS, ctx, sa, msg, from, raw);
  switch (outcome.kind) {
    case 'drop':
      ctx.counters.unexpected++;
      ctx.log('warning', sa, 'main', sa.state, `dropped: ${outcome.why}`);
      return;
    case 'fail':
      failMain(ctx, sa, outcome.failure);
      return;
    case 'next':
      if (outcome.send) ctx.send(sa, outcome.send.data, outcome.send.expectReply);
      if (outcome.established) ctx.established(sa, outcome.established.initialContact);
  }
}
