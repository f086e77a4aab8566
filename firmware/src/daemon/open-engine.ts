// Opens the ESP engine on gateway.listen. The wildcard `::` (the default) is one
// dual-stack UDP socket per worker: IPv6 peers natively, IPv4 peers v4-mapped (the
// engine stores and reports them as plain IPv4). A host without IPv6 cannot open
// it; the engine then runs IPv4 only on 0.0.0.0 and says so, and an IPv6 peer's SA
// is refused with the reason when it is installed.

import type { GatewaySettings } from '../config/types.ts';
import { Dataplane } from '../dataplane/dataplane.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';

export function openEngine(g: GatewaySettings, rawEsp: boolean, log: NegotiationLog): Dataplane {
  const open = (address: string): Dataplane => {
    const dp = new Dataplane();
    dp.open({
      tun: g.tun,
      listen: { address, port: g.nattPort },
      rawEsp,
      mtu: g.mtu,
      ...(g.workers > 0 ? { workers: g.workers } : {}),
    });
    return dp;
  };
  if (g.listen !== '::') return open(g.listen);
  try {
    return open('::');
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (!/family not supported|EAFNOSUPPORT|Cannot assign requested address/i.test(why)) throw e;
    log.log({ level: 'warning', phase: 'daemon', step: 'ENGINE', message: `no IPv6 socket for UDP ${g.nattPort} (${why}): IPv4 peers only` });
    return open('0.0.0.0');
  }
}
