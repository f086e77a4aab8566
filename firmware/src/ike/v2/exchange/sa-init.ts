// IKE_SA_INIT (RFC 7296 §1.2, §2.6, §2.23):
//   HDR, SAi1, KEi, Ni, N(NAT_DETECTION_*), N(IKEV2_FRAGMENTATION_SUPPORTED)  -->
//                       <--  HDR, SAr1, KEr, Nr, N(NAT_DETECTION_*), N(IKEV2_FRAGMENTATION_SUPPORTED)
// The responder answers INVALID_KE_PAYLOAD with the group it wants when the
// initiator's KE is of another acceptable group (§1.2), and NO_PROPOSAL_CHOSEN
// when nothing is acceptable; the initiator retries with the named group and
// echoes a COOKIE when asked (§2.6). Both sides then derive the SA keys
// (§2.14) and, when either is behind a NAT, move to port 4500 (§2.23).

import { dhGroupById, DhError } from '../../crypto/dh.ts';
import { wipe } from '../../crypto/secret.ts';
import { ownCopy } from '../../common/own-buffer.ts';
import { NATT_PORT, type Endpoint } from '../../exchange/types.ts';
import { groupName } from '../../exchange/proposal-names.ts';
import { deriveIkeSaKeys, skeyseed } from '../crypto/key-derivation.ts';
import { ExchangeType, HeaderFlag, PayloadType } from '../wire/constants.ts';
import { encodeMessage, type Message } from '../wire/message.ts';
import { groupData, invalidKeGroup, notify } from '../wire/notify.ts';
import { ikeProposalFailure, keGroupFailure, syntaxFailure } from './failure-details.ts';
import { NotifyType, notifyName } from '../wire/notify-types.ts';
import { firstOfType, payloadsOfType, type Payload } from '../wire/payloads.ts';
import type { V2Context } from './context.ts';
import { sendDatagrams } from './messages.ts';
import { transmit } from '../../common/send-path.ts';
import { detectNat, natNotifies } from './nat-detection.ts';
import { acceptIkeAnswer, chooseIke, ikeMethodName, ikeOffer, suiteOf, usableIkeMethods } from './proposals.ts';
import type { IkeSaV2 } from './state.ts';
import { decodeHashList, encodeHashList, OUR_HASHES } from '../crypto/digital-signature.ts';
import { certRequest } from './signatures.ts';
import { intermediateSupported, planIntermediate } from './intermediate.ts';

export const NONCE_LENGTH = 32;
/** A responder may ask once for a cookie and once for another group; more is a loop. */
export const MAX_INIT_ATTEMPTS = 3;

function initPayloads(ctx: V2Context, sa: IkeSaV2, group: number): Payload[] {
  const g = dhGroupById(group)!;
  sa.dh = g.generate(ctx.env.random);
  sa.keGroup = group;
  const out: Payload[] = [];
  if (sa.cookie) out.push(notify(NotifyType.COOKIE, sa.cookie)); // §2.6: COOKIE comes first
  out.push({ type: PayloadType.SA, proposals: ikeOffer(sa.offeredIke) });
  out.push({ type: PayloadType.KE, group, data: sa.dh.publicKey });
  out.push({ type: PayloadType.NONCE, data: sa.ni });
  if (sa.peer.natTraversal !== 'off') {
    const remote: Endpoint = { address: sa.remote.address, port: sa.remote.port };
    out.push(...natNotifies(sa.spiI, Buffer.alloc(8), sa.local, remote, sa.peer.natTraversal === 'force', ctx.env.random));
  }
  if (ctx.fragmentation) out.push(notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
  out.push(notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, encodeHashList(OUR_HASHES)));
  if (sa.peer.ppk) out.push(notify(NotifyType.USE_PPK));
  // RFC 9370 §2.2.1: proposing additional key exchanges means negotiating IKE_INTERMEDIATE (RFC 9242 §3.1).
  if (sa.offeredIke.some((m) => m.addKe !== undefined)) out.push(notify(NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED));
  return out;
}

/** RFC 7427 §4 hashes and RFC 8784 USE_PPK from the peer's IKE_SA_INIT message. */
function peerCapabilities(sa: IkeSaV2, payloads: readonly Payload[]): void {
  const notifies = payloadsOfType(payloads, PayloadType.NOTIFY);
  const hashes = notifies.find((n) => n.notifyType === NotifyType.SIGNATURE_HASH_ALGORITHMS);
  sa.peerHashes = hashes ? decodeHashList(hashes.data) : [];
  sa.ppkOffered = !!sa.peer.ppk && notifies.some((n) => n.notifyType === NotifyType.USE_PPK);
}

/** Initiator: send (or re-send after INVALID_KE / COOKIE) the IKE_SA_INIT request with KE of `group`. */
export function sendInit(ctx: V2Context, sa: IkeSaV2, group: number): void {
  const bytes = encodeMessage(
    { spiI: sa.spiI, spiR: Buffer.alloc(8), exchange: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.INITIATOR, messageId: 0 },
    initPayloads(ctx, sa, group),
  );
  sa.initRequest = bytes;
  sa.initAttempts++;
  const now = ctx.env.now();
  sa.pending = {
    messageId: 0,
    exchange: ExchangeType.IKE_SA_INIT,
    datagrams: [bytes],
    purpose: { kind: 'sa-init' },
    sentAt: now,
    nextAt: now + ctx.retransmit.baseMs,
    tries: 0,
  };
  sa.nextRequestId = 1;
  ctx.log('info', sa, 'main', 'IKE_SA_INIT', `request sent (${sa.offeredIke.map(ikeMethodName).join(', ')})`, { direction: 'out' });
  sendDatagrams(ctx, sa, [bytes]);
}

/** Initiator: a fresh SA's first request. */
export function initiateInit(ctx: V2Context, sa: IkeSaV2): boolean {
  sa.offeredIke = usableIkeMethods(sa.peer);
  if (sa.offeredIke.length === 0) {
    ctx.fail(sa, 'main', 'no-proposal-chosen', 'no IKE method of this peer is usable with IKEv2 (AES with SHA-1/SHA-2)', {
      ...ikeProposalFailure(sa.peer, 'initiator', null),
      notify: undefined,
    });
    return false;
  }
  sa.ni = ctx.env.random(NONCE_LENGTH);
  sendInit(ctx, sa, sa.offeredIke[0]!.dhGroup);
  return true;
}

function deriveKeys(sa: IkeSaV2, gir: Buffer): void {
  const suite = sa.suite!;
  const seed = skeyseed(suite.prf, sa.ni, sa.nr, gir);
  sa.keys = deriveIkeSaKeys({
    prf: suite.prf,
    encr: suite.encr,
    integ: suite.integ,
    skeyseed: seed,
    ni: sa.ni,
    nr: sa.nr,
    spiI: sa.spiI,
    spiR: sa.spiR,
  });
  wipe(seed, gir);
}

function floatIfNatted(ctx: V2Context, sa: IkeSaV2): void {
  if (!sa.natLocal && !sa.natRemote) return;
  // §2.23: once a NAT is detected, all further messages use port 4500 (with the non-ESP marker).
  sa.local = { address: sa.local.address, port: NATT_PORT };
  if (sa.remote.port === 500) sa.remote = { address: sa.remote.address, port: NATT_PORT };
  ctx.log('info', sa, 'natt', 'FLOAT', `NAT detected (${sa.natLocal ? 'in front of us' : 'in front of the peer'}): moving to port ${NATT_PORT}`);
}

export type InitAnswer = { kind: 'responded'; sa: IkeSaV2 } | { kind: 'refused' };

/**
 * Responder: process an IKE_SA_INIT request for `sa` (fresh, spiR chosen).
 * Returns false when the request was refused (an unencrypted error notify
 * was sent and the SA must be forgotten).
 */
export function respondInit(ctx: V2Context, sa: IkeSaV2, m: Message, from: Endpoint): boolean {
  const refuse = (n: number, data: Buffer, why: string): false => {
    const bytes = encodeMessage(
      { spiI: sa.spiI, spiR: Buffer.alloc(8), exchange: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.RESPONSE, messageId: 0 },
      [notify(n, data)],
    );
    ctx.log(n === NotifyType.INVALID_KE_PAYLOAD ? 'info' : 'warning', sa, 'main', 'IKE_SA_INIT', `${notifyName(n)}: ${why}`, {
      direction: 'out',
      notify: notifyName(n),
    });
    transmit(ctx, sa, [{ data: bytes, to: from, localPort: sa.local.port }], { kind: 'new' });
    return false;
  };
  const sa1 = firstOfType(m.payloads, PayloadType.SA);
  const ke = firstOfType(m.payloads, PayloadType.KE);
  const ni = firstOfType(m.payloads, PayloadType.NONCE);
  if (!sa1 || !ke || !ni) return refuse(NotifyType.INVALID_SYNTAX, Buffer.alloc(0), 'IKE_SA_INIT request lacks SA, KE or Nonce');
  // Additional key exchanges only with a peer that announced IKE_INTERMEDIATE (RFC 9370 §2.2.1).
  const intermediate = intermediateSupported(m.payloads);
  const choice = chooseIke(sa.peer, sa1.proposals, intermediate);
  if (!choice) {
    ctx.fail(sa, 'main', 'no-proposal-chosen', 'no proposal of the peer is acceptable', ikeProposalFailure(sa.peer, 'responder', sa1.proposals));
    return refuse(NotifyType.NO_PROPOSAL_CHOSEN, Buffer.alloc(0), 'no acceptable IKE proposal');
  }
  if (ke.group !== choice.method.dhGroup)
    return refuse(
      NotifyType.INVALID_KE_PAYLOAD,
      groupData(choice.method.dhGroup),
      `KE of group ${groupName(ke.group)}, we want ${groupName(choice.method.dhGroup)}`,
    );
  sa.suite = suiteOf(choice.method, choice.proposal.transforms);
  planIntermediate(sa);
  sa.ni = ownCopy(ni.data);
  sa.nr = ctx.env.random(NONCE_LENGTH);
  sa.dh = dhGroupById(ke.group)!.generate(ctx.env.random);
  let gir: Buffer;
  try {
    gir = sa.dh.computeSecret(ke.data);
  } catch (e) {
    if (!(e instanceof DhError)) throw e;
    return refuse(NotifyType.INVALID_SYNTAX, Buffer.alloc(0), `invalid KE: ${e.message}`);
  }
  deriveKeys(sa, gir);
  const nat = detectNat(m.payloads, sa.spiI, Buffer.alloc(8), sa.local, from);
  sa.natLocal = nat.local;
  sa.natRemote = nat.remote;
  sa.peerFragments = payloadsOfType(m.payloads, PayloadType.NOTIFY).some((p) => p.notifyType === NotifyType.IKEV2_FRAGMENTATION_SUPPORTED);
  const out: Payload[] = [
    { type: PayloadType.SA, proposals: [choice.proposal] },
    { type: PayloadType.KE, group: ke.group, data: sa.dh.publicKey },
    { type: PayloadType.NONCE, data: sa.nr },
  ];
  if (nat.supported && sa.peer.natTraversal !== 'off')
    out.push(...natNotifies(sa.spiI, sa.spiR, sa.local, from, sa.peer.natTraversal === 'force', ctx.env.random));
  if (ctx.fragmentation && sa.peerFragments) out.push(notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
  if (intermediate) out.push(notify(NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED));
  peerCapabilities(sa, m.payloads);
  if (sa.peerHashes.length > 0) out.push(notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, encodeHashList(OUR_HASHES)));
  if (sa.ppkOffered) out.push(notify(NotifyType.USE_PPK));
  // §3.7: the responder asks for the initiator's certificate here.
  const req = certRequest(sa);
  if (req) out.push(req);
  const bytes = encodeMessage({ spiI: sa.spiI, spiR: sa.spiR, exchange: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.RESPONSE, messageId: 0 }, out);
  sa.initRequest = m.raw;
  sa.initResponse = bytes;
  sa.lastResponse = { messageId: 0, datagrams: [bytes] };
  // The key pair has done its work (g^ir is in the keys); a retransmitted request is
  // answered from lastResponse. Node's DH object holds native memory (issue 10).
  sa.dh = null;
  sa.expectedRequestId = 1;
  sa.state = 'INIT_DONE';
  ctx.log('info', sa, 'main', 'IKE_SA_INIT', `answered with ${sa.suite.name}${sa.natLocal || sa.natRemote ? ', NAT detected' : ''}`, {
    direction: 'out',
  });
  sendDatagrams(ctx, sa, [bytes]);
  // The responder floats when the initiator does: its IKE_AUTH arrives on 4500 (node.ts follows the address).
  return true;
}

export type InitResult = 'auth' | 'retried' | 'failed' | 'ignored';

/** Initiator: the IKE_SA_INIT response. */
export function handleInitResponse(ctx: V2Context, sa: IkeSaV2, m: Message, from: Endpoint): InitResult {
  const notifies = payloadsOfType(m.payloads, PayloadType.NOTIFY);
  const cookie = notifies.find((n) => n.notifyType === NotifyType.COOKIE);
  if (cookie) {
    if (cookie.data.length < 1 || cookie.data.length > 64 || sa.initAttempts >= MAX_INIT_ATTEMPTS) return 'ignored';
    sa.cookie = Buffer.from(cookie.data);
    ctx.log('info', sa, 'main', 'IKE_SA_INIT', 'responder asks for a COOKIE (§2.6): sending again with it');
    sendInit(ctx, sa, sa.keGroup);
    return 'retried';
  }
  const invalidKe = notifies.find((n) => n.notifyType === NotifyType.INVALID_KE_PAYLOAD);
  if (invalidKe) {
    const group = invalidKeGroup(invalidKe);
    if (group !== null && group !== sa.keGroup && sa.initAttempts < MAX_INIT_ATTEMPTS && sa.offeredIke.some((x) => x.dhGroup === group)) {
      ctx.log('info', sa, 'main', 'IKE_SA_INIT', `INVALID_KE_PAYLOAD: responder wants group ${groupName(group)}, retrying`);
      sendInit(ctx, sa, group);
      return 'retried';
    }
    const why = `responder wants DH group ${groupName(group) ?? '?'}, which we do not offer`;
    ctx.fail(sa, 'main', 'dh-group-mismatch', why, keGroupFailure(sa.peer, group, null));
    return 'failed';
  }
  const error = notifies.find((n) => n.notifyType < 16384);
  if (error) {
    const why = `responder refused: ${notifyName(error.notifyType)}`;
    if (error.notifyType === NotifyType.NO_PROPOSAL_CHOSEN)
      ctx.fail(sa, 'main', 'no-proposal-chosen', why, ikeProposalFailure(sa.peer, 'initiator', null));
    else if (error.notifyType === NotifyType.INVALID_SYNTAX) ctx.fail(sa, 'main', 'invalid-message', why, syntaxFailure(sa.peer, 'peer'));
    else ctx.fail(sa, 'main', 'other', why, { notify: notifyName(error.notifyType) });
    return 'failed';
  }
  const sa1 = firstOfType(m.payloads, PayloadType.SA);
  const ke = firstOfType(m.payloads, PayloadType.KE);
  const nr = firstOfType(m.payloads, PayloadType.NONCE);
  if (!sa1 || !ke || !nr || m.header.spiR.equals(Buffer.alloc(8))) {
    ctx.fail(sa, 'main', 'invalid-message', 'IKE_SA_INIT response lacks SA, KE, Nonce or SPIr');
    return 'failed';
  }
  const method = acceptIkeAnswer(sa.offeredIke, sa1.proposals);
  if (!method || method.dhGroup !== ke.group || ke.group !== sa.keGroup) {
    ctx.fail(sa, 'main', 'no-proposal-chosen', 'responder chose a proposal we did not offer');
    return 'failed';
  }
  sa.suite = suiteOf(method, sa1.proposals[0]!.transforms);
  if (sa.suite.addKe.length > 0 && !intermediateSupported(m.payloads)) {
    ctx.fail(sa, 'main', 'invalid-message', 'responder chose additional key exchanges but did not announce IKE_INTERMEDIATE (RFC 9370 §2.2.1)');
    return 'failed';
  }
  planIntermediate(sa);
  // Own memory, not slices of Node's 8 KB pool slabs, for what lives as long as the SA (ike/common/own-buffer.ts).
  sa.spiR = ownCopy(m.header.spiR);
  sa.nr = ownCopy(nr.data);
  let gir: Buffer;
  try {
    gir = sa.dh!.computeSecret(ke.data);
  } catch (e) {
    if (!(e instanceof DhError)) throw e;
    ctx.fail(sa, 'main', 'invalid-message', `responder's KE is invalid: ${e.message}`);
    return 'failed';
  }
  sa.dh = null;
  deriveKeys(sa, gir);
  sa.initResponse = m.raw;
  const nat = detectNat(m.payloads, sa.spiI, sa.spiR, sa.local, from);
  sa.natLocal = nat.local || sa.peer.natTraversal === 'force';
  sa.natRemote = nat.remote;
  sa.peerFragments = notifies.some((n) => n.notifyType === NotifyType.IKEV2_FRAGMENTATION_SUPPORTED);
  peerCapabilities(sa, m.payloads);
  ctx.log('info', sa, 'main', 'IKE_SA_INIT', `response: ${sa.suite.name}`, { direction: 'in' });
  floatIfNatted(ctx, sa);
  return 'auth';
}

