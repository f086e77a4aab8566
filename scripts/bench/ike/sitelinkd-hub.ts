// sitelink.conf + secrets file for a sitelinkd hub with one peer per spoke:
// the policy charon-hub.ts gives strongSwan (PSK main mode aes128-sha256-GROUP,
// quick mode aes128gcm16 with optional PFS, hub LAN <-> spoke LAN, responder
// only). Written into a private directory; the secrets file is mode 0600.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ConfigFiles } from '../../../test/netns/ike-sitelinkd.ts';
import type { Spoke } from '../../../firmware/src/tools/loadgen/spokes.ts';
import { HUB, type GroupSpec } from './plan.ts';

export function writeSitelinkdHub(dir: string, spokes: readonly Spoke[], group: GroupSpec, pfs: boolean, version: 1 | 2 = 1): ConfigFiles {
  const config = path.join(dir, 'hub.conf');
  const secrets = path.join(dir, 'hub.secrets');
  const log = path.join(dir, 'hub.log');
  const socket = path.join(dir, 'ctl', 'control.sock');
  writeFileSync(secrets, `psk {\n${spokes.map((s) => `  ${s.id} = 0x${s.pskHex}\n`).join('')}}\n`, { mode: 0o600 });
  const peers = spokes.map((s, i) => `  s${i + 1} {
    remote = ${s.address}
    local = ${HUB.address}
    remote-id = ${s.id}
    version = ${version}
    proposals = aes128-sha256-${group.name}
    dpd-delay = 0
    keepalive = 0
    start = none
  }
`);
  const lists = spokes.map((s, i) => `  l${i + 1} {\n    lan {\n      source = ${HUB.subnet}\n      destination = ${s.subnet}\n    }\n  }\n`);
  const rules = spokes.map((_, i) => `  r${i + 1} {\n    filters = l${i + 1}\n    action = secure\n    peer = s${i + 1}\n  }\n`);
  writeFileSync(
    config,
    `gateway {
  id = ${HUB.id}
  listen = ${HUB.address}
  secrets = ${secrets}
  control-socket = ${socket}
  tun = sl0
  log {
    file = ${log}
    syslog = no
    level = warning
  }
}
peers {
${peers.join('')}}
filter-lists {
${lists.join('')}}
filter-actions {
  secure {
    action = negotiate
    security-methods = aes128gcm16
    pfs = ${pfs ? group.name : 'none'}
  }
}
rules {
${rules.join('')}}
`,
    { mode: 0o600 },
  );
  return { config, log, socket };
}
