/** Human renderings of control replies (one function per command). */
import type {
  ActionResult, CheckResult, CountersResult, FiltersResult, HealthReport, LogResult, QuickModeSaInfo, ReloadResult, SasResult, StatusResult,
} from '../control/protocol.ts';
import { formatEntry } from '../log/negotiation-log.ts';
import { bytes, duration, spi, table } from './table.ts';
import { renderPending } from './render-config.ts';
import { cryptoCell, renderAfalgLive, renderProbes } from './render-crypto.ts';

export function renderStatus(s: StatusResult): string {
  const head = `sitelinkd ${s.version}, pid ${s.pid}, up ${duration(s.uptimeSeconds)}\nconfig ${s.configFile} (loaded ${s.configLoaded})${
    s.confirmPending ? `\n${renderPending(s.confirmPending)}` : ''}`;
  if (s.peers.length === 0) return `${head}\nno peers configured`;
  return `${head}\n\n${table(
    ['PEER', 'IKE', 'REMOTE', 'STATE', 'IKE SAS', 'CHILD SAS', 'LAST ERROR'],
    s.peers.map((p) => [p.name, `v${p.ikeVersion ?? 1}`, p.remote, p.state, String(p.mainModeSas), String(p.quickModeSas), p.lastError ?? '-']),
  )}`;
}

function nat(n: { local: boolean; remote: boolean }, natt: boolean): string {
  const where = n.local && n.remote ? 'both behind NAT' : n.local ? 'we are behind NAT' : n.remote ? 'peer behind NAT' : 'no NAT';
  return `${where}${natt ? ', UDP 4500' : ''}`;
}

/** "0", or each non-zero reason, e.g. "3 replay, 1 icv". */
function dropsIn(d: { replay: string; icv: string; malformed: string; padding: string }): string {
  const parts = Object.entries(d).filter(([, n]) => n !== '0').map(([k, n]) => `${n} ${k}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

export function renderSas(s: SasResult): string {
  const mm =
    s.mainMode.length === 0
      ? 'none'
      : table(
          ['PEER', 'IKE', 'ROLE', 'STATE', 'LOCAL', 'REMOTE', 'IDS (local/remote)', 'PROPOSAL', 'AUTH', 'LEFT', 'QMs', 'NAT'],
          // A main mode still negotiating has no agreed proposal, method or lifetime yet.
          s.mainMode.map((m) => [
            m.peer,
            `v${m.version ?? 1}`,
            m.role,
            m.state,
            m.local,
            m.remote,
            `${m.localId} / ${m.remoteId}`,
            m.proposal || '-',
            m.auth || '-',
            m.state === 'established' ? `${duration(m.remainingSeconds)} of ${duration(m.lifetimeSeconds)}` : '-',
            String(m.quickModes),
            nat(m.nat, m.natt),
          ]),
        );
  const qm =
    s.quickMode.length === 0
      ? 'none'
      : table(
          [
            'PEER',
            'RULE',
            'ALGORITHM',
            'PFS',
            'ESN',
            'SPI IN',
            'SPI OUT',
            'LOCAL TS',
            'REMOTE TS',
            'LEFT',
            'BYTES IN/OUT',
            'PACKETS IN/OUT',
            'DROPS IN',
            'ENCAP',
            'CRYPTO',
          ],
          s.quickMode.map((q) => [
            q.peer,
            q.rule,
            q.algorithm,
            q.pfs ?? 'none',
            // Older daemons do not send it: '-' rather than a guess.
            q.esn === undefined ? '-' : q.esn ? 'yes' : 'no',
            spi(q.spiIn),
            spi(q.spiOut),
            q.localTs.join(','),
            q.remoteTs.join(','),
            `${duration(q.remainingSeconds)} / ${q.lifetimeKilobytes} KB`,
            `${bytes(q.bytesIn)} / ${bytes(q.bytesOut)}`,
            `${q.packetsIn} / ${q.packetsOut}`,
            dropsIn(q.dropsIn),
            q.encap === 'udp' ? 'ESP-in-UDP' : 'ESP',
            cryptoCell(q),
          ]),
        );
  const crypto = [renderProbes(s.quickMode), renderAfalgLive(s)].filter((x) => x !== null);
  return `Main mode SAs\n${mm}\n\nQuick mode SAs\n${qm}${crypto.length > 0 ? `\n\n${crypto.join('\n')}` : ''}`;
}

export function renderCounters(c: CountersResult): string {
  const e = c.esp;
  const esp = table(['ESP ENGINE', 'COUNT'], [
    ['packets from the network', e.packets.fromNetwork], ['packets to the network', e.packets.toNetwork],
    ['packets from the TUN', e.packets.fromTun], ['packets to the TUN', e.packets.toTun],
    ['IKE on UDP 4500 in / out / dropped', `${e.ike.received} / ${e.ike.sent} / ${e.ike.dropped}`],
    ['NAT keepalives in / out', `${e.keepalives.received} / ${e.keepalives.sent}`],
    ['dropped: replayed', e.drops.replay], ['dropped: ICV mismatch', e.drops.icv], ['dropped: unknown SPI', e.drops.badSpi],
    ['dropped: malformed', e.drops.malformed], ['dropped: bad padding', e.drops.padding], ['dropped: no SA for the traffic', e.drops.noSa],
    ['dropped: SA past its hard limit', e.drops.deadSa], ['dropped: send error', e.drops.txError], ['events lost (daemon too slow)', e.eventsDropped],
  ]);
  const i = c.ike;
  const ike = table(['IKE', 'COUNT'], [
    ['datagrams dropped: malformed or not authentic', String(i.malformed)], ['datagrams dropped: out of place', String(i.unexpected)],
    ['retransmissions', String(i.retransmitted)], ['main modes failed', String(i.mainModeFailed)], ['quick modes failed', String(i.quickModeFailed)],
    ['half-open main modes refused / evicted', `${i.halfOpenRefused} / ${i.halfOpenEvicted}`],
    ['duplicate requests not answered again', String(i.repliesLimited)],
    ['MM3s for forgotten MM1s told INVALID-COOKIE / main modes restarted on it', `${i.invalidCookieSent} / ${i.mainModeRestarts}`],
    ['fragments in / dropped / reassembled / out', `${i.fragmentsReceived} / ${i.fragmentsDropped} / ${i.reassembled} / ${i.fragmentsSent}`],
  ]);
  const v = c.ikev2;
  const v2 = v === undefined ? '' : `\n\n${table(['IKEv2 (included above)', 'COUNT'], [
    ['COOKIEs sent instead of state (RFC 7296 §2.6)', String(v.cookiesSent)], ['half-open IKE SAs refused', String(v.halfOpenRefused)],
    ['requests answered from the response cache', String(v.cachedResponses)], ['retransmissions', String(v.retransmitted)],
    ['IKE SAs failed / child SAs failed', `${v.ikeFailed} / ${v.childFailed}`],
    ['datagrams dropped: malformed / out of place or not authentic', `${v.malformed} / ${v.unexpected}`],
    ['fragments in / dropped / out', `${v.fragmentsReceived} / ${v.fragmentsDropped} / ${v.fragmentsSent}`],
  ])}`;
  const l = c.log;
  const log = l === undefined ? '' : `\n\n${table(['NEGOTIATION LOG', 'COUNT'], [
    ['lines left out by the rate limit (summarised)', String(l.suppressed)], ['bytes written', String(l.bytesWritten)],
    ['rotations to .sav at the size cap', String(l.rotations)], ['write errors', String(l.writeErrors)],
    ['syslog lines dropped (logger behind)', String(l.syslogDropped)],
  ])}`;
  return `${esp}\n\n${ike}${v2}${log}`;
}

export function renderFilters(f: FiltersResult): string {
  if (f.filters.length === 0) return 'no filters';
  return table(
    ['WEIGHT', 'ACTION', 'RULE', 'PEER', 'SOURCE', 'DESTINATION', 'PROTO', 'SPORTS', 'DPORTS', 'DIR'],
    f.filters.map((r) => [
      String(r.weight),
      r.action,
      r.rule,
      r.peer ?? '-',
      r.source,
      r.destination,
      r.protocol,
      r.sourcePorts,
      r.destinationPorts,
      r.direction,
    ]),
  );
}

export function renderLog(l: LogResult): string {
  if (l.entries.length === 0) return 'log is empty';
  return l.entries.map((e) => `${e.time} ${e.level.padEnd(7)} ${formatEntry(e)}`).join('\n');
}

export function renderHealth(h: HealthReport): string {
  const t = h.temperatures;
  const temp =
    t.main === null && t.cores.length === 0 ? 'no sensor' : `${t.main ?? '-'} °C (cores ${t.cores.join(', ') || '-'}, max ${t.max ?? '-'})`;
  const lines = [
    `host ${h.hostname}, up ${duration(h.uptimeSeconds)} (collected ${h.source === 'daemon' ? 'by sitelinkd' : 'locally'})`,
    `cpu  load ${h.load.avg1.toFixed(2)} ${h.load.avg5.toFixed(2)} ` +
      `${h.load.avg15.toFixed(2)}, now ${h.load.currentPercent}% of ${h.load.cores} cores`,
    `mem  ${bytes(h.memory.usedBytes)} used of ${bytes(h.memory.totalBytes)}, ${bytes(h.memory.availableBytes)} available`,
    `temp ${temp}`,
    '',
    table(
      ['INTERFACE', 'STATE', 'ADDRESSES', 'RX', 'TX', 'ERRORS RX/TX', 'DROPS RX/TX'],
      h.interfaces.map((i) => [
        i.name,
        i.up ? 'up' : 'down',
        i.addresses.join(' ') || '-',
        bytes(i.rxBytes),
        bytes(i.txBytes),
        `${i.rxErrors}/${i.txErrors}`,
        `${i.rxDropped}/${i.txDropped}`,
      ]),
    ),
  ];
  return lines.join('\n');
}

export function renderAction(a: ActionResult): string {
  return a.message;
}

function setLine(label: string, d: { unchanged: string[]; changed: string[]; added: string[]; removed: string[] }): string {
  const part = (k: string, v: string[]) => (v.length ? `${k}: ${v.join(', ')}` : '');
  const parts = [part('kept', d.unchanged), part('changed', d.changed), part('added', d.added), part('removed', d.removed)].filter((x) => x);
  return `${label}: ${parts.join('; ') || 'none'}`;
}

export function renderReload(r: ReloadResult): string {
  if (!r.ok) return `${r.message}\n${r.errors.join('\n')}`;
  const lines = [r.message];
  if (r.peers) lines.push(setLine('peers', r.peers));
  if (r.tunnels) lines.push(setLine('tunnels', r.tunnels));
  if (r.confirm) lines.push(renderPending(r.confirm));
  return lines.join('\n');
}

export function renderCheck(c: CheckResult): string {
  const lines = [...c.errors, ...c.warnings.map((w) => `warning: ${w}`)];
  lines.push(c.ok ? `${c.file}: configuration OK` : `${c.file}: ${c.errors.length} error${c.errors.length === 1 ? '' : 's'}`);
  return lines.join('\n');
}
