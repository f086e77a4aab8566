// swanctl.conf for a strongSwan hub: one IKEv1 or IKEv2 connection per spoke (its
// address, identity and PSK), PSK main mode / IKE SA with aes128-sha256-GROUP, one
// tunnel-mode child hub LAN <-> spoke LAN with ESP aes128gcm16 (+ PFS group).
// The same policy sitelinkd-hub.ts writes for sitelinkd. One key per line
// (facts.md); the charon launcher itself is test/lib/strongswan.ts.

import type { Spoke } from '../../../firmware/src/tools/loadgen/spokes.ts';
import { HUB, type GroupSpec } from './plan.ts';

export function charonHubConf(spokes: readonly Spoke[], group: GroupSpec, pfs: boolean, version: 1 | 2 = 1): string {
  const esp = pfs ? `aes128gcm16-${group.name}` : 'aes128gcm16';
  const lines: string[] = ['connections {'];
  spokes.forEach((s, i) => {
    lines.push(
      `  s${i + 1} {`,
      `    version = ${version}`,
      `    local_addrs = ${HUB.address}`,
      `    remote_addrs = ${s.address}`,
      `    proposals = aes128-sha256-${group.name}`,
      '    encap = yes',
      '    dpd_delay = 0',
      '    local {',
      '      auth = psk',
      `      id = ${HUB.id}`,
      '    }',
      '    remote {',
      '      auth = psk',
      `      id = ${s.id}`,
      '    }',
      '    children {',
      `      s${i + 1} {`,
      '        mode = tunnel',
      `        local_ts = ${HUB.subnet}`,
      `        remote_ts = ${s.subnet}`,
      `        esp_proposals = ${esp}`,
      '      }',
      '    }',
      '  }',
    );
  });
  lines.push('}', 'secrets {');
  spokes.forEach((s, i) => {
    lines.push(`  ike-s${i + 1} {`, `    id-a = ${HUB.id}`, `    id-b = ${s.id}`, `    secret = 0x${s.pskHex}`, '  }');
  });
  lines.push('}', '');
  return lines.join('\n');
}
