// The Ansible role (ansible/roles/gateway) against the QEMU-booted image, inside the
// boot that test/qemu/ike-tunnel.test.ts already pays for (a QEMU boot costs minutes
// of TCG CPU). The board has no Python: the collection's plugins drive it over SSH.
//  - a real change (the role's template adds DPD and keepalive settings to the demo's
//    branch config) is validated on the board, applied with reload --confirm, the
//    tunnel to HQ renegotiates, the role confirms; the board's config history shows it;
//  - a config the validator refuses fails the run with the file:line: field message and
//    leaves the board's config store and tunnel as they were.
// Helper for ike-tunnel.test.ts; not a test itself.
import type { Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ansibleEnv, ansibleSkipReason, playbook } from '../lib/ansible.ts';
import type { QemuBoard } from '../lib/qemu-board.ts';
import type { HistoryResult, StatusResult } from '../../firmware/src/control/protocol.ts';

export interface BoardSite {
  /** Namespace holding QEMU's SSH forward (127.0.0.1:2222). */
  ns: string;
  key: string;
  /** The demo's PSK, hex without 0x. */
  psk: string;
}

export async function ansibleOnBoard(t: Test, site: BoardSite, board: QemuBoard): Promise<void> {
  const skip = ansibleSkipReason();
  await t.test('ansible-core configures the QEMU board commit-confirmed', { skip: skip ?? false }, async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sl-qans-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const inv = path.join(dir, 'hosts.yml');
    writeFileSync(inv, `all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: ${site.key}
    sitelink_hq: { name: hq, address: 198.51.100.2, id: hq.sitelink.demo, lans: [10.0.0.0/24] }
    sitelink_proposals: aes128-sha256-modp2048
    sitelink_security_methods: aes128gcm16
    sitelink_pfs: none
  children:
    sitelink:
      children:
        branches:
          hosts:
            branch1:
              ansible_host: 127.0.0.1
              ansible_port: 2222
              sitelink_role: branch
              sitelink_id: branch1.sitelink.demo
              sitelink_lan: 10.1.0.0/24
              sitelink_psk: "0x${site.psk}"
`, { mode: 0o600 });
    const env = ansibleEnv(dir);
    const json = async <T>(cmd: string): Promise<T | null> => {
      const r = await board.ssh(cmd);
      try {
        return JSON.parse(r.stdout) as T;
      } catch {
        t.comment(`${cmd}: ${r.stdout.slice(0, 500)}${r.stderr.slice(0, 500)}`);
        return null;
      }
    };
    const hqUp = async (): Promise<boolean> =>
      (await json<StatusResult>('sitelinkctl --json status'))?.peers.find((p) => p.name === 'hq')?.state === 'up';

    const applied = await playbook(site.ns, env, inv, 'site.yml');
    t.equal(applied.code, 0, 'the role ran on the board');
    if (applied.code !== 0) t.comment(applied.out.slice(-6000));
    t.match(applied.out, /TASK \[sitelink\.fleet\.gateway : Reload commit-confirmed\] \*+\nchanged: \[branch1\]/, 'applied with reload --confirm');
    t.match(applied.out, /TASK \[sitelink\.fleet\.gateway : Confirm the change\] \*+\nchanged: \[branch1\]/, 'confirmed once hq was up');
    t.ok(await hqUp(), 'board: tunnel to hq up on the new config');
    const conf = (await board.ssh('cat /config/sitelink.conf')).stdout;
    t.match(conf, /dpd-delay = 30s/, 'the rendered config is in the config store');
    const h = await json<HistoryResult>('sitelinkctl --json config history');
    t.same(
      h?.entries.slice(0, 2).map((e) => [e.source, e.pending]),
      [
        ['reload', false],
        ['start', false],
      ],
      'board history: boot config, then the confirmed reload',
    );
    t.equal(h?.confirmPending, null, 'no confirm window left open');

    const refused = await playbook(site.ns, env, inv, 'site.yml', '-e', 'sitelink_proposals=aes128-md5-modp2048');
    t.equal(refused.code, 2, 'a refused config fails the run');
    t.match(refused.out, /branch1: configuration refused, running configuration kept:[\s\S]*sitelink\.conf\.candidate:\d+: peers\.hq\.proposals: .*MD5/,
      'with the validator\'s file:line: field message');
    t.equal((await board.ssh('cat /config/sitelink.conf')).stdout, conf, 'board: config store unchanged');
    t.equal((await board.ssh('ls /config/sitelink.conf.candidate 2>/dev/null')).stdout, '', 'board: no candidate left behind');
    t.ok(await hqUp(), 'board: tunnel still up');
    t.notMatch(applied.out + refused.out, site.psk, 'the PSK is not in the Ansible output');
  });
}
