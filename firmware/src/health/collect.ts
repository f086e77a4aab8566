/**
 * Collects the health report with the systeminformation package (reads /proc and /sys;
 * works without a daemon, so sitelinkctl can fall back to collecting locally).
 *
 * systeminformation is most of the bundle's code; it is loaded on the first health
 * request, not at start, so that sitelinkd does not carry it in memory (issue 10:
 * one-tunnel RSS) for a command an operator runs now and then; the bundles take it
 * from their own file, dist/sitelink-sysinfo.mjs (scripts/bundle.mjs).
 */
import { hostname, loadavg, uptime, cpus } from 'node:os';
import type { HealthReport, InterfaceHealth } from './types.ts';

export async function collectHealth(source: HealthReport['source']): Promise<HealthReport> {
  const si = (await import('systeminformation')).default;
  const [load, mem, temp, ifaces, stats] = await Promise.all([
    si.currentLoad(),
    si.mem(),
    si.cpuTemperature(),
    si.networkInterfaces(),
    si.networkStats('*'),
  ]);
  const list = Array.isArray(ifaces) ? ifaces : [ifaces];
  const byName = new Map(stats.map((s) => [s.iface, s]));
  const interfaces: InterfaceHealth[] = list.map((i) => {
    const s = byName.get(i.iface);
    return {
      name: i.iface,
      up: i.operstate === 'up' || (i.internal && i.operstate !== 'down'),
      addresses: [i.ip4, i.ip6].filter((a) => a !== ''),
      mac: i.mac,
      rxBytes: s?.rx_bytes ?? 0,
      txBytes: s?.tx_bytes ?? 0,
      rxErrors: s?.rx_errors ?? 0,
      txErrors: s?.tx_errors ?? 0,
      rxDropped: s?.rx_dropped ?? 0,
      txDropped: s?.tx_dropped ?? 0,
    };
  });
  const [avg1 = 0, avg5 = 0, avg15 = 0] = loadavg();
  const num = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : null);
  return {
    hostname: hostname(),
    uptimeSeconds: Math.round(uptime()),
    load: { avg1, avg5, avg15, currentPercent: Math.round(load.currentLoad * 10) / 10, cores: cpus().length },
    memory: { totalBytes: mem.total, usedBytes: mem.active, availableBytes: mem.available },
    temperatures: { main: num(temp.main), cores: temp.cores.filter((c) => num(c) !== null), max: num(temp.max) },
    interfaces,
    source,
  };
}
