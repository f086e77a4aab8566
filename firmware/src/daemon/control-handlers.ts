// Control socket commands the daemon answers (control/protocol.ts shapes):
// status, sas, initiate, terminate, rekey (filters, check, reload, log,
// health and explain come from control/policy-handlers.ts). Key material never appears: the
// status objects carry SPIs, cookies and counters only.

import { formatHostPort } from '../base/address.ts';
import type { ControlServer } from '../control/server.ts';
import type {
  ConfirmPending,
  CountersResult,
  MainModeSaInfo,
  PeerSummary,
  ProcessInfo,
  QuickModeSaInfo,
  SasResult,
  StatusResult,
} from '../control/protocol.ts';
import type { Dataplane } from '../dataplane/dataplane.ts';
import type { IkeNodes } from '../ike/ike-nodes.ts';
import { describeIdentity } from '../ike/exchange/identity.ts';
import { groupName } from '../ike/exchange/proposal-names.ts';
import { protocolName } from '../base/protocols.ts';
import type { Action } from '../ike/exchange/types.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';
import { isoTime } from '../base/iso-time.ts';

export interface DaemonState {
  node: IkeNodes;
  dataplane: Dataplane;
  log: NegotiationLog;
  configFile: string;
  configLoaded: Date;
  started: number;
  lastError: Map<string, string>;
  apply(actions: Action[]): void;
  /** Remote subnets of this peer passed in clear on a soft SA (fallback to clear). */
  clearRemotes?(peer: string): string[];
  /** The reload --confirm window, when one is open (daemon/commit-confirm.ts). */
  confirmPending?(): ConfirmPending | null;
}

function peerArg(args: Record<string, unknown>): string {
  const p = args['peer'];
  if (typeof p !== 'string' || p === '') throw new Error('argument "peer" is required');
  return p;
}

export function statusOf(d: DaemonState): StatusResult {
  const sas = d.node.status();
  const peers: PeerSummary[] = d.node.peers().map((p) => {
    const mine = sas.filter((s) => s.peer === p.name);
    const children = mine.reduce((n, s) => n + s.children.length, 0);
    const up = mine.some((s) => s.state === 'ESTABLISHED') && children > 0;
    const err = d.lastError.get(p.name);
    const clear = up ? [] : (d.clearRemotes?.(p.name) ?? []);
    return {
      name: p.name,
      ikeVersion: p.ikeVersion ?? 1,
      remote: p.remoteAddress,
      state: up ? 'up' : clear.length > 0 ? 'clear-fallback' : mine.length > 0 ? 'connecting' : 'down',
      mainModeSas: mine.length,
      quickModeSas: children,
      ...(clear.length > 0
        ? { lastError: `peer silent: traffic to ${clear.join(', ')} in clear (soft SA), secure retry every 5 min` }
        : err !== undefined && !up
          ? { lastError: err }
          : {}),
    };
  });
  const pending = d.confirmPending?.() ?? null;
  return {
    version: '0.1.0',
    pid: process.pid,
    uptimeSeconds: Math.floor((Date.now() - d.started) / 1000),
    configFile: d.configFile,
    configLoaded: isoTime(d.configLoaded),
    peers,
    ...(pending ? { confirmPending: pending } : {}),
    process: processInfo(),
  };
}

function processInfo(): ProcessInfo {
  const m = process.memoryUsage();
  const res = process.getActiveResourcesInfo();
  const timers = res.filter((r) => r === 'Timeout').length;
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, timers, handles: res.length - timers };
}

export function sasOf(d: DaemonState): SasResult {
  const mainMode: MainModeSaInfo[] = [];
  const quickMode: QuickModeSaInfo[] = [];
  const peers = new Map(d.node.peers().map((p) => [p.name, p]));
  for (const s of d.node.status()) {
    const p = peers.get(s.peer);
    mainMode.push({
      peer: s.peer,
      version: s.version,
      state: s.state === 'ESTABLISHED' ? 'established' : 'negotiating',
      role: s.role,
      local: formatHostPort(s.local.address, s.local.port),
      remote: formatHostPort(s.remote.address, s.remote.port),
      localId: p ? describeIdentity(p.localId) : '',
      remoteId: p ? describeIdentity(p.remoteId) : '',
      cookies: s.cookies,
      proposal: s.proposal,
      auth: s.auth === 'psk' || s.auth === 'rsa-sig' || s.auth === 'ecdsa-sig' ? s.auth : '',
      lifetimeSeconds: p?.ikeLifetimeSeconds ?? 0,
      remainingSeconds: s.remainingSeconds,
      nat: { local: s.natLocal, remote: s.natRemote },
      natt: s.local.port === 4500,
      quickModes: s.children.length,
    });
    for (const c of s.children) {
      const inS = d.dataplane.saStatus(c.inSpi, 'in');
      const outS = d.dataplane.saStatus(c.outSpi, 'out');
      quickMode.push({
        peer: s.peer,
        rule: c.tunnel,
        algorithm: c.esp,
        // With RFC 9370 additional key exchanges as strongSwan writes them: "curve25519-ke1_mlkem768".
        pfs: c.pfsGroup === null ? null : `${groupName(c.pfsGroup)}${c.addKe ?? ''}`,
        esn: c.esn ?? false,
        localTs: [withPorts(c.localTs, c.ports?.protocol, c.ports?.localPort)],
        remoteTs: [withPorts(c.remoteTs, c.ports?.protocol, c.ports?.remotePort)],
        spiIn: c.inSpi,
        spiOut: c.outSpi,
        lifetimeSeconds: c.ageSeconds + c.expiresInSeconds,
        remainingSeconds: c.expiresInSeconds,
        lifetimeKilobytes: c.lifetimeKilobytes,
        bytesIn: String(inS?.bytes ?? 0n),
        bytesOut: String(outS?.bytes ?? 0n),
        packetsIn: String(inS?.packets ?? 0n),
        packetsOut: String(outS?.packets ?? 0n),
        dropsIn: {
          replay: String(inS?.dropsReplay ?? 0n),
          icv: String(inS?.dropsIcv ?? 0n),
          malformed: String(inS?.dropsMalformed ?? 0n),
          padding: String(inS?.dropsPadding ?? 0n),
        },
        encap: c.encap,
        // The engine's word or 'unknown' (no status for the outbound SA, e.g. not yet
        // installed or already gone): never a guessed backend.
        backend: outS?.backend ?? 'unknown',
        driver: outS?.driver ?? '',
        backendIn: inS?.backend ?? 'unknown',
        ...(outS?.probe ? { probe: outS.probe } : {}),
        ...(inS?.probe ? { probeIn: inS.probe } : {}),
      });
    }
  }
  const c = d.dataplane.counters();
  return { mainMode, quickMode, afalg: { packets: String(c.afalgRequests), syscalls: String(c.afalgSyscalls) } };
}

/** strongSwan's notation: 198.18.2.0/24[tcp/5201], [tcp] for all ports. */
function withPorts(cidr: string, protocol: number | undefined, port: number | undefined): string {
  if (protocol === undefined || protocol === 0) return cidr;
  return `${cidr}[${protocolName(protocol)}${port ? `/${port}` : ''}]`;
}

export function countersOf(d: DaemonState): CountersResult {
  const c = d.dataplane.counters();
  return {
    esp: {
      packets: { fromNetwork: String(c.rxPackets), toNetwork: String(c.txPackets), fromTun: String(c.tunRxPackets), toTun: String(c.tunTxPackets) },
      ike: { received: String(c.ikeRx), sent: String(c.ikeTx), dropped: String(c.ikeDropped) },
      keepalives: { received: String(c.keepalivesRx), sent: String(c.keepalivesTx) },
      drops: {
        replay: String(c.dropsReplay), icv: String(c.dropsIcv), badSpi: String(c.dropsBadSpi), malformed: String(c.dropsMalformed),
        padding: String(c.dropsPadding), noSa: String(c.dropsNoSa), deadSa: String(c.dropsDead), txError: String(c.dropsTxError),
      },
      eventsDropped: String(c.eventsDropped),
    },
    ike: { ...d.node.counters },
    ikev2: { ...d.node.v2.counters },
    log: d.log.stats(),
  };
}

export function mountHandlers(server: ControlServer, d: DaemonState): void {
  server.handle('status', () => statusOf(d));
  server.handle('sas', () => sasOf(d));
  server.handle('counters', () => countersOf(d));
  server.handle('initiate', (args) => {
    const peer = peerArg(args);
    d.apply(d.node.initiate(peer));
    return { message: `initiating ${peer}` };
  });
  server.handle('rekey', (args) => {
    const peer = peerArg(args);
    const ike = args['ike'] === true;
    if (ike && d.node.peers().find((p) => p.name === peer)?.ikeVersion !== 2)
      throw new Error(`${peer}: IKE SA rekey needs an IKEv2 peer (version = 2)`);
    d.apply(d.node.rekey(peer, ike ? 'ike' : 'child'));
    return { message: ike ? `rekeying the IKE SA of ${peer}` : `rekeying ${peer}` };
  });
  server.handle('terminate', (args) => {
    const peer = peerArg(args);
    d.apply(d.node.terminate(peer));
    return { message: `terminated ${peer}` };
  });
}
