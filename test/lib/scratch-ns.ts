// One network namespace with a single veth pair (w0 192.0.2.1/24, w1 up), a temp
// directory and a one-peer gateway config in it, all removed with the test: enough for
// a sitelinkd that only needs a WAN address to bind and a peer to start toward, when a
// test is about the daemon process rather than a tunnel. A daemon that dies without its
// stop path leaves its TUN, nftables table and rules in the namespace, and deleting the
// namespace takes them along.
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SCRATCH_WAN = '192.0.2.1';

export interface ScratchGateway {
  ns: string;
  dir: string;
  /** The gateway config (its secrets file, control socket and log are in `dir`). */
  conf: string;
  socket: string;
}

export function scratchGateway(t: Test, prefix: string): ScratchGateway {
  const ns = `${prefix}${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), `sl-${prefix}-`));
  const ip = (...a: string[]): void => void spawnSync('ip', a, { stdio: 'ignore' });
  ip('netns', 'add', ns);
  t.teardown(() => {
    ip('netns', 'del', ns);
    rmSync(dir, { recursive: true, force: true });
  });
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1');
  ip('-n', ns, 'link', 'set', 'w0', 'up');
  ip('-n', ns, 'link', 'set', 'w1', 'up');
  ip('-n', ns, 'addr', 'add', `${SCRATCH_WAN}/24`, 'dev', 'w0');

  const socket = join(dir, 'ctl', 'control.sock');
  const conf = join(dir, 'gw.conf');
  writeFileSync(join(dir, 'gw.secrets'), 'psk {\n  peer.example = "a scratch gateway test passphrase, not secret"\n}\n', { mode: 0o600 });
  writeFileSync(
    conf,
    `gateway {\n  id = gw.example\n  listen = ${SCRATCH_WAN}\n  secrets = ${join(dir, 'gw.secrets')}\n` +
      `  control-socket = ${socket}\n  tun = ${prefix}0\n` +
      `  log {\n    file = ${join(dir, 'gw.log')}\n    syslog = no\n  }\n}\n` +
      `peers {\n  hq {\n    remote = 192.0.2.2\n    local = ${SCRATCH_WAN}\n` +
      '    remote-id = peer.example\n    version = 2\n    start = start\n  }\n}\n' +
      'filter-lists {\n  l {\n    lan {\n      source = 10.1.0.0/24\n      destination = 10.2.0.0/24\n    }\n  }\n}\n' +
      'filter-actions {\n  secure {\n    action = negotiate\n    security-methods = aes128gcm16\n  }\n}\n' +
      'rules {\n  r {\n    filters = l\n    action = secure\n    peer = hq\n  }\n}\n',
    { mode: 0o600 },
  );
  return { ns, dir, conf, socket };
}
