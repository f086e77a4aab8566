// The one fail path (firmware/src/ike/exchange/fail.ts): every kind of failure,
// whatever notices it, is counted exactly once under its typed code and in its
// phase's total, logged once, and recorded once for `explain` (a half-open timeout
// is not recorded: anyone can cause one with a spoofed MM1). DPD death goes the
// same way (it used to bypass the counter).

import t from 'tap';
import type { Test } from 'tap';
import { EXCHANGE_ERRORS, type ExchangeError } from '../../firmware/src/ike/exchange/fail.ts';
import { ExchangeType } from '../../firmware/src/ike/wire/index.ts';
import { Harness, type HarnessOptions } from './ike-exchange-harness.ts';

type Side = 'A' | 'B';

/** The fail path's log lines: "<phase> mode failed: ..." or its code-specific line. */
const FAIL_LOG = /^(main mode failed: |quick mode failed: |half-open main mode timed out$|peer did not answer: giving up|no answer to quick mode: giving up$|no R-U-THERE-ACK for \d+s: peer is dead)/;

function failLogs(h: Harness, side: Side): string[] {
  return h.steps
    .filter((s) => s.side === side)
    .flatMap((s) => s.actions)
    .flatMap((a) => (a.kind === 'log' && FAIL_LOG.test(a.event.message) ? [a.event.message] : []));
}

function node(h: Harness, side: Side) {
  return side === 'A' ? h.a : h.b;
}

/** Non-zero failure counts of one side. */
function counted(h: Harness, side: Side): Partial<Record<ExchangeError, number>> {
  const c = node(h, side).failureCounts;
  return Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0));
}

interface Expect {
  code: ExchangeError;
  phase: 'main' | 'quick';
  recorded?: boolean;
}

function expectFailure(t: Test, h: Harness, side: Side, e: Expect): void {
  const n = node(h, side);
  t.same(counted(h, side), { [e.code]: 1 }, `${side}: ${e.code} counted once, nothing else`);
  t.equal(n.counters.mainModeFailed, e.phase === 'main' ? 1 : 0, `${side}: main mode total`);
  t.equal(n.counters.quickModeFailed, e.phase === 'quick' ? 1 : 0, `${side}: quick mode total`);
  t.equal(failLogs(h, side).length, 1, `${side}: logged once (${failLogs(h, side).join(' | ')})`);
  t.equal(h.failed[side].length, e.recorded === false ? 0 : 1, `${side}: recorded ${e.recorded === false ? 'never' : 'once'}`);
}

function expectNone(t: Test, h: Harness, side: Side): void {
  t.same(counted(h, side), {}, `${side}: no failure`);
  t.equal(failLogs(h, side).length, 0);
  t.same(h.failed[side], []);
}

const isQuick = (d: { data: Buffer }): boolean => d.data.readUInt8(18) === ExchangeType.QUICK;

function run(over: HarnessOptions, setup: (h: Harness) => void = () => {}, ms = 0): Harness {
  const h = new Harness(over);
  setup(h);
  h.bringUp();
  for (let s = 0; s < ms; s += 5_000) h.advance(5_000);
  return h;
}

t.test('every code has a rule (the table is complete)', async (t) => {
  t.ok(EXCHANGE_ERRORS.length >= 16);
  t.equal(new Set(EXCHANGE_ERRORS).size, EXCHANGE_ERRORS.length);
});

t.test('main mode timeout: the initiator counts, logs and records it once', async (t) => {
  // B hears A's MM1 and first MM3 only, A hears MM2 only: B's main mode, built at MM3
  // (an MM1 alone leaves only a record, exchange/mm1-records.ts), times out half-open.
  let fromA = 0;
  let fromB = 0;
  const h = run({}, (h) => (h.filter = (d) => ((d.from === 'B' ? fromB++ > 0 : fromA++ > 1) ? null : d.data)), 300_000);
  expectFailure(t, h, 'A', { code: 'timeout', phase: 'main' });
  t.equal(h.failures.A[0]?.code, 'timeout');
  t.equal(h.a.status().length, 0, 'the SA is gone');
  // B answered MM3 and never heard from A again.
  expectFailure(t, h, 'B', { code: 'half-open-timeout', phase: 'main', recorded: false });
  t.equal(h.b.status().length, 0);
});

t.test('authentication failure: the responder fails it, the initiator fails on the notify', async (t) => {
  const h = run({ pskA: 'one-secret', pskB: 'another-secret' }, undefined, 60_000);
  expectFailure(t, h, 'B', { code: 'auth-failed', phase: 'main' });
  t.equal(h.failures.B[0]?.code, 'authentication-failed');
  t.ok(['peer-notify', 'psk-mismatch'].includes(Object.keys(counted(h, 'A'))[0] ?? ''), 'A failed on the answer to MM5');
  const code = Object.keys(counted(h, 'A'))[0] as ExchangeError;
  expectFailure(t, h, 'A', { code, phase: 'main' });
  t.equal(h.failures.A[0]?.code, 'authentication-failed');
});

t.test('no proposal: the responder refuses, the initiator fails on NO-PROPOSAL-CHOSEN', async (t) => {
  const h = run({ peerB: { ikeMethods: [{ encryption: 'aes128', integrity: 'sha256', dhGroup: 19 }] } }, undefined, 10_000);
  expectFailure(t, h, 'B', { code: 'no-proposal', phase: 'main' });
  expectFailure(t, h, 'A', { code: 'peer-notify', phase: 'main' });
  t.equal(h.failures.A[0]?.code, 'no-proposal-chosen');
  t.equal(h.failures.B[0]?.code, 'no-proposal-chosen');
});

t.test('identity mismatch: counted once, logged once with both identities', async (t) => {
  const h = run({ peerB: { remoteId: { idType: 2, name: 'someone-else.lab' } } }, undefined, 10_000);
  expectFailure(t, h, 'B', { code: 'id-mismatch', phase: 'main' });
  t.match(failLogs(h, 'B')[0], /gwA\.lab is not the configured someone-else\.lab/);
  expectFailure(t, h, 'A', { code: 'peer-notify', phase: 'main' });
  t.equal(h.failures.A[0]?.code, 'id-mismatch');
});

for (const action of ['clear', 'restart', 'hold'] as const) {
  t.test(`DPD death (action ${action}) goes through the fail path: counted and logged once`, async (t) => {
    const h = run({ peerA: { dpd: { delaySeconds: 30, timeoutSeconds: 60, action } } });
    t.equal(h.a.status()[0]?.state, 'ESTABLISHED');
    h.filter = (d) => (d.from === 'B' ? null : d.data);
    // Delay 30 s, then 60 s without an ACK: dead once, whatever the action does next
    // (a restarted main mode is still retransmitting at this point).
    for (let s = 0; s < 95_000; s += 5_000) h.advance(5_000);
    expectFailure(t, h, 'A', { code: 'dpd-dead', phase: 'main' });
    t.equal(h.failed.A[0], 'dead peer');
    t.match(failLogs(h, 'A')[0], new RegExp(`peer is dead \\(${action}\\)`));
    if (action === 'hold') t.equal(h.a.status()[0]?.state, 'ESTABLISHED', 'hold keeps the SA');
    else t.notOk(h.a.status().some((s) => s.state === 'ESTABLISHED'), 'the dead SA is gone');
    if (action === 'restart') t.ok(h.a.status().some((s) => s.state === 'MM1_SENT'), 'and a new main mode started');
    expectNone(t, h, 'B');
  });
}

t.test('quick mode timeout: counted once under the quick mode total', async (t) => {
  const h = run({}, (h) => (h.filter = (d) => (d.from === 'B' && isQuick(d) ? null : d.data)), 200_000);
  expectFailure(t, h, 'A', { code: 'timeout', phase: 'quick' });
  t.equal(h.a.status()[0]?.state, 'ESTABLISHED', 'the ISAKMP SA stays');
  // B answered QM1 and never saw QM3.
  expectFailure(t, h, 'B', { code: 'timeout', phase: 'quick' });
});

t.test('quick mode no proposal: the responder refuses, the initiator fails on the notify', async (t) => {
  const h = run({ tunnelB: { methods: [{ esp: 'aes256gcm16', lifetimeSeconds: 3600, lifetimeKilobytes: 100000 }] } });
  expectFailure(t, h, 'B', { code: 'no-proposal', phase: 'quick' });
  expectFailure(t, h, 'A', { code: 'peer-notify', phase: 'quick' });
  t.equal(h.failures.A[0]?.code, 'no-proposal-chosen');
});

t.test('traffic selectors and PFS: one typed code each', async (t) => {
  const ts = run({ tunnelB: { remote: '198.18.9.0/24' } });
  expectFailure(t, ts, 'B', { code: 'ts-mismatch', phase: 'quick' });
  expectFailure(t, ts, 'A', { code: 'peer-notify', phase: 'quick' });
  t.equal(ts.failures.A[0]?.code, 'ts-mismatch');
  const pfs = run({ tunnelB: { pfsGroup: 14 } });
  expectFailure(t, pfs, 'B', { code: 'pfs-mismatch', phase: 'quick' });
  t.equal(pfs.failures.B[0]?.code, 'pfs-mismatch');
  expectFailure(t, pfs, 'A', { code: 'peer-notify', phase: 'quick' });
});

t.test('a successful negotiation fails nothing', async (t) => {
  const h = run({}, undefined, 60_000);
  expectNone(t, h, 'A');
  expectNone(t, h, 'B');
});
