// sitelinkd: the IKEv1 daemon. Loads the config, opens the ESP engine (which
// owns UDP 4500, RFC 3948) and UDP 500, runs the exchanges of
// ike/exchange/ike-node.ts, installs the negotiated SAs into the engine and
// answers the control socket. SIGTERM/SIGINT: Deletes to every peer, SAs
// removed (keys wiped by the engine), clean exit.
//
// Usage: sitelinkd [-c /etc/sitelink/sitelink.conf] [--secrets FILE] [--foreground]

import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { loadConfigFile } from '../config/load.ts';
import { ANY_REMOTE, formatConfigError, type SitelinkConfig } from '../config/types.ts';
import { ControlServer } from '../control/server.ts';
import { Dataplane } from '../dataplane/dataplane.ts';
import { IkeNodes } from '../ike/ike-nodes.ts';
import { systemEnv } from '../ike/system-env.ts';
import type { Action } from '../ike/exchange/types.ts';
import { FailureBook } from '../log/failures.ts';
import { NegotiationLog } from '../log/negotiation-log.ts';
import { mountPolicyHandlers, reloadFromFile, type PolicyContext } from '../control/policy-handlers.ts';
import { mountCommitHandlers } from '../control/commit-handlers.ts';
import { CommitConfirm, recoverUnconfirmed } from './commit-confirm.ts';
import type { ConfigDiff } from '../config/diff.ts';
import { failureRecord, StepTrail } from './failure-records.ts';
import { mountHandlers, type DaemonState } from './control-handlers.ts';
import { routeSourceAddress } from './local-address.ts';
import { peerPolicies } from './policy-from-config.ts';
import { expandConfig } from '../policy/expand.ts';
import { fallbackElement, generateRuleset, nftOptionsOf } from '../policy/nft.ts';
import { applyRuleset, removeRuleset, runNft } from '../policy/nft-apply.ts';
import { saSpecOf } from './sa-spec.ts';
import { ClearFallback } from './clear-fallback.ts';
import { EngineDropWatch } from './engine-drops.ts';
import { CrlStore } from './crl-store.ts';

const TICK_MS = 1000;
const RESTART_MS = 30_000;

function parseArgs(argv: string[]): { config: string; secrets?: string } {
  let config = '/etc/sitelink/sitelink.conf';
  let secrets: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--config') config = argv[++i] ?? config;
    else if (a === '--secrets') secrets = argv[++i];
    else if (a === '--foreground') continue;
    else {
      process.stderr.write(`sitelinkd: unknown argument ${a}\nusage: sitelinkd [-c FILE] [--secrets FILE]\n`);
      process.exit(2);
    }
  }
  return secrets === undefined ? { config } : { config, secrets };
}

interface Addresses {
  local: Map<string, string>;
  remote: Map<string, string>;
}

/** Peer addresses as IP literals (DNS names resolved once, at load) and our source towards each. */
async function peerAddresses(config: SitelinkConfig): Promise<Addresses> {
  const local = new Map<string, string>();
  const remote = new Map<string, string>();
  for (const p of config.peers.values()) {
    // remote = %any stays as it is: the exchanges accept that peer from any address.
    const ip =
      isIP(p.remoteAddress) !== 0 || p.remoteAddress === ANY_REMOTE
        ? p.remoteAddress
        : await lookup(p.remoteAddress, { family: 4 }) // the IKE sockets are IPv4
            .then((r) => r.address)
            .catch(() => p.remoteAddress);
    remote.set(p.name, ip);
    if (p.localAddress !== null) local.set(p.name, p.localAddress);
    else local.set(p.name, await routeSourceAddress(ip).catch(() => '0.0.0.0'));
  }
  return { local, remote };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // A reload --confirm window still open when the daemon stopped is not trusted.
  const recovered = recoverUnconfirmed(args.config);
  const loaded = loadConfigFile(args.config, args.secrets !== undefined ? { secretsFile: args.secrets } : {});
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    process.exit(1);
  }
  const config = loaded.config;
  const g = config.gateway;
  const log = NegotiationLog.open({ file: g.log.file, syslog: g.log.syslog, level: g.log.level, maxBytes: g.log.maxKilobytes * 1024 });
  if (recovered !== null) log.log({ level: 'warning', phase: 'config', step: 'CONFIRM', message: recovered });
  const addrs = await peerAddresses(config);
  let running = config;
  // CRL files and distribution points (crl-store.ts): loaded before the first
  // negotiation (each fetch bounded by crl-timeout), refreshed from the tick.
  const crlStore = new CrlStore({
    now: () => performance.now(),
    log: (e) => log.log(e),
    timeoutMs: g.crlTimeoutSeconds * 1000,
    refreshMs: g.crlRefreshSeconds * 1000,
  });
  const crlSources = (c: SitelinkConfig): string[] => [...c.peers.values()].flatMap((p) => (p.crl.level > 0 ? p.crl.sources : []));
  crlStore.configure(crlSources(config));
  await crlStore.refreshDue();
  const crlsOf = (sources: readonly string[]): Buffer[] => crlStore.crls(sources);
  let { peers, problems } = peerPolicies(config, (name) => addrs.local.get(name) ?? '0.0.0.0', (name) => addrs.remote.get(name), crlsOf);
  for (const p of problems) log.log({ level: 'warning', peer: p.peer, phase: 'config', step: 'LOAD', message: p.message });

  const dataplane = new Dataplane();
  dataplane.open({
    tun: g.tun,
    listen: { address: g.listen, port: g.nattPort },
    rawEsp: peers.some((p) => p.natTraversal !== 'force'),
    mtu: g.mtu,
    ...(g.workers > 0 ? { workers: g.workers } : {}),
  });
  // permit/block enforcement (policy/nft.ts). Running without it would leave blocked
  // traffic flowing and negotiate traffic free to leave in clear, so a failure to
  // apply stops the start instead.
  // Remote subnets on a soft SA stay in the fallback set across a reload (the table is
  // replaced whole); set once the fallback driver exists, before any reload can run.
  let clearNow = (): string[] => [];
  const rulesetOf = (c: SitelinkConfig): string => generateRuleset(expandConfig(c), nftOptionsOf(c, clearNow()));
  try {
    await applyRuleset(rulesetOf(config));
  } catch (e) {
    log.log({
      level: 'error',
      phase: 'daemon',
      step: 'NFT',
      message: `nftables policy not applied, not starting: ${e instanceof Error ? e.message : String(e)}`,
    });
    process.stderr.write(`sitelinkd: nftables policy not applied: ${e instanceof Error ? e.message : String(e)}\n`);
    dataplane.close();
    await log.close().catch(() => undefined);
    process.exit(1);
  }
  const sock500: Socket = createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    sock500.once('error', reject);
    sock500.bind(g.ikePort, g.listen, () => {
      sock500.off('error', reject);
      resolve();
    });
  });
  // A refused send (EPERM from a firewall, no route) is reported to the send's
  // callback only: without one it vanished silently. Log it, through the rate limiter
  // (one key), so that a flood of replies to unreachable sources cannot grow the log;
  // any other socket error is logged the same way rather than ending the process.
  const sendFailed = (e: Error | null): void => {
    if (e) log.log({ level: 'warning', phase: 'daemon', step: 'UDP 500 SEND', message: `sending on UDP ${g.ikePort} failed: ${e.message}` });
  };
  sock500.on('error', sendFailed);

  const node = new IkeNodes(systemEnv, peers, {
    fragmentation: g.fragmentation,
    retransmit: { baseMs: g.retransmitTimeoutSeconds * 1000, tries: g.retransmitTries },
  });
  const routes = new Set<string>();
  const lastError = new Map<string, string>();
  const failures = new FailureBook();
  const trail = new StepTrail();

  const fallback = new ClearFallback({
    now: () => performance.now(),
    routes,
    addRoute: (cidr) => dataplane.addRoute(cidr),
    deleteRoute: (cidr) => dataplane.deleteRoute(cidr),
    setClear: (cidr, on) => runNft(fallbackElement(on ? 'add' : 'delete', cidr)),
    // Called from tick() only, after initiate below exists.
    initiate: (peer) => initiate(peer),
    log: (e) => log.log(e),
  });
  fallback.configure(config, peers);
  clearNow = () => fallback.clearRemotes();

  const apply = (actions: Action[]): void => {
    for (const a of actions) {
      try {
        switch (a.kind) {
          case 'send':
            if (a.localPort === g.nattPort) dataplane.sendIke(a.data, a.to);
            else sock500.send(a.data, a.to.port, a.to.address, sendFailed);
            break;
          case 'install':
            try {
              dataplane.addSa(saSpecOf(a.sa, g.cryptoBackend));
            } finally {
              // The engine holds its own copy; ours dies here.
              a.sa.encKey.fill(0);
              a.sa.authKey?.fill(0);
            }
            if (a.sa.direction === 'out' && !routes.has(a.sa.remoteTs)) {
              routes.add(a.sa.remoteTs);
              dataplane.addRoute(a.sa.remoteTs).catch((e: unknown) => {
                routes.delete(a.sa.remoteTs);
                log.log({ level: 'error', peer: a.sa.peer, phase: 'daemon', step: 'ROUTE', message: `route ${a.sa.remoteTs}: ${String(e)}` });
              });
            }
            // The pair is complete only with the outbound SA: a quick mode responder
            // installs its inbound SA at QM2 and may still lose QM3.
            if (a.sa.direction === 'out') {
              lastError.delete(a.sa.peer);
              failures.clear(a.sa.peer);
              fallback.onInstalled(a.sa.peer);
            }
            break;
          case 'delete':
            dataplane.deleteSa(a.spi, a.direction);
            break;
          case 'keepalive':
            dataplane.setKeepalive(a.to, a.seconds);
            break;
          case 'update-remote':
            dataplane.updateSa(a.spi, 'out', { remote: a.remote });
            break;
          case 'log':
            trail.note(a.event);
            log.log(a.event);
            break;
          case 'heard':
            fallback.onHeard(a.peer);
            break;
          case 'initiating':
            fallback.attempt(a.peer);
            break;
          case 'failed':
            lastError.set(a.peer, `${a.phase} mode: ${a.reason}`);
            fallback.onFailed(a.peer, a.detail.code);
            failures.record(failureRecord(a.peer, a.phase, a.detail, trail.steps(a.peer), new Date()));
            break;
        }
      } catch (e) {
        log.log({ level: 'error', phase: 'daemon', step: a.kind.toUpperCase(), message: e instanceof Error ? e.message : String(e) });
      }
    }
  };

  const initiate = (peer: string): void => {
    // IKEv1 reports a fresh main mode itself ('initiating', also for DPD restarts);
    // for IKEv2 a peer with no IKE SA at all is about to get one.
    if (!node.status().some((s) => s.peer === peer)) fallback.attempt(peer);
    apply(node.initiate(peer));
  };

  sock500.on('message', (msg, rinfo) => apply(node.receive(msg, { address: rinfo.address, port: rinfo.port }, g.ikePort)));
  dataplane.on('ike', (msg, from) => apply(node.receive(msg, from, g.nattPort)));
  dataplane.on('sa-event', (ev) => {
    if (ev.type === 'peer-moved') apply(node.peerMoved(ev.reqid, ev.from));
    else if (ev.type === 'soft' || ev.type === 'seq-overflow') apply(node.saLimit(ev.spi, ev.direction, false));
    else apply(node.saLimit(ev.spi, ev.direction, true));
  });

  // Fail closed: negotiate traffic goes to the engine from the start, which drops it
  // (no SA yet) instead of letting the kernel route it in clear.
  const routeTunnels = async (): Promise<void> => {
    for (const p of peers) {
      for (const t of p.tunnels) {
        // A soft SA (fallback to clear) keeps its remote subnet out of the TUN.
        if (routes.has(t.remote) || fallback.clearRemotes().includes(t.remote)) continue;
        routes.add(t.remote);
        await dataplane.addRoute(t.remote).catch((e: unknown) => {
          routes.delete(t.remote);
          log.log({ level: 'error', peer: p.name, phase: 'daemon', step: 'ROUTE', message: `route ${t.remote}: ${String(e)}` });
        });
      }
    }
  };
  await routeTunnels();

  // start = trap: negotiate on the first packet. The engine has no per-selector acquire
  // event yet, so a rise of its no-SA drop counter (only tunnel traffic is routed to it)
  // starts every trap peer that has no IPsec SA.
  let noSaDrops = dataplane.counters().dropsNoSa;
  const trap = (): void => {
    const now = dataplane.counters().dropsNoSa;
    if (now === noSaDrops) return;
    noSaDrops = now;
    const up = new Set(node.status().filter((s) => s.children.length > 0 || s.state !== 'ESTABLISHED').map((s) => s.peer));
    for (const p of peers) if (running.peers.get(p.name)?.start === 'trap' && !up.has(p.name) && !fallback.inClear(p.name)) initiate(p.name);
  };
  // Dropped and retransmitted IKE datagrams are counted by the node; the counts reach
  // the negotiation log (sitelinkctl log) once a minute when they changed.
  let lastCounters = JSON.stringify(node.counters);
  const engineDrops = new EngineDropWatch(dataplane.counters());
  let ticks = 0;
  const reportCounters = (): void => {
    const now = JSON.stringify(node.counters);
    if (now === lastCounters) return;
    lastCounters = now;
    log.log({ level: 'info', phase: 'daemon', step: 'COUNTERS', message: 'IKE counters', data: { ...node.counters } });
  };
  const tick = setInterval(() => {
    apply(node.tick());
    fallback.tick();
    void crlStore.refreshDue();
    trap();
    if (++ticks % 60 === 0) reportCounters();
    if (ticks % 10 === 0) {
      const e = engineDrops.check(dataplane.counters(), 10);
      if (e) log.log(e);
    }
  }, TICK_MS);
  const bringUp = (): void => {
    // Peers on a soft SA are retried on the fallback schedule (5 min), not here.
    for (const p of peers) if (running.peers.get(p.name)?.start === 'start' && !fallback.inClear(p.name)) initiate(p.name);
  };
  bringUp();
  // Peers configured to start are retried until up (initiate is idempotent).
  const restart = setInterval(bringUp, RESTART_MS);

  const control = new ControlServer({ path: g.controlSocket });
  const state: DaemonState = {
    node,
    dataplane,
    log,
    configFile: config.file,
    configLoaded: new Date(),
    started: Date.now(),
    lastError,
    apply,
    clearRemotes: (peer) => fallback.clearRemotes(peer),
  };
  // Reload: peers whose settings or tunnels changed are renegotiated, the others keep
  // their SAs (config/diff.ts decides what changed).
  const reload = async (next: SitelinkConfig, diff: ConfigDiff): Promise<void> => {
    // Enforcement first: if nft refuses the new ruleset the reload fails (the control
    // handler reports the error) and the old config with its table stays in force.
    await applyRuleset(rulesetOf(next));
    const nextAddrs = await peerAddresses(next);
    crlStore.configure(crlSources(next));
    await crlStore.refreshDue();
    const r = peerPolicies(next, (name) => nextAddrs.local.get(name) ?? '0.0.0.0', (name) => nextAddrs.remote.get(name), crlsOf);
    for (const p of r.problems) log.log({ level: 'warning', peer: p.peer, phase: 'config', step: 'RELOAD', message: p.message });
    // Per tunnel: a changed peer (main mode settings, PSK) renegotiates everything, a
    // changed or removed rule only its own SA pairs; the other tunnels keep their SPIs.
    const reset = [...diff.peers.changed, ...diff.peers.removed];
    const changedRules = [...diff.tunnels.changed, ...diff.tunnels.removed];
    apply(node.setPeers(r.peers, reset, changedRules));
    for (const p of running.peers.values()) if (!next.peers.has(p.name) || reset.includes(p.name)) p.psk?.wipe();
    const oldRemotes = new Set(peers.flatMap((p) => p.tunnels.map((x) => x.remote)));
    running = next;
    peers = r.peers;
    fallback.configure(next, peers, reset);
    // Remote subnets of removed tunnels that no tunnel uses any more leave the TUN.
    const remotes = new Set(peers.flatMap((p) => p.tunnels.map((x) => x.remote)));
    for (const cidr of oldRemotes) {
      if (remotes.has(cidr) || !routes.has(cidr)) continue;
      routes.delete(cidr);
      await dataplane.deleteRoute(cidr).catch(() => undefined);
    }
    await routeTunnels();
    bringUp();
    // Peers that are up get their changed and added tunnels now, whatever their start
    // setting (they were negotiated before; trap only starts a peer with nothing up).
    const touched = [...diff.tunnels.changed, ...diff.tunnels.added].flatMap((name) =>
      next.rules.filter((x) => x.name === name && x.peer !== null).map((x) => x.peer!.name),
    );
    const established = new Set(node.status().filter((x) => x.state === 'ESTABLISHED').map((x) => x.peer));
    for (const name of new Set(touched)) if (established.has(name)) initiate(name);
  };
  const policy: PolicyContext = {
    config: () => running,
    apply: reload,
    log,
    failures,
    ...(args.secrets !== undefined ? { loadOptions: { secretsFile: args.secrets } } : {}),
  };
  mountPolicyHandlers(control, policy);
  // reload --confirm, confirm, config history and rollback (replaces the plain reload).
  const commits = new CommitConfirm({
    config: () => running,
    reload: () => reloadFromFile(policy),
    log,
    ...(args.secrets !== undefined ? { secretsFile: args.secrets } : {}),
  });
  commits.recordRunning('start');
  mountCommitHandlers(control, commits);
  state.confirmPending = () => commits.pending();
  mountHandlers(control, state);
  try {
    await control.listen();
  } catch (e) {
    log.log({ level: 'warning', phase: 'daemon', step: 'CONTROL', message: `control socket ${g.controlSocket}: ${String(e)}` });
  }
  log.log({
    level: 'info',
    phase: 'daemon',
    step: 'START',
    message: `sitelinkd running: ${peers.length} peer(s), IKE on ${g.listen}:${g.ikePort}/${g.nattPort}`,
  });
  process.stdout.write(`sitelinkd: ready (${peers.length} peer(s))\n`);

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(tick);
    clearInterval(restart);
    commits.close();
    reportCounters();
    log.log({ level: 'info', phase: 'daemon', step: 'STOP', message: 'shutting down: deleting SAs' });
    apply(node.shutdown());
    // Give the Deletes a moment to leave before the sockets close.
    setTimeout(() => {
      void (async () => {
        sock500.close();
        dataplane.close();
        await removeRuleset().catch((e: unknown) => {
          log.log({ level: 'error', phase: 'daemon', step: 'NFT', message: `nftables table not removed: ${String(e)}` });
        });
        for (const p of running.peers.values()) p.psk?.wipe();
        await control.close().catch(() => undefined);
        await log.close().catch(() => undefined);
        process.exit(0);
      })();
    }, 300);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((e: unknown) => {
  process.stderr.write(`sitelinkd: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
