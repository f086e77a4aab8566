// A peer that stops answering is diagnosed by where it went silent (issue 15): no
// answer to MM1 (address, ports, peer down); answers until our encrypted MM5 (most
// likely the PSK, else the identity it expects); no answer to a quick mode (its
// policy refuses selectors, PFS or proposals); no answer to DPD on an established SA.
// Each failure record names the unanswered message, the last answered one and the
// config lines to check, and `explain` says it in plain words.

import t from 'tap';
import { ExchangeType } from '../../firmware/src/ike/wire/index.ts';
import { Retransmit } from '../../firmware/src/ike/exchange/retransmit.ts';
import type { FailureDetail } from '../../firmware/src/ike/exchange/types.ts';
import { renderExplain } from '../../firmware/src/ctl/render-explain.ts';
import { failureRecord } from '../../firmware/src/daemon/failure-records.ts';
import { Harness, type Datagram } from './ike-exchange-harness.ts';

const exchangeOf = (d: Datagram): number => d.data.readUInt8(18);

/** Advance the clock until A records a failure (at most `ms`). */
function untilFailed(h: Harness, ms: number): FailureDetail | undefined {
  for (let waited = 0; waited < ms && h.failures.A.length === 0; waited += 1000) h.advance(1000);
  return h.failures.A[0];
}

function explainA(h: Harness, f: FailureDetail, phase: 'main' | 'quick'): string {
  return renderExplain('gwB', failureRecord('gwB', phase, f, [], new Date(0)));
}

t.test('no answer to the first message: address, ports, peer down', async (t) => {
  const h = new Harness();
  h.filter = (d) => (d.from === 'A' ? null : d.data);
  h.apply('A', h.a.initiate('gwB'));
  const f = untilFailed(h, 200_000);
  t.equal(f?.code, 'timeout');
  t.equal(f?.silentAt, 'first-message');
  t.equal(f?.unanswered, 'MM1 (our proposals)');
  t.equal(f?.lastAnswered, undefined, 'nothing was answered');
  t.equal(f?.waitedSeconds, 126, 'the default schedule: 2+4+8+16+32+64 s');
  t.equal(f?.configField, undefined, 'no proposals field for a timeout');
  t.same(f?.configLines, ['peers.gwB.remote = 198.51.100.2']);
  const text = explainA(h, f!, 'main');
  t.match(text, 'Why: The peer did not answer at all.');
  t.match(text, 'UDP 500 and 4500');
});

t.test('silent after our MM5 while MM2 and MM4 came: the PSK, else the identity', async (t) => {
  const h = new Harness();
  // B answers MM1 and MM3 and then nothing: as a peer that cannot decrypt MM5 does.
  h.filter = (d) => (d.from === 'B' && h.wire.filter((w) => w.from === 'B').length > 2 ? null : d.data);
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  t.equal(h.a.sasOf('gwB')[0]?.state, 'MM5_SENT', 'A sent MM5 after MM2 and MM4');
  const f = untilFailed(h, 200_000);
  t.equal(f?.code, 'timeout');
  t.equal(f?.silentAt, 'authentication');
  t.equal(f?.unanswered, 'MM5 (our identity and authentication, encrypted)');
  t.equal(f?.lastAnswered, 'MM3 (answered by MM4)');
  t.equal(f?.configField, undefined, 'not peers.gwB.proposals: MM2 proved those fine');
  t.same(f?.configLines, [
    'secrets file, psk { gwB.lab = ... } (the same key as on the peer)',
    'peers.gwB.remote-id = gwB.lab',
    'peers.gwB.local-id = gwA.lab',
  ]);
  const text = explainA(h, f!, 'main');
  t.match(text, 'most likely the pre-shared keys differ');
  t.match(text, 'otherwise the peer expects another identity');
  t.match(text, 'Unanswered: MM5 (our identity and authentication, encrypted); last answered: MM3 (answered by MM4).');
  t.notMatch(text, 'UDP 500', 'no advice the answers already disproved');
  t.notMatch(text, 'lab-secret', 'never the key');
});

t.test('a quick mode the peer ignores: selectors, PFS, proposals — the filter and action lines', async (t) => {
  const h = new Harness({ tunnelA: { pfsGroup: 14 } });
  h.filter = (d) => (d.from === 'A' && exchangeOf(d) === ExchangeType.QUICK ? null : d.data);
  h.bringUp();
  t.equal(h.a.sasOf('gwB')[0]?.state, 'ESTABLISHED');
  const f = untilFailed(h, 200_000);
  t.equal(f?.code, 'timeout');
  t.equal(f?.silentAt, 'child-sa');
  t.equal(f?.unanswered, 'QM1 (our proposals and traffic selectors)');
  t.equal(f?.lastAnswered, 'main mode (the ISAKMP SA is up)');
  t.equal(f?.configField, 'filter-actions.secure.security-methods');
  t.same(f?.configLines, [
    'rules.lan: source = 198.18.1.0/24, destination = 198.18.2.0/24',
    'filter-actions.secure.security-methods = aes128gcm16',
    'filter-actions.secure.pfs = modp2048',
  ]);
  t.equal(h.a.counters.quickModeFailed, 1);
  const text = explainA(h, f!, 'quick');
  t.match(text, 'Why: The peer ignored our quick mode: its policy refuses the selectors, PFS or proposals.');
  t.match(text, 'filter-actions.secure.pfs = modp2048');
});

t.test('silent after an established SA: dead peer detection', async (t) => {
  const h = new Harness({ peerA: { dpd: { delaySeconds: 10, timeoutSeconds: 30, action: 'clear' } } });
  h.bringUp();
  h.filter = (d) => (d.from === 'B' ? null : d.data);
  const f = untilFailed(h, 100_000);
  t.equal(f?.code, 'timeout');
  t.equal(f?.silentAt, 'established');
  t.equal(f?.unanswered, 'R-U-THERE (dead peer detection)');
  t.ok(f?.configLines?.includes('peers.gwB.dpd-timeout = 30s'));
  t.match(explainA(h, f!, 'main'), 'Why: The peer stopped answering on an established tunnel (dead peer detection).');
});

t.test('an authentication failure names the secrets entry and the identity lines too', async (t) => {
  const h = new Harness({ pskB: 'not-the-same' });
  h.bringUp();
  const f = h.failures.A[0];
  t.equal(f?.code, 'authentication-failed');
  t.equal(f?.expectedId, 'gwB.lab');
  t.equal(f?.configField, undefined);
  t.ok(f?.configLines?.[0]?.startsWith('secrets file, psk { gwB.lab = ... }'));
});

t.test('the retransmission schedule is configurable (tests use seconds, not 126 s)', async (t) => {
  const r = new Retransmit({ baseMs: 1000, tries: 2 });
  const msg = { data: Buffer.from('x'), to: { address: '192.0.2.1', port: 500 }, localPort: 500 };
  r.sent(msg, 0, true);
  const ticks: string[] = [];
  for (let now = 0; now <= 10_000; now += 500) {
    const k = r.tick(now);
    if (k.kind !== 'idle') ticks.push(`${now}:${k.kind}`);
  }
  t.same(ticks, ['1000:resend', '3000:resend', '7000:give-up'], 'resend after 1 s and 2 s more, give up 4 s later');
  const d = new Retransmit();
  d.sent(msg, 0, true);
  const defaults: string[] = [];
  for (let now = 0; now <= 130_000; now += 1000) {
    const k = d.tick(now);
    if (k.kind !== 'idle') defaults.push(`${now}:${k.kind}`);
  }
  t.equal(defaults.at(-1), '126000:give-up', 'the production default is unchanged');
  t.equal(defaults.length, 6);
});
