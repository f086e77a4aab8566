// One spoke's PeerPolicy towards the hub: the same shape sitelinkd builds from
// its config (daemon/policy-from-config.ts), fixed to one phase 1 method and
// one ESP method so both hubs negotiate exactly the same thing.

import { Secret } from '../../base/secret.ts';
import type { PeerPolicy } from '../../ike/exchange/types.ts';
import { IdType } from '../../ike/wire/index.ts';
import type { Spoke } from './spokes.ts';

export interface HubTarget {
  address: string;
  id: string;
  subnet: string;
  /** DH group of main mode (14 = modp2048, 19 = ecp256). */
  group: number;
  /** Quick mode PFS group, or null. */
  pfsGroup: number | null;
  /** IKE version the spokes speak (default 1). */
  version?: 1 | 2;
}

export function spokePolicy(s: Spoke, hub: HubTarget): PeerPolicy {
  return {
    name: s.id,
    ...(hub.version === 2 ? { ikeVersion: 2 as const } : {}),
    remoteAddress: hub.address,
    localAddress: s.address,
    localId: { idType: IdType.FQDN, name: s.id },
    remoteId: { idType: IdType.FQDN, name: hub.id },
    psk: new Secret(Buffer.from(s.pskHex, 'hex')),
    ikeMethods: [{ encryption: 'aes128', integrity: 'sha256', dhGroup: hub.group }],
    ikeLifetimeSeconds: 28_800,
    allowWeak: false,
    natTraversal: 'auto',
    keepaliveSeconds: 0,
    dpd: null,
    tunnels: [
      {
        name: 'lan',
        local: s.subnet,
        remote: hub.subnet,
        methods: [{ esp: 'aes128gcm16', lifetimeSeconds: 3600, lifetimeKilobytes: 100_000 }],
        pfsGroup: hub.pfsGroup,
      },
    ],
  };
}
