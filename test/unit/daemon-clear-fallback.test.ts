// The daemon's fallback-to-clear driver (daemon/clear-fallback.ts) with fake
// routes and clock, fed the way sitelinkd feeds it: attempt() when MM1 goes
// out, the exchanges' `heard` action when any datagram of the peer arrives.
// The IkeNode part checks that `heard` is emitted for a reply and never for
// silence.

import t from 'tap';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { Secret } from '../../firmware/src/base/secret.ts';
import { ClearFallback } from '../../firmware/src/daemon/clear-fallback.ts';
import { peerPolicies } from '../../firmware/src/daemon/policy-from-config.ts';
import type { Action } from '../../firmware/src/ike/exchange/types.ts';
import { Harness } from './ike-exchange-harness.ts';

const CONF = `
gateway { id = branch.lab }
peers { hq { remote = 198.51.100.2
             remote-id = hq.lab } }
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.0.0.0/16 } } }
filter-actions { sec { action = negotiate
                       fallback-to-clear = yes } }
rules { r { filters = l
            action = sec
            peer = hq } }
`;

function setup() {
  const r = loadConfigText('/etc/sitelink/sitelink.conf', CONF, { secrets: false });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  // Without a secrets file the peer has no PSK; the fallback does not care.
  r.config.peers.get('hq')!.psk = new Secret(Buffer.from('unused'));
  const { peers, problems } = peerPolicies(r.config, () => '100.64.0.2');
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  let now = 0;
  const routes = new Set(['10.0.0.0/16']);
  const initiated: string[] = [];
  /** The nft fallback set (clear traffic of the rule passes only for its members). */
  const clearSet = new Set<string>();
  const f = new ClearFallback({
    now: () => now,
    routes,
    addRoute: async () => undefined,
    deleteRoute: async () => undefined,
    setClear: async (cidr, on) => void (on ? clearSet.add(cidr) : clearSet.delete(cidr)),
    initiate: (p) => initiated.push(p),
    log: () => undefined,
  });
  f.configure(r.config, peers);
  return { f, routes, initiated, clearSet, at: (ms: number) => { now = ms; f.tick(); } };
}

t.test('a silent peer: after 3 s its remote subnet leaves the TUN (soft SA)', async (t) => {
  const s = setup();
  s.f.attempt('hq');
  s.at(2_900);
  t.same(s.f.clearRemotes(), [], 'not before 3 s');
  s.at(3_100);
  t.same(s.f.clearRemotes(), ['10.0.0.0/16']);
  t.notOk(s.routes.has('10.0.0.0/16'), 'route into the TUN removed');
  t.same([...s.clearSet], ['10.0.0.0/16'], 'and joins the nft fallback set, the only way its clear traffic passes');
  s.f.onHeard('hq');
  t.same(s.f.clearRemotes(), [], 'the peer answering the retry closes the clear path');
  t.ok(s.routes.has('10.0.0.0/16'), 'route back into the TUN');
  t.same([...s.clearSet], [], 'and out of the fallback set: inbound clear traffic is dropped again');
});

t.test('every negotiation may fall back, not only the first after start', async (t) => {
  const s = setup();
  s.f.attempt('hq');
  s.at(500);
  s.f.onHeard('hq');
  s.f.onInstalled('hq');
  t.same(s.f.clearRemotes(), [], 'secure');
  // Hours later the SAs are gone (DPD, expiry) and a new main mode meets silence.
  s.at(3_600_000);
  s.f.attempt('hq');
  s.at(3_602_000);
  t.same(s.f.clearRemotes(), [], 'not before 3 s');
  s.at(3_603_100);
  t.same(s.f.clearRemotes(), ['10.0.0.0/16'], 'soft SA for the second negotiation too');
  // A negotiation after a refusal (the peer answered once) falls back as well when silent.
  s.f.onFailed('hq', 'no-proposal-chosen');
  t.same(s.f.clearRemotes(), []);
  s.at(4_000_000);
  s.f.attempt('hq');
  s.at(4_003_100);
  t.same(s.f.clearRemotes(), ['10.0.0.0/16']);
  // While a negotiation runs, a further attempt() does not restart its silence timer.
  const s2 = setup();
  s2.f.attempt('hq');
  s2.at(2_000);
  s2.f.attempt('hq');
  s2.at(3_100);
  t.same(s2.f.clearRemotes(), ['10.0.0.0/16'], 'timer counts from the first MM1 of the attempt');
});

t.test('IkeNode reports `initiating` for a fresh main mode (start, and again after the SAs went)', async (t) => {
  const h = new Harness();
  const initiating: string[] = [];
  const orig = h.apply.bind(h);
  h.apply = (side, acts: Action[]) => {
    for (const a of acts) if (a.kind === 'initiating') initiating.push(`${side}:${a.peer}`);
    orig(side, acts);
  };
  h.bringUp();
  t.same(initiating, ['A:gwB'], 'the first main mode');
  h.apply('A', h.a.initiate('gwB'));
  t.same(initiating, ['A:gwB'], 'not while an ISAKMP SA is up');
  h.apply('A', h.a.terminate('gwB'));
  h.apply('A', h.a.initiate('gwB'));
  t.same(initiating, ['A:gwB', 'A:gwB'], 'again for a main mode after everything went');
});

t.test('a peer that answered never falls back, even if it then goes quiet', async (t) => {
  const s = setup();
  s.f.attempt('hq');
  s.at(500);
  s.f.onHeard('hq');
  s.at(60_000);
  t.same(s.f.clearRemotes(), []);
  t.ok(s.routes.has('10.0.0.0/16'));
});

t.test('IkeNode reports `heard` for a datagram from the peer, never for silence', async (t) => {
  const silent = new Harness();
  silent.filter = () => null; // the peer never answers
  const heardSilent: string[] = [];
  const origS = silent.apply.bind(silent);
  silent.apply = (side, acts) => {
    for (const a of acts) if (a.kind === 'heard') heardSilent.push(`${side}:${a.peer}`);
    origS(side, acts);
  };
  silent.bringUp();
  silent.advance(10_000);
  t.same(heardSilent, [], 'our own retransmissions are not hearing');

  const h = new Harness();
  const heard: string[] = [];
  const orig = h.apply.bind(h);
  h.apply = (side, acts: Action[]) => {
    for (const a of acts) if (a.kind === 'heard') heard.push(`${side}:${a.peer}`);
    orig(side, acts);
  };
  h.bringUp();
  t.ok(heard.includes('B:gwA'), 'B heard A (its MM1)');
  t.ok(heard.includes('A:gwB'), 'A heard B (its MM2 and later)');
  t.ok(h.installs.A.length > 0, 'and the negotiation completed');
});
