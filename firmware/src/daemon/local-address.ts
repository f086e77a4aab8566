// Our source address towards a peer, as the routing table picks it: NAT-D
// (RFC 3947 §3.2) hashes it, and the sockets are bound to the wildcard so
// the kernel does not tell us per datagram. A connected UDP socket sends
// nothing; connect() only asks the kernel for the route.

import { createSocket } from 'node:dgram';
import { isIPv6Text } from '../base/ip-text.ts';

export function routeSourceAddress(remote: string, port = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket(isIPv6Text(remote) ? 'udp6' : 'udp4');
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.connect(port, remote, () => {
      const a = s.address().address;
      s.close();
      resolve(a);
    });
  });
}
