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
import { derivePhase1Keys } from '../crypto/skeyid.ts';
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
} from '../wire/index.ts';
import type { ExchangeContext } from './context.ts';
import { fail, type Failure } from './fail.ts';
import { phase1AttributesName, phase1OfferNames } from './proposal-names.ts';
import { describeIdentity, sameIdentity } from './identity.ts';
import type { IsakmpSa } from './isakmp-sa.ts';
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

function newSa(ctx: ExchangeContext, peer: PeerPolicy, role: IsakmpSa['role'], local: Endpoint, remote: Endpoint): IsakmpSa {
  const now = ctx.env.now();
  return {
    peer,
    role,
    state: 'MM1_SENT',
    ckyI: Buffer.alloc(8),
    ckyR: Buffer.alloc(8),
    local,
    remote,
    createdAt: now,
    expiresAt: now + peer.ikeLifetimeSeconds * 1000,
    offered: [],
    saiB: Buffer.alloc(0),
    natFlavour: null,
    natLocal: false,
    natRemote: false,
    peerDpd: false,
    peerFragmentation: false,
    fragmentId: 0,
    retransmit: new Retransmit(ctx.retransmit),
    quick: new Map(),
    children: [],
    infoSeen: new Set(),
    lastHeard: now,
    dpdSeq: 0,
    dpdPendingSince: null,
    queued: [],
    queuedRekeys: [],
    quickModes: 0,
    sendInitialContact: false,
    replacing: false,
    unreadableReplies: 0,
  };
}

export function initiateMainMode(ctx: ExchangeContext, peer: PeerPolicy, local: Endpoint, remote: Endpoint): IsakmpSa {
  const sa = newSa(ctx, peer, 'initiator', local, remote);
  sa.ckyI = ctx.env.random(8);
  // One transform per (authentication method, proposal), methods in our order of
  // precedence: the auth method is a transform attribute (RFC 2409 Appendix A).
  const methods = [...new Set(authMethodsOf(peer).map(wireAuthMethod))];
  sa.offered = methods.flatMap((auth) => peer.ikeMethods.map((m) => phase1Transform(m, peer.ikeLifetimeSeconds, auth)));
  const payloads = mainMode1({ transforms: sa.offered }, ourVendorIds(ctx, peer));
  sa.saiB = encodePayloadBody(payloads[0]!);
  const data = encodeMessage(
    { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
    payloads,
  );
  ctx.log('info', sa, 'main', 'MM1', `offering ${sa.offered.length} phase 1 transform(s), auth ${methods.map(authMethodName).join(', ')}`, {
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
  const sa = newSa(ctx, peer, 'responder', local, from);
  sa.ckyI = Buffer.from(msg.header.initiatorCookie);
  // `ckyR` given: rebuilding an evicted half-open exchange with the cookie it already sent.
  sa.ckyR = ckyR ? Buffer.from(ckyR) : ctx.env.random(8);
  sa.state = 'MM2_SENT';
  const saPayload = payloadsOfType(msg.payloads, PayloadType.SA)[0];
  const saSpan = msg.spans.find((s) => s.type === PayloadType.SA);
  if (saPayload === undefined || saSpan === undefined || msg.payloads[0]?.type !== PayloadType.SA) {
    ctx.counters.malformed++;
    ctx.log('warning', sa, 'main', 'MM1', 'dropped: MM1 does not start with an SA payload');
    return null;
  }
  sa.peerOffer = phase1OfferNames(saPayload);
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
  const suite = resolvePhase1Suite(
    {
      encryption: choice.attributes.encryption ?? 0,
      hash: choice.attributes.hash ?? 0,
      group: choice.attributes.group ?? 0,
      ...(choice.attributes.keyLength !== undefined ? { keyLength: choice.attributes.keyLength } : {}),
    },
    { allowWeak: peer.allowWeak },
  );
  if (!suite.ok) {
    failMain(ctx, sa, { code: 'suite-refused', reason: suite.reason, notify: { type: NotifyType.NO_PROPOSAL_CHOSEN } });
    return null;
  }
  sa.suite = suite.suite;
  sa.chosen = choice.attributes;
  sa.auth = peerAuthFor(peer, choice.attributes.authMethod);
  sa.saiB = Buffer.from(saSpan.body);
  const vids = vendorIdsOf(msg.payloads);
  sa.natFlavour = natFlavourFor(peer, vids);
  sa.peerDpd = vids.some((v) => identifyVendorId(v) === 'DPD');
  sa.peerFragmentation = ctx.fragmentation && vids.some(announcesFragmentation);
  sa.lastReceived = Buffer.from(raw);
  const data = encodeMessage(
    { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
    mainMode2(choice.attributes, choice.transformNumber, ourVendorIds(ctx, peer, vids)),
  );
  // Anyone can send an MM1 with any source address: the choice is logged at info level
  // only once MM3 shows the initiator receives our replies (a spoofed MM1 flood must not
  // become a log flood, nor cost a log write per datagram).
  logChoice(ctx, sa, 'debug');
  // The responder does not retransmit on a timer: it answers duplicates of the request.
  ctx.send(sa, data, false);
  return sa;
}

function logChoice(ctx: ExchangeContext, sa: IsakmpSa, level: 'debug' | 'info'): void {
  const chosen = sa.chosen!;
  ctx.log(level, sa, 'main', 'MM2', `chose ${phase1AttributesName(chosen)}, auth ${authMethodName(chosen.authMethod)}`, {
    natt: sa.natFlavour ?? 'none',
  });
}

/** Both sides after MM3/MM4: SKEYID family and the phase 1 cipher state (RFC 2409 §5, Appendix B). */
function deriveKeys(sa: IsakmpSa, peerPublic: Buffer): Pick<Failure, 'code' | 'reason'> | null {
  const suite = sa.suite!;
  let gxy: Buffer;
  try {
    gxy = sa.dh!.computeSecret(peerPublic);
  } catch (e) {
    return { code: 'invalid-ke', reason: `invalid KE: ${e instanceof Error ? e.message : 'rejected'}` };
  }
  const skeyid = skeyidFor(sa, gxy);
  if (typeof skeyid === 'string') {
    gxy.fill(0);
    return { code: 'no-credentials', reason: skeyid };
  }
  sa.keys = derivePhase1Keys(suite.hash, skeyid, gxy, sa.ckyI, sa.ckyR, suite.cipher.keyLength);
  gxy.fill(0);
  sa.crypto = new IsakmpCryptoState(suite.cipher, suite.hash, sa.keys.encKey, phase1Iv(suite.hash, suite.cipher.blockSize, sa.gxi!, sa.gxr!));
  return null;
}

function keyExchangePayloads(msg: CleartextMessage): { ke: Buffer; nonce: Buffer } | null {
  const ke = payloadsOfType(msg.payloads, PayloadType.KE)[0];
  const nonce = payloadsOfType(msg.payloads, PayloadType.NONCE)[0];
  return ke && nonce ? { ke: ke.data, nonce: nonce.data } : null;
}

function natD(msg: CleartextMessage, flavour: NatTFlavour) {
  return payloadsOfType(msg.payloads, flavour === 'rfc' ? PayloadType.NAT_D : PayloadType.NAT_D_DRAFT);
}

function applyNat(ctx: ExchangeContext, sa: IsakmpSa, msg: CleartextMessage, from: Endpoint): boolean {
  if (sa.natFlavour === null) return true;
  const r = detectNat(sa.suite!.hash, sa.ckyI, sa.ckyR, natD(msg, sa.natFlavour), sa.local, from);
  if (typeof r === 'string') {
    // A peer that announced NAT-T but sends no NAT-D: carry on without NAT-T.
    ctx.log('warning', sa, 'natt', sa.role === 'initiator' ? 'MM4' : 'MM3', r);
    sa.natFlavour = null;
    return true;
  }
  sa.natLocal = r.natLocal;
  sa.natRemote = r.natRemote;
  ctx.log('info', sa, 'natt', 'NAT-D', `local ${r.natLocal ? 'behind NAT' : 'not NATed'}, peer ${r.natRemote ? 'behind NAT' : 'not NATed'}`);
  return true;
}

function ourId(sa: IsakmpSa) {
  return idPayload(sa.peer.localId);
}

/** Initiator side and responder side of MM2..MM6 once the SA exists. */
export function handleMainMode(ctx: ExchangeContext, sa: IsakmpSa, msg: CleartextMessage | EncryptedMessage, from: Endpoint, raw: Buffer): void {
  const cookies = { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 } as const;
  const unexpected = (why: string): void => {
    ctx.counters.unexpected++;
    ctx.log('warning', sa, 'main', sa.state, `dropped: ${why}`);
  };
  if (sa.role === 'initiator' && sa.state === 'MM1_SENT') {
    if (msg.encrypted) return unexpected('encrypted message before keys');
    const saPayload = payloadsOfType(msg.payloads, PayloadType.SA)[0];
    if (saPayload === undefined) return unexpected('MM2 without SA payload');
    const chosen = verifyPhase1Reply(saPayload, sa.offered);
    if (typeof chosen === 'string') return failMain(ctx, sa, { code: 'invalid-reply', reason: chosen });
    const suite = resolvePhase1Suite(
      {
        encryption: chosen.encryption ?? 0,
        hash: chosen.hash ?? 0,
        group: chosen.group ?? 0,
        ...(chosen.keyLength !== undefined ? { keyLength: chosen.keyLength } : {}),
      },
      { allowWeak: sa.peer.allowWeak },
    );
    if (!suite.ok) return failMain(ctx, sa, { code: 'suite-refused', reason: suite.reason });
    const auth = peerAuthFor(sa.peer, chosen.authMethod);
    if (!auth) return failMain(ctx, sa, { code: 'invalid-reply', reason: 'responder chose an authentication method we did not offer' });
    sa.retransmit.answered();
    sa.ckyR = Buffer.from(msg.header.responderCookie);
    sa.suite = suite.suite;
    sa.chosen = chosen;
    sa.auth = auth;
    const vids = vendorIdsOf(msg.payloads);
    sa.natFlavour = natFlavourFor(sa.peer, vids);
    sa.peerDpd = vids.some((v) => identifyVendorId(v) === 'DPD');
    sa.peerFragmentation = ctx.fragmentation && vids.some(announcesFragmentation);
    sa.dh = suite.suite.group.generate(ctx.env.random);
    sa.gxi = sa.dh.publicKey;
    sa.ni = ctx.env.random(NONCE_LENGTH);
    sa.state = 'MM3_SENT';
    sa.lastReceived = Buffer.from(raw);
    const payloads = mainMode3({
      ke: sa.gxi,
      nonce: sa.ni,
      ...(certRequestsOf(sa) ? { certRequests: certRequestsOf(sa)! } : {}),
      ...(sa.natFlavour !== null
        ? { natD: { flavour: sa.natFlavour, hashes: natDHashes(suite.suite.hash, sa.ckyI, sa.ckyR, sa.remote, sa.local) } }
        : {}),
    });
    ctx.log('info', sa, 'main', 'MM3', `responder chose ${phase1AttributesName(chosen)}, auth ${authMethodName(chosen.authMethod)}`);
    ctx.send(sa, encodeMessage({ ...cookies, responderCookie: sa.ckyR }, payloads), true);
    return;
  }
  if (sa.role === 'responder' && sa.state === 'MM2_SENT') {
    if (msg.encrypted) return unexpected('encrypted message before keys');
    const kx = keyExchangePayloads(msg);
    if (kx === null) return unexpected('MM3 without KE and nonce');
    logChoice(ctx, sa, 'info');
    const suite = sa.suite!;
    if (kx.ke.length !== suite.group.publicLength) {
      return failMain(ctx, sa, {
        code: 'invalid-ke',
        reason: `KE is ${kx.ke.length} bytes, group needs ${suite.group.publicLength}`,
        notify: { type: NotifyType.INVALID_KEY_INFORMATION },
      });
    }
    sa.dh = suite.group.generate(ctx.env.random);
    sa.gxi = Buffer.from(kx.ke);
    sa.gxr = sa.dh.publicKey;
    sa.ni = Buffer.from(kx.nonce);
    sa.nr = ctx.env.random(NONCE_LENGTH);
    const err = deriveKeys(sa, sa.gxi);
    if (err !== null) return failMain(ctx, sa, { ...err, notify: { type: NotifyType.INVALID_KEY_INFORMATION } });
    applyNat(ctx, sa, msg, from);
    sa.state = 'MM4_SENT';
    sa.lastReceived = Buffer.from(raw);
    const payloads = mainMode4({
      ke: sa.gxr,
      nonce: sa.nr,
      ...(certRequestsOf(sa) ? { certRequests: certRequestsOf(sa)! } : {}),
      ...(sa.natFlavour !== null ? { natD: { flavour: sa.natFlavour, hashes: natDHashes(suite.hash, sa.ckyI, sa.ckyR, from, sa.local) } } : {}),
    });
    ctx.log('info', sa, 'main', 'MM4', 'key exchange');
    ctx.send(sa, encodeMessage(cookies, payloads), false);
    return;
  }
  if (sa.role === 'initiator' && sa.state === 'MM3_SENT') {
    if (msg.encrypted) return unexpected('encrypted message before keys');
    const kx = keyExchangePayloads(msg);
    if (kx === null) return unexpected('MM4 without KE and nonce');
    if (kx.ke.length !== sa.suite!.group.publicLength) return failMain(ctx, sa, { code: 'invalid-reply', reason: 'MM4 KE has the wrong length' });
    sa.retransmit.answered();
    sa.gxr = Buffer.from(kx.ke);
    sa.nr = Buffer.from(kx.nonce);
    const err = deriveKeys(sa, sa.gxr);
    if (err !== null) return failMain(ctx, sa, err);
    applyNat(ctx, sa, msg, from);
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
      auth: ourAuth(sa, encodePayloadBody(id)),
      ...(sa.sendInitialContact ? { initialContact: { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR } } : {}),
    });
    sa.state = 'MM5_SENT';
    ctx.log('info', sa, 'main', 'MM5', `authenticating as ${describeIdentity(sa.peer.localId)}`);
    ctx.send(sa, encryptMessage(sa.crypto!, sa, ExchangeType.MAIN, 0, payloads), true);
    return;
  }
  if ((sa.role === 'responder' && sa.state === 'MM4_SENT') || (sa.role === 'initiator' && sa.state === 'MM5_SENT')) {
    const step = sa.role === 'responder' ? 'MM5' : 'MM6';
    if (!msg.encrypted) return unexpected(`${step} not encrypted`);
    const d = decryptMessage(sa.crypto!, msg.header.nextPayload, 0, msg.body);
    const authFail = (why: string): void =>
      // A wrong PSK shows up here: different SKEYID_e garbles the payloads, or HASH_I/HASH_R differ.
      failMain(ctx, sa, {
        code: 'auth-failed',
        reason: `authentication failed: ${why}`,
        ...(sa.role === 'responder' ? { notify: { type: NotifyType.AUTHENTICATION_FAILED } } : {}),
      });
    if (!d.ok) return authFail(`${d.reason} (pre-shared key mismatch?)`);
    const check = verifyPeerAuth(sa, d.value.payloads, d.value.spans, ctx.env.wallClock());
    if (!check.ok) return authFail(check.reason);
    const id = check.id;
    if (!sameIdentity(id.id, sa.peer.remoteId)) {
      const other = ctx.peerForIdentity(sa, id.id);
      if (!other) {
        const expected = ctx.acceptableIds(sa).map(describeIdentity).join(' or ');
        return failMain(ctx, sa, {
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
    sa.lastReceived = Buffer.from(raw);
    sa.retransmit.answered();
    if (sa.role === 'responder') {
      const initialContact = payloadsOfType(d.value.payloads, PayloadType.NOTIFY).some((n) => n.notifyType === NotifyType.INITIAL_CONTACT);
      const mine = ourId(sa);
      sa.state = 'ESTABLISHED';
      ctx.send(sa, encryptMessage(sa.crypto!, sa, ExchangeType.MAIN, 0, mainMode6({ id: mine, auth: ourAuth(sa, encodePayloadBody(mine)) })), false);
      ctx.log('info', sa, 'main', 'MM6', `ISAKMP SA established with ${describeIdentity(id.id)}`);
      ctx.established(sa, initialContact);
    } else {
      sa.state = 'ESTABLISHED';
      ctx.log('info', sa, 'main', 'MM6', `ISAKMP SA established with ${describeIdentity(id.id)}`);
      ctx.established(sa, false);
    }
    return;
  }
  unexpected(`main mode message in state ${sa.state}`);
}
