// strongSwan as a reference peer in a lab namespace: one charon per namespace,
// userspace ESP (kernel-libipsec; this kernel has no xfrm), driven over vici
// with swanctl. Follows shared/reference/facts.md; scripts/lab/strongswan is
// the bash equivalent used by the benchmark.
import { spawn } from 'node:child_process';
import { peakRssKb, terminate } from './proc.ts';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { run } from './proc.ts';
import type { RunResult } from './proc.ts';
import { sleep, waitUntil } from './wait.ts';

export const CHARON = '/usr/lib/ipsec/charon';

// kernel-libipsec must precede kernel-netlink ("unable to add SAD entry"
// otherwise); kdf is needed for IKEv2. The certificate plugins are loaded only
// when present so PSK-only hosts still work.
const BASE_PLUGINS = ['random', 'nonce', 'openssl', 'kdf', 'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici'];
const CERT_PLUGINS = ['pem', 'pkcs1', 'x509', 'constraints', 'revocation', 'pubkey'];
const PLUGIN_DIR = '/usr/lib/ipsec/plugins';

export function availablePlugins(): string[] {
  const extra = CERT_PLUGINS.filter((p) => existsSync(path.join(PLUGIN_DIR, `libstrongswan-${p}.so`)));
  return [...BASE_PLUGINS, ...extra];
}

/**
 * strongswan.conf for one instance. Paths under /run are this instance's own
 * directory (a private bind mount, see startCharon). threads stays >= 16:
 * fewer hangs vici under libipsec (facts.md).
 */
export function strongswanConf(instanceDir: string, logLevel = 1): string {
  return [
    'charon {',
    '  load_modular = no',
    `  load = ${availablePlugins().join(' ')}`,
    '  threads = 16',
    '  install_routes = yes',
    '  plugins {',
    '    vici {',
    '      socket = unix:///run/charon.vici',
    '    }',
    '  }',
    '  filelog {',
    '    lab {',
    '      path = /run/charon.log',
    '      time_format = %H:%M:%S',
    `      default = ${logLevel}`,
    '      flush_line = yes',
    '    }',
    '  }',
    '}',
    'swanctl {',
    `  socket = unix://${instanceDir}/charon.vici`,
    '}',
    '',
  ].join('\n');
}

export interface SwanctlPeer {
  /** Connection and child name. */
  name: string;
  version: 1 | 2;
  localAddr: string;
  /** Peer address as seen from here (the NAT's public address for gwA), or %any. */
  remoteAddr: string;
  localId: string;
  remoteId: string;
  localTs: string;
  remoteTs: string;
  /** IKE proposals, e.g. aes128-sha256-modp2048. */
  ikeProposals: string;
  /** ESP proposals, e.g. aes128gcm16 or aes128-sha256. */
  espProposals: string;
  /** Pre-shared key as hex; written only to the 0600 swanctl.conf. */
  pskHex: string;
  /** IKEv1 aggressive mode. */
  aggressive?: boolean;
  /** Extra `key = value` lines for the connection and the child. */
  connExtra?: Record<string, string>;
  childExtra?: Record<string, string>;
}

/** swanctl.conf text, one key per line (the parser wants that, facts.md). */
export function swanctlConf(p: SwanctlPeer): string {
  if (!/^[0-9a-fA-F]+$/.test(p.pskHex)) throw new Error('swanctlConf: pskHex must be hex');
  const kv = (indent: string, extra: Record<string, string> | undefined): string[] =>
    Object.entries(extra ?? {}).map(([k, v]) => `${indent}${k} = ${v}`);
  return [
    'connections {',
    `  ${p.name} {`,
    `    version = ${p.version}`,
    `    local_addrs = ${p.localAddr}`,
    `    remote_addrs = ${p.remoteAddr}`,
    `    proposals = ${p.ikeProposals}`,
    '    encap = yes',
    ...(p.aggressive ? ['    aggressive = yes'] : []),
    ...kv('    ', p.connExtra),
    '    local {',
    '      auth = psk',
    `      id = ${p.localId}`,
    '    }',
    '    remote {',
    '      auth = psk',
    `      id = ${p.remoteId}`,
    '    }',
    '    children {',
    `      ${p.name} {`,
    '        mode = tunnel',
    `        local_ts = ${p.localTs}`,
    `        remote_ts = ${p.remoteTs}`,
    `        esp_proposals = ${p.espProposals}`,
    ...kv('        ', p.childExtra),
    '      }',
    '    }',
    '  }',
    '}',
    'secrets {',
    `  ike-${p.name} {`,
    `    id-a = ${p.localId}`,
    `    id-b = ${p.remoteId}`,
    `    secret = 0x${p.pskHex}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The PSK connection most interop tests give charon: `lab`, IKEv1, aes128-sha256-modp2048, ESP aes128gcm16. */
export function charonPskBasics(pskHex: string): Pick<SwanctlPeer, 'name' | 'version' | 'ikeProposals' | 'espProposals' | 'pskHex'> {
  return { name: 'lab', version: 1, ikeProposals: 'aes128-sha256-modp2048', espProposals: 'aes128gcm16', pskHex };
}

/** How many IKE SAs and installed child SAs a `swanctl --list-sas` listing shows. */
export function countSas(listing: string): { ike: number; child: number } {
  return { ike: (listing.match(/ESTABLISHED/g) ?? []).length, child: (listing.match(/INSTALLED/g) ?? []).length };
}

export function randomPskHex(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

// Folders swanctl --load-all reads beside swanctl.conf; made so it stays quiet.
const CRED_DIRS = ['x509', 'x509ca', 'x509ocsp', 'x509aa', 'x509ac', 'x509crl', 'pubkey', 'private', 'rsa', 'ecdsa', 'bliss', 'pkcs8', 'pkcs12'];

export class Charon {
  readonly ns: string;
  readonly dir: string;
  private readonly child: ChildProcess;
  private exited = false;

  private constructor(ns: string, dir: string, child: ChildProcess) {
    this.ns = ns;
    this.dir = dir;
    this.child = child;
    child.on('exit', () => { this.exited = true; });
  }

  /**
   * Starts charon in namespace `ns` with its state in `dir` (created; wiped
   * first). A private mount namespace binds `dir` over /run, because charon's
   * pid file and socket paths are fixed.
   */
  static async start(ns: string, dir: string, swanctl: string, logLevel = 1, root?: string): Promise<Charon> {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const d of CRED_DIRS) mkdirSync(path.join(dir, d), { recursive: true });
    writeFileSync(path.join(dir, 'strongswan.conf'), strongswanConf(dir, logLevel));
    writeFileSync(path.join(dir, 'swanctl.conf'), swanctl, { mode: 0o600 });
    // `root`: a Debian tree (e.g. strongSwan 6 from scripts/lab/strongswan6-root) charon runs
    // chrooted in, with `dir` as its /run and the host's /dev (TUN for kernel-libipsec) and a /proc.
    const script = root
      ? 'mount --bind "$1" "$3/run" && mount --bind /dev "$3/dev" && mount -t proc proc "$3/proc" && exec chroot "$3" "$2"'
      : 'mount --bind "$1" /run && exec "$2"';
    const child = spawn('ip', ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private',
      'sh', '-c', script, 'sh', dir, CHARON, ...(root ? [root] : [])], {
      env: { ...process.env, STRONGSWAN_CONF: root ? '/run/strongswan.conf' : path.join(dir, 'strongswan.conf') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const c = new Charon(ns, dir, child);
    const ready = await waitUntil(() => c.exited || existsSync(path.join(dir, 'charon.vici')), 10_000, 100);
    if (!ready || c.exited) {
      await c.stop();
      throw new Error(`charon in ${ns} did not start: ${stderr.trim()}\n${c.log().slice(-2000)}`);
    }
    const load = await c.swanctl(['--load-all', '--file', path.join(dir, 'swanctl.conf')]);
    if (load.code !== 0) {
      await c.stop();
      throw new Error(`swanctl --load-all in ${ns} failed: ${load.stderr}${load.stdout}`);
    }
    return c;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** swanctl against this instance's vici socket. */
  swanctl(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('swanctl', [...args, '--uri', `unix://${this.dir}/charon.vici`], {
      timeoutMs,
      env: { ...process.env, STRONGSWAN_CONF: path.join(this.dir, 'strongswan.conf') },
    });
  }

  /** Initiates the child SA and waits for the result (swanctl blocks until done). */
  async initiate(child: string, timeoutS = 30): Promise<RunResult> {
    return this.swanctl(['--initiate', '--child', child, '--timeout', String(timeoutS)], (timeoutS + 10) * 1000);
  }

  /** `swanctl --list-sas` output (no key material: swanctl never prints keys). */
  async listSas(): Promise<string> {
    return (await this.swanctl(['--list-sas'])).stdout;
  }

  log(): string {
    try {
      return readFileSync(path.join(this.dir, 'charon.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Peak resident set (VmHWM, kB) of the charon process, or null when gone. */
  peakRssKb(): number | null {
    return this.exited ? null : peakRssKb(this.pid);
  }

  /** A crash or power cut: SIGKILL (the child is charon itself: ip netns exec, unshare
   * and sh all exec), so no Delete leaves. Then stop() to clean up. */
  async crash(): Promise<void> {
    if (!this.exited) this.child.kill('SIGKILL');
    await waitUntil(() => this.exited, 3000, 50);
  }

  /** SIGTERM, then SIGKILL after 3 s; removes the state directory (it holds the PSK). */
  async stop(): Promise<void> {
    await terminate(this.child, () => this.exited, 3000);
    await sleep(0);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
