/**
 * sitelink-static: static-key (manual keying) ESP tunnels, like
 * `ip xfrm state add` but on the sitelink engine.
 *
 *   node dist/sitelink-static.mjs --config FILE.json
 *
 * Prints "sitelink-static: up" once the TUN, routes and SAs are installed;
 * SIGUSR1 prints one JSON line of counters and SA status (never keys);
 * SIGTERM/SIGINT delete the SAs (keys wiped), close the engine, exit 0.
 * A peer-moved event (NAT mapping changed) retargets the tunnel's outbound SA.
 */
import { readFileSync } from 'node:fs';
import { Dataplane } from '../dataplane/dataplane.ts';
import type { SaSpec, TrafficSelector } from '../dataplane/types.ts';
import { ConfigError, parseStaticConfig, wipeKeys } from './config.ts';
import type { StaticConfig, StaticTunnel } from './config.ts';
import { ipFamily } from '../base/ip-text.ts';

function log(msg: string): void {
  process.stderr.write(`sitelink-static: ${msg}\n`);
}

function usage(): never {
  process.stderr.write('usage: sitelink-static --config FILE.json\n');
  process.exit(2);
}

function selectors(tn: StaticTunnel): TrafficSelector[] {
  const fam = (c: string): number => ipFamily(c.split('/')[0] ?? '');
  return tn.localSubnets.flatMap((local) => tn.remoteSubnets.filter((r) => fam(r) === fam(local)).map((remote) => ({ local, remote })));
}

function saSpecs(cfg: StaticConfig, tn: StaticTunnel, reqid: number): SaSpec[] {
  const common = {
    algorithm: tn.algorithm,
    local: tn.local,
    remote: tn.remote,
    encap: tn.encap,
    esn: tn.esn,
    backend: cfg.backend,
    selectors: selectors(tn),
    reqid,
  };
  const keys = (k: StaticTunnel['in']): Pick<SaSpec, 'encKey' | 'authKey'> =>
    k.authKey ? { encKey: k.encKey, authKey: k.authKey } : { encKey: k.encKey };
  return [
    { ...common, ...keys(tn.in), spi: tn.in.spi, direction: 'in', replayWindow: tn.replayWindow },
    { ...common, ...keys(tn.out), spi: tn.out.spi, direction: 'out' },
  ];
}

/** JSON with bigints as numbers (counters stay far below 2^53 in practice). */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? (x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString()) : x));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--config');
  const file = i >= 0 ? args[i + 1] : undefined;
  if (!file) usage();
  let cfg: StaticConfig;
  try {
    cfg = parseStaticConfig(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof ConfigError) {
      log(`config error: ${e.message}`);
      process.exit(2);
    }
    log(`cannot read ${file}: ${(e as Error).message}`);
    process.exit(2);
  }

  const dp = new Dataplane();
  const installed: Array<{ spi: number; direction: 'in' | 'out' }> = [];
  let stopping = false;
  const shutdown = (code: number): void => {
    if (stopping) return;
    stopping = true;
    for (const sa of installed) {
      try {
        dp.deleteSa(sa.spi, sa.direction);
      } catch {
        // engine already gone: close() below wipes whatever is left
      }
    }
    dp.close();
    process.exit(code);
  };

  try {
    dp.open({
      tun: cfg.tun,
      listen: cfg.listen,
      rawEsp: cfg.rawEsp,
      ...(cfg.workers ? { workers: cfg.workers } : {}),
      ...(cfg.mtu ? { mtu: cfg.mtu } : {}),
    });
    cfg.tunnels.forEach((tn, idx) => {
      for (const spec of saSpecs(cfg, tn, idx + 1)) {
        dp.addSa(spec);
        installed.push({ spi: spec.spi, direction: spec.direction });
      }
    });
    wipeKeys(cfg);
    for (const tn of cfg.tunnels) for (const net of tn.remoteSubnets) await dp.addRoute(net);
    for (const tn of cfg.tunnels) if (tn.encap === 'udp' && tn.keepalive > 0) dp.setKeepalive(tn.remote, tn.keepalive);
  } catch (e) {
    wipeKeys(cfg);
    log(`start failed: ${(e as Error).message}`);
    shutdown(1);
    return;
  }

  dp.on('sa-event', (ev) => {
    if (ev.type === 'peer-moved') {
      // RFC 3948 §3.5 / RFC 7296 §2.23: follow the NAT mapping of authenticated traffic.
      const tn = cfg.tunnels[ev.reqid - 1];
      if (!tn) return;
      try {
        dp.updateSa(tn.out.spi, 'out', { remote: ev.from });
        if (tn.keepalive > 0) {
          dp.setKeepalive(tn.remote, 0);
          dp.setKeepalive(ev.from, tn.keepalive);
        }
        tn.remote = ev.from;
        log(`tunnel ${tn.name}: peer moved to ${ev.from.address}:${ev.from.port}`);
      } catch (e) {
        log(`tunnel ${tn.name}: cannot follow peer: ${(e as Error).message}`);
      }
    } else if (ev.type === 'hard') {
      // RFC 4301 §4.4.2.1: a hard lifetime ends the SA. Static keys cannot be
      // rekeyed, so delete it (the engine wipes its keys) and say so.
      log(`SA 0x${ev.spi.toString(16)} ${ev.direction}: hard ${ev.reason} limit reached, SA deleted`);
      dp.deleteSa(ev.spi, ev.direction);
    } else {
      // Static keys cannot be rekeyed: report, the operator installs new keys.
      const why = ev.type === 'seq-overflow' ? 'sequence numbers nearly exhausted' : `${ev.type} limit (${ev.reason})`;
      log(`SA 0x${ev.spi.toString(16)} ${ev.direction}: ${why}`);
    }
  });

  process.on('SIGUSR1', () => {
    process.stdout.write(`${toJson({ counters: dp.counters(), sas: dp.listSas() })}\n`);
  });
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  process.stdout.write('sitelink-static: up\n');
}

await main();
