// Peer addresses as IP literals (DNS names resolved once, at load or reload)
// and our source address towards each.

import { ipFamily } from '../base/ip-text.ts';
import { ANY_REMOTE } from '../base/address.ts';
import type { SitelinkConfig } from '../config/types.ts';
import { routeSourceAddress } from './local-address.ts';

export interface PeerAddresses {
  local: Map<string, string>;
  remote: Map<string, string>;
}

export async function peerAddresses(config: SitelinkConfig): Promise<PeerAddresses> {
  // A name resolves in the families the sockets take (gateway.listen; :: = both, the
  // resolver's order then decides).
  const listen = config.gateway.listen;
  const family = listen === '::' ? 0 : ipFamily(listen) === 6 ? 6 : 4;
  const local = new Map<string, string>();
  const remote = new Map<string, string>();
  for (const p of config.peers.values()) {
    // remote = %any stays as it is: the exchanges accept that peer from any address.
    const ip =
      ipFamily(p.remoteAddress) !== 0 || p.remoteAddress === ANY_REMOTE
        ? p.remoteAddress
        : // dns is loaded only for a peer given by name (issue 10: RSS of a gateway without one).
          await (await import('node:dns/promises'))
            .lookup(p.remoteAddress, { family })
            .then((r) => r.address)
            .catch(() => p.remoteAddress);
    remote.set(p.name, ip);
    if (p.localAddress !== null) local.set(p.name, p.localAddress);
    else local.set(p.name, await routeSourceAddress(ip).catch(() => '0.0.0.0'));
  }
  return { local, remote };
}
