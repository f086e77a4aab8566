// Single UDP datagrams between lab namespaces, to observe what the NAT does
// to source addresses/ports (a node child in the namespace does the socket work).
import { spawn } from 'node:child_process';
import type { Lab, LabNode } from './lab.ts';
import { runIn } from './proc.ts';
import { waitForLine, waitUntil } from './wait.ts';

const LISTEN = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => console.log('from ' + r.address + ':' + r.port + ' ' + m));
s.bind(Number(process.argv[1]), () => console.log('listening'));
setTimeout(() => process.exit(0), Number(process.argv[2]));
`;

const SEND = `
const s = require('node:dgram').createSocket('udp4');
s.bind(Number(process.argv[1]), () => s.send(process.argv[4], Number(process.argv[3]), process.argv[2], (e) => { if (e) throw e; s.close(); }));
`;

/** Sends one datagram from node:srcPort to dst:dstPort. */
export async function udpSend(lab: Lab, node: LabNode, srcPort: number, dst: string, dstPort: number, text: string): Promise<void> {
  const r = await runIn(lab.ns(node), process.execPath, ['-e', SEND, String(srcPort), dst, String(dstPort), text], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`udpSend from ${node}: ${r.stderr}`);
}

/**
 * Listens on node:port, runs `action`, and returns the "address:port" each
 * datagram came from (empty when nothing arrived within windowMs after it).
 */
export async function udpReceiveDuring(lab: Lab, node: LabNode, port: number, action: () => Promise<void>, windowMs = 800): Promise<string[]> {
  const child = spawn('ip', ['netns', 'exec', lab.ns(node), process.execPath, '-e', LISTEN, String(port), '20000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const from: string[] = [];
  try {
    if (!child.stdout) throw new Error('no stdout');
    await waitForLine(child.stdout, /^listening$/, 5000);
    child.stdout.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/^from (\S+) /gm)) if (m[1] !== undefined) from.push(m[1]);
    });
    await action();
    await waitUntil(() => from.length > 0, windowMs, 50);
    return from;
  } finally {
    if (!exited) child.kill('SIGTERM');
    await waitUntil(() => exited, 2000, 50);
  }
}

// UDP_SEGMENT (Linux 4.18) trains: one sendto() carries `per` datagrams of
// `size` bytes that the kernel keeps as one GSO super packet as far as a
// device that takes it (the engine's TUN with USO). Datagram i is its index
// (4 bytes) and then bytes (i + j) & 0xff, so the receiver checks each one.
const GSO_SEND = `
import socket, struct, sys
dst, port, trains, per, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def dgram(i): return struct.pack('!I', i) + bytes((i + j) & 0xff for j in range(size - 4))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, size)  # UDP_SEGMENT
for t in range(trains):
    s.sendto(b''.join(dgram(t * per + k) for k in range(per)), (dst, port))
print('sent', flush=True)
`;

const GSO_RECV = `
import socket, struct, sys
port, want, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(('0.0.0.0', port))
print('listening', flush=True)
s.settimeout(5)
got, bad, seen = 0, 0, set()
try:
    while got < want:
        m = s.recv(65536)
        got += 1
        i = struct.unpack('!I', m[:4])[0] if len(m) >= 4 else -1
        if len(m) != size or i in seen or m[4:] != bytes((i + j) & 0xff for j in range(size - 4)):
            bad += 1
        seen.add(i)
except socket.timeout:
    pass
print('got %d bad %d' % (got, bad), flush=True)
`;

/**
 * Sends `trains` UDP_SEGMENT trains of `per` datagrams of `size` bytes from
 * `from` to dst:port, received on `to`; returns how many datagrams arrived
 * and how many of them were wrong (size, content or a duplicate).
 */
export async function udpGsoTrains(lab: Lab, from: LabNode, to: LabNode, dst: string, port: number,
  trains: number, per: number, size: number): Promise<{ got: number; bad: number }> {
  const child = spawn('ip', ['netns', 'exec', lab.ns(to), 'python3', '-c', GSO_RECV, String(port), String(trains * per), String(size)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  child.on('exit', () => { exited = true; });
  try {
    if (!child.stdout) throw new Error('no stdout');
    await waitForLine(child.stdout, /^listening$/, 5000);
    const result = waitForLine(child.stdout, /^got \d+ bad \d+$/, 15_000);
    const args = ['-c', GSO_SEND, dst, String(port), String(trains), String(per), String(size)];
    const r = await runIn(lab.ns(from), 'python3', args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`UDP_SEGMENT send from ${from}: ${r.stderr}`);
    const m = /^got (\d+) bad (\d+)$/.exec((await result).trim());
    return { got: Number(m?.[1] ?? 0), bad: Number(m?.[2] ?? 0) };
  } finally {
    if (!exited) child.kill('SIGTERM');
    await waitUntil(() => exited, 2000, 50);
  }
}
