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
