// strongSwan pairs on the lab: two charons (startStrongswanPair: gwA behind the
// NAT initiates to gwB), or charon and sitelinkd (charonPair), the setup of the
// interop tests in test/interop.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import type { Lab } from './lab.ts';
import { LAB, labForTest } from './lab.ts';
import type { RunResult } from './proc.ts';
import { Charon, charonPskBasics, randomPskHex, swanctlConf, type SwanctlPeer } from './strongswan.ts';
import { waitUntil } from './wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { labGateway, Sitelinkd, sitelinkdPath, writeGatewayConfig, type ConfigFiles, type GatewayConfig } from '../netns/ike-sitelinkd.ts';

export interface PairOptions {
  version: 1 | 2;
  ikeProposals?: string;
  espProposals?: string;
}

export interface StrongswanPair {
  gwA: Charon;
  gwB: Charon;
  stop(): Promise<void>;
}

export async function startStrongswanPair(lab: Lab, opts: PairOptions): Promise<StrongswanPair> {
  const psk = randomPskHex();
  const common = {
    name: 'lab',
    version: opts.version,
    ikeProposals: opts.ikeProposals ?? 'aes128-sha256-modp2048',
    espProposals: opts.espProposals ?? 'aes128gcm16',
    pskHex: psk,
  };
  const base = `/tmp/sitelink-lab/${lab.prefix}`;
  const gwB = await Charon.start(lab.ns('gwB'), path.join(base, 'ts-charon-gwB'), swanctlConf({
    ...common,
    localAddr: LAB.gwBWan, remoteAddr: LAB.natPublic, localId: 'gwB.lab', remoteId: 'gwA.lab',
    localTs: LAB.subnetB, remoteTs: LAB.subnetA,
  }));
  let gwA: Charon;
  try {
    gwA = await Charon.start(lab.ns('gwA'), path.join(base, 'ts-charon-gwA'), swanctlConf({
      ...common,
      localAddr: LAB.gwAWan, remoteAddr: LAB.gwBWan, localId: 'gwA.lab', remoteId: 'gwB.lab',
      localTs: LAB.subnetA, remoteTs: LAB.subnetB,
    }));
  } catch (e) {
    await gwB.stop();
    throw e;
  }
  return { gwA, gwB, stop: async () => { await gwA.stop(); await gwB.stop(); } };
}

/** charon's end of the lab as its swanctl.conf names it (SwanctlPeer's fields): its
 * address, sitelinkd's address as charon sees it (the NAT's public address for gwA),
 * both ids and both subnets. */
export type CharonEnds = Pick<SwanctlPeer, 'localAddr' | 'remoteAddr' | 'localId' | 'remoteId' | 'localTs' | 'remoteTs'>;

/** One side of the lab as charon's swanctl.conf needs it (see charonPair). */
export interface CharonSide extends CharonEnds {
  /** The gateway charon runs on and the one sitelinkd runs on. */
  self: Gateway;
  other: Gateway;
}

export type Gateway = 'gwA' | 'gwB';

export interface CharonPairOptions {
  /** The gateway sitelinkd runs on; charon takes the other. gwA is behind the NAT. */
  sitelinkdOn: Gateway;
  /** Who initiates (default: whoever is on gwA): charon with swanctl --initiate,
   * sitelinkd with start = start. The responder is started first. */
  initiator?: 'sitelinkd' | 'charon';
  /** IKE version of both sides (default 1). */
  version?: 1 | 2;
  /** The PSK as hex (default: a random one). */
  pskHex?: string;
  /** charon's swanctl.conf: changes to the PSK connection charonPskBasics() and the lab
   * addresses make, or a function that writes the whole text (e.g. certificates). */
  charon?: Partial<SwanctlPeer> | ((side: CharonSide) => string);
  /** Runs once charon is up and before anyone initiates (e.g. load its private key). */
  charonReady?: (charon: Charon) => Promise<void>;
  /** Changes to sitelinkd's GatewayConfig (default: the lab's ids, subnets and PSK). */
  sitelinkd?: Partial<GatewayConfig>;
  /** Edits sitelinkd's written config files before it starts (e.g. a line GatewayConfig has no field for). */
  editConfig?: (files: ConfigFiles) => void;
  /** Base name of sitelinkd's files in `dir` and of charon's state folder (default: the gateways'). */
  name?: string;
  /** How long to wait for lanA to reach lanB through the tunnel (default 25 s); 0 does not wait. */
  waitMs?: number;
  /** A Debian tree charon runs chrooted in (e.g. strongSwan 6, Charon.start's `root`). */
  root?: string;
}

export interface CharonPair {
  charon: Charon;
  daemon: Sitelinkd;
  files: ConfigFiles;
  pskHex: string;
  /** IKE version of both sides. */
  version: 1 | 2;
  /** swanctl --initiate's result when charon initiated, else null. */
  initiated: RunResult | null;
  /** Whether lanA pinged lanB within waitMs (null when not waited for). */
  up: boolean | null;
  /** sitelinkd's and charon's logs (tails), for a t.comment when something failed. */
  logs(): string;
  /** charon dies without a Delete (SIGKILL: a crash or power cut) and starts again with
   * the same config; `whileDown` runs in between. */
  restartCharon(whileDown?: () => Promise<void>): Promise<void>;
  /** The same for sitelinkd (same files; it initiates again if it did before). */
  restartSitelinkd(whileDown?: () => Promise<void>): Promise<void>;
  /** sitelinkd rekeys its child SA (control socket `rekey`); whether within `timeoutMs`
   * one pair is left and its inbound SPI is not the one before. */
  rekeyChild(timeoutMs?: number): Promise<boolean>;
  stop(): Promise<void>;
}

const NET = { gwA: LAB.subnetA, gwB: LAB.subnetB } as const;
const ADDR = { gwA: LAB.gwAWan, gwB: LAB.gwBWan } as const;
/** Where each gateway is seen from the other: gwA only through the NAT. */
const SEEN_AS = { gwA: LAB.natPublic, gwB: LAB.gwBWan } as const;

/**
 * sitelinkd on one gateway and charon on the other, the setup every strongSwan
 * interop test repeats: the responder starts first, then the initiator, and (unless
 * waitMs = 0) the tunnel is waited for. Assertions stay with the caller: it gets
 * swanctl's result and whether traffic flowed. Stop it with pair.stop() (teardown).
 */
export async function charonPair(lab: Lab, dir: string, opts: CharonPairOptions): Promise<CharonPair> {
  const me = opts.sitelinkdOn;
  const other: Gateway = me === 'gwA' ? 'gwB' : 'gwA';
  const initiator = opts.initiator ?? (me === 'gwA' ? 'sitelinkd' : 'charon');
  const version = opts.version ?? 1;
  const pskHex = opts.pskHex ?? randomPskHex();
  const ends: CharonEnds = {
    localAddr: ADDR[other],
    remoteAddr: SEEN_AS[me],
    localId: `${other}.lab`,
    remoteId: `${me}.lab`,
    localTs: NET[other],
    remoteTs: NET[me],
  };
  const conf = typeof opts.charon === 'function'
    ? opts.charon({ self: other, other: me, ...ends })
    : swanctlConf({ ...charonPskBasics(pskHex), version, ...ends, ...opts.charon });
  const files = writeGatewayConfig(dir, opts.name ?? me, labGateway(me, `0x${pskHex}`, {
    start: initiator === 'sitelinkd' ? 'start' : 'none',
    ...(version === 2 ? { version: 2 as const } : {}),
    ...opts.sitelinkd,
  }));
  opts.editConfig?.(files);
  const charonDir = path.join(dir, opts.name ? `charon-${opts.name}` : `charon-${other}`);
  const startCharon = async (): Promise<Charon> => {
    const c = await Charon.start(lab.ns(other), charonDir, conf, 1, opts.root);
    try {
      await opts.charonReady?.(c);
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  };

  let charon: Charon | null = null;
  let daemon: Sitelinkd | null = null;
  try {
    if (initiator === 'charon') daemon = await Sitelinkd.start(lab.ns(me), files);
    charon = await startCharon();
    if (initiator === 'sitelinkd') daemon = await Sitelinkd.start(lab.ns(me), files);
  } catch (e) {
    await charon?.stop();
    await daemon?.stop();
    throw e;
  }
  const pair: CharonPair = {
    charon,
    daemon: daemon!,
    files,
    pskHex,
    version,
    initiated: null,
    up: null,
    logs: () =>
      `sitelinkd log:\n${pair.daemon.logText().slice(-6000)}\n${pair.daemon.recentOutput()}\ncharon log:\n${pair.charon.log().slice(-6000)}`,
    restartCharon: async (whileDown) => {
      await pair.charon.crash();
      await whileDown?.();
      await pair.charon.stop();
      pair.charon = await startCharon();
    },
    restartSitelinkd: async (whileDown) => {
      pair.daemon.kill('SIGKILL');
      await waitUntil(() => !pair.daemon.running, 5000, 50);
      await whileDown?.();
      pair.daemon = await Sitelinkd.start(lab.ns(me), files);
    },
    rekeyChild: async (timeoutMs = 10_000) => {
      const child = async (): Promise<{ n: number; spi: number | undefined }> => {
        const q = (await controlRequest(files.socket, 'sas')).quickMode;
        return { n: q.length, spi: q[0]?.spiIn };
      };
      const before = (await child()).spi;
      await controlRequest(files.socket, 'rekey', { peer: other });
      return waitUntil(async () => {
        const now = await child();
        return now.n === 1 && now.spi !== before;
      }, timeoutMs, 300);
    },
    stop: async () => {
      await pair.daemon.stop();
      await pair.charon.stop();
    },
  };
  if (initiator === 'charon') pair.initiated = await pair.charon.initiate('lab');
  const waitMs = opts.waitMs ?? 25_000;
  if (waitMs > 0) pair.up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), waitMs, 500);
  return pair;
}

/**
 * charonPair for one tap test: the test's own lab (labForTest, prefix tag), the pair
 * stopped when the test ends. null when sitelinkd is not built, the test failed
 * with the reason.
 */
export async function charonPairForTest(t: Test, tag: string, opts: CharonPairOptions): Promise<{ lab: Lab; p: CharonPair } | null> {
  if (!existsSync(sitelinkdPath)) {
    t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
    return null;
  }
  const { lab, dir } = await labForTest(t, tag);
  const p = await charonPair(lab, dir, opts);
  t.teardown(() => p.stop());
  return { lab, p };
}

/** Charon initiated (pair.initiated) and swanctl --initiate exited 0, `what`; when not,
 * swanctl's output and both logs go to the test output. */
export function checkInitiated(t: Test, p: CharonPair, what: string): void {
  const r = p.initiated;
  if (r?.code !== 0) t.comment(`swanctl: ${r?.stdout.slice(-3000)}\n${p.logs()}`);
  t.equal(r?.code, 0, what);
}

/** lanA reached lanB within charonPair's waitMs, `what`; when not, both logs go to the test output. */
export function checkUp(t: Test, p: CharonPair, what = 'the tunnel comes up'): void {
  if (!p.up) t.comment(p.logs());
  t.ok(p.up, what);
}

/**
 * The tunnel of a PSK pair with charon's default ESP (charonPskBasics: aes128gcm16)
 * carries traffic both ways, charon lists its IKE SA (ISAKMP or IKEv2, by the pair's
 * version) and a UDP-encapsulated child SA, and nothing crossed the NAT in clear.
 */
export async function checkPskTunnel(t: Test, lab: Lab, p: CharonPair): Promise<void> {
  checkUp(t, p);
  t.ok(await lab.ping('lanA', LAB.lanB, 5), 'lanA pings lanB (5/5)');
  t.ok(await lab.ping('lanB', LAB.lanA, 5), 'lanB pings lanA (5/5)');
  const sas = await p.charon.listSas();
  if (p.version === 2) {
    t.match(sas, /ESTABLISHED, IKEv2/, 'charon lists an established IKEv2 SA');
    t.match(sas, /INSTALLED, TUNNEL-in-UDP/, 'charon has a UDP-encapsulated tunnel-mode child SA');
  } else {
    t.match(sas, /ESTABLISHED/, 'charon lists an established ISAKMP SA');
    t.match(sas, /INSTALLED, TUNNEL-in-UDP/, 'charon has a UDP-encapsulated tunnel-mode IPsec SA');
  }
  t.match(sas, /AES_GCM_16-128/, 'ESP is AES-GCM-16 with a 128-bit key');
  const n = await lab.counters();
  t.equal(n.leak?.packets, 0, 'no cleartext LAN packet crossed the NAT');
  t.ok(n.espudp.packets >= 20, `ESP-in-UDP crossed the NAT (${n.espudp.packets} packets)`);
}
