// swanctl.conf for strongSwan as the load generator (the sanity row): one
// charon in the spoke namespace with one IKEv1 connection per spoke (its own
// address, identity and PSK) towards the hub, the mirror of charon-hub.ts.
// start_action = start: every connection is initiated as soon as it is loaded.

import type { Spoke } from '../../../firmware/src/tools/loadgen/spokes.ts';
import { HUB, type GroupSpec } from './plan.ts';

export function charonSpokesConf(spokes: readonly Spoke[], group: GroupSpec, pfs: boolean, start: boolean, version: 1 | 2 = 1): string {
  const esp = pfs ? `aes128gcm16-${group.name}` : 'aes128gcm16';
  const lines: string[] = ['connections {'];
  spokes.forEach((s, i) => {
    lines.push(
      `  s${i + 1} {`,
      `    version = ${version}`,
      `    local_addrs = ${s.address}`,
      `    remote_addrs = ${HUB.address}`,
      `    proposals = aes128-sha256-${group.name}`,
      '    encap = yes',
      '    dpd_delay = 0',
      '    local {',
      '      auth = psk',
      `      id = ${s.id}`,
      '    }',
      '    remote {',
      '      auth = psk',
      `      id = ${HUB.id}`,
      '    }',
      '    children {',
      `      s${i + 1} {`,
      '        mode = tunnel',
      `        local_ts = ${s.subnet}`,
      `        remote_ts = ${HUB.subnet}`,
      `        esp_proposals = ${esp}`,
      `        start_action = ${start ? 'start' : 'none'}`,
      '      }',
      '    }',
      '  }',
    );
  });
  lines.push('}', 'secrets {');
  spokes.forEach((s, i) => {
    lines.push(`  ike-s${i + 1} {`, `    id-a = ${s.id}`, `    id-b = ${HUB.id}`, `    secret = 0x${s.pskHex}`, '  }');
  });
  lines.push('}', '');
  return lines.join('\n');
}

/** A spoke's LAN address (x.y.z.1 of its /24): charon wants one inside local_ts. */
export function spokeLanAddress(s: Spoke): string {
  return s.subnet.replace(/\.0\/24$/, '.1');
}
