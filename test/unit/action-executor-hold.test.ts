// The start's hold (daemon/action-executor.ts, daemon.ts): while the nftables policy
// is applied, the first negotiations run, but no change to the engine's SAs is made;
// everything from the first such change on waits, in order, and is carried out at
// release. A failed start wipes the held keys. What waits is bounded.
import t from 'tap';
import { ActionExecutor, HELD_LIMIT, type ActionExecutorDeps } from '../../firmware/src/daemon/action-executor.ts';
import type { Action, ChildSaInstall } from '../../firmware/src/ike/exchange/types.ts';

interface Recorder {
  deps: ActionExecutorDeps;
  /** What reached the transport, the engine and the log, in order. */
  calls: string[];
}

function recorder(): Recorder {
  const calls: string[] = [];
  const deps = {
    transport: { send: (data: Buffer) => calls.push(`send ${data.toString()}`) },
    dataplane: {
      addSa: (s: { spi: number; direction: string }) => calls.push(`addSa ${s.spi} ${s.direction}`),
      deleteSa: (spi: number) => calls.push(`deleteSa ${spi}`),
      setKeepalive: () => calls.push('keepalive'),
      updateSa: (spi: number) => calls.push(`updateSa ${spi}`),
    },
    routes: { add: (cidr: string) => calls.push(`route ${cidr}`) },
    fallback: { onInstalled: () => undefined, onHeard: () => undefined, attempt: () => undefined, onFailed: () => undefined },
    log: { log: (e: { message: string }) => calls.push(`log ${e.message}`) },
    trail: { note: () => undefined, steps: () => [] },
    failures: { clear: () => undefined, record: () => undefined },
    lastError: new Map<string, string>(),
    backend: 'openssl',
    wallClock: () => new Date(0),
  } as unknown as ActionExecutorDeps;
  return { deps, calls };
}

function sa(spi: number, direction: 'in' | 'out'): ChildSaInstall {
  return {
    spi,
    direction,
    algorithm: 'aes128gcm16',
    encKey: Buffer.alloc(20, 0xab),
    local: { address: '192.0.2.1', port: 4500 },
    remote: { address: '192.0.2.2', port: 4500 },
    encap: 'udp',
    peer: 'hq',
    tunnel: 'lan',
    reqid: 1,
    localTs: '10.1.0.0/24',
    remoteTs: '10.0.0.0/24',
    lifetimeSeconds: 3600,
    lifetimeKilobytes: 1000,
  } as ChildSaInstall;
}

const send = (s: string): Action => ({ kind: 'send', localPort: 500, to: { address: '192.0.2.2', port: 500 }, data: Buffer.from(s) });
const logLine = (s: string): Action => ({ kind: 'log', event: { level: 'info', phase: 'daemon', step: 'X', message: s } });

t.test('not holding: every action is carried out at once', async (t) => {
  const r = recorder();
  const x = new ActionExecutor(r.deps);
  x.apply([send('a'), { kind: 'install', sa: sa(1, 'in') }, send('b')]);
  t.same(r.calls, ['send a', 'addSa 1 in', 'send b']);
});

t.test('holding: datagrams go out until the first SA change, then everything waits in order', async (t) => {
  const r = recorder();
  const x = new ActionExecutor(r.deps);
  x.hold();
  // An IKE_SA_INIT out, then a responder's IKE_AUTH: SAs first, then its answer.
  x.apply([send('init'), logLine('initiating')]);
  t.same(r.calls, ['send init', 'log initiating'], 'nothing touching the engine: carried out while holding');
  const inbound = sa(1, 'in'), outbound = sa(2, 'out');
  x.apply([{ kind: 'install', sa: inbound }, { kind: 'install', sa: outbound }, send('auth-response')]);
  x.apply([send('retransmit'), { kind: 'keepalive', to: { address: '192.0.2.2', port: 4500 }, seconds: 20 }]);
  t.same(r.calls, ['send init', 'log initiating'], 'the SAs, and the answer after them, wait');
  t.equal(x.heldCount, 5);
  t.ok(inbound.encKey.some((b) => b !== 0), 'held keys are kept for the install');
  x.release();
  t.same(r.calls.slice(2), ['addSa 1 in', 'addSa 2 out', 'route 10.0.0.0/24', 'send auth-response', 'send retransmit', 'keepalive']);
  t.ok(inbound.encKey.every((b) => b === 0) && outbound.encKey.every((b) => b === 0), 'keys wiped once in the engine');
  t.equal(x.heldCount, 0);
  x.apply([{ kind: 'delete', peer: 'hq', direction: 'in', spi: 1 }]);
  t.same(r.calls.at(-1), 'deleteSa 1', 'after release nothing is held');
});

t.test('a failed start: held SAs never reach the engine and their keys are wiped', async (t) => {
  const r = recorder();
  const x = new ActionExecutor(r.deps);
  x.hold();
  const held = sa(7, 'out');
  x.apply([{ kind: 'install', sa: held }, send('auth')]);
  x.discardHeld();
  t.ok(held.encKey.every((b) => b === 0), 'key wiped');
  t.equal(x.heldCount, 0);
  x.apply([{ kind: 'install', sa: sa(8, 'in') }]);
  t.same(r.calls, [], 'still holding: nothing reached the engine or the wire');
});

t.test('what waits is bounded: past the limit datagrams and log lines are dropped and counted', async (t) => {
  const r = recorder();
  const x = new ActionExecutor(r.deps);
  x.hold();
  x.apply([{ kind: 'install', sa: sa(1, 'in') }]);
  const flood: Action[] = [];
  for (let i = 0; i < HELD_LIMIT + 500; i++) flood.push(i % 2 === 0 ? send(`d${i}`) : logLine(`l${i}`));
  x.apply(flood);
  t.equal(x.heldCount, HELD_LIMIT, 'no more than the limit waits');
  x.apply([{ kind: 'delete', peer: 'hq', direction: 'in', spi: 1 }]);
  t.equal(x.heldCount, HELD_LIMIT + 1, 'an SA change is still kept past the limit');
  x.release();
  t.equal(r.calls[0], 'log 501 IKE datagram(s) and log line(s) dropped while the start\'s policy was applied (over 4096 waiting)');
  t.equal(r.calls[1], 'addSa 1 in');
  t.equal(r.calls.at(-1), 'deleteSa 1', 'the kept change comes last, in order');
  t.equal(r.calls.length, 1 + HELD_LIMIT + 1);
});
