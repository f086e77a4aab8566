// The IKEv1 informational handler table (firmware/src/ike/exchange/informational.ts):
// each kind of authenticated informational payload is classified, and its handler
// returns the typed outcome: DPD for this SA answered or acknowledged, for another
// SA ignored; error notifies tied to the pending quick mode they refuse; Deletes of
// this ISAKMP SA or of ESP SPIs, and what is not ours ignored.
import t from 'tap';
import {
  INFORMATIONAL_HANDLERS,
  informationalKind,
  runInformationalHandler,
  type InformationalPayload,
} from '../../firmware/src/ike/exchange/informational.ts';
import type { IsakmpSa } from '../../firmware/src/ike/exchange/isakmp-sa.ts';
import { NotifyType, PayloadType, ProtocolId, deleteIsakmp, dpdNotify, notify } from '../../firmware/src/ike/wire/index.ts';

const ckyI = Buffer.alloc(8, 1);
const ckyR = Buffer.alloc(8, 2);
const inSpi = Buffer.from([0, 0, 0x10, 0x01]);
// Only what the handlers read of an ISAKMP SA: its cookies and the quick modes pending under it.
const sa = { ckyI, ckyR, quick: new Map([[77, { state: 'QM1_SENT', messageId: 77, inSpi }]]) } as unknown as IsakmpSa;
const other = { initiatorCookie: Buffer.alloc(8, 9), responderCookie: ckyR };
const espDelete = (spiSize: number, protocol: number = ProtocolId.ESP): InformationalPayload => ({
  type: PayloadType.DELETE,
  doi: 1,
  protocol,
  spiSize,
  spis: [Buffer.from([0, 0, 0x20, 0x02])],
});

t.test('every kind classified and answered', async (t) => {
  const cases: [string, InformationalPayload, string, unknown][] = [
    ['R-U-THERE', dpdNotify('r-u-there', { initiatorCookie: ckyI, responderCookie: ckyR }, 5), 'dpd-r-u-there', { kind: 'answer-dpd', sequence: 5 }],
    ['R-U-THERE of another SA', dpdNotify('r-u-there', other, 5), 'dpd-r-u-there', { kind: 'ignored' }],
    ['R-U-THERE-ACK', dpdNotify('r-u-there-ack', { initiatorCookie: ckyI, responderCookie: ckyR }, 6), 'dpd-ack', { kind: 'dpd-acked', sequence: 6 }],
    ['NO-PROPOSAL-CHOSEN for our SPI', notify(NotifyType.NO_PROPOSAL_CHOSEN, ProtocolId.ESP, inSpi), 'error-notify', {
      kind: 'peer-error', notifyType: NotifyType.NO_PROPOSAL_CHOSEN, refused: { messageId: 77 },
    }],
    ['an error naming nothing pending', notify(NotifyType.PAYLOAD_MALFORMED, ProtocolId.ESP, Buffer.alloc(4, 7)), 'error-notify', {
      kind: 'peer-error', refused: null,
    }],
    ['a status notify', notify(24576, ProtocolId.ESP, Buffer.alloc(4)), 'status-notify', { kind: 'peer-status', notifyType: 24576 }],
    ['Delete of this ISAKMP SA', deleteIsakmp({ initiatorCookie: ckyI, responderCookie: ckyR }), 'delete-isakmp', { kind: 'delete-isakmp' }],
    ['Delete of another ISAKMP SA', deleteIsakmp(other), 'delete-isakmp', { kind: 'ignored' }],
    ['Delete of an ESP SA', espDelete(4), 'delete-esp', { kind: 'delete-esp', spis: [0x2002] }],
    ['Delete of an AH SA', espDelete(4, ProtocolId.AH), 'delete-other', { kind: 'ignored' }],
  ];
  const seen = new Set<string>();
  for (const [label, p, kind, outcome] of cases) {
    t.equal(informationalKind(p), kind, `${label}: ${kind}`);
    t.match(runInformationalHandler(sa, p, 0), outcome, `${label}: outcome`);
    seen.add(kind);
  }
  t.same([...seen].sort(), Object.keys(INFORMATIONAL_HANDLERS).sort(), 'every entry of the table exercised');
});
