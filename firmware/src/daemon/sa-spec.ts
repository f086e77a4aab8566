// An installed quick mode result (ChildSaInstall) as the engine's SaSpec
// (dataplane/types.ts): lifetimes in kilobytes become byte limits, soft at
// 90% so the rekey starts before the hard limit (RFC 2407 §4.5).

import type { CryptoBackend, SaSpec } from '../dataplane/types.ts';
import type { ChildSaInstall } from '../ike/exchange/types.ts';

export const SOFT_FRACTION = 0.9;

export function saSpecOf(sa: ChildSaInstall, backend: CryptoBackend): SaSpec {
  const hard = BigInt(sa.lifetimeKilobytes) * 1024n;
  const spec: SaSpec = {
    spi: sa.spi,
    direction: sa.direction,
    algorithm: sa.algorithm,
    encKey: sa.encKey,
    local: sa.encap === 'udp' ? sa.local : { address: sa.local.address, port: 0 },
    remote: sa.remote,
    encap: sa.encap,
    backend,
    reqid: sa.reqid,
    limits: { softBytes: (hard * BigInt(Math.round(SOFT_FRACTION * 100))) / 100n, hardBytes: hard },
  };
  if (sa.authKey) spec.authKey = sa.authKey;
  if (sa.esn) spec.esn = true;
  if (sa.direction === 'out') {
    const p = sa.ports;
    spec.selectors = [{
      local: sa.localTs,
      remote: sa.remoteTs,
      ...(p ? { protocol: p.protocol } : {}),
      ...(p && p.localPort !== 0 ? { localPorts: [p.localPort, p.localPort] as [number, number] } : {}),
      ...(p && p.remotePort !== 0 ? { remotePorts: [p.remotePort, p.remotePort] as [number, number] } : {}),
    }];
  }
  return spec;
}
