// IP protocol numbers by the names the config and the status output use
// (IANA "Assigned Internet Protocol Numbers").

export const PROTOCOLS: Readonly<Record<string, number>> = {
  any: 0,
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  ipv6_icmp: 58,
  icmpv6: 58,
  sctp: 132,
};

/** The name of protocol `p` ("tcp"), or its number as text. */
export function protocolName(p: number): string {
  const found = Object.entries(PROTOCOLS).find(([, n]) => n === p);
  return found ? found[0] : String(p);
}
