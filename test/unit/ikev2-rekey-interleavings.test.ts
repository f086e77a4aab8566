// IKEv2 rekeys in random interleavings between two in-memory nodes (ike-interleavings.ts):
// kilobyte soft limits (outbound or inbound, on one side or on both at once, so child
// rekeys collide as in RFC 7296 §2.8.1), operator rekeys of the child and of the IKE SA
// (§2.8.2 when both sides do it at once), pauses of random length, then an hour of
// lifetimes in seconds (children 600 s, IKE SAs 1200 s). At every step each side must
// send on a pair the other side can receive (the engine model), nothing may fail, and
// both sides must end with the same pairs. The seeds are fixed, so the suite always
// walks the same orders; IKE_INTERLEAVING_SEED=<word> walks others.
import t from 'tap';
import { v2 } from './ikev2-harness.ts';
import { checkWalk, walkRekeys, WALK_METHODS, WALK_SEED, WALK_STEPS } from './ike-interleavings.ts';

const RUNS = 24;

for (let run = 0; run < RUNS; run++) {
  t.test(`interleaving ${run}`, async (t) => {
    const h = v2({
      seed: `${WALK_SEED}/v2/${run}`,
      latencyMs: 1,
      peerA: { ikeLifetimeSeconds: 1200 },
      peerB: { ikeLifetimeSeconds: 1200 },
      tunnelA: { methods: WALK_METHODS },
      tunnelB: { methods: WALK_METHODS },
    });
    const peer = (s: 'A' | 'B'): string => (s === 'A' ? 'gwB' : 'gwA');
    const node = (s: 'A' | 'B'): typeof h.a => (s === 'A' ? h.a : h.b);
    const walk = walkRekeys(h, h.seed, WALK_STEPS, [
      (s) => ({ name: 'rekey child', actions: node(s).rekey(peer(s), 'child') }),
      (s) => ({ name: 'rekey ike', actions: node(s).rekey(peer(s), 'ike') }),
    ]);
    checkWalk(t, h, walk, 'IKEv2');
  });
}
