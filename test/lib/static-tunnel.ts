// The static-key tunnel tool (dist/sitelink-static.mjs) on the lab: config
// files with fresh random keys per run, and a launcher per gateway namespace.
import { spawn } from 'node:child_process';
import { peakRssKb, terminate } from './proc.ts';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Lab } from './lab.ts';
import { LAB } from './lab.ts';
import { staticTool } from './paths.ts';
import { waitForLine } from './wait.ts';
import type { CryptoBackend } from '../../firmware/src/dataplane/types.ts';

export type StaticAlgorithm = 'aes128gcm16' | 'aes256gcm16' | 'aes128-sha256' | 'aes256-sha256' | 'aes128-sha1';

interface KeySizes { enc: number; auth: number }

// Keying material lengths. AES-GCM takes the key plus a 4-octet salt
// (RFC 4106 section 8.1); CBC suites take the AES key and an HMAC key as long
// as the hash output (RFC 4868 section 2.1.1, RFC 2404).
const KEY_SIZES: Record<StaticAlgorithm, KeySizes> = {
  aes128gcm16: { enc: 16 + 4, auth: 0 },
  aes256gcm16: { enc: 32 + 4, auth: 0 },
  'aes128-sha256': { enc: 16, auth: 32 },
  'aes256-sha256': { enc: 32, auth: 32 },
  'aes128-sha1': { enc: 16, auth: 20 },
};

export interface SaKeys {
  spi: string;
  encKey: string;
  authKey?: string;
}

export interface StaticTunnelConfig {
  tun: string;
  listen: { address: string; port: number };
  backend: CryptoBackend;
  workers: number;
  rawEsp: boolean;
  tunnels: Array<{
    name: string;
    local: { address: string; port: number };
    remote: { address: string; port: number };
    localSubnets: string[];
    remoteSubnets: string[];
    encap: 'udp' | 'none';
    algorithm: StaticAlgorithm;
    esn: boolean;
    replayWindow: number;
    out: SaKeys;
    in: SaKeys;
  }>;
}

function freshKeys(alg: StaticAlgorithm, spi: number): SaKeys {
  const sizes = KEY_SIZES[alg];
  const keys: SaKeys = { spi: `0x${spi.toString(16).padStart(8, '0')}`, encKey: randomBytes(sizes.enc).toString('hex') };
  if (sizes.auth > 0) keys.authKey = randomBytes(sizes.auth).toString('hex');
  return keys;
}

/**
 * Matching configs for gwA and gwB. gwA (behind the NAT) is configured with
 * gwB's address; gwB with the NAT's public address, which the masquerade
 * normally leaves on source port 4500.
 */
export function labStaticConfigs(alg: StaticAlgorithm, workers = 2): { gwA: StaticTunnelConfig; gwB: StaticTunnelConfig } {
  const aToB = freshKeys(alg, 0x1001);
  const bToA = freshKeys(alg, 0x2001);
  const base = { tun: 'sl0', listen: { address: '0.0.0.0', port: 4500 }, backend: 'auto' as const, workers, rawEsp: false };
  const tunnel = { encap: 'udp' as const, algorithm: alg, esn: true, replayWindow: 1024 };
  return {
    gwA: {
      ...base,
      tunnels: [{
        name: 'hq', ...tunnel,
        local: { address: LAB.gwAWan, port: 4500 }, remote: { address: LAB.gwBWan, port: 4500 },
        localSubnets: [LAB.subnetA], remoteSubnets: [LAB.subnetB],
        out: aToB, in: bToA,
      }],
    },
    gwB: {
      ...base,
      tunnels: [{
        name: 'branch', ...tunnel,
        local: { address: LAB.gwBWan, port: 4500 }, remote: { address: LAB.natPublic, port: 4500 },
        localSubnets: [LAB.subnetB], remoteSubnets: [LAB.subnetA],
        out: bToA, in: aToB,
      }],
    },
  };
}

export class StaticTunnel {
  readonly ns: string;
  private readonly child: ChildProcess;
  private readonly configPath: string;
  private exited = false;
  private output: string[] = [];

  private constructor(ns: string, child: ChildProcess, configPath: string) {
    this.ns = ns;
    this.child = child;
    this.configPath = configPath;
    child.on('exit', () => { this.exited = true; });
    const keep = (d: Buffer): void => {
      this.output.push(...d.toString().split('\n').filter((l) => l.length > 0));
      if (this.output.length > 200) this.output = this.output.slice(-200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Starts the tool in `ns` and waits for "sitelink-static: up". The config (keys) is 0600 and removed at stop. */
  static async start(ns: string, config: StaticTunnelConfig, dir: string, timeoutMs = 15_000, tool = staticTool): Promise<StaticTunnel> {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: run npm run build`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const configPath = path.join(dir, `static-${ns}.json`);
    writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, tool, '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const st = new StaticTunnel(ns, child, configPath);
    const stdout = child.stdout;
    if (!stdout) throw new Error('no stdout pipe');
    try {
      await waitForLine(stdout, /sitelink-static: up/, timeoutMs);
    } catch (e) {
      const out = st.recentOutput();
      await st.stop();
      throw new Error(`sitelink-static in ${ns} did not come up: ${(e as Error).message}\n${out}`);
    }
    return st;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  recentOutput(): string {
    return this.output.join('\n');
  }

  /** SIGUSR1 makes the tool print one JSON counters line; returns it parsed. */
  async counters(timeoutMs = 5000): Promise<Record<string, unknown>> {
    const stdout = this.child.stdout;
    if (!stdout || this.exited) throw new Error(`sitelink-static in ${this.ns} is not running`);
    const line = waitForLine(stdout, /^\s*\{.*\}\s*$/, timeoutMs);
    this.child.kill('SIGUSR1');
    const parsed: unknown = JSON.parse(await line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('counters line is not a JSON object');
    return parsed as Record<string, unknown>;
  }

  /** Peak resident set (VmHWM, kB) of the tool process, or null when gone. */
  peakRssKb(): number | null {
    return this.exited ? null : peakRssKb(this.pid);
  }

  /** SIGTERM, SIGKILL after 5 s; returns the exit code or signal seen. */
  async stop(): Promise<void> {
    await terminate(this.child, () => this.exited, 5000);
    rmSync(this.configPath, { force: true });
  }

  get running(): boolean {
    return !this.exited;
  }
}

export interface StaticPair {
  gwA: StaticTunnel;
  gwB: StaticTunnel;
  /** Every key (hex) the pair was given, to check that none leaks into output. */
  secrets: string[];
  stop(): Promise<void>;
}

export async function startStaticPair(lab: Lab, alg: StaticAlgorithm): Promise<StaticPair> {
  const cfg = labStaticConfigs(alg);
  const dir = `/tmp/sitelink-lab/${lab.prefix}`;
  const gwB = await StaticTunnel.start(lab.ns('gwB'), cfg.gwB, dir);
  let gwA: StaticTunnel;
  try {
    gwA = await StaticTunnel.start(lab.ns('gwA'), cfg.gwA, dir);
  } catch (e) {
    await gwB.stop();
    throw e;
  }
  const secrets = cfg.gwA.tunnels.flatMap((tn) => [tn.out, tn.in]).flatMap((sa) => [sa.encKey, ...(sa.authKey ? [sa.authKey] : [])]);
  return { gwA, gwB, secrets, stop: async () => { await gwA.stop(); await gwB.stop(); } };
}

/** True when `text` contains any secret, or any 16-hex-digit piece of one (case-insensitive). */
export function leaksSecret(text: string, secrets: readonly string[]): boolean {
  const hay = text.toLowerCase();
  return secrets.some((k) => {
    const key = k.toLowerCase();
    for (let i = 0; i + 16 <= key.length; i += 8) if (hay.includes(key.slice(i, i + 16))) return true;
    return false;
  });
}
