// The running gateway: the ESP engine, the IKE transport and nodes, the action
// executor, the periodic work (scheduler), the control socket, and reload and
// shutdown (reload.ts, shutdown.ts). start() brings it up in the order that
// keeps it fail-closed: the first negotiations run while the nftables policy is
// applied and the tunnel routes go into the engine, but no SA reaches the engine
// before the policy is in place (a failure stops the start).

import { monotonicMs } from '../base/clock.ts';
import type { SitelinkConfig } from '../config/types.ts';
import { ControlServer } from '../control/server.ts';
import { mountPolicyHandlers, reloadFromFile, type PolicyContext } from '../control/policy-handlers.ts';
import { mountCommitHandlers } from './commit-handlers.ts';
import type { Dataplane } from '../dataplane/dataplane.ts';
import { IkeNodes } from '../ike/ike-nodes.ts';
import { systemEnv } from '../ike/system-env.ts';
import type { PeerPolicy } from '../ike/exchange/types.ts';
import { prepareAddKe } from '../ike/v2/crypto/additional-ke.ts';
import { FailureBook } from '../log/failures.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';
import { expandConfig } from '../policy/expand.ts';
import { fallbackElement, generateRuleset, nftOptionsOf } from '../policy/nft.ts';
import { applyRuleset, runNft } from '../policy/nft-apply.ts';
import { bypassSelectorsOf } from '../policy/bypass.ts';
import { ActionExecutor } from './action-executor.ts';
import { ClearFallback } from './clear-fallback.ts';
import { CommitConfirm } from './commit-confirm.ts';
import { mountHandlers, type DaemonState } from './control-handlers.ts';
import { unsecuredWarningsHere } from './unsecured-check.ts';
import { CrlStore } from './crl-store.ts';
import { EngineDropWatch } from './engine-drops.ts';
import { StepTrail } from './failure-records.ts';
import { IkeTransport } from './ike-transport.ts';
import { openEngine } from './open-engine.ts';
import { peerAddresses } from './peer-addresses.ts';
import { peerPolicies } from './policy-from-config.ts';
import { reloadDaemon } from './reload.ts';
import { Scheduler } from './scheduler.ts';
import { bugReporter, isBug } from '../log/bug.ts';
import { START_SETTLE_LIMIT_S, releaseStartMemory, trimDue, trimHeap } from './heap-trim.ts';
import { shutdownDaemon } from './shutdown.ts';
import { TrapStarter } from './trap.ts';
import { TunnelRoutes } from './tunnel-routes.ts';
import { ownDistributionPoints } from './signature-auth.ts';

const TICK_MS = 1000;
const RESTART_MS = 30_000;

export interface DaemonArgs {
  config: string;
  secrets?: string;
}

/** Thrown when the start must stop (the caller exits non-zero); already logged. */
export class StartError extends Error {
  override readonly name = 'StartError';
}

/**
 * A step of the start failed: a refusal (a missing file, a bundle that will not load)
 * is logged and becomes a StartError, one line; a bug (log/bug.ts) is thrown on as it
 * is, so that main()'s last-resort handler prints its stack. A message alone is what
 * left issue 10's "Date is not a constructor" without an origin.
 */
export function startFailure(log: Pick<NegotiationLog, 'log'>, e: unknown): never {
  if (isBug(e)) throw e;
  const message = e instanceof Error ? e.message : String(e);
  log.log({ level: 'error', phase: 'daemon', step: 'LOAD', message });
  throw new StartError(message);
}

export class Daemon {
  running: SitelinkConfig;
  peers: PeerPolicy[];
  readonly log: NegotiationLog;
  readonly dataplane: Dataplane;
  readonly transport: IkeTransport;
  readonly node: IkeNodes;
  readonly routes: TunnelRoutes;
  readonly fallback: ClearFallback;
  readonly crlStore: CrlStore;
  readonly executor: ActionExecutor;
  readonly scheduler: Scheduler;
  readonly trap: TrapStarter;
  readonly control: ControlServer;
  readonly commits: CommitConfirm;
  readonly lastError = new Map<string, string>();
  /** IKE counters as last reported to the log (JSON), to report only changes. */
  #lastCounters = '';
  /** releaseStart() has run (once per process). */
  #startReleased = false;

  private constructor(p: {
    args: DaemonArgs;
    config: SitelinkConfig;
    peers: PeerPolicy[];
    log: NegotiationLog;
    dataplane: Dataplane;
    transport: IkeTransport;
    crlStore: CrlStore;
  }) {
    const g = p.config.gateway;
    this.running = p.config;
    this.peers = p.peers;
    this.log = p.log;
    this.dataplane = p.dataplane;
    this.transport = p.transport;
    this.crlStore = p.crlStore;
    this.node = new IkeNodes(systemEnv, p.peers, {
      fragmentation: g.fragmentation,
      retransmit: { baseMs: g.retransmitTimeoutSeconds * 1000, tries: g.retransmitTries },
    });
    this.routes = new TunnelRoutes(p.dataplane, p.log);
    this.fallback = new ClearFallback({
      now: monotonicMs,
      routes: this.routes.set,
      addRoute: (cidr) => p.dataplane.addRoute(cidr),
      deleteRoute: (cidr) => p.dataplane.deleteRoute(cidr),
      setClear: (cidr, on) => runNft(fallbackElement(on ? 'add' : 'delete', cidr)),
      // Called from tick() only, after start() has finished.
      initiate: (peer) => this.initiate(peer),
      log: (e) => p.log.log(e),
    });
    this.fallback.configure(p.config, p.peers);
    const failures = new FailureBook();
    this.executor = new ActionExecutor({
      transport: p.transport,
      dataplane: p.dataplane,
      routes: this.routes,
      fallback: this.fallback,
      log: p.log,
      trail: new StepTrail(),
      failures,
      lastError: this.lastError,
      backend: g.cryptoBackend,
      wallClock: systemEnv.wallClock,
    });
    // The log line repeats each period; a bug's stack goes to stderr once per task (log/bug.ts).
    const bug = bugReporter((line) => process.stderr.write(line));
    this.scheduler = new Scheduler((task, e) => {
      p.log.log({ level: 'error', phase: 'daemon', step: task.toUpperCase(), message: e instanceof Error ? e.message : String(e) });
      bug(`sitelinkd: ${task}`, e);
    });
    this.trap = new TrapStarter({
      now: monotonicMs,
      peers: () => this.peers,
      startMode: (peer) => this.running.peers.get(peer)?.start,
      busy: () => new Set(this.node.status().filter((s) => s.children.length > 0 || s.state !== 'ESTABLISHED').map((s) => s.peer)),
      inClear: (peer) => this.fallback.inClear(peer),
      initiate: (peer) => this.initiate(peer),
    });
    this.control = new ControlServer({ path: g.controlSocket });
    const policy: PolicyContext = {
      config: () => this.running,
      apply: (next, diff) => reloadDaemon(this, next, diff),
      log: p.log,
      failures,
      ...(p.args.secrets !== undefined ? { loadOptions: { secretsFile: p.args.secrets } } : {}),
    };
    mountPolicyHandlers(this.control, policy);
    // reload --confirm, confirm, config history and rollback (replaces the plain reload).
    this.commits = new CommitConfirm({
      config: () => this.running,
      reload: () => reloadFromFile(policy),
      log: p.log,
      ...(p.args.secrets !== undefined ? { secretsFile: p.args.secrets } : {}),
    });
  }

  /**
   * Brings the gateway up; throws StartError (already logged) when it must not run.
   * `milestone`: told each step's end (the board's boot timeline, system-ready.ts).
   */
  static async start(args: DaemonArgs, config: SitelinkConfig, log: NegotiationLog, milestone?: (step: string) => void): Promise<Daemon> {
    const g = config.gateway;
    const addrs = await peerAddresses(config);
    // CRL files and distribution points (crl-store.ts): loaded before the first
    // negotiation (each fetch bounded by crl-timeout), refreshed from the tick.
    const crlStore = new CrlStore({
      now: monotonicMs,
      log: (e) => log.log(e),
      timeoutMs: g.crlTimeoutSeconds * 1000,
      refreshMs: g.crlRefreshSeconds * 1000,
    });
    crlStore.configure(crlSources(config));
    await crlStore.refreshDue();
    const { peers, problems } = peerPolicies(
      config,
      (name) => addrs.local.get(name) ?? '0.0.0.0',
      (name) => addrs.remote.get(name),
      (sources, points) => crlStore.crls(sources, points),
    );
    for (const p of problems) log.log({ level: 'warning', peer: p.peer, phase: 'config', step: 'LOAD', message: p.message });
    // The ML-KEM bundle, only if a peer's proposals name it (issue 10: RSS).
    await prepareAddKe(peers.flatMap((p) => [...p.ikeMethods, ...p.tunnels])).catch((e: unknown) => startFailure(log, e));
    milestone?.('sitelinkd: peers and CRLs loaded');

    const dataplane = openEngine(g, peers.some((p) => p.natTraversal !== 'force'), log);
    milestone?.('sitelinkd: ESP engine open');
    // permit/block enforcement (policy/nft.ts) and the rules that route by its marks
    // (dataplane/routes.ts): processes of their own, seconds on a small board. The
    // first negotiations run beside them: IKE and NAT-T are exempt from every filter
    // of that ruleset, and until it is in place the executor holds every change to
    // the engine's SAs (action-executor.ts), so no SA carries traffic before the
    // policy does. Running without the policy would leave blocked traffic flowing and
    // negotiate traffic free to leave in clear, so a failure to apply stops the start.
    const expanded = expandConfig(config);
    const policyRouted = dataplane.policyRouting();
    const policyApplied = Promise.allSettled([applyRuleset(generateRuleset(expanded, nftOptionsOf(config, []))), policyRouted]);
    let transport: IkeTransport;
    try {
      transport = await IkeTransport.open(g.listen, g.ikePort, g.nattPort, dataplane, log);
    } catch (e) {
      await policyApplied;
      dataplane.close();
      throw e;
    }
    const d = new Daemon({ args, config, peers, log, dataplane, transport, crlStore });
    d.executor.hold();
    d.#wire();
    d.bringUp();
    milestone?.('sitelinkd: IKE sockets open, first negotiations started');
    transport.reportBuffers();
    // Fail closed: every tunnel's remote subnet goes to the engine, which drops what has
    // no SA yet; routed as soon as the policy routing is in, beside nft, so the first SA
    // carries traffic once it is released. Not after the policy routing failed: each
    // route would try to install it again, for a start that stops anyway.
    const routed = policyRouted.then(
      () => d.routeTunnels(),
      () => undefined,
    );
    const failed = (await policyApplied).find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      const why = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
      log.log({ level: 'error', phase: 'daemon', step: 'NFT', message: `nftables policy not applied, not starting: ${why}` });
      d.executor.discardHeld();
      await routed;
      transport.close();
      dataplane.close();
      throw new StartError(`nftables policy not applied: ${why}`);
    }
    milestone?.('sitelinkd: nftables ruleset and policy routing applied');
    // The engine's own guard for permit/block traffic (policy/bypass.ts).
    dataplane.setBypass(bypassSelectorsOf(expanded));
    d.executor.release();
    await routed;
    milestone?.('sitelinkd: tunnel routes set');
    d.#schedule();
    // Warnings only (it may run `ip`): once the first negotiations are on their way.
    for (const e of await unsecuredWarningsHere(config)) log.log(e);
    d.commits.recordRunning('start');
    mountCommitHandlers(d.control, d.commits);
    const state: DaemonState = {
      node: d.node,
      dataplane,
      log,
      configFile: config.file,
      configLoaded: new Date(),
      started: Date.now(),
      lastError: d.lastError,
      apply: d.executor.apply,
      clearRemotes: (peer) => d.fallback.clearRemotes(peer),
      confirmPending: () => d.commits.pending(),
    };
    mountHandlers(d.control, state);
    try {
      await d.control.listen();
    } catch (e) {
      log.log({ level: 'warning', phase: 'daemon', step: 'CONTROL', message: `control socket ${g.controlSocket}: ${String(e)}` });
    }
    log.log({
      level: 'info',
      phase: 'daemon',
      step: 'START',
      message: `sitelinkd running: ${peers.length} peer(s), IKE on ${g.listen}:${g.ikePort}/${g.nattPort}`,
    });
    return d;
  }

  /** The nftables ruleset for `c`, keeping the subnets passed in clear on a soft SA. */
  rulesetOf(c: SitelinkConfig): string {
    return generateRuleset(expandConfig(c), nftOptionsOf(c, this.fallback.clearRemotes()));
  }

  /** `withSa`: the peers that have an IKE SA, when the caller has them (bringUp). */
  initiate(peer: string, withSa?: ReadonlySet<string>): void {
    // IKEv1 reports a fresh main mode itself ('initiating', also for DPD restarts);
    // for IKEv2 a peer with no IKE SA at all is about to get one.
    const hasSa = withSa ? withSa.has(peer) : this.node.status().some((s) => s.peer === peer);
    if (!hasSa) this.fallback.attempt(peer);
    this.executor.apply(this.node.initiate(peer));
  }

  /** start = start peers: initiate (idempotent); peers on a soft SA wait for the fallback schedule. */
  bringUp(): void {
    const peers = this.#startPeers();
    if (peers.length === 0) return;
    // One status walk for all of them: per peer it was O(SAs) each, every RESTART_MS,
    // O(peers x SAs) on a hub that initiates to its spokes.
    const withSa = new Set(this.node.status().map((s) => s.peer));
    for (const name of peers) this.initiate(name, withSa);
  }

  /** Every start = start peer (but those on a soft SA) has a child SA: the start's negotiations are done. */
  startTunnelsUp(): boolean {
    return startTunnelsUp(this.#startPeers(), this.node.status());
  }

  /** The peers this gateway brings up itself: start = start, not on a soft SA (clear-fallback.ts). */
  #startPeers(): string[] {
    return this.peers.map((p) => p.name).filter((n) => this.running.peers.get(n)?.start === 'start' && !this.fallback.inClear(n));
  }

  /** Once: what the start left behind goes back (heap-trim.ts releaseStartMemory). */
  releaseStart(): void {
    if (this.#startReleased) return;
    this.#startReleased = true;
    releaseStartMemory();
    // Syslog was held through the start (sitelinkd.ts): its logger processes now.
    this.log.releaseSyslog();
  }

  /** Fail closed: every tunnel's remote subnet goes to the engine (a soft SA's stays out). */
  async routeTunnels(): Promise<void> {
    for (const p of this.peers) {
      for (const t of p.tunnels) {
        // A tunnel for a protocol or ports is routed by marks only (policy/route-marks.ts).
        if (t.ports || this.fallback.clearRemotes().includes(t.remote)) continue;
        await this.routes.add(t.remote, p.name);
      }
    }
  }

  /** Dropped and retransmitted IKE datagrams (counted by the nodes) reach the log when they changed. */
  reportCounters(): void {
    const now = JSON.stringify(this.node.counters);
    if (now === this.#lastCounters) return;
    this.#lastCounters = now;
    this.log.log({ level: 'info', phase: 'daemon', step: 'COUNTERS', message: 'IKE counters', data: { ...this.node.counters } });
  }

  #wire(): void {
    const apply = this.executor.apply;
    this.transport.onMessage((msg, from, port) => apply(this.node.receive(msg, from, port)));
    this.dataplane.on('sa-event', (ev) => {
      if (ev.type === 'peer-moved') apply(this.node.peerMoved(ev.reqid, ev.from));
      else if (ev.type === 'soft' || ev.type === 'seq-overflow') apply(this.node.saLimit(ev.spi, ev.direction, false));
      else apply(this.node.saLimit(ev.spi, ev.direction, true));
    });
    // start = trap: the engine reports packets that found no SA (trap.ts).
    this.dataplane.on('no-sa', (ev) => this.trap.onNoSa(ev));
  }

  #schedule(): void {
    this.#lastCounters = JSON.stringify(this.node.counters);
    const engineDrops = new EngineDropWatch(this.dataplane.counters());
    let ticks = 0;
    this.scheduler.every('tick', TICK_MS, () => {
      this.executor.apply(this.node.tick());
      this.fallback.tick();
      void this.crlStore.refreshDue();
      if (++ticks % 60 === 0) this.reportCounters();
      if (trimDue(ticks)) trimHeap();
      // The start is over once its tunnels are up (or after a bound): not before, so
      // that the release's collections never hold up the first negotiations.
      if (!this.#startReleased && (ticks >= START_SETTLE_LIMIT_S || this.startTunnelsUp())) this.releaseStart();
      if (ticks % 10 === 0) {
        const e = engineDrops.check(this.dataplane.counters(), 10);
        if (e) this.log.log(e);
      }
    });
    // Peers configured to start are retried until up (initiate is idempotent).
    this.scheduler.every('restart', RESTART_MS, () => this.bringUp());
  }

  shutdown(): Promise<void> {
    return shutdownDaemon(this);
  }
}

/** Whether each of `startPeers` has an IKE SA with a child SA in `sas` (none to wait for: true). */
export function startTunnelsUp(startPeers: readonly string[], sas: readonly { peer: string; children: readonly unknown[] }[]): boolean {
  const up = new Set(sas.filter((s) => s.children.length > 0).map((s) => s.peer));
  return startPeers.every((p) => up.has(p));
}

/** The CRL sources of the peers that check CRLs: their `crl` lists, and the distribution
 * points of their certificates and CA files (signature-auth.ts ownDistributionPoints). */
export function crlSources(c: SitelinkConfig): string[] {
  return [
    ...new Set(
      [...c.peers.values()].flatMap((p) =>
        p.crl.level > 0 ? [...p.crl.sources, ...p.auth.flatMap((a) => (a.kind === 'psk' ? [] : ownDistributionPoints(a)))] : [],
      ),
    ),
  ];
}
