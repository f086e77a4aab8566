// The Ansible collection (ansible/) against network-namespace "boards": ansible-core
// (Debian 12's ansible-core, scripts/setup) runs playbooks/site.yml from a controller
// namespace over SSH to dropbear on four boards (headquarters and three branches)
// running dist/sitelinkd.cjs, with no Python used on them.
//  1. First run: every board gets its rendered config and secrets, validated on the
//     board, sitelinkd started; all branches bring their tunnel to HQ up (traffic flows
//     branch LAN -> HQ LAN through ESP); facts.yml reads status --json into facts.
//  2. Second run (short confirm window): branch2 gets proposals HQ does not accept, so
//     its tunnel breaks, the role does not confirm and sitelinkd puts the previous config
//     back by itself: branch2 comes back up; branch3 gets a config the validator refuses
//     (MD5): the run fails that host with the file:line: field message and branch3 keeps
//     running as before (same SAs, same files); branch1 (unchanged) is untouched.
// The QEMU-booted image is the fifth target, in the boot test/qemu/ike-tunnel.test.ts
// already makes (test/qemu/ansible-board.ts): another boot would cost minutes of TCG CPU.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exec, FleetLab, FLEET_WAN } from '../lib/fleet-lab.ts';
import { ANSIBLE, ANSIBLE_PLAYBOOK, ansibleEnv, ansibleSkipReason, execEnv, playbook as runPlaybook } from '../lib/ansible.ts';
import { uniquePrefix } from '../lib/lab.ts';
import { repoRoot } from '../lib/paths.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { sitelinkdPath } from './ike-sitelinkd.ts';

const tail = (file: string, n = 20): string => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-n).join('\n') : '(none)');
const skip = labSkipReason(['/usr/sbin/dropbear', '/usr/bin/dropbearkey', '/usr/bin/ssh', '/usr/bin/ssh-keygen', ANSIBLE_PLAYBOOK]);

const BOARDS = [
  { name: 'hq', lanOctet: 100 },
  { name: 'branch1', lanOctet: 11 },
  { name: 'branch2', lanOctet: 12 },
  { name: 'branch3', lanOctet: 13 },
];

t.test(
  'ansible-core configures HQ and branches commit-confirmed; broken changes revert, bad ones are refused',
  { skip: skip ?? false },
  async (t) => {
    if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
    const dir = mkdtempSync(path.join(tmpdir(), 'sl-fleet-'));
    const lab = new FleetLab(uniquePrefix('fl'), dir);
    t.teardown(async () => {
      await lab.down();
      rmSync(dir, { recursive: true, force: true });
    });
    await lab.up(BOARDS);
    const hq = lab.board('hq');

    const inv = path.join(dir, 'inventory');
    mkdirSync(path.join(inv, 'host_vars'), { recursive: true });
    const hostLine = (name: string): string => {
      const b = lab.board(name);
      return (
        `            ${name}:\n              ansible_host: ${b.wan}\n              sitelink_lan: ${b.lan}\n` +
        `              sitelink_store_dir: ${b.store}\n              sitelink_ctl: ${b.ctl}\n              sitelink_control_socket: ${b.socket}\n` +
        `              sitelink_log_file: ${b.log}\n              sitelink_start_command: ${b.start}\n`
      );
    };
    writeFileSync(
      path.join(inv, 'hosts.yml'),
      `all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: ${lab.key}
    sitelink_hq: { name: hq, address: ${hq.wan}, id: hq.fleet.lab, lans: [${hq.lan}] }
    sitelink_log_level: debug
    sitelink_syslog: false
    sitelink_confirm_window: 60s
    sitelink_up_retries: 30
    sitelink_up_delay: 1
  children:
    sitelink:
      children:
        headquarters:
          vars: { sitelink_role: hq, sitelink_id: hq.fleet.lab }
          hosts:
${hostLine('hq')}        branches:
          vars: { sitelink_role: branch, sitelink_id: "{{ inventory_hostname }}.fleet.lab" }
          hosts:
${['branch1', 'branch2', 'branch3'].map(hostLine).join('')}`,
    );
    for (const b of ['branch1', 'branch2', 'branch3'])
      writeFileSync(path.join(inv, 'host_vars', `${b}.yml`), `sitelink_psk: "fleet-${b}-psk-0a1b2c3d"\n`);

    const env = ansibleEnv(dir);
    const playbook = (book: string, ...extra: string[]) => runPlaybook(lab.controllerNs, env, inv, book, ...extra);
    const status = (name: string) => controlRequest(lab.board(name).socket, 'status');
    const hqUp = async (name: string): Promise<boolean> => {
      try {
        return (await status(name)).peers.find((p) => p.name === 'hq')?.state === 'up';
      } catch {
        return false;
      }
    };
    const spis = async (name: string): Promise<string> =>
      (await controlRequest(lab.board(name).socket, 'sas')).quickMode
        .map((q) => `${q.spiIn}/${q.spiOut}`)
        .sort()
        .join(',');
    const lanPing = (name: string): Promise<boolean> =>
      exec(
        'ip',
        [
          'netns',
          'exec',
          lab.board(name).ns,
          'ping',
          '-n',
          '-q',
          '-c',
          '2',
          '-i',
          '0.3',
          '-W',
          '2',
          '-I',
          lab.board(name).lanAddr,
          hq.lanAddr,
        ],
        10_000,
      ).then((r) => r.code === 0);

    // 1. First run: provision everything.
    const first = await playbook('site.yml');
    t.equal(first.code, 0, 'first run succeeds on all four boards');
    if (first.code !== 0)
      t.comment(
        `${first.out}\n${BOARDS.map((b) => `${b.name} sitelinkd:\n${tail(path.join(lab.board(b.name).dir, 'sitelinkd.out'))}`).join('\n')}`,
      );
    t.match(first.out, /hq\s+: ok=\d+\s+changed=[1-9]/, 'hq provisioned');
    for (const b of ['branch1', 'branch2', 'branch3']) {
      t.match(first.out, new RegExp(`${b}\\s+: ok=\\d+\\s+changed=[1-9]\\d*\\s+unreachable=0\\s+failed=0`), `${b} provisioned`);
      t.ok(await hqUp(b), `${b}: tunnel to hq up`);
      t.ok(await waitUntil(() => lanPing(b), 10_000, 500), `${b}: its LAN reaches the HQ LAN through the tunnel`);
      t.equal(
        (await controlRequest(lab.board(b).socket, 'history')).entries[0]?.source,
        'start',
        `${b}: the running config is in the history`,
      );
    }
    const hqPeers = (await status('hq')).peers;
    t.same(
      hqPeers.map((p) => [p.name, p.state]).sort(),
      [
        ['branch1', 'up'],
        ['branch2', 'up'],
        ['branch3', 'up'],
      ],
      'hq has every branch up',
    );
    const conf1 = readFileSync(path.join(lab.board('branch1').store, 'sitelink.conf'), 'utf8');
    t.match(conf1, `remote = ${FLEET_WAN}.10`, "branch1 rendered with HQ's address");
    t.notMatch(conf1, 'fleet-branch1-psk', 'no PSK in sitelink.conf');
    t.notMatch(first.out, /fleet-branch\d-psk/, 'no PSK in the Ansible output');

    const facts = await playbook('facts.yml');
    t.equal(facts.code, 0, 'facts playbook runs');
    t.match(facts.out, /branch2: sitelinkd running [\d.]+; up: hq; down: -/, 'facts from status --json');
    t.match(facts.out, /hq: sitelinkd running [\d.]+; up: branch1, branch2, branch3; down: -/);

    // 2. A change that breaks branch2's tunnel and one the validator refuses on branch3.
    const b2Conf = readFileSync(path.join(lab.board('branch2').store, 'sitelink.conf'), 'utf8');
    const b3Conf = readFileSync(path.join(lab.board('branch3').store, 'sitelink.conf'), 'utf8');
    const b3Spis = await spis('branch3');
    const b3Pid = lab.daemonPid(lab.board('branch3'));
    writeFileSync(
      path.join(inv, 'host_vars', 'branch2.yml'),
      'sitelink_psk: "fleet-branch2-psk-0a1b2c3d"\nsitelink_proposals: aes256-sha512-modp4096\n',
    );
    writeFileSync(
      path.join(inv, 'host_vars', 'branch3.yml'),
      'sitelink_psk: "fleet-branch3-psk-0a1b2c3d"\nsitelink_proposals: aes128-md5-modp2048\n',
    );
    const second = await playbook('site.yml', '--limit', 'branches', '-e', 'sitelink_confirm_window=40s', '-e', 'sitelink_up_retries=6');
    t.equal(second.code, 2, 'the run reports failed hosts');
    t.match(second.out, /branch1\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0/, 'branch1: nothing to change');
    t.match(
      second.out,
      /branch3: configuration refused, running configuration kept:[\s\S]*sitelink\.conf\.candidate:\d+: peers\.hq\.proposals: .*MD5/,
      "branch3 fails with the validator's file:line: field message",
    );
    // Normally the wait gives up inside the 40 s window; on a machine so loaded that the
    // window closed first, the role finds the reverted tunnel up and its confirm comes too
    // late. Either way branch2 fails, unconfirmed, and reverts by itself (checked below).
    t.match(
      second.out,
      /branch2: (hq not up after 6 s .*not confirmed, so sitelinkd reverts to the previous configuration at|confirm failed .*the\s+window closed first and sitelinkd went back to the previous configuration)/,
      'branch2 fails: tunnel not up, not confirmed',
    );
    t.match(second.out, /branch2\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=1/);
    t.match(second.out, /branch3\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=1/);

    // branch3 kept running as before.
    t.equal(readFileSync(path.join(lab.board('branch3').store, 'sitelink.conf'), 'utf8'), b3Conf, 'branch3: config file unchanged');
    t.notOk(existsSync(path.join(lab.board('branch3').store, 'sitelink.conf.candidate')), 'branch3: refused candidate removed');
    t.equal(lab.daemonPid(lab.board('branch3')), b3Pid, 'branch3: same daemon');
    t.ok(await hqUp('branch3'), 'branch3: tunnel still up');
    t.equal(await spis('branch3'), b3Spis, 'branch3: same SAs (SPIs)');

    // branch2 comes back by itself when the window closes.
    const back = await waitUntil(() => hqUp('branch2'), 90_000, 500);
    t.ok(back, 'branch2: tunnel to hq back up without anyone logging in');
    t.equal(
      readFileSync(path.join(lab.board('branch2').store, 'sitelink.conf'), 'utf8'),
      b2Conf,
      'branch2: previous sitelink.conf restored on disk',
    );
    const h2 = await controlRequest(lab.board('branch2').socket, 'history');
    t.same(
      h2.entries.slice(0, 2).map((e) => e.source),
      ['revert', 'reload'],
      'branch2 history: the unconfirmed reload, then the revert',
    );
    t.equal(h2.confirmPending, null, 'no window left open');
    t.ok(await waitUntil(() => lanPing('branch2'), 10_000, 500), 'branch2: LAN traffic to HQ flows again');
    if (!back)
      t.comment(`${second.out}\nbranch2 log:\n${readFileSync(lab.board('branch2').log, 'utf8').split('\n').slice(-40).join('\n')}`);
    const logs = ['hq', 'branch1', 'branch2', 'branch3'].map((b) => readFileSync(lab.board(b).log, 'utf8')).join('\n');
    t.notMatch(logs, /fleet-branch\d-psk/, 'no PSK in any negotiation log');
    t.notMatch(second.out, /fleet-branch\d-psk/, 'no PSK in the Ansible output');
  },
);

t.test(
  'collection: playbooks parse, the filters read status --json and refuse unknown schema versions',
  { skip: ansibleSkipReason() ?? false },
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sl-fleet-syn-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const env = ansibleEnv(dir);
    const ex = path.join(repoRoot, 'ansible', 'inventory', 'example');
    const books = ['site.yml', 'facts.yml', 'upgrade.yml'].map((b) => path.join(repoRoot, 'ansible', 'playbooks', b));
    const syn = await execEnv([ANSIBLE_PLAYBOOK, '--syntax-check', '-i', ex, ...books], env);
    t.equal(syn.code, 0, `site.yml, facts.yml and upgrade.yml parse${syn.code === 0 ? '' : `: ${syn.out}`}`);
    const status = {
      schemaVersion: 1,
      version: '0.1.0',
      pid: 7,
      uptimeSeconds: 60,
      configFile: '/etc/sitelink/sitelink.conf',
      configLoaded: '2026-01-01T00:00:00.000Z',
      peers: [
        { name: 'hq', remote: '198.51.100.2', state: 'up', mainModeSas: 1, quickModeSas: 1 },
        { name: 'dc', remote: '203.0.113.9', state: 'down', mainModeSas: 0, quickModeSas: 0, lastError: 'main mode: NO-PROPOSAL-CHOSEN' },
      ],
      confirmPending: { deadline: '2026-01-01T00:02:00.000Z', secondsLeft: 100, revertTo: 3 },
    };
    const filter = async (value: object) => {
      const f = path.join(dir, 'status.json');
      writeFileSync(f, JSON.stringify(value));
      return execEnv(
        [
          ANSIBLE,
          'localhost',
          '-o',
          '-m',
          'ansible.builtin.debug',
          '-a',
          `msg={{ lookup('ansible.builtin.file', '${f}') | sitelink.fleet.sitelink_status_facts | to_json }}`,
        ],
        env,
      );
    };
    const ok = await filter(status);
    t.equal(ok.code, 0, ok.out);
    // debug prints msg as a JSON string holding the facts' JSON.
    const msg = /"msg": ("(?:[^"\\]|\\.)*")/.exec(ok.out)?.[1];
    const facts = msg
      ? (JSON.parse(JSON.parse(msg) as string) as {
          peers_up: string[];
          peers_down: string[];
          peers: Record<string, { last_error: string | null }>;
          confirm_pending: { revert_to: number };
        })
      : null;
    t.same(facts?.peers_up, ['hq'], 'peers_up');
    t.same(facts?.peers_down, ['dc'], 'peers_down');
    t.equal(facts?.peers.dc?.last_error, 'main mode: NO-PROPOSAL-CHOSEN', 'last_error');
    t.equal(facts?.confirm_pending.revert_to, 3, 'the open confirm window');
    const newer = await filter({ ...status, schemaVersion: 2 });
    t.not(newer.code, 0, 'schemaVersion 2 is refused');
    t.match(newer.out, /schemaVersion 2 is not supported/);
  },
);
