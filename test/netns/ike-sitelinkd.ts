// Runs dist/sitelinkd.cjs inside a lab namespace with a generated config
// and secrets file (0600, in a private temp dir). Helper for the netns and
// interop tests; not a test itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { LAB, type Lab } from '../lib/lab.ts';
import { repoRoot } from '../lib/paths.ts';
import { waitForLine, waitUntil } from '../lib/wait.ts';

export const sitelinkdPath = path.join(repoRoot, 'dist', 'sitelinkd.cjs');
/** The Node flags the board's launcher gives sitelinkd (board/common/rootfs/usr/sbin/sitelinkd). */
export const sitelinkdNodeFlags: string[] = readFileSync(path.join(repoRoot, 'board', 'common', 'rootfs', 'usr', 'lib', 'sitelink', 'sitelinkd.node-flags'), 'utf8').split(/\s+/).filter((f) => f !== '');

/** Node's arguments for sitelinkd with `config`, as the board's launcher gives them. */
export function sitelinkdArgv(config: string, bundle = sitelinkdPath): string[] {
  return [...sitelinkdNodeFlags, bundle, '-c', config];
}

/**
 * The environment sitelinkd gets here: this process's, less what the board's
 * never has. NODE_OPTIONS carries tap's TypeScript loader hooks (the daemon is a
 * bundle). NODE_EXTRA_CA_CERTS, set on this machine for its own tools, makes
 * Node read and parse its ~140 CA certificates before any JavaScript runs:
 * 1.4 MiB more RSS per sitelinkd (bench:ike, one spoke: 52.1 -> 50.6 MiB) for a
 * TLS store the daemon never uses.
 */
export function sitelinkdEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export interface GatewayConfig {
  id: string;
  peerName: string;
  remote: string;
  remoteId: string;
  local: string;
  remoteNet: string;
  psk: string;
  start: 'start' | 'trap' | 'none';
  esp?: string;
  proposals?: string;
  pfs?: string;
  /** The peer's `local` (our gateway address); required with remote = %any. */
  localAddress?: string;
  /** Signature authentication instead of the PSK (PEM paths); `auth` overrides the
   * method list (default: just `kind`), e.g. "psk, rsa-sig". */
  cert?: { kind: 'rsa-sig' | 'ecdsa-sig'; auth?: string; certificate: string; privateKey: string; ca: string };
  /** gateway.fragmentation (default: unset, i.e. yes). */
  fragmentation?: boolean;
  /** gateway.retransmit-timeout / retransmit-tries (default: unset, i.e. 2s and 5: a
   * timeout after 126 s); tests of silent peers shorten it to seconds. */
  retransmit?: { timeout: string; tries: number };
  /** Peer `version` (default: unset, i.e. IKEv1). */
  version?: 1 | 2;
  /** Extra lines for the peer section, e.g. ['esn = yes']. */
  peerLines?: string[];
  /** Identity the PSK is filed under in the secrets file (default: remoteId); extra secrets file text (e.g. a ppk section). */
  pskId?: string;
  secretsExtra?: string;
  /** The negotiate filter's protocol and ports (default: whole subnets). */
  filter?: { protocol: string; sourcePorts?: string; destinationPorts?: string };
}

export interface ConfigFiles {
  config: string;
  log: string;
  socket: string;
}

export function writeGatewayConfig(dir: string, name: string, g: GatewayConfig): ConfigFiles {
  const config = path.join(dir, `${name}.conf`);
  const secrets = path.join(dir, `${name}.secrets`);
  const log = path.join(dir, `${name}.log`);
  const socket = path.join(dir, `${name}-ctl`, 'control.sock');
  // 0x... is a hex key (docs/config.md, secrets file), anything else a quoted passphrase.
  const value = /^0x[0-9a-f]+$/i.test(g.psk) ? g.psk : `"${g.psk}"`;
  writeFileSync(secrets, `psk {\n  ${g.pskId ?? g.remoteId} = ${value}\n}\n${g.secretsExtra ?? ''}`, { mode: 0o600 });
  const c = g.cert;
  const certLines = c
    ? `\n    auth = ${c.auth ?? c.kind}\n    certificate = ${c.certificate}\n    private-key = ${c.privateKey}\n    ca = ${c.ca}`
    : '';
  const gatewayLines =
    (g.fragmentation === undefined ? '' : `\n  fragmentation = ${g.fragmentation ? 'yes' : 'no'}`) +
    (g.retransmit ? `\n  retransmit-timeout = ${g.retransmit.timeout}\n  retransmit-tries = ${g.retransmit.tries}` : '');
  const filterLines =
    (g.filter ? `\n      protocol = ${g.filter.protocol}` : '') +
    (g.filter?.sourcePorts ? `\n      source-ports = ${g.filter.sourcePorts}` : '') +
    (g.filter?.destinationPorts ? `\n      destination-ports = ${g.filter.destinationPorts}` : '');
  writeFileSync(
    config,
    `gateway {
  id = ${g.id}
  secrets = ${secrets}
  control-socket = ${socket}
  tun = sl0${gatewayLines}
  log {
    file = ${log}
    syslog = no
    level = debug
  }
}
peers {
  ${g.peerName} {
    remote = ${g.remote}${g.localAddress ? `\n    local = ${g.localAddress}` : ''}
    remote-id = ${g.remoteId}
    proposals = ${g.proposals ?? 'aes128-sha256-modp2048'}
    start = ${g.start}${g.version ? `\n    version = ${g.version}` : ''}${certLines}${(g.peerLines ?? []).map((l) => `\n    ${l}`).join('')}
  }
}
filter-lists {
  lan {
    lan-to-lan {
      source = ${g.local}
      destination = ${g.remoteNet}${filterLines}
    }
  }
}
filter-actions {
  secure {
    action = negotiate
    security-methods = ${g.esp ?? 'aes128gcm16'}
    pfs = ${g.pfs ?? 'none'}
  }
}
rules {
  site {
    filters = lan
    action = secure
    peer = ${g.peerName}
  }
}
`,
    { mode: 0o600 },
  );
  return { config, log, socket };
}

/**
 * One gateway of the lab's usual pair: gwA (behind the NAT, LAN 198.18.1.0/24,
 * start = start) towards gwB at its address, or gwB (public, LAN 198.18.2.0/24,
 * start = none) towards gwA at the NAT's public address; one tunnel between the
 * LANs with `psk`. `over` changes any field.
 */
export function labGateway(gw: 'gwA' | 'gwB', psk: string, over: Partial<GatewayConfig> = {}): GatewayConfig {
  const other = gw === 'gwA' ? 'gwB' : 'gwA';
  return {
    id: `${gw}.lab`,
    peerName: other,
    remote: gw === 'gwA' ? LAB.gwBWan : LAB.natPublic,
    remoteId: `${other}.lab`,
    local: gw === 'gwA' ? LAB.subnetA : LAB.subnetB,
    remoteNet: gw === 'gwA' ? LAB.subnetB : LAB.subnetA,
    psk,
    start: gw === 'gwA' ? 'start' : 'none',
    ...over,
  };
}

/**
 * The lab's usual pair (labGateway's gwA and gwB) with the same PSK, written to
 * gwA.conf and gwB.conf in `dir`; `overrides` changes either side (e.g. a
 * different start mode, proposals, or B's psk for a mismatch).
 */
export function labGatewayPair(
  dir: string,
  psk: string,
  overrides: { a?: Partial<GatewayConfig>; b?: Partial<GatewayConfig> } = {},
): { a: ConfigFiles; b: ConfigFiles } {
  return {
    a: writeGatewayConfig(dir, 'gwA', labGateway('gwA', psk, overrides.a)),
    b: writeGatewayConfig(dir, 'gwB', labGateway('gwB', psk, overrides.b)),
  };
}

/** Starts gwB, then gwA (whose `start = start` initiates towards B), and
 * stops both at the test's teardown. */
export async function startLabPair(t: Test, lab: Lab, files: { a: ConfigFiles; b: ConfigFiles }): Promise<{ a: Sitelinkd; b: Sitelinkd }> {
  const b = await Sitelinkd.start(lab.ns('gwB'), files.b);
  t.teardown(() => b.stop());
  const a = await Sitelinkd.start(lab.ns('gwA'), files.a);
  t.teardown(() => a.stop());
  return { a, b };
}

/** startLabPair, then waits up to 20 s for lanA to reach lanB through the
 * tunnel; when it does not, both daemons' logs go to the test output. The
 * caller asserts `up` in its own words. */
export async function startLabTunnel(
  t: Test,
  lab: Lab,
  files: { a: ConfigFiles; b: ConfigFiles },
): Promise<{ a: Sitelinkd; b: Sitelinkd; up: boolean }> {
  const { a, b } = await startLabPair(t, lab, files);
  const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 20_000, 500);
  if (!up) t.comment(`gwA log:\n${a.logText().slice(-5000)}\n${a.recentOutput()}\ngwB log:\n${b.logText().slice(-5000)}\n${b.recentOutput()}`);
  return { a, b, up };
}

export class Sitelinkd {
  readonly ns: string;
  readonly files: ConfigFiles;
  readonly #child: ChildProcess;
  #exited = false;
  #output: string[] = [];

  private constructor(ns: string, files: ConfigFiles, child: ChildProcess) {
    this.ns = ns;
    this.files = files;
    this.#child = child;
    child.on('exit', () => {
      this.#exited = true;
    });
    const keep = (d: Buffer): void => {
      this.#output.push(...d.toString().split('\n').filter((l) => l.length > 0));
      if (this.#output.length > 300) this.#output = this.#output.slice(-300);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** `env`: added to sitelinkdEnv() (e.g. a PATH with a slow `nft`). */
  static async start(
    ns: string,
    files: ConfigFiles,
    timeoutMs = Number(process.env.SITELINK_START_MS ?? 15_000),
    env: NodeJS.ProcessEnv = {},
  ): Promise<Sitelinkd> {
    if (!existsSync(sitelinkdPath)) throw new Error(`${sitelinkdPath} is missing: run npm run build`);
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.env.SITELINK_NODE ?? process.execPath, ...sitelinkdArgv(files.config)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...sitelinkdEnv(), ...env } },
    );
    const d = new Sitelinkd(ns, files, child);
    try {
      await waitForLine(child.stdout!, /sitelinkd: ready/, timeoutMs);
    } catch (e) {
      const out = d.recentOutput();
      await d.stop();
      throw new Error(`sitelinkd in ${ns} did not start: ${(e as Error).message}\n${out}`);
    }
    return d;
  }

  get running(): boolean {
    return !this.#exited;
  }

  recentOutput(): string {
    return this.#output.join('\n');
  }

  logText(): string {
    try {
      return readFileSync(this.files.log, 'utf8');
    } catch {
      return '';
    }
  }

  /** Sends a signal (e.g. SIGKILL to simulate a crash: no Deletes are sent). */
  kill(signal: NodeJS.Signals): void {
    if (!this.#exited) this.#child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    this.#child.kill('SIGTERM');
    await waitUntil(() => this.#exited, 5000, 50);
    if (!this.#exited) {
      this.#child.kill('SIGKILL');
      await waitUntil(() => this.#exited, 2000, 50);
    }
  }
}
