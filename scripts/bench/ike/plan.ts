// Addresses, identities, PSKs and LANs of the hub and of every spoke. The
// hub sits at 172.16.0.1/12 in its own namespace; spoke i (0-based) uses
// 172.17.x.y (i + 1) on one veth in the spoke namespace, LAN 10.64.0.0/10
// split into /24s; the hub's LAN is 10.0.0.0/16 (10.0.0.1 on the hub's lo). Every spoke has its own
// FQDN identity and random 32-byte PSK.

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Spoke } from '../../../firmware/src/tools/loadgen/spokes.ts';

export const HUB = { address: '172.16.0.1', prefix: 12, id: 'hub.bench.sitelink', subnet: '10.0.0.0/16', lanAddress: '10.0.0.1' } as const;
export const MAX_SPOKES = 16_000;

export function spokePlan(n: number): Spoke[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_SPOKES) throw new Error(`spokes must be 1..${MAX_SPOKES}`);
  return Array.from({ length: n }, (_, i) => {
    const a = i + 1;
    return {
      address: `172.17.${a >> 8}.${a & 255}`,
      id: `spoke-${i + 1}.bench.sitelink`,
      pskHex: randomBytes(32).toString('hex'),
      subnet: `10.${64 + (i >> 8)}.${i & 255}.0/24`,
    };
  });
}

/** The load generator's spoke file (tools/loadgen/spokes.ts format), mode 0600. */
export function writeSpokeFile(file: string, spokes: readonly Spoke[]): void {
  writeFileSync(file, spokes.map((s) => `${s.address} ${s.id} ${s.pskHex} ${s.subnet}\n`).join(''), { mode: 0o600 });
}

export interface GroupSpec {
  /** Name in both configs (strongSwan and sitelink use the same spelling). */
  name: 'modp2048' | 'ecp256';
  id: number;
}

export const GROUPS: Record<string, GroupSpec> = {
  modp2048: { name: 'modp2048', id: 14 },
  ecp256: { name: 'ecp256', id: 19 },
};
