// The lab's NAT as a path that loses IP fragments (a PPPoE or carrier NAT that
// drops them): the fragmentation interop tests (IKEv1 and IKEv2, RFC 7383) make
// large IKE messages cross it and count what it dropped. Not a test.
import type { Lab } from './lab.ts';
import type { RunResult } from './proc.ts';

/** On the NAT, before conntrack reassembles them (defrag hooks at priority -400): every
 * IP fragment is counted and dropped. */
const DROP_FRAGMENTS = `
table ip fraglab {
  counter ipfrag { }
  chain pre {
    type filter hook prerouting priority -450; policy accept;
    ip frag-off & 0x3fff != 0 counter name ipfrag drop
  }
}
`;

/** Makes the lab's NAT drop (and count) every IP fragment; nft's result, for the caller to check. */
export function dropNatFragments(lab: Lab): Promise<RunResult> {
  return lab.exec('nat', 'nft', ['-f', '-'], { input: DROP_FRAGMENTS });
}

/** How many IP fragments the NAT has dropped since dropNatFragments(). */
export async function natFragmentsDropped(lab: Lab): Promise<number> {
  const r = await lab.exec('nat', 'nft', ['list', 'counter', 'ip', 'fraglab', 'ipfrag']);
  const m = /packets (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`nft counter: ${r.stderr}${r.stdout}`);
  return Number(m[1]);
}
