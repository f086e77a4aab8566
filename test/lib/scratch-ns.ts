// One network namespace with a single veth pair (w0 192.0.2.1/24, w1 up) and a temp
// directory, both removed with the test: enough for a sitelinkd that only needs a WAN
// address to bind, when a test is about the daemon process rather than a tunnel.
// A daemon that dies without its stop path leaves its TUN, nftables table and rules in
// the namespace, and deleting the namespace takes them along.
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SCRATCH_WAN = '192.0.2.1';

export function scratchNamespace(t: Test, prefix: string): { ns: string; dir: string } {
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
  return { ns, dir };
}
