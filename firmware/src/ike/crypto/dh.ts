// Registry of the Diffie-Hellman groups this daemon speaks, by IANA number.

import { modpGroup } from './dh-modp.ts';
import { ecpGroups } from './dh-ecp.ts';
import { curve25519Group } from './dh-curve25519.ts';
import type { DhGroup } from './dh-group.ts';

export type { DhGroup, DhKeyPair } from './dh-group.ts';
export { DhError } from './dh-group.ts';

const GROUPS: ReadonlyMap<number, DhGroup> = new Map(
  [
    modpGroup(1, 'modp1', true), // 768-bit, RFC 2409 §6.1: weak
    modpGroup(2, 'modp2', false), // 1024-bit, RFC 2409 §6.2: allowed, not recommended
    modpGroup(5, 'modp5', false), // RFC 3526 §2
    modpGroup(14, 'modp14', false), // RFC 3526 §3
    modpGroup(15, 'modp15', false), // RFC 3526 §4
    modpGroup(16, 'modp16', false), // RFC 3526 §5
    ...ecpGroups(), // 19, 20, 21: RFC 5903
    curve25519Group, // 31: RFC 8031
  ].map((g) => [g.id, g] as const),
);

export function dhGroupById(id: number): DhGroup | undefined {
  return GROUPS.get(id);
}

export function supportedDhGroups(): DhGroup[] {
  return [...GROUPS.values()];
}
