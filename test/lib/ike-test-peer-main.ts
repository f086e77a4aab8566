// A sitelink IKE node as a test peer, run inside a lab namespace (bundled and
// started by ike-test-peer.ts startTestPeer): the real exchanges (IkeNode) on real
// UDP sockets 500 and 4500 (RFC 3948 non-ESP marker on 4500), no ESP engine. With
// refusal = 'spi-less' it refuses a quick mode the way some non-strongSwan
// responders do (issue 19): its own NO-PROPOSAL-CHOSEN notify (which names the
// quick mode's SPI) is held back and an authenticated notify with protocol ISAKMP and
// SPI size 0 goes out instead (RFC 2408 §3.14.1). Prints one JSON line per event.

import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Secret } from '../../firmware/src/base/secret.ts';
import { IkeNode } from '../../firmware/src/ike/exchange/ike-node.ts';
import { systemEnv } from '../../firmware/src/ike/system-env.ts';
import { sendInformational } from '../../firmware/src/ike/exchange/informational.ts';
import type { Action, PeerPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { ExchangeType, IdType, NotifyType, ProtocolId, notify } from '../../firmware/src/ike/wire/index.ts';
import type { TestPeerConfig } from './ike-test-peer.ts';

const MARKER = Buffer.alloc(4);

function policyOf(c: TestPeerConfig): PeerPolicy {
  return {
    name: 'peer',
    remoteAddress: c.remote,
    localAddress: c.local,
    localId: { idType: IdType.FQDN, name: c.localId },
    remoteId: { idType: IdType.FQDN, name: c.remoteId },
    psk: new Secret(Buffer.from(c.psk)),
    ikeMethods: [{ encryption: 'aes128', integrity: 'sha256', dhGroup: 14 }],
    ikeLifetimeSeconds: 3600,
    allowWeak: false,
    natTraversal: 'auto',
    keepaliveSeconds: 20,
    dpd: null,
    tunnels: [
      {
        name: 'lan',
        action: 'secure',
        local: c.localNet,
        remote: c.remoteNet,
        methods: [{ esp: 'aes128gcm16', lifetimeSeconds: 3600, lifetimeKilobytes: 0 }],
        pfsGroup: c.pfsGroup,
      },
    ],
  };
}

function say(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function main(file: string): Promise<void> {
  const c = JSON.parse(readFileSync(file, 'utf8')) as TestPeerConfig;
  const node = new IkeNode(systemEnv, [policyOf(c)]);
  const socks = new Map<number, Socket>();
  const carry = (actions: Action[]): void => {
    const refused = actions.some((a) => a.kind === 'failed' && a.phase === 'quick' && a.detail.role === 'responder');
    for (const a of actions) {
      if (a.kind === 'send') {
        const informational = a.data.length > 18 && a.data.readUInt8(18) === ExchangeType.INFORMATIONAL;
        if (refused && informational && c.refusal === 'spi-less') {
          say({ event: 'held-back', what: 'notify naming the quick mode SPI' });
          continue;
        }
        const sock = socks.get(a.localPort);
        const data = a.localPort === 500 ? a.data : Buffer.concat([MARKER, a.data]);
        sock?.send(data, a.to.port, a.to.address);
      } else if (a.kind === 'log') say({ event: 'log', step: a.event.step, message: a.event.message });
      else if (a.kind === 'failed') say({ event: 'failed', phase: a.phase, reason: a.reason });
    }
    if (refused && c.refusal === 'spi-less') {
      for (const sa of node.sasOf('peer').filter((s) => s.state === 'ESTABLISHED')) {
        sendInformational(node, sa, [notify(NotifyType.NO_PROPOSAL_CHOSEN, ProtocolId.ISAKMP, Buffer.alloc(0))]);
        say({ event: 'sent', what: 'NO-PROPOSAL-CHOSEN, protocol ISAKMP, SPI size 0' });
      }
      carry(node.tick());
    }
  };
  for (const port of [500, 4500]) {
    const s = createSocket({ type: 'udp4' });
    s.on('message', (msg, rinfo) => {
      const from = { address: rinfo.address, port: rinfo.port };
      if (port === 500) carry(node.receive(msg, from, 500));
      // RFC 3948 §2.2: IKE on 4500 follows a zero non-ESP marker; ESP and keepalives are not ours.
      else if (msg.length > 4 && msg.subarray(0, 4).equals(MARKER)) carry(node.receive(msg.subarray(4), from, 4500));
    });
    await new Promise<void>((resolve) => s.bind(port, c.local, resolve));
    socks.set(port, s);
  }
  setInterval(() => carry(node.tick()), 250);
  say({ event: 'ready' });
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: ike-test-peer-main CONFIG.json\n');
  process.exit(2);
}
main(file).catch((e: unknown) => {
  process.stderr.write(`ike-test-peer: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
