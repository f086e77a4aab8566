// CREATE_CHILD_SA for child SAs (RFC 7296 §1.3.1 new child, §1.3.3 rekey):
//   HDR, SK {[N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr}  -->
//                                <--  HDR, SK {SA, Nr, [KEr], TSi, TSr}
// KE is present when the tunnel asks for PFS; KEYMAT then includes the new
// g^ir (§2.17). Rekeying is make-before-break: the new pair is installed
// first, then the exchange initiator deletes the old one with an
// INFORMATIONAL Delete (§2.8), and the peer keeps the old inbound SA until
// that Delete arrives.
// With the tunnel's RFC 9370 additional key exchanges (`pfs = x25519-ke1_mlkem768`)
// the response carries an ADDITIONAL_KEY_EXCHANGE link, the exchanges run in
// IKE_FOLLOWUP_KE (followup-ke.ts) and the pair is installed after the last one,
// KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr | SK(1) | ... | SK(n)) (§2.2.4); a failed
// follow-up installs nothing and leaves the old pair in place. A simultaneous rekey
// of one child (§2.8.1) is settled once both new pairs exist, as without them.

import { dhGroupById, DhError, type DhKeyPair } from '../../crypto/dh.ts';
import type { TunnelPolicy } from '../../exchange/types.ts';
import { groupName } from '../../exchange/proposal-names.ts';
import { ExchangeType, PayloadType, ProtocolId } from '../wire/constants.ts';
import type { Message } from '../wire/message.ts';
import { groupData, notify } from '../wire/notify.ts';
import { isErrorNotify, NotifyType, notifyName } from '../wire/notify-types.ts';
import { firstOfType, payloadsOfType, type Payload } from '../wire/payloads.ts';
import { installChild, responderChild, withdrawOutbound } from './child.ts';
import { childProposalFailure, childRefusal, selectorFailure, syntaxFailure } from './failure-details.ts';
import type { V2Context } from './context.ts';
import { deleteChild } from './informational.ts';
import { request, respond } from './messages.ts';
import { acceptEspAnswer, chooseEsp, espOffer, spiBytes } from './proposals.ts';
import { MAX_REKEY_RETRIES, rekeyRetryAt } from './rekey-retry.ts';
import { NONCE_LENGTH } from './sa-init.ts';
import { narrow, tunnelSelectors, withinOffer } from './selectors.ts';
import { homeOf, type ChildSaV2, type IkeSaV2, type RequestPurpose } from './state.ts';
import { chosenAddKe } from './addke-proposals.ts';
import { awaitFollowups, followupLink, followupRoom, linkNotify, newFollowup, newLink, sendFollowup } from './followup-ke.ts';
import { wipe } from '../../crypto/secret.ts';

/**
 * §2.8.1 simultaneous rekey: both ends rekeyed `old`, so two new pairs exist.
 * "The SA created with the lowest of the four nonces used in the two exchanges
 * SHOULD be closed by the endpoint that created it": we close it when it came
 * from our exchange, the peer closes it otherwise. Returns whether the redundant
 * pair is ours, or null while only one new pair exists.
 */
function noteSuccessor(ctx: V2Context, sa: IkeSaV2, old: ChildSaV2, child: ChildSaV2, nonces: Buffer[], mine: boolean): boolean | null {
  const list = (old.successors ??= []);
  list.push({ child, nonces, mine });
  if (list.length !== 2) return null;
  const lowest = (x: { nonces: Buffer[] }): Buffer => x.nonces.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));
  const redundant = Buffer.compare(lowest(list[0]!), lowest(list[1]!)) <= 0 ? list[0]! : list[1]!;
  ctx.log(
    'info',
    sa,
    'quick',
    'REKEY',
    `simultaneous rekey of ${old.tunnel.name} (§2.8.1): the pair with the lowest ` +
      `nonce is ${redundant.mine ? 'ours, deleting it' : "the peer's to delete"}`,
  );
  const home = redundant.mine ? homeOf(sa, redundant.child) : null;
  if (home) {
    withdrawOutbound(ctx, home, redundant.child);
    deleteChild(ctx, home, redundant.child);
  }
  return redundant.mine;
}

/** Start a CREATE_CHILD_SA for `tunnel`, rekeying `old` when given. */
export function createChild(ctx: V2Context, sa: IkeSaV2, tunnel: TunnelPolicy, old?: ChildSaV2): void {
  if (old) old.rekeying = true;
  request(ctx, sa, ExchangeType.CREATE_CHILD_SA, () => {
    if (sa.state !== 'ESTABLISHED' || (old && !sa.children.includes(old))) return null;
    const spi = ctx.allocateSpi();
    const nonce = ctx.env.random(NONCE_LENGTH);
    const dh: DhKeyPair | null = tunnel.pfsGroup === null ? null : dhGroupById(tunnel.pfsGroup)!.generate(ctx.env.random);
    const offered = espOffer(tunnel, spi, tunnel.pfsGroup);
    const ts = tunnelSelectors(tunnel);
    const inner: Payload[] = [];
    if (old)
      inner.push({
        type: PayloadType.NOTIFY,
        protocol: ProtocolId.ESP,
        spi: spiBytes(old.inSpi),
        notifyType: NotifyType.REKEY_SA,
        data: Buffer.alloc(0),
      });
    inner.push({ type: PayloadType.SA, proposals: offered }, { type: PayloadType.NONCE, data: nonce });
    if (dh) inner.push({ type: PayloadType.KE, group: tunnel.pfsGroup!, data: dh.publicKey });
    inner.push({ type: PayloadType.TSI, selectors: [ts.local] }, { type: PayloadType.TSR, selectors: [ts.remote] });
    ctx.log('info', sa, 'quick', 'CREATE_CHILD_SA', `${old ? 'rekey' : 'new child SA'} for ${tunnel.name} requested`, { direction: 'out' });
    const purpose: RequestPurpose = old
      ? { kind: 'rekey-child', old, newSpi: spi, nonce, dh, offered }
      : { kind: 'create-child', tunnel, spi, nonce, dh, offered };
    return { inner, purpose };
  });
}

/** Responder side of CREATE_CHILD_SA for child SAs (IKE SA rekeys go to ike-rekey.ts). */
export function respondCreateChild(ctx: V2Context, sa: IkeSaV2, m: Message, inner: readonly Payload[]): void {
  const answer = (out: Payload[]): void => respond(ctx, sa, ExchangeType.CREATE_CHILD_SA, m.header.messageId, out);
  const refuse = (n: number, why: string, data: Buffer = Buffer.alloc(0)): void => {
    ctx.log('warning', sa, 'quick', 'CREATE_CHILD_SA', `${notifyName(n)}: ${why}`, { direction: 'out', notify: notifyName(n) });
    answer([notify(n, data)]);
  };
  const saP = firstOfType(inner, PayloadType.SA);
  const ni = firstOfType(inner, PayloadType.NONCE);
  const ke = firstOfType(inner, PayloadType.KE);
  const malformed = (why: string): void => {
    ctx.fail(sa, 'quick', 'invalid-message', why, { ...syntaxFailure(sa.peer, 'us'), role: 'responder' });
    refuse(NotifyType.INVALID_SYNTAX, why);
  };
  if (!saP || !ni) return malformed('CREATE_CHILD_SA without SA or Nonce');
  const tsi = firstOfType(inner, PayloadType.TSI);
  const tsr = firstOfType(inner, PayloadType.TSR);
  if (!tsi || !tsr) return malformed('CREATE_CHILD_SA without TSi/TSr');
  const rekey = payloadsOfType(inner, PayloadType.NOTIFY).find((n) => n.notifyType === NotifyType.REKEY_SA);
  let old: ChildSaV2 | undefined;
  if (rekey) {
    // §1.3.3: the SPI is the one the exchange initiator receives with, i.e. our outbound SPI.
    const spi = rekey.spi.length === 4 ? rekey.spi.readUInt32BE(0) : -1;
    old = sa.children.find((c) => c.outSpi === spi);
    if (!old) return refuse(NotifyType.CHILD_SA_NOT_FOUND, `no child SA with SPI ${spi.toString(16)}`);
    // §2.25.1: a rekey of a child SA we are deleting: the peer gets our Delete instead.
    if (old.deleting) return refuse(NotifyType.TEMPORARY_FAILURE, `child SA ${spi.toString(16)} is being deleted`);
  }
  const n = narrow(old ? [old.tunnel] : sa.peer.tunnels, tsi.selectors, tsr.selectors);
  if (!n) {
    ctx.fail(sa, 'quick', 'ts-mismatch', 'the peer\'s traffic selectors match no tunnel', {
      ...selectorFailure(sa.peer, 'responder', { tsi: tsi.selectors, tsr: tsr.selectors }, old?.tunnel ?? null),
      role: 'responder',
    });
    return refuse(NotifyType.TS_UNACCEPTABLE, 'traffic selectors match no tunnel');
  }
  const inSpi = ctx.allocateSpi();
  const choice = chooseEsp(n.tunnel, saP.proposals, inSpi, false);
  if (!choice) {
    ctx.releaseSpi(inSpi);
    ctx.fail(
      sa,
      'quick',
      n.tunnel.pfsGroup !== null && !ke ? 'pfs-mismatch' : 'no-proposal-chosen',
      `no ESP proposal acceptable for ${n.tunnel.name}`,
      { ...childProposalFailure(n.tunnel, 'responder', saP.proposals, false), role: 'responder' },
    );
    return refuse(NotifyType.NO_PROPOSAL_CHOSEN, `no acceptable ESP proposal for ${n.tunnel.name}`);
  }
  const group = n.tunnel.pfsGroup;
  let gir: Buffer | undefined;
  let ourKe: Payload | null = null;
  if (group !== null) {
    if (!ke || ke.group !== group) {
      ctx.releaseSpi(inSpi);
      return refuse(NotifyType.INVALID_KE_PAYLOAD, `KE of group ${ke ? groupName(ke.group) : 'none'}, we want ${groupName(group)}`, groupData(group));
    }
    const dh = dhGroupById(group)!.generate(ctx.env.random);
    try {
      gir = dh.computeSecret(ke.data);
    } catch (e) {
      if (!(e instanceof DhError)) throw e;
      ctx.releaseSpi(inSpi);
      return refuse(NotifyType.INVALID_SYNTAX, `invalid KE: ${e.message}`);
    }
    ourKe = { type: PayloadType.KE, group, data: dh.publicKey };
  }
  const addKe = chosenAddKe(choice.proposal.transforms);
  if (addKe.length > 0 && (!gir || !followupRoom(sa))) {
    ctx.releaseSpi(inSpi);
    wipe(gir);
    return refuse(NotifyType.TEMPORARY_FAILURE, 'too many CREATE_CHILD_SAs waiting for their IKE_FOLLOWUP_KE exchanges');
  }
  const nr = ctx.env.random(NONCE_LENGTH);
  const link = addKe.length > 0 ? newLink(ctx) : null;
  const out: Payload[] = [{ type: PayloadType.SA, proposals: [choice.proposal] }, { type: PayloadType.NONCE, data: nr }];
  if (ourKe) out.push(ourKe);
  if (link) out.push(linkNotify(link));
  out.push({ type: PayloadType.TSI, selectors: [n.tsi] }, { type: PayloadType.TSR, selectors: [n.tsr] });
  const peerNonce = Buffer.from(ni.data);
  // §2.8: the initiator deletes the old pair; our timers leave it alone meanwhile (until a follow-up fails).
  if (old) {
    old.rekeying = true;
    old.peerRekeyed = true;
  }
  const install = (secrets: Buffer[]): null => {
    const child = installChild(ctx, sa, {
      ...responderChild(n, choice, inSpi, peerNonce, nr, group),
      deferOutbound: old !== undefined,
      ...(secrets.length > 0 ? { gir: secrets[0]!, followups: secrets.slice(1), addKe } : {}),
    });
    if (old) noteSuccessor(ctx, sa, old, child, [peerNonce, nr], false);
    return null;
  };
  if (!link) {
    // Our inbound SA goes in before the answer leaves: the initiator sends on the new
    // pair as soon as it has the answer, and the engine's install takes a moment.
    install(gir ? [gir] : []);
    answer(out);
    return;
  }
  answer(out);
  const f = newFollowup({
    kind: 'child',
    what: `${old ? 'rekey' : 'new child SA'} of ${n.tunnel.name}`,
    nonces: [peerNonce, nr],
    sk0: gir!,
    addKe,
    link,
    finish: (secrets) => (sa.keys ? install(secrets) : abandon(secrets)),
    onAbort: (why, f) => {
      ctx.releaseSpi(inSpi);
      if (old && !old.deleting) {
        old.rekeying = false;
        old.peerRekeyed = false;
      }
      ctx.log('warning', sa, 'quick', 'REKEY', `the peer's ${f.what} ended before its additional key exchanges: ${why}; nothing installed`);
    },
  });
  const abandon = (secrets: Buffer[]): null => {
    wipe(...secrets);
    ctx.releaseSpi(inSpi);
    return null;
  };
  awaitFollowups(ctx, sa, f);
}

type ChildPurpose = Extract<RequestPurpose, { kind: 'rekey-child' | 'create-child' }>;

/** Initiator side: the CREATE_CHILD_SA response. */
export function handleCreateChildResponse(ctx: V2Context, sa: IkeSaV2, inner: readonly Payload[], p: ChildPurpose): void {
  const tunnel = p.kind === 'rekey-child' ? p.old.tunnel : p.tunnel;
  const spi = p.kind === 'rekey-child' ? p.newSpi : p.spi;
  const err = payloadsOfType(inner, PayloadType.NOTIFY).find((n) => isErrorNotify(n.notifyType));
  const saP = firstOfType(inner, PayloadType.SA);
  const nr = firstOfType(inner, PayloadType.NONCE);
  const ke = firstOfType(inner, PayloadType.KE);
  const tsi = firstOfType(inner, PayloadType.TSI);
  const tsr = firstOfType(inner, PayloadType.TSR);
  const ours = tunnelSelectors(tunnel);
  const choice = saP ? acceptEspAnswer(tunnel, p.offered, saP.proposals) : null;
  const local = tsi ? withinOffer(ours.local, tsi.selectors) : null;
  const remote = tsr ? withinOffer(ours.remote, tsr.selectors) : null;
  let gir: Buffer | undefined;
  let bad = err ? `refused: ${notifyName(err.notifyType)}` : !choice || !nr || !local || !remote ? 'answer is not what we offered' : null;
  if (!bad && p.dh) {
    if (!ke || ke.group !== tunnel.pfsGroup) bad = 'answer lacks the PFS key exchange';
    else {
      try {
        gir = p.dh.computeSecret(ke.data);
      } catch (e) {
        if (!(e instanceof DhError)) throw e;
        bad = `invalid KE: ${e.message}`;
      }
    }
  }
  const busy = err?.notifyType === NotifyType.TEMPORARY_FAILURE || err?.notifyType === NotifyType.CHILD_SA_NOT_FOUND;
  if (bad && busy && p.kind === 'rekey-child') {
    // §2.25.1: the peer is deleting or rekeying this child (or has it no more): not a
    // failure; its Delete follows, or our timer tries again in a few seconds.
    ctx.releaseSpi(spi);
    p.old.rekeying = false;
    p.old.rekeyAt = Math.max(p.old.rekeyAt, ctx.env.now() + 2000 + 10 * ctx.env.random(1)[0]!);
    ctx.log('info', sa, 'quick', 'REKEY', `rekey of ${tunnel.name} ${bad}: the peer is busy with it, trying again later`);
    return;
  }
  if (bad) {
    ctx.releaseSpi(spi);
    if (p.kind === 'rekey-child') {
      p.old.rekeying = false;
      // rekey-retry.ts: a few more tries after a random delay, then none: the old pair runs to its hard lifetime.
      const tries = p.old.rekeyRetries ?? 0;
      const at = rekeyRetryAt(ctx, tries, p.old.expiresAt);
      p.old.rekeyRetries = tries + 1;
      p.old.rekeyAt = at ?? Infinity;
      if (at !== null) {
        ctx.counters.rekeyRetries++;
        const inS = Math.round((at - ctx.env.now()) / 1000);
        const next = `trying again in ${inS} s (retry ${tries + 1} of ${MAX_REKEY_RETRIES})`;
        ctx.log('info', sa, 'quick', 'REKEY', `rekey of ${tunnel.name} refused: ${next}`);
      } else ctx.log('info', sa, 'quick', 'REKEY', `rekey of ${tunnel.name} refused: no more retries, the pair stays until it expires`);
    }
    // An answer we cannot use without an error notify: 'invalid-message' (childRefusal).
    const { code, extra } = childRefusal(sa.peer, tunnel, err ?? null, false);
    ctx.fail(sa, 'quick', code, `CREATE_CHILD_SA for ${tunnel.name}: ${bad}`, extra);
    return;
  }
  const theirNonce = Buffer.from(nr!.data);
  const addKe = chosenAddKe(choice!.proposal.transforms);
  const install = (secrets: Buffer[]): null => {
    const child = installChild(ctx, sa, {
      tunnel,
      algorithm: choice!.algorithm,
      inSpi: spi,
      outSpi: choice!.peerSpi,
      local: local!,
      remote: remote!,
      ni: p.nonce,
      nr: theirNonce,
      weInitiated: true,
      pfsGroup: tunnel.pfsGroup,
      esn: choice!.esn,
      ...(secrets.length > 0 ? { gir: secrets[0]!, followups: secrets.slice(1), addKe } : {}),
    });
    // The IKE SA was rekeyed while this exchange ran (§2.8.2 / §1.3.2): the new pair
    // (keyed from this SA's SK_d, as the peer keyed it) lives with the others on the new SA.
    let home = sa;
    for (let hops = 0; home.replacedBy && hops < 8; hops++) home = home.replacedBy;
    if (home !== sa) {
      sa.children.splice(sa.children.indexOf(child), 1);
      home.children.push(child);
    }
    if (p.kind === 'rekey-child') {
      // §2.8.1: "The node that initiated the surviving rekeyed SA should delete the replaced
      // SA." When the peer's rekey of the same pair arrived first and its pair survives, the
      // peer deletes the old one and we only close ours (noteSuccessor); our own Delete of
      // the old pair would cross the peer's while it settles the collision.
      const oursRedundant = noteSuccessor(ctx, home, p.old, child, [p.nonce, theirNonce], true);
      const oldHome = oursRedundant === true ? null : homeOf(sa, p.old);
      if (oldHome) deleteChild(ctx, oldHome, p.old);
    }
    return null;
  };
  if (addKe.length === 0) {
    install(gir ? [gir] : []);
    return;
  }
  // RFC 9370 §2.2.2: the additional key exchanges run in IKE_FOLLOWUP_KE, tied by the responder's link.
  const link = followupLink(inner);
  const giveUp = (why: string): void => {
    ctx.releaseSpi(spi);
    if (p.kind === 'rekey-child' && !p.old.deleting) {
      p.old.rekeying = false;
      // Not at once again: a few seconds, as after TEMPORARY_FAILURE.
      p.old.rekeyAt = Math.max(p.old.rekeyAt, ctx.env.now() + 2000 + 10 * ctx.env.random(1)[0]!);
    }
    const what = `${p.kind === 'rekey-child' ? 'rekey' : 'new child SA'} of ${tunnel.name}`;
    ctx.log('warning', sa, 'quick', 'REKEY', `${what} ended before its additional key exchanges: ${why}; nothing installed`);
  };
  if (!link || !gir) {
    wipe(gir);
    return giveUp('additional key exchanges agreed without an ADDITIONAL_KEY_EXCHANGE link');
  }
  const f = newFollowup({
    kind: 'child',
    what: `${p.kind === 'rekey-child' ? 'rekey' : 'new child SA'} of ${tunnel.name}`,
    nonces: [p.nonce, theirNonce],
    sk0: gir,
    addKe,
    link,
    finish: (secrets) => (sa.keys ? install(secrets) : (wipe(...secrets), null)),
    onAbort: giveUp,
  });
  sendFollowup(ctx, sa, f);
}
