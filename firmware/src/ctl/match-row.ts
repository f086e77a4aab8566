/**
 * `sitelinkctl filters SRC DST [PROTO [DPORT]]`: which filter decides this packet.
 * Works on the rows the daemon sends (text form), so the answer is the daemon's view.
 * "me" cannot be resolved here and matches nothing; the daemon resolves it in its rows.
 */
import type { FilterRow } from '../control/protocol.ts';
import { inPrefix, parseCidr, parseIp } from '../base/address.ts';
import { parseProtocol } from '../config/values.ts';
import { protocolName } from '../base/protocols.ts';

/** Bad packet arguments (sitelinkctl exits 2). */
export class MatchUsageError extends Error {}

function addrOk(spec: string, ip: string): boolean {
  if (spec === 'any') return true;
  const a = parseIp(ip);
  if (!a) return false;
  const c = parseCidr(spec.includes('/') ? spec : `${spec}/${a.family === 4 ? 32 : 128}`);
  return c !== null && inPrefix(a, c.addr, c.prefix);
}

function portOk(spec: string, port: number | undefined): boolean {
  if (spec === 'any') return true;
  if (port === undefined) return false;
  return spec.split(',').some((r) => {
    const [lo = '', hi = lo] = r.split('-');
    return port >= Number(lo) && port <= Number(hi);
  });
}

export function matchRow(rows: FilterRow[], args: string[]): FilterRow | null {
  const [src = '', dst = '', proto = 'any', dport] = args;
  if (!parseIp(src) || !parseIp(dst)) throw new MatchUsageError(`expected SRC and DST IP addresses, got "${src}" "${dst}"`);
  const p = parseProtocol(proto);
  if (!p.ok) throw new MatchUsageError(`expected ${p.expected}`);
  const port = dport === undefined ? undefined : Number(dport);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new MatchUsageError(`expected a port 0..65535, got "${dport}"`);
  // Rows arrive most specific first (weight order with tie-breaks), so the first hit decides.
  return rows.find((r) =>
    addrOk(r.source, src) && addrOk(r.destination, dst) &&
    (r.protocol === 'any' || r.protocol === protocolName(p.value)) &&
    r.sourcePorts === 'any' && portOk(r.destinationPorts, port)) ?? null;
}
