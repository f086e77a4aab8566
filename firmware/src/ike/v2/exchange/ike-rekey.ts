// Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18) with CREATE_CHILD_SA:
//   HDR, SK {SA (IKE, new SPIi), Ni, KEi}  -->  <--  HDR, SK {SA (IKE, new SPIr), Nr, KEr}
// The new SA's keys come from SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
// with the old PRF, its SPIs are the two in the proposals, and the one who
// started the rekey is its initiator. The child SAs move over unchanged; the
// rekey initiator then deletes the old IKE SA over the old SA (§2.8).
// Collisions (§2.8.2, §2.25.2): when both ends rekeyed the same SA, the new SA
// whose exchange holds the lowest of the four nonces is redundant and closed
// by the end that created it, the children go to the other one, and only the
// initiator of the surviving SA deletes the old one (as strongSwan does). A
// rekey request for an SA being deleted or already replaced gets
// TEMPORARY_FAILURE (node.ts); an INVALID_KE_PAYLOAD answer is retried once
// with the group the peer names; another refusal a few times later (rekey-retry.ts).
// RFC 9370 §2.2.4: the rekey offers the method's ADDKE transforms too (e.g. ML-KEM);
// when they are agreed the CREATE_CHILD_SA response carries an ADDITIONAL_KEY_EXCHANGE
// link, the additional key exchanges run in IKE_FOLLOWUP_KE (followup-ke.ts), and the
// new SA exists only after the last one, with
//   SKEYSEED = prf(SK_d (old), SK(0) | Ni | Nr | SK(1) | ... | SK(n)).
// Until then the old SA carries on; a failed or abandoned follow-up leaves it in place.

import { dhGroupById, DhError } from '../../crypto/dh.ts';
import { wipe } from '../../crypto/secret.ts';
import { deriveIkeSaKeys, rekeySkeyseed } from '../crypto/key-derivation.ts';
import { ExchangeType, PayloadType, ProtocolId } from '../wire/constants.ts';
import type { Message } from '../wire/message.ts';
import { groupData, invalidKeGroup, notify } from '../wire/notify.ts';
import { groupName } from '../../exchange/proposal-names.ts';
import { isErrorNotify, NotifyType, notifyName } from '../wire/notify-types.ts';
import { firstOfType, payloadsOfType, type Payload } from '../wire/payloads.ts';
import type { V2Context } from './context.ts';
import { deleteIke } from './informational.ts';
import { request, respond } from './messages.ts';
import { acceptIkeAnswer, chooseIke, ikeOffer, suiteOf, usableIkeMethods } from './proposals.ts';
import { chosenAddKe } from './addke-proposals.ts';
import {
  awaitFollowups,
  followupLink,
  followupRoom,
  linkNotify,
  LOST_COLLISION,
  newLink,
  SA_GONE,
  ourRekeyInFlight,
  sendFollowup,
  settleIkeCollision,
  newFollowup,
} from './followup-ke.ts';
import { MAX_REKEY_RETRIES, rekeyRetryAt } from './rekey-retry.ts';
import { NONCE_LENGTH } from './sa-init.ts';
import { shedAuthState, type IkeSaV2, type IkeSuite, type RequestPurpose } from './state.ts';

/** A rekey that ended leaves the old SA in use, unless it ended because that SA goes. */
const stays = (why: string): string => (why === SA_GONE ? '' : '; the IKE SA stays');

/** The new IKE SA, inheriting addresses, NAT state and child SAs from `old`. */
function successor(
  ctx: V2Context,
  old: IkeSaV2,
  role: 'initiator' | 'responder',
  spiI: Buffer,
  spiR: Buffer,
  suite: IkeSuite,
  ni: Buffer,
  nr: Buffer,
  secrets: Buffer[],
): IkeSaV2 {
  // secrets: g^ir (new), then the IKE_FOLLOWUP_KE ones (RFC 9370 §2.2.4).
  const seed = rekeySkeyseed(old.suite!.prf, old.keys!.d, secrets[0]!, ni, nr, ...secrets.slice(1));
  const keys = deriveIkeSaKeys({ prf: suite.prf, encr: suite.encr, integ: suite.integ, skeyseed: seed, ni, nr, spiI, spiR });
  wipe(seed, ...secrets);
  const now = ctx.env.now();
  const sa: IkeSaV2 = {
    ...old,
    role,
    state: 'ESTABLISHED',
    spiI,
    spiR,
    ni,
    nr,
    dh: null,
    suite,
    keys,
    initRequest: Buffer.alloc(0),
    initResponse: Buffer.alloc(0),
    cookie: null,
    nextRequestId: 0,
    pending: null,
    queue: [],
    expectedRequestId: 0,
    lastResponse: null,
    assembly: null,
    children: old.children,
    createdAt: now,
    expiresAt: now + old.peer.ikeLifetimeSeconds * 1000,
    lastHeard: now,
    initialContact: false,
    rekeying: false,
    replacedBy: undefined,
    ikeSuccessors: undefined,
  };
  // Established without IKE_AUTH: nothing of IKE_SA_INIT/IKE_AUTH to keep (state.ts).
  shedAuthState(sa);
  old.children = [];
  old.rekeying = true; // replaced: its own timers must not rekey it again
  old.replacedBy = sa;
  // A child rekey queued on the old SA is dropped with it: the new SA's timers start it again.
  // Not one in flight (its answer comes over the old SA and is moved here, child-exchange.ts),
  // nor one the peer rekeyed (it deletes that one) or that we are deleting.
  const inFlight = old.pending?.purpose;
  for (const c of sa.children) {
    if (inFlight?.kind === 'rekey-child' && inFlight.old === c) continue;
    if (c.rekeying && !c.peerRekeyed && !c.deleting) c.rekeying = false;
  }
  ctx.log('info', sa, 'main', 'REKEY', `IKE SA rekeyed (${suite.name}), ${sa.children.length} child SA(s) moved over`);
  return sa;
}

/** Start rekeying `sa` (we become the new SA's initiator); `group`: the KE group the peer asked for. */
export function rekeyIke(ctx: V2Context, sa: IkeSaV2, group?: number): void {
  sa.rekeying = true;
  request(ctx, sa, ExchangeType.CREATE_CHILD_SA, () => {
    if (sa.state !== 'ESTABLISHED' || sa.replacedBy) return null;
    const methods = usableIkeMethods(sa.peer);
    // Offer the current suite first so the DH group of our KE is the likely choice
    // (after INVALID_KE_PAYLOAD, the methods of the group the peer named).
    // The current suite's name carries the agreed "-ke<n>_" part; the methods' base names do not.
    const base = sa.suite!.name.replace(/-ke[1-7]_.*$/, '');
    const current = group === undefined ? methods.filter((m) => suiteOf(m).name === base) : methods.filter((m) => m.dhGroup === group);
    const ordered = [...current, ...methods.filter((m) => !current.includes(m))];
    if (ordered.length === 0) return null;
    const spi = ctx.env.random(8);
    const nonce = ctx.env.random(NONCE_LENGTH);
    const keGroup = ordered[0]!.dhGroup;
    const dh = dhGroupById(keGroup)!.generate(ctx.env.random);
    const inner: Payload[] = [
      { type: PayloadType.SA, proposals: ikeOffer(ordered, spi) },
      { type: PayloadType.NONCE, data: nonce },
      { type: PayloadType.KE, group: keGroup, data: dh.publicKey },
    ];
    ctx.log('info', sa, 'main', 'REKEY', 'IKE SA rekey requested', { direction: 'out' });
    const purpose: RequestPurpose = { kind: 'rekey-ike', spi, nonce, dh, methods: ordered, ...(group === undefined ? {} : { retried: true }) };
    return { inner, purpose };
  });
}

/** Responder: a CREATE_CHILD_SA whose SA payload proposes an IKE SA. Returns the new SA, or null when refused. */
export function respondIkeRekey(ctx: V2Context, sa: IkeSaV2, m: Message, inner: readonly Payload[]): IkeSaV2 | null {
  const refuse = (n: number, why: string, data: Buffer = Buffer.alloc(0)): null => {
    ctx.log('warning', sa, 'main', 'REKEY', `${notifyName(n)}: ${why}`, { direction: 'out' });
    respond(ctx, sa, ExchangeType.CREATE_CHILD_SA, m.header.messageId, [notify(n, data)]);
    return null;
  };
  const saP = firstOfType(inner, PayloadType.SA)!;
  const ni = firstOfType(inner, PayloadType.NONCE);
  const ke = firstOfType(inner, PayloadType.KE);
  if (!ni || !ke) return refuse(NotifyType.INVALID_SYNTAX, 'IKE SA rekey without Nonce or KE');
  const choice = chooseIke(sa.peer, saP.proposals.filter((p) => p.spi.length === 8));
  if (!choice) return refuse(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable proposal for the new IKE SA');
  const addKe = chosenAddKe(choice.proposal.transforms);
  if (addKe.length > 0 && !followupRoom(sa))
    return refuse(NotifyType.TEMPORARY_FAILURE, 'too many CREATE_CHILD_SAs waiting for their IKE_FOLLOWUP_KE exchanges');
  if (ke.group !== choice.method.dhGroup)
    return refuse(
      NotifyType.INVALID_KE_PAYLOAD,
      `KE of group ${ke.group}, we want ${choice.method.dhGroup}`,
      groupData(choice.method.dhGroup),
    );
  const dh = dhGroupById(ke.group)!.generate(ctx.env.random);
  let gir: Buffer;
  try {
    gir = dh.computeSecret(ke.data);
  } catch (e) {
    if (!(e instanceof DhError)) throw e;
    return refuse(NotifyType.INVALID_SYNTAX, `invalid KE: ${e.message}`);
  }
  const spiR = ctx.env.random(8);
  const nr = ctx.env.random(NONCE_LENGTH);
  const link = addKe.length > 0 ? newLink(ctx) : null;
  respond(ctx, sa, ExchangeType.CREATE_CHILD_SA, m.header.messageId, [
    { type: PayloadType.SA, proposals: [{ ...choice.proposal, protocol: ProtocolId.IKE, spi: spiR }] },
    { type: PayloadType.NONCE, data: nr },
    { type: PayloadType.KE, group: ke.group, data: dh.publicKey },
    ...(link ? [linkNotify(link)] : []),
  ]);
  const peerNonce = Buffer.from(ni.data);
  const spiI = Buffer.from(choice.proposal.spi);
  const suite = suiteOf(choice.method, choice.proposal.transforms);
  const create = (secrets: Buffer[]): IkeSaV2 => {
    // §2.8.2: our own rekey of this SA is in flight; its answer decides which new SA stays.
    const ours = ourRekeyInFlight(sa);
    const next = successor(ctx, sa, 'responder', spiI, spiR, suite, peerNonce, nr, secrets);
    if (ours) (sa.ikeSuccessors ??= []).push({ sa: next, nonces: [peerNonce, nr], mine: false });
    return next;
  };
  if (!link) return create([gir]);
  // RFC 9370 §2.2.2: the new SA waits for the IKE_FOLLOWUP_KE exchanges; our timers leave the old one alone meanwhile.
  sa.rekeying = true;
  const f = newFollowup({
    kind: 'ike',
    what: 'IKE SA rekey',
    nonces: [peerNonce, nr],
    sk0: gir,
    addKe,
    link,
    finish: (secrets) => (sa.state === 'ESTABLISHED' && !sa.replacedBy ? create(secrets) : (wipe(...secrets), null)),
    onAbort: (why) => {
      // Our timers may rekey the SA again, unless our own rekey goes on (it won the collision).
      if (why !== LOST_COLLISION && !sa.replacedBy && sa.state === 'ESTABLISHED') sa.rekeying = ourRekeyInFlight(sa);
      ctx.log('warning', sa, 'main', 'REKEY', `the peer's IKE SA rekey ended before its additional key exchanges: ${why}${stays(why)}`);
    },
});
  awaitFollowups(ctx, sa, f);
  return null;
}

/**
 * §2.8.2 simultaneous IKE SA rekey, at the answer to ours: of the two new SAs
 * the one whose exchange holds the lowest nonce is redundant; its creator
 * deletes it, the children move to the other, and the initiator of the
 * surviving SA deletes the old one (the other end waits for that Delete).
 */
function resolveCollision(ctx: V2Context, old: IkeSaV2, mine: { sa: IkeSaV2; nonces: Buffer[]; mine: boolean }): void {
  const theirs = old.ikeSuccessors?.find((x) => !x.mine && x.sa.state === 'ESTABLISHED');
  if (!theirs) {
    deleteIke(ctx, old);
    return;
  }
  const lowest = (x: { nonces: Buffer[] }): Buffer => x.nonces.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));
  const redundant = Buffer.compare(lowest(mine), lowest(theirs)) <= 0 ? mine : theirs;
  const winner = redundant === mine ? theirs : mine;
  winner.sa.children.push(...redundant.sa.children);
  redundant.sa.children = [];
  redundant.sa.rekeying = true;
  redundant.sa.replacedBy = winner.sa;
  old.replacedBy = winner.sa;
  ctx.log(
    'info',
    winner.sa,
    'main',
    'REKEY',
    `simultaneous IKE SA rekey (§2.8.2): the SA with the lowest nonce is ${redundant.mine ? 'ours, deleting it' : "the peer's to delete"}; ` +
      `${winner.mine ? 'we delete' : 'the peer deletes'} the old SA; ${winner.sa.children.length} child SA(s) on the survivor`,
  );
  if (redundant.mine) deleteIke(ctx, redundant.sa);
  if (winner.mine) deleteIke(ctx, old);
}

type IkeRekeyPurpose = Extract<RequestPurpose, { kind: 'rekey-ike' }>;

/** Initiator: the answer to our IKE SA rekey. Returns the new SA (the old one is being deleted), or null. */
export function handleIkeRekeyResponse(ctx: V2Context, sa: IkeSaV2, inner: readonly Payload[], p: IkeRekeyPurpose): IkeSaV2 | null {
  const err = payloadsOfType(inner, PayloadType.NOTIFY).find((n) => isErrorNotify(n.notifyType));
  const saP = firstOfType(inner, PayloadType.SA);
  const nr = firstOfType(inner, PayloadType.NONCE);
  const ke = firstOfType(inner, PayloadType.KE);
  const method = saP ? acceptIkeAnswer(p.methods, saP.proposals) : null;
  const spiR = saP?.proposals[0]?.spi;
  if (err?.notifyType === NotifyType.INVALID_KE_PAYLOAD && !p.retried) {
    // §1.3.2 with §1.2: the peer wants another of the groups we offered; once.
    const group = invalidKeGroup(err);
    if (group !== null && p.methods.some((x) => x.dhGroup === group) && group !== p.methods[0]!.dhGroup) {
      ctx.log('info', sa, 'main', 'REKEY', `INVALID_KE_PAYLOAD: peer wants group ${groupName(group)} for the new IKE SA, retrying`);
      rekeyIke(ctx, sa, group);
      return null;
    }
  }
  if (err?.notifyType === NotifyType.TEMPORARY_FAILURE && !sa.replacedBy && sa.state === 'ESTABLISHED') {
    // §2.25: the peer is busy with this SA (its own rekey or Delete); our timer tries again later.
    ctx.log('info', sa, 'main', 'REKEY', 'IKE SA rekey answered TEMPORARY_FAILURE: the peer is rekeying or deleting it; trying again later');
    sa.rekeying = false;
    return null;
  }
  if (err || !method || !nr || !ke || !spiR || spiR.length !== 8 || ke.group !== method.dhGroup || method.dhGroup !== p.methods[0]!.dhGroup) {
    const why = err ? notifyName(err.notifyType) : 'answer is not what we offered';
    const tries = sa.rekeyRetries ?? 0;
    const at = !sa.replacedBy && sa.state === 'ESTABLISHED' ? rekeyRetryAt(ctx, tries, sa.expiresAt) : null;
    if (at !== null) {
      // rekey-retry.ts: a few more tries after a random delay; our timer (ikeRekeyAt) starts the next one.
      sa.rekeyRetries = tries + 1;
      sa.rekeyRetryAt = at;
      sa.rekeying = false;
      ctx.counters.rekeyRetries++;
      const inS = Math.round((at - ctx.env.now()) / 1000);
      ctx.log('warning', sa, 'main', 'REKEY', `IKE SA rekey failed: ${why}; trying again in ${inS} s (retry ${tries + 1} of ${MAX_REKEY_RETRIES})`);
      return null;
    }
    ctx.log('warning', sa, 'main', 'REKEY', `IKE SA rekey failed: ${why}; no more retries, the SA stays until it expires`);
    return null;
  }
  let gir: Buffer;
  try {
    gir = p.dh.computeSecret(ke.data);
  } catch (e) {
    if (!(e instanceof DhError)) throw e;
    return null;
  }
  const theirNonce = Buffer.from(nr.data);
  const transforms = saP!.proposals[0]!.transforms;
  const suite = suiteOf(method, transforms);
  const create = (secrets: Buffer[]): IkeSaV2 => {
    const next = successor(ctx, sa, 'initiator', p.spi, Buffer.from(spiR), suite, p.nonce, theirNonce, secrets);
    resolveCollision(ctx, sa, { sa: next, nonces: [p.nonce, theirNonce], mine: true });
    return next;
  };
  const addKe = chosenAddKe(transforms);
  if (addKe.length === 0) return create([gir]);
  // RFC 9370 §2.2.2: the additional key exchanges run in IKE_FOLLOWUP_KE, tied by the responder's link.
  const link = followupLink(inner);
  if (!link) {
    wipe(gir);
    const why = 'additional key exchanges agreed without an ADDITIONAL_KEY_EXCHANGE link';
    ctx.log('warning', sa, 'main', 'REKEY', `IKE SA rekey failed: ${why}; the SA stays until it expires`);
    return null;
  }
  const f = newFollowup({
    kind: 'ike',
    what: 'IKE SA rekey',
    nonces: [p.nonce, theirNonce],
    sk0: gir,
    addKe,
    link,
    finish: (secrets) => (sa.state === 'ESTABLISHED' ? create(secrets) : (wipe(...secrets), null)),
    onAbort: (why, f) => {
      // Not retried (the SA stays until it expires); a lost collision: the peer's SA replaces it.
      const level = f.abandoned ? 'info' : 'warning';
      ctx.log(level, sa, 'main', 'REKEY', `IKE SA rekey ended before its additional key exchanges: ${why}${stays(why)}`);
    },
});
  if (settleIkeCollision(ctx, sa, f)) sendFollowup(ctx, sa, f);
  return null;
}
