// A responder's refusal of our quick mode, in each form RFC 2408 §3.14.1 allows:
// an authenticated error notify naming the quick mode's SPI (strongSwan), with SPI
// size 0 (protocol ISAKMP: the cookies identify the SA), or with the cookies as the
// SPI. Each fails the pending quick mode at once (no retransmission until give-up),
// counted, with the notify's reason and the filter/action lines to check.

import t from 'tap';
import { ExchangeType, NotifyType, ProtocolId, notify, type NotifyPayload } from '../../firmware/src/ike/wire/index.ts';
import { notifyName, refusedQuickMode, sendInformational } from '../../firmware/src/ike/exchange/informational.ts';
import { Harness, tunnel } from './ike-exchange-harness.ts';

type Form = 'quick mode SPI' | 'SPI size 0' | 'cookies as SPI';

/** A and B up to main mode; every quick mode message from A to B is lost, so B
 * never answers and A's QM1 stays pending. */
function pendingQuickMode(over: ConstructorParameters<typeof Harness>[0] = {}): Harness {
  const h = new Harness(over);
  h.filter = (d) => (d.from === 'A' && d.data.readUInt8(18) === ExchangeType.QUICK ? null : d.data);
  h.bringUp();
  return h;
}

function refusal(h: Harness, type: number, form: Form): NotifyPayload {
  const aSa = h.a.sasOf('gwB')[0]!;
  const qm = [...aSa.quick.values()][0]!;
  if (qm.state !== 'QM1_SENT') throw new Error(`quick mode in ${qm.state}, not pending`);
  switch (form) {
    case 'quick mode SPI':
      return notify(type, ProtocolId.ESP, qm.inSpi);
    case 'SPI size 0':
      return notify(type, ProtocolId.ISAKMP, Buffer.alloc(0));
    case 'cookies as SPI':
      return notify(type, ProtocolId.ISAKMP, Buffer.concat([aSa.ckyI, aSa.ckyR]));
  }
}

/** B sends `n` the way it sends any notify: encrypted, with HASH(1), under the ISAKMP SA. */
function bSends(h: Harness, n: NotifyPayload): void {
  sendInformational(h.b, h.b.sasOf('gwA')[0]!, [n]);
  h.apply('B', h.b.tick());
  h.pump();
}

const quickSendsFromA = (h: Harness): number => h.wire.filter((d) => d.from === 'A' && d.data.readUInt8(18) === ExchangeType.QUICK).length;

const CASES: { type: number; code: string }[] = [
  { type: NotifyType.NO_PROPOSAL_CHOSEN, code: 'no-proposal-chosen' },
  { type: NotifyType.ATTRIBUTES_NOT_SUPPORTED, code: 'no-proposal-chosen' },
  { type: NotifyType.INVALID_ID_INFORMATION, code: 'ts-mismatch' },
];

for (const form of ['quick mode SPI', 'SPI size 0', 'cookies as SPI'] as const) {
  for (const c of CASES) {
    t.test(`${notifyName(c.type)} with ${form} fails the pending quick mode at once`, async (t) => {
      const h = pendingQuickMode({ tunnelA: { pfsGroup: 14 } });
      t.equal(quickSendsFromA(h), 1, 'QM1 sent, unanswered');
      t.same(h.failed.A, []);
      bSends(h, refusal(h, c.type, form));
      t.same(h.failed.A, [`peer sent ${notifyName(c.type)}`], 'failed without any time passing');
      t.equal(h.a.counters.quickModeFailed, 1, 'counted');
      const f = h.failures.A[0]!;
      t.equal(f.code, c.code);
      t.equal(f.role, 'initiator');
      t.equal(f.configField, 'filter-actions.secure.security-methods');
      t.equal(f.offeredPfs, 'modp2048', 'what we offered for PFS');
      t.match(f.detail ?? '', new RegExp(`^peer sent ${notifyName(c.type)}: `));
      t.ok(f.configLines?.some((l) => l === 'filter-actions.secure.security-methods = aes128gcm16'), 'names the methods line');
      t.ok(f.configLines?.some((l) => l === 'filter-actions.secure.pfs = modp2048'), 'names the pfs line');
      t.ok(f.configLines?.some((l) => l.startsWith('rules.lan: source = 198.18.1.0/24, destination = 198.18.2.0/24')), 'names the filter');
      if (c.code === 'ts-mismatch') t.same(f.offeredSelectors, [{ local: '198.18.1.0/24', remote: '198.18.2.0/24' }]);
      t.equal([...h.a.sasOf('gwB')[0]!.quick.values()].length, 0, 'the quick mode is gone');
      h.advance(200_000);
      t.equal(quickSendsFromA(h), 1, 'QM1 is not retransmitted afterwards');
      t.equal(h.failed.A.length, 1, 'and no later timeout record');
      t.equal(h.a.sasOf('gwB')[0]?.state, 'ESTABLISHED', 'the ISAKMP SA stays');
    });
  }
}

t.test('an SPI-less notify that is no refusal (a status, or about something else) fails nothing', async (t) => {
  for (const type of [NotifyType.PAYLOAD_MALFORMED, NotifyType.INVALID_PAYLOAD_TYPE]) {
    const h = pendingQuickMode();
    bSends(h, notify(type, ProtocolId.ISAKMP, Buffer.alloc(0)));
    t.same(h.failed.A, [], `${notifyName(type)} leaves the quick mode pending`);
    t.equal([...h.a.sasOf('gwB')[0]!.quick.values()].length, 1);
  }
});

t.test('an error notify naming an unrelated SPI fails nothing', async (t) => {
  const h = pendingQuickMode();
  bSends(h, notify(NotifyType.NO_PROPOSAL_CHOSEN, ProtocolId.ESP, Buffer.from([0xde, 0xad, 0xbe, 0xef])));
  t.same(h.failed.A, []);
  t.equal(h.a.counters.quickModeFailed, 0);
});

t.test('with two quick modes pending, an SPI-less refusal is matched by message ID or not at all', async (t) => {
  const h = pendingQuickMode({
    peerA: { tunnels: [tunnel('198.18.1.0/24', '198.18.2.0/24'), tunnel('198.18.3.0/24', '198.18.2.0/24', { name: 'lan2' })] },
  });
  const sa = h.a.sasOf('gwB')[0]!;
  const [q1, q2] = [...sa.quick.values()];
  t.ok(q1 && q2, 'two quick modes pending');
  const spiless = notify(NotifyType.NO_PROPOSAL_CHOSEN, ProtocolId.ISAKMP, Buffer.alloc(0)) as NotifyPayload;
  t.equal(refusedQuickMode(sa, spiless, q2!.messageId), q2, 'the one whose message ID the informational reuses');
  t.equal(refusedQuickMode(sa, spiless, 0x12345678), 'ambiguous', 'another message ID: cannot tell');
  t.equal(
    refusedQuickMode(sa, notify(NotifyType.NO_PROPOSAL_CHOSEN, ProtocolId.ESP, q1?.state === 'QM1_SENT' ? q1.inSpi : Buffer.alloc(4)), 0x12345678),
    q1,
    'an SPI always tells',
  );
  bSends(h, spiless);
  t.same(h.failed.A, [], 'sent under a fresh message ID: neither is failed');
  t.ok(h.logs.A.some((l) => l.includes('cannot tell which')), 'and the log says why');
});
