// IKE_AUTH (RFC 7296 §1.2, §2.15) with a pre-shared key or RFC 7427
// signatures (signatures.ts), the first child SA, and RFC 8784 PPK:
//   HDR, SK {IDi, [CERT+], [N(INITIAL_CONTACT)], [CERTREQ], [IDr], AUTH,
//            [N(PPK_IDENTITY), [N(NO_PPK_AUTH)]], SAi2, TSi, TSr}  -->
//                 <--  HDR, SK {IDr, [CERT+], AUTH, [N(PPK_IDENTITY)], SAr2, TSi, TSr}
// A child SA the responder cannot accept (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE)
// does not fail the IKE SA (§1.2); a failed AUTH does (§2.21.2). More tunnels
// to the same peer follow as CREATE_CHILD_SA exchanges (child-exchange.ts).
//
// PPK (RFC 8784 §3): when both sent USE_PPK, the initiator authenticates with
// SK_pi' and names its PPK in PPK_IDENTITY; with an optional PPK it adds
// NO_PPK_AUTH, its AUTH data under the plain SK_pi, for a responder without
// that PPK. The responder that has it answers with PPK_IDENTITY and SK_pr';
// both then replace SK_d (child keys), SK_pi and SK_pr. A required PPK makes
// every path without it an authentication failure.

import { ROAMING } from '../../exchange/types.ts';
import type { PeerAuth } from '../../exchange/types.ts';
import { wipe } from '../../crypto/secret.ts';
import { derivePpkKeys, encodePpkId, ppkIdMatches, wipePpkKeys, type PpkKeys } from '../crypto/ppk.ts';
import { ExchangeType, PayloadType } from '../wire/constants.ts';
import type { Message } from '../wire/message.ts';
import { notify } from '../wire/notify.ts';
import { isErrorNotify, NotifyType, notifyName } from '../wire/notify-types.ts';
import { formatId } from '../wire/identification.ts';
import { firstOfType, payloadsOfType, type Payload } from '../wire/payloads.ts';
import { installChild, responderChild } from './child.ts';
import { authenticationFailure, childProposalFailure, childRefusal, selectorFailure, syntaxFailure } from './failure-details.ts';
import type { V2Context } from './context.ts';
import { idOf, sameId } from './identity.ts';
import { request, respond } from './messages.ts';
import { acceptEspAnswer, chooseEsp, espOffer } from './proposals.ts';
import { narrow, tunnelSelectors, withinOffer } from './selectors.ts';
import { certPayloads, certRequest, ourAuth, ourId, ourMethod, verifyPeer, type AuthKeys } from './signatures.ts';
import type { IkeSaV2, RequestPurpose } from './state.ts';

type AuthPurpose = Extract<RequestPurpose, { kind: 'auth' }>;

const plainKeys = (sa: IkeSaV2): AuthKeys => ({ pi: sa.keys!.pi, pr: sa.keys!.pr });

function ppkKeysOf(sa: IkeSaV2): PpkKeys {
  const k = sa.peer.ppk!.key.reveal();
  try {
    return derivePpkKeys(sa.suite!.prf, k, { d: sa.keys!.d, pi: sa.keys!.pi, pr: sa.keys!.pr });
  } finally {
    wipe(k);
  }
}

/** The IKE SA continues under the PPK-derived SK_d, SK_pi, SK_pr (RFC 8784 §3). */
function adoptPpkKeys(sa: IkeSaV2, k: PpkKeys): void {
  wipe(sa.keys!.d, sa.keys!.pi, sa.keys!.pr);
  sa.keys!.d = k.d;
  sa.keys!.pi = k.pi;
  sa.keys!.pr = k.pr;
}

/** Our method as status shows it (psk, rsa-sig, ecdsa-sig). */
function statusName(mine: PeerAuth): string {
  return mine.kind === 'psk' ? 'psk' : mine.signature.privateKey.asymmetricKeyType === 'rsa' ? 'rsa-sig' : 'ecdsa-sig';
}

/** For the log: our method, the peer's (e.g. rsa-pss-sha256), and whether a PPK is mixed in. */
function describe(mine: PeerAuth, peer: string, ppk: boolean): string {
  return `we ${statusName(mine)}, peer ${peer}${ppk ? ', PPK' : ''}`;
}

/** Initiator: IKE_AUTH request with the peer's first tunnel as the child SA. */
export function initiateAuth(ctx: V2Context, sa: IkeSaV2): boolean {
  const method = ourMethod(sa);
  if (method === null) {
    ctx.fail(sa, 'main', 'other', 'no usable authentication method: psk needs a secret for this peer in the secrets file');
    return false;
  }
  const myId = ourId(sa, method);
  if (myId === null) {
    ctx.fail(sa, 'main', 'other', 'local identity type does not exist in IKEv2');
    return false;
  }
  const ppk = sa.peer.ppk;
  if (ppk?.required && !sa.ppkOffered) {
    ctx.fail(sa, 'main', 'authentication-failed', 'a PPK is required for this peer but the responder did not announce USE_PPK (RFC 8784)');
    return false;
  }
  const tunnel = sa.peer.tunnels[0];
  sa.state = 'AUTH_SENT';
  let signError: string | null = null;
  request(ctx, sa, ExchangeType.IKE_AUTH, () => {
    const inner: Payload[] = [{ type: PayloadType.IDI, ...myId }, ...certPayloads(method)];
    if (sa.initialContact) inner.push(notify(NotifyType.INITIAL_CONTACT));
    const req = certRequest(sa);
    if (req) inner.push(req);
    const peerId = sa.peer.remoteAddress === ROAMING ? null : idOf(sa.peer.remoteId);
    if (peerId) inner.push({ type: PayloadType.IDR, ...peerId });
    try {
      if (ppk && sa.ppkOffered) {
        sa.ppkKeys = ppkKeysOf(sa);
        inner.push({ type: PayloadType.AUTH, ...ourAuth(sa, method, myId, sa.ppkKeys) });
        inner.push(notify(NotifyType.PPK_IDENTITY, encodePpkId(ppk.id)));
        if (!ppk.required) inner.push(notify(NotifyType.NO_PPK_AUTH, ourAuth(sa, method, myId, plainKeys(sa)).data));
      } else inner.push({ type: PayloadType.AUTH, ...ourAuth(sa, method, myId, plainKeys(sa)) });
    } catch (e) {
      signError = e instanceof Error ? e.message : String(e);
      return null;
    }
    if (!tunnel) return { inner, purpose: { kind: 'auth', childSpi: 0, tunnel: null, offered: [], method } };
    const childSpi = ctx.allocateSpi();
    const offered = espOffer(tunnel, childSpi, null);
    const ts = tunnelSelectors(tunnel);
    inner.push(
      { type: PayloadType.SA, proposals: offered },
      { type: PayloadType.TSI, selectors: [ts.local] },
      { type: PayloadType.TSR, selectors: [ts.remote] },
    );
    return { inner, purpose: { kind: 'auth', childSpi, tunnel, offered, method } };
  });
  if (signError !== null) {
    ctx.fail(sa, 'main', 'other', `cannot sign IKE_AUTH: ${signError}`);
    return false;
  }
  ctx.log(
    'info',
    sa,
    'main',
    'IKE_AUTH',
    `request sent as ${formatId(myId)} (${method.kind === 'psk' ? 'psk' : 'certificate'}${sa.ppkKeys ? ', PPK' : ''})` +
      `${tunnel ? `, child SA for ${tunnel.name}` : ''}`,
    { direction: 'out' },
  );
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
  const notifies = payloadsOfType(inner, PayloadType.NOTIFY);
  const failAuth = (why: string, code: 'authentication-failed' | 'id-mismatch'): false => {
    respond(ctx, sa, ExchangeType.IKE_AUTH, m.header.messageId, [notify(NotifyType.AUTHENTICATION_FAILED)]);
    ctx.fail(sa, 'main', code, why, {
      ...authenticationFailure(sa.peer, undefined),
      ...(code === 'id-mismatch' && idi ? { receivedId: formatId(idi), configField: `peers.${sa.peer.name}.remote-id` } : {}),
    });
    return false;
  };
  if (!idi || !auth) return failAuth('IKE_AUTH request without IDi or AUTH', 'authentication-failed');
  if (sa.peer.remoteAddress !== ROAMING && expected && !sameId(idi, expected)) return failAuth(`peer identifies as ${formatId(idi)}`, 'id-mismatch');
  // RFC 8784 §3: which keys the initiator's AUTH is under.
  const ppk = sa.peer.ppk;
  const ppkId = notifies.find((n) => n.notifyType === NotifyType.PPK_IDENTITY);
  const noPpk = notifies.find((n) => n.notifyType === NotifyType.NO_PPK_AUTH);
  const usePpk = !!(ppk && sa.ppkOffered && ppkId && ppkIdMatches(ppkId.data, ppk.id));
  if (ppk?.required && !usePpk)
    return failAuth(
      sa.ppkOffered ? 'the initiator did not name our PPK (PPK_IDENTITY)' : 'a PPK is required but the initiator did not send USE_PPK',
      'authentication-failed',
    );
  const ppkKeys = usePpk ? ppkKeysOf(sa) : null;
  const certs = payloadsOfType(inner, PayloadType.CERT);
  const peerAuth =
    ppkKeys !== null
      ? verifyPeer(sa, idi, auth, certs, ppkKeys, ctx.env.wallClock())
      : verifyPeer(sa, idi, ppkId && noPpk ? { method: auth.method, data: noPpk.data } : auth, certs, plainKeys(sa), ctx.env.wallClock());
  if (!peerAuth.ok) {
    if (ppkKeys) wipePpkKeys(ppkKeys);
    return failAuth(peerAuth.reason, 'authentication-failed');
  }
  const method = ourMethod(sa, peerAuth.kind);
  const myId = method ? ourId(sa, method) : null;
  if (!method || !myId) {
    if (ppkKeys) wipePpkKeys(ppkKeys);
    return failAuth('no usable authentication method or identity of our own for this peer', 'authentication-failed');
  }
  let ours;
  try {
    ours = ourAuth(sa, method, myId, ppkKeys ?? plainKeys(sa));
  } catch (e) {
    if (ppkKeys) wipePpkKeys(ppkKeys);
    return failAuth(`cannot sign our AUTH: ${e instanceof Error ? e.message : String(e)}`, 'authentication-failed');
  }
  const out: Payload[] = [{ type: PayloadType.IDR, ...myId }, ...certPayloads(method), { type: PayloadType.AUTH, ...ours }];
  if (ppkKeys) {
    out.push(notify(NotifyType.PPK_IDENTITY));
    adoptPpkKeys(sa, ppkKeys);
  }
  sa.authName = statusName(method);
  const how = describe(method, peerAuth.name, ppkKeys !== null);
  const initialContact = payloadsOfType(inner, PayloadType.NOTIFY).some((n) => n.notifyType === NotifyType.INITIAL_CONTACT);
  sa.state = 'ESTABLISHED';
  ctx.log('info', sa, 'main', 'IKE_AUTH', `peer ${formatId(idi)} authenticated (${how})`, { direction: 'in' });
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
      ctx.fail(sa, 'quick', 'ts-mismatch', 'the peer\'s traffic selectors match no tunnel', {
        ...selectorFailure(sa.peer, 'responder', { tsi: tsi.selectors, tsr: tsr.selectors }, null),
        role: 'responder',
      });
    } else if (!choice) {
      out.push(notify(NotifyType.NO_PROPOSAL_CHOSEN));
      ctx.fail(sa, 'quick', 'no-proposal-chosen', `no ESP proposal acceptable for ${n.tunnel.name}`, {
        ...childProposalFailure(n.tunnel, 'responder', childSa.proposals, true),
        role: 'responder',
      });
    } else {
      out.push(
        { type: PayloadType.SA, proposals: [choice.proposal] },
        { type: PayloadType.TSI, selectors: [n.tsi] },
        { type: PayloadType.TSR, selectors: [n.tsr] },
      );
      // §1.2: the first child SA has no KE of its own (no PFS group).
      child = responderChild(n, choice, inSpi, sa.ni, sa.nr, null);
    }
  }
  ctx.established(sa, initialContact);
  // The first child's SAs go in before the answer leaves: the initiator sends on them at once.
  if (child) installChild(ctx, sa, child);
  respond(ctx, sa, ExchangeType.IKE_AUTH, m.header.messageId, out);
  return true;
}

/** Initiator: the IKE_AUTH response. Returns false when the IKE SA failed. */
export function handleAuthResponse(ctx: V2Context, sa: IkeSaV2, inner: readonly Payload[], purpose: AuthPurpose): boolean {
  const notifies = payloadsOfType(inner, PayloadType.NOTIFY);
  if (notifies.some((n) => n.notifyType === NotifyType.AUTHENTICATION_FAILED)) {
    ctx.fail(
      sa,
      'main',
      'authentication-failed',
      'peer refused our AUTH: the pre-shared keys, certificates, identities or PPKs differ',
      authenticationFailure(sa.peer, purpose.method),
    );
    return false;
  }
  const idr = firstOfType(inner, PayloadType.IDR);
  const auth = firstOfType(inner, PayloadType.AUTH);
  if (!idr || !auth) {
    const err = notifies.find((n) => isErrorNotify(n.notifyType));
    ctx.fail(
      sa,
      'main',
      'invalid-message',
      err ? `peer answered ${notifyName(err.notifyType)}` : 'IKE_AUTH response without IDr or AUTH',
      err?.notifyType === NotifyType.INVALID_SYNTAX ? syntaxFailure(sa.peer, 'peer') : err ? { notify: notifyName(err.notifyType) } : {},
    );
    return false;
  }
  const expected = idOf(sa.peer.remoteId);
  if (sa.peer.remoteAddress !== ROAMING && expected && !sameId(idr, expected)) {
    ctx.fail(sa, 'main', 'id-mismatch', `peer identifies as ${formatId(idr)}`, {
      ...authenticationFailure(sa.peer, purpose.method),
      notify: undefined,
      receivedId: formatId(idr),
      configField: `peers.${sa.peer.name}.remote-id`,
    });
    return false;
  }
  const ppkKeys = sa.ppkKeys;
  sa.ppkKeys = null;
  const usePpk = ppkKeys !== null && notifies.some((n) => n.notifyType === NotifyType.PPK_IDENTITY);
  if (ppkKeys && !usePpk) {
    wipePpkKeys(ppkKeys);
    if (sa.peer.ppk?.required) {
      ctx.fail(sa, 'main', 'authentication-failed', 'a PPK is required but the responder did not use it (no PPK_IDENTITY)', {
        ...authenticationFailure(sa.peer, purpose.method),
        notify: undefined,
      });
      return false;
    }
  }
  const peerAuth = verifyPeer(sa, idr, auth, payloadsOfType(inner, PayloadType.CERT), usePpk ? ppkKeys! : plainKeys(sa), ctx.env.wallClock());
  if (!peerAuth.ok) {
    if (usePpk) wipePpkKeys(ppkKeys!);
    ctx.fail(sa, 'main', 'authentication-failed', `responder AUTH does not verify: ${peerAuth.reason}`, {
      ...authenticationFailure(sa.peer, purpose.method),
      notify: undefined,
    });
    return false;
  }
  if (usePpk) adoptPpkKeys(sa, ppkKeys!);
  sa.authName = statusName(purpose.method);
  const how = describe(purpose.method, peerAuth.name, usePpk);
  sa.state = 'ESTABLISHED';
  ctx.log('info', sa, 'main', 'IKE_AUTH', `peer ${formatId(idr)} authenticated (${how}), IKE SA established`, { direction: 'in' });
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
    const { code, extra } = childRefusal(sa.peer, tunnel, childErr ?? null, true);
    ctx.fail(
      sa,
      'quick',
      code,
      childErr
        ? `child SA for ${tunnel.name} refused: ${notifyName(childErr.notifyType)}`
        : `child SA answer for ${tunnel.name} is not what we offered`,
      extra,
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
