// The handler table (firmware/src/ike/exchange/handlers.ts): every (role, main mode
// state) has a handler or an explicit typed refusal, the handlers sit exactly at the
// states main mode can be in while waiting for the peer's next message, and a message
// reaching a refusal is dropped and counted, never failed or answered.

import t from 'tap';
import { MAIN_MODE_HANDLERS } from '../../firmware/src/ike/exchange/main-mode.ts';
import { QUICK_MODE_HANDLERS } from '../../firmware/src/ike/exchange/quick-mode.ts';
import type { MainModeState } from '../../firmware/src/ike/exchange/isakmp-sa.ts';
import { ExchangeType } from '../../firmware/src/ike/wire/index.ts';
import { Harness } from './ike-exchange-harness.ts';

const STATES: readonly MainModeState[] = ['MM1_SENT', 'MM1_RECEIVED', 'MM2_SENT', 'MM3_SENT', 'MM4_SENT', 'MM5_SENT', 'ESTABLISHED', 'DEAD'];
const ROLES = ['initiator', 'responder'] as const;

/** Where each role waits for a main mode message from the peer (RFC 2409 §5). */
const WAITING: Record<(typeof ROLES)[number], readonly MainModeState[]> = {
  initiator: ['MM1_SENT', 'MM3_SENT', 'MM5_SENT'],
  responder: ['MM2_SENT', 'MM4_SENT'],
};

t.test('every (role, state) has a handler or a typed refusal; handlers exactly where a role waits', async (t) => {
  for (const role of ROLES) {
    t.same(Object.keys(MAIN_MODE_HANDLERS[role]).sort(), [...STATES].sort(), `${role}: one entry per state`);
    for (const state of STATES) {
      const e = MAIN_MODE_HANDLERS[role][state];
      if (WAITING[role].includes(state)) {
        t.equal(e.kind, 'handler', `${role} ${state}: handled`);
        if (e.kind === 'handler') t.equal(e.state, state, `${role} ${state}: the handler is for that state`);
      } else {
        t.equal(e.kind, 'refusal', `${role} ${state}: refused`);
        if (e.kind === 'refusal') t.ok(e.code.length > 0 && e.why.length > 0, `${role} ${state}: ${e.code}`);
      }
    }
  }
});

t.test('quick mode: a new message ID goes to the responder handler; each (role, state) is handled or refused', async (t) => {
  t.type(QUICK_MODE_HANDLERS.new, 'function', 'a QM1 for no exchange: the responder');
  const waiting = { initiator: 'QM1_SENT', responder: 'QM2_SENT' } as const;
  for (const role of ROLES) {
    t.same(Object.keys(QUICK_MODE_HANDLERS[role]).sort(), ['DONE', 'QM1_SENT', 'QM2_SENT'], `${role}: one entry per state`);
    for (const state of ['QM1_SENT', 'QM2_SENT', 'DONE'] as const) {
      const e = QUICK_MODE_HANDLERS[role][state];
      if (state === waiting[role]) t.ok(e.kind === 'handler' && e.state === state, `${role} ${state}: handled`);
      else t.ok(e.kind === 'refusal' && e.code.length > 0, `${role} ${state}: refused (${e.kind === 'refusal' ? e.code : ''})`);
    }
  }
});

t.test('a main mode message in a refused state is dropped and counted, nothing fails or answers', async (t) => {
  const h = new Harness();
  h.bringUp();
  const mm = h.wire.filter((d) => d.data.readUInt8(18) === ExchangeType.MAIN);
  t.ok(mm.length >= 6, 'main mode ran');
  const mm3 = mm.find((d) => d.from === 'A' && d.data.length > 100 && mm.indexOf(d) === 2);
  t.ok(mm3, 'have the MM3 A sent');
  const sent = h.wire.length;
  const unexpected = h.b.counters.unexpected;
  // B is ESTABLISHED as responder: an MM3 (not a copy of its last message) is out of place.
  const copy = Buffer.from(mm3?.data ?? Buffer.alloc(0));
  copy.writeUInt8(copy.readUInt8(copy.length - 1) ^ 1, copy.length - 1);
  h.apply('B', h.b.receive(copy, { address: '198.51.100.1', port: 500 }, 500));
  h.pump();
  t.equal(h.b.counters.unexpected, unexpected + 1, 'counted as unexpected');
  t.equal(h.wire.length, sent, 'nothing sent');
  t.same(h.failed.B, [], 'nothing failed');
  t.equal(h.b.status()[0]?.state, 'ESTABLISHED');
  t.ok(h.logs.B.some((l) => /dropped: main mode message after main mode completed \(responder in ESTABLISHED\)/.test(l)));
});
