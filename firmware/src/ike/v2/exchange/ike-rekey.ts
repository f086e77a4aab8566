// Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18) with CREATE_CHILD_SA:
//   HDR, SK {SA (IKE, new SPIi), Ni, KEi}  -->  <--  HDR, SK {SA (IKE, new SPIr), Nr, KEr}
// The new SA's keys come from SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
// with the old PRF, its SPIs are the two in the proposals, and the one who
// started the rekey is its initiator. The child SAs move over unchanged; the
// rekey initiator then deletes the old IKE SA over the old SA (§2.8).

import { dhGroupById, DhError } from '../../crypto/dh.ts';
import { wipe } from '../../crypto/secret.ts';
import { deriveIkeSaKeys, rekeySkeyseed } from '../crypto/key-derivation.ts';
import { ExchangeType, PayloadType, ProtocolId } from '../wire/constants.ts';
import type { Message } from '../wire/message.ts';
import { groupData, notify } from '../wire/notify.ts';
import { isErrorNotify, NotifyType, notifyName } from '../wire/notify-types.ts';
import { firstOfType, payloadsOfType, type Payload } from '../wire/payloads.ts';
import type { V2Context } from './context.ts';
import { deleteIke } from './informational.ts';
import { request, respond } from './messages.ts';
import { acceptIkeAnswer, chooseIke, ikeOffer, suiteOf, usableIkeMethods } from './proposals.ts';
import { NONCE_LENGTH } from './sa-init.ts';
import type { IkeSaV2, IkeSuite, RequestPurpose } from './state.ts';

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
  gir: Buffer,
): IkeSaV2 {
  const seed = rekeySkeyseed(old.suite!.prf, old.keys!.d, gir, ni, nr);
  const keys = deriveIkeSaKeys({ prf: suite.prf, encr: suite.encr, integ: suite.integ, skeyseed: seed, ni, nr, spiI, spiR });
  wipe(seed, gir);
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
  };
  old.children = [];
  old.rekeying = true; // replaced: its own timers must not rekey it again
  ctx.log('info', sa, 'main', 'REKEY', `IKE SA rekeyed (${suite.name}), ${sa.children.length} child SA(s) moved over`);
  return sa;
}

/** Start rekeying `sa` (we become the new SA's initiator). */
export function rekeyIke(ctx: V2Context, sa: IkeSaV2): void {
  request(ctx, sa, ExchangeType.CREATE_CHILD_SA, () => {
    if (sa.state !== 'ESTABLISHED') return null;
    const methods = usableIkeMethods(sa.peer);
    // Offer the current suite first so the DH group of our KE is the likely choice.
    const current = methods.find((m) => suiteOf(m).name === sa.suite!.name);
    const ordered = current ? [current, ...methods.filter((m) => m !== current)] : methods;
    const spi = ctx.env.random(8);
    const nonce = ctx.env.random(NONCE_LENGTH);
    const group = ordered[0]!.dhGroup;
    const dh = dhGroupById(group)!.generate(ctx.env.random);
    const inner: Payload[] = [
      { type: PayloadType.SA, proposals: ikeOffer(ordered, spi) },
      { type: PayloadType.NONCE, data: nonce },
      { type: PayloadType.KE, group, data: dh.publicKey },
    ];
    ctx.log('info', sa, 'main', 'REKEY', 'IKE SA rekey requested', { direction: 'out' });
    const purpose: RequestPurpose = { kind: 'rekey-ike', spi, nonce, dh, methods: ordered };
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
  respond(ctx, sa, ExchangeType.CREATE_CHILD_SA, m.header.messageId, [
    { type: PayloadType.SA, proposals: [{ ...choice.proposal, protocol: ProtocolId.IKE, spi: spiR }] },
    { type: PayloadType.NONCE, data: nr },
    { type: PayloadType.KE, group: ke.group, data: dh.publicKey },
  ]);
  return successor(ctx, sa, 'responder', Buffer.from(choice.proposal.spi), spiR, suiteOf(choice.method), Buffer.from(ni.data), nr, gir);
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
  if (err || !method || !nr || !ke || !spiR || spiR.length !== 8 || ke.group !== method.dhGroup || method.dhGroup !== p.methods[0]!.dhGroup) {
    ctx.log(
      'warning',
      sa,
      'main',
      'REKEY',
      `IKE SA rekey failed: ${err ? notifyName(err.notifyType) : 'answer is not what we offered'}; the SA stays until it expires`,
    );
    return null;
  }
  let gir: Buffer;
  try {
    gir = p.dh.computeSecret(ke.data);
  } catch (e) {
    if (!(e instanceof DhError)) throw e;
    return null;
  }
  const next = successor(ctx, sa, 'initiator', p.spi, Buffer.from(spiR), suiteOf(method), p.nonce, Buffer.from(nr.data), gir);
  deleteIke(ctx, sa);
  return next;
}
