// A fleet of network-namespace "boards" for the Ansible tests: one WAN bridge, a
// controller namespace (where ansible-playbook runs) and one namespace per gateway,
// each running dropbear (key-only, as board/common/rootfs/etc/init.d/sshd starts it)
// and, once the role starts it, the same dist/sitelinkd.cjs the image carries.
//
//   PREFIX-w    bridge br0                      (the "internet")
//   PREFIX-c    wan0 100.64.10.2/24             (Ansible controller)
//   PREFIX-<n>  wan0 100.64.10.<10+i>/24, lan0 (dummy) 198.18.<lanOctet>.1/24
//
// Each board has a private folder standing in for its config store (/config) and a
// sitelinkctl wrapper bound to its control socket. dropbear runs in a mount namespace
// of its own where that folder's ssh/ is bind-mounted on /root/.ssh (dropbear reads
// ~/.ssh/authorized_keys), so the host's /root/.ssh is never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.ts';
import { execFile } from 'node:child_process';
import { waitUntil } from './wait.ts';

/** Runs a command with stdin closed (proc.ts run() writes to stdin, and tools that exit
 * at once make that an EPIPE); resolves with its exit code and output. */
export function exec(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, out: `${stdout}${stderr}` });
    }).stdin?.end();
  });
}

async function runOk(cmd: string, args: readonly string[]): Promise<void> {
  const r = await exec(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.out.trim()}`);
}

export const FLEET_WAN = '100.64.10';
export const CONTROLLER_ADDR = `${FLEET_WAN}.2`;

export interface FleetBoard {
  name: string;
  ns: string;
  wan: string;
  lanAddr: string;
  lan: string;
  dir: string;
  /** Stands in for /config. */
  store: string;
  /** sitelinkctl bound to this board's socket. */
  ctl: string;
  socket: string;
  log: string;
  start: string;
  pidFile: string;
}

export class FleetLab {
  readonly prefix: string;
  readonly dir: string;
  readonly boards: FleetBoard[] = [];
  readonly key: string;
  readonly #dropbear: ChildProcess[] = [];
  #nsList: string[] = [];

  constructor(prefix: string, dir: string) {
    this.prefix = prefix;
    this.dir = dir;
    this.key = path.join(dir, 'id_ed25519');
  }

  get controllerNs(): string {
    return `${this.prefix}-c`;
  }

  board(name: string): FleetBoard {
    const b = this.boards.find((x) => x.name === name);
    if (!b) throw new Error(`no board ${name}`);
    return b;
  }

  async #ns(ns: string, ...cmd: string[]): Promise<void> {
    await runOk('ip', ['-n', ns, ...cmd]);
  }

  async #addNode(node: string, addr: string, index: number): Promise<string> {
    const ns = `${this.prefix}-${node}`;
    await runOk('ip', ['netns', 'add', ns]);
    this.#nsList.push(ns);
    await this.#ns(ns, 'link', 'set', 'lo', 'up');
    const w = `${this.prefix}-w`;
    await runOk('ip', ['-n', w, 'link', 'add', `v${index}`, 'type', 'veth', 'peer', 'name', 'wan0', 'netns', ns]);
    await this.#ns(w, 'link', 'set', `v${index}`, 'master', 'br0', 'up');
    await this.#ns(ns, 'addr', 'add', `${addr}/24`, 'dev', 'wan0');
    await this.#ns(ns, 'link', 'set', 'wan0', 'up');
    return ns;
  }

  /** Boards: name and the third octet of its LAN 198.18.X.0/24. */
  async up(boards: { name: string; lanOctet: number }[]): Promise<void> {
    const w = `${this.prefix}-w`;
    await runOk('ip', ['netns', 'add', w]);
    this.#nsList.push(w);
    await this.#ns(w, 'link', 'add', 'br0', 'type', 'bridge');
    await this.#ns(w, 'link', 'set', 'br0', 'up');
    await this.#addNode('c', CONTROLLER_ADDR, 0);
    await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.key]);
    const pub = readFileSync(`${this.key}.pub`, 'utf8');
    for (const [i, b] of boards.entries()) {
      const wan = `${FLEET_WAN}.${10 + i}`;
      const ns = await this.#addNode(b.name, wan, i + 1);
      const lanAddr = `198.18.${b.lanOctet}.1`;
      // The LAN side is the gateway's own LAN address (on lo: no dummy driver here).
      await this.#ns(ns, 'addr', 'add', `${lanAddr}/32`, 'dev', 'lo');
      const dir = path.join(this.dir, b.name);
      const store = path.join(dir, 'config');
      for (const d of [dir, store, path.join(dir, 'ssh'), path.join(dir, 'run')]) mkdirSync(d, { recursive: true, mode: 0o700 });
      chmodSync(path.join(dir, 'ssh'), 0o700);
      writeFileSync(path.join(dir, 'ssh', 'authorized_keys'), pub, { mode: 0o600 });
      const socket = path.join(dir, 'run', 'control.sock');
      const ctl = path.join(dir, 'sitelinkctl');
      writeFileSync(
        ctl,
        `#!/bin/sh\nexec ${process.execPath} ${path.join(repoRoot, 'dist', 'sitelinkctl.mjs')} --socket ${socket} "$@"\n`,
        { mode: 0o700 },
      );
      const pidFile = path.join(dir, 'sitelinkd.pid');
      const start = path.join(dir, 'start-sitelinkd');
      // As board/common/rootfs/etc/init.d/sitelinkd: the daemon on the store's config.
      writeFileSync(
        start,
        `#!/bin/sh\nsetsid ${process.execPath} ${path.join(repoRoot, 'dist', 'sitelinkd.cjs')} -c ${path.join(store, 'sitelink.conf')} ` +
          `>>${path.join(dir, 'sitelinkd.out')} 2>&1 </dev/null &\necho $! > ${pidFile}\n`,
        { mode: 0o700 },
      );
      const hostKey = path.join(dir, 'dropbear_ed25519_host_key');
      await runOk('dropbearkey', ['-t', 'ed25519', '-f', hostKey]);
      const board: FleetBoard = {
        name: b.name,
        ns,
        wan,
        lanAddr,
        lan: `198.18.${b.lanOctet}.0/24`,
        dir,
        store,
        ctl,
        socket,
        log: path.join(dir, 'negotiation.log'),
        start,
        pidFile,
      };
      this.boards.push(board);
      // -s -g: keys only; -j -k: no forwarding (init.d/sshd); -F -E: foreground, log to stderr.
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns,
          'sh',
          '-c',
          // A machine without /root/.ssh gets one only inside this mount namespace (a
          // tmpfs over /root here; ip netns exec keeps the mounts from the host).
          'if [ ! -d /root/.ssh ]; then mount -t tmpfs -o mode=700 none /root && mkdir -m 700 /root/.ssh; fi && ' +
          `mount --bind ${path.join(dir, 'ssh')} /root/.ssh && ` +
            `exec dropbear -F -E -s -g -j -k -r ${hostKey} -p ${wan}:22 -P ${path.join(dir, 'dropbear.pid')}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let err = '';
      child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
      this.#dropbear.push(child);
      const listening = await waitUntil(
        async () => (await exec('ip', ['netns', 'exec', ns, 'ss', '-Hltn', 'sport = :22'])).out.includes(':22'),
        10_000,
        100,
      );
      if (!listening) throw new Error(`dropbear in ${ns} is not listening: ${err}`);
    }
  }

  /** sitelinkd's pid on a board (started by the role), or null. */
  daemonPid(b: FleetBoard): number | null {
    if (!existsSync(b.pidFile)) return null;
    const pid = Number(readFileSync(b.pidFile, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  }

  /** Stops what the lab started (dropbear, the daemons by their pid files) and removes the namespaces. */
  async down(): Promise<void> {
    for (const b of this.boards) {
      const pid = this.daemonPid(b);
      if (pid === null) continue;
      try {
        process.kill(pid, 'SIGTERM');
        await waitUntil(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 3000, 50);
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const c of this.#dropbear) if (c.exitCode === null) c.kill('SIGTERM');
    for (const ns of this.#nsList.reverse()) await exec('ip', ['netns', 'del', ns]);
    this.#nsList = [];
  }
}
