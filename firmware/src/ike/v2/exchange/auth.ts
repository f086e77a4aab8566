// IKE_AUTH (RFC 7296 §1.2, §2.15) with a pre-shared key and the first child SA:
//   HDR, SK {IDi, [N(INITIAL_CONTACT)], [IDr], AUTH, SAi2, TSi, TSr}  -->
//                                  <--  HDR, SK {IDr, AUTH, SAr2, TSi, TSr}
// A child SA the responder cannot accept (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE)
// does not fail the IKE SA (§1.2); a failed AUTH does (§2.21.2). More tunnels
// to the same peer follow as CREATE_CHILD_SA exchanges (child-exchange.ts).

import { ROAMING } from '../../exchange/types.ts';
import { pskAuth, signedOctets, verifyPskAuth } from '../crypto/authentication.ts';
import { AuthMethod, ExchangeType, PayloadType } from '../wire/constants.ts';
import type { Message } from '../wire/message.ts';
import { notify } from '../wire/notify.ts';
import { isErrorNotify, NotifyType, notifyName } from '../wire/notify-types.ts';
import { formatId } from '../wire/identification.ts';
import { firstOfType, payloadsOfType, type IdPayload, type Payload } from '../wire/payloads.ts';
import { installChild } from './child.ts';
import type { V2Context } from './context.ts';
import { idBody, idOf, sameId } from './identity.ts';
import { request, respond } from './messages.ts';
import { acceptEspAnswer, chooseEsp, espOffer } from './proposals.ts';
import { narrow, tunnelSelectors, withinOffer } from './selectors.ts';
import type { IkeSaV2, RequestPurpose } from './state.ts';

type AuthPurpose = Extract<RequestPurpose, { kind: 'auth' }>;

function psk(sa: IkeSaV2): Buffer | null {
  return sa.peer.psk ? sa.peer.psk.reveal() : null;
}

/** AUTH data for our side: `mine` is our IKE_SA_INIT message, `peerNonce` the other side's nonce, `skP` our SK_p. */
function ourAuth(sa: IkeSaV2, id: Pick<IdPayload, 'idType' | 'data'>): Buffer {
  const i = sa.role === 'initiator';
  const octets = signedOctets({
    prf: sa.suite!.prf,
    realMessage: i ? sa.initRequest : sa.initResponse,
    peerNonce: i ? sa.nr : sa.ni,
    skP: i ? sa.keys!.pi : sa.keys!.pr,
    idBody: idBody(id),
  });
  return pskAuth(sa.suite!.prf, psk(sa)!, octets);
}

/** Check the peer's AUTH (PSK) over its signed octets. */
function peerAuthOk(sa: IkeSaV2, id: Pick<IdPayload, 'idType' | 'data'>, auth: { method: number; data: Buffer }): boolean {
  const key = psk(sa);
  if (auth.method !== AuthMethod.SHARED_KEY_MIC || key === null) return false;
  const peerIsInitiator = sa.role === 'responder';
  const octets = signedOctets({
    prf: sa.suite!.prf,
    realMessage: peerIsInitiator ? sa.initRequest : sa.initResponse,
    peerNonce: peerIsInitiator ? sa.nr : sa.ni,
    skP: peerIsInitiator ? sa.keys!.pi : sa.keys!.pr,
    idBody: idBody(id),
  });
  return verifyPskAuth(sa.suite!.prf, key, octets, auth.data);
}

/** Initiator: IKE_AUTH request with the peer's first tunnel as the child SA. */
export function initiateAuth(ctx: V2Context, sa: IkeSaV2): boolean {
  const myId = idOf(sa.peer.localId);
  if (myId === null) {
    ctx.fail(sa, 'main', 'other', 'local identity type does not exist in IKEv2');
    return false;
  }
  if (psk(sa) === null) {
    ctx.fail(sa, 'main', 'other', 'IKEv2 authenticates with a pre-shared key here; this peer has none');
    return false;
  }
  const tunnel = sa.peer.tunnels[0];
  sa.state = 'AUTH_SENT';
  request(ctx, sa, ExchangeType.IKE_AUTH, () => {
    const inner: Payload[] = [{ type: PayloadType.IDI, ...myId }];
    if (sa.initialContact) inner.push(notify(NotifyType.INITIAL_CONTACT));
    const peerId = sa.peer.remoteAddress === ROAMING ? null : idOf(sa.peer.remoteId);
    if (peerId) inner.push({ type: PayloadType.IDR, ...peerId });
    inner.push({ type: PayloadType.AUTH, method: AuthMethod.SHARED_KEY_MIC, data: ourAuth(sa, myId) });
    if (!tunnel) return { inner, purpose: { kind: 'auth', childSpi: 0, tunnel: null, offered: [] } };
    const childSpi = ctx.allocateSpi();
    const offered = espOffer(tunnel, childSpi, null);
    const ts = tunnelSelectors(tunnel);
    inner.push(
      { type: PayloadType.SA, proposals: offered },
      { type: PayloadType.TSI, selectors: [ts.local] },
      { type: PayloadType.TSR, selectors: [ts.remote] },
    );
    return { inner, purpose: { kind: 'auth', childSpi, tunnel, offered } };
  });
  ctx.log('info', sa, 'main', 'IKE_AUTH', `request sent as ${formatId(myId)}${tunnel ? `, child SA for ${tunnel.name}` : ''}`, { direction: 'out' });
  return true;
}

/**
 * Responder: the IKE_AUTH request. Returns true when the IKE SA is now
 * established, false when it failed (the caller removes it).
 */
export function respondAuth(ctx: V2Context, sa: IkeSaV2, m: Message, inner: readonly Payload[]): boolean {
  const idi = firstOfType(inner, PayloadType.IDI);
  const auth = firstOfType(inner, PayloadType.AUTH);
  const expected = idOf(sa.peer.remoteId);
  const failAuth = (why: string, code: 'authentication-failed' | 'id-mismatch'): false => {
    respond(ctx, sa, ExchangeType.IKE_AUTH, m.header.messageId, [notify(NotifyType.AUTHENTICATION_FAILED)]);
    ctx.fail(sa, 'main', code, why);
    return false;
  };
  if (!idi || !auth) return failAuth('IKE_AUTH request without IDi or AUTH', 'authentication-failed');
  if (sa.peer.remoteAddress !== ROAMING && expected && !sameId(idi, expected)) return failAuth(`peer identifies as ${formatId(idi)}`, 'id-mismatch');
  if (!peerAuthOk(sa, idi, auth)) return failAuth('AUTH does not verify: the pre-shared keys differ', 'authentication-failed');
  const myId = idOf(sa.peer.localId)!;
  const out: Payload[] = [{ type: PayloadType.IDR, ...myId }, { type: PayloadType.AUTH, method: AuthMethod.SHARED_KEY_MIC, data: ourAuth(sa, myId) }];
  const initialContact = payloadsOfType(inner, PayloadType.NOTIFY).some((n) => n.notifyType === NotifyType.INITIAL_CONTACT);
  sa.state = 'ESTABLISHED';
  ctx.log('info', sa, 'main', 'IKE_AUTH', `peer ${formatId(idi)} authenticated`, { direction: 'in' });
  const childSa = firstOfType(inner, PayloadType.SA);
  const tsi = firstOfType(inner, PayloadType.TSI);
  const tsr = firstOfType(inner, PayloadType.TSR);
  let child: Parameters<typeof installChild>[2] | null = null;
  if (childSa && tsi && tsr) {
    const n = narrow(sa.peer.tunnels, tsi.selectors, tsr.selectors);
    const inSpi = n ? ctx.allocateSpi() : 0;
    const choice = n ? chooseEsp(n.tunnel, childSa.proposals, inSpi, true) : null;
    if (!choice && n) ctx.releaseSpi(inSpi);
    if (!n) {
      out.push(notify(NotifyType.TS_UNACCEPTABLE));
      ctx.fail(sa, 'quick', 'ts-mismatch', 'the peer\'s traffic selectors match no tunnel');
    } else if (!choice) {
      out.push(notify(NotifyType.NO_PROPOSAL_CHOSEN));
      ctx.fail(sa, 'quick', 'no-proposal-chosen', `no ESP proposal acceptable for ${n.tunnel.name}`);
    } else {
      out.push(
        { type: PayloadType.SA, proposals: [choice.proposal] },
        { type: PayloadType.TSI, selectors: [n.tsi] },
        { type: PayloadType.TSR, selectors: [n.tsr] },
      );
      child = {
        tunnel: n.tunnel,
        algorithm: choice.algorithm,
        inSpi,
        outSpi: choice.peerSpi,
        local: n.tsr,
        remote: n.tsi,
        ni: sa.ni,
        nr: sa.nr,
        weInitiated: false,
        pfsGroup: null,
        esn: choice.esn,
      };
    }
  }
  respond(ctx, sa, ExchangeType.IKE_AUTH, m.header.messageId, out);
  ctx.established(sa, initialContact);
  if (child) installChild(ctx, sa, child);
  return true;
}

/** Initiator: the IKE_AUTH response. Returns false when the IKE SA failed. */
export function handleAuthResponse(ctx: V2Context, sa: IkeSaV2, inner: readonly Payload[], purpose: AuthPurpose): boolean {
  const notifies = payloadsOfType(inner, PayloadType.NOTIFY);
  if (notifies.some((n) => n.notifyType === NotifyType.AUTHENTICATION_FAILED)) {
    ctx.fail(sa, 'main', 'authentication-failed', 'peer refused our AUTH: the pre-shared keys (or identities) differ');
    return false;
  }
  const idr = firstOfType(inner, PayloadType.IDR);
  const auth = firstOfType(inner, PayloadType.AUTH);
  if (!idr || !auth) {
    const err = notifies.find((n) => isErrorNotify(n.notifyType));
    ctx.fail(sa, 'main', 'invalid-message', err ? `peer answered ${notifyName(err.notifyType)}` : 'IKE_AUTH response without IDr or AUTH');
    return false;
  }
  const expected = idOf(sa.peer.remoteId);
  if (sa.peer.remoteAddress !== ROAMING && expected && !sameId(idr, expected)) {
    ctx.fail(sa, 'main', 'id-mismatch', `peer identifies as ${formatId(idr)}`);
    return false;
  }
  if (!peerAuthOk(sa, idr, auth)) {
    ctx.fail(sa, 'main', 'authentication-failed', 'responder AUTH does not verify: the pre-shared keys differ');
    return false;
  }
  sa.state = 'ESTABLISHED';
  ctx.log('info', sa, 'main', 'IKE_AUTH', `peer ${formatId(idr)} authenticated, IKE SA established`, { direction: 'in' });
  ctx.established(sa, false);
  if (purpose.tunnel === null) return true;
  const tunnel = purpose.tunnel;
  const childErr = notifies.find((n) => isErrorNotify(n.notifyType));
  const childSa = firstOfType(inner, PayloadType.SA);
  const tsi = firstOfType(inner, PayloadType.TSI);
  const tsr = firstOfType(inner, PayloadType.TSR);
  const ours = tunnelSelectors(tunnel);
  const choice = childSa ? acceptEspAnswer(tunnel, purpose.offered, childSa.proposals) : null;
  const local = tsi ? withinOffer(ours.local, tsi.selectors) : null;
  const remote = tsr ? withinOffer(ours.remote, tsr.selectors) : null;
  if (childErr || !choice || !local || !remote) {
    ctx.releaseSpi(purpose.childSpi);
    const code =
      childErr?.notifyType === NotifyType.TS_UNACCEPTABLE
        ? 'ts-mismatch'
        : childErr?.notifyType === NotifyType.NO_PROPOSAL_CHOSEN
          ? 'no-proposal-chosen'
          : 'invalid-message';
    ctx.fail(
      sa,
      'quick',
      code,
      childErr
        ? `child SA for ${tunnel.name} refused: ${notifyName(childErr.notifyType)}`
        : `child SA answer for ${tunnel.name} is not what we offered`,
    );
    return true;
  }
  installChild(ctx, sa, {
    tunnel: tunnel,
    algorithm: choice.algorithm,
    inSpi: purpose.childSpi,
    outSpi: choice.peerSpi,
    local,
    remote,
    ni: sa.ni,
    nr: sa.nr,
    weInitiated: true,
    pfsGroup: null,
    esn: choice.esn,
  });
  return true;
}
