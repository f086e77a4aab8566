// One iperf3 TCP transfer between two lab namespaces (server exits after it).
import { spawn } from 'node:child_process';
import type { Lab, LabNode } from './lab.ts';
import { waitForLine, waitUntil } from './wait.ts';

export interface TransferResult {
  bytesReceived: number;
  bitsPerSecond: number;
  retransmits: number;
}

interface IperfSum { bytes?: number; bits_per_second?: number; retransmits?: number }
interface IperfJson { end?: { sum_sent?: IperfSum; sum_received?: IperfSum }; error?: string }

export async function tcpTransfer(lab: Lab, client: LabNode, server: LabNode, serverAddr: string, seconds: number): Promise<TransferResult> {
  const port = '5201';
  const srv = spawn('ip', ['netns', 'exec', lab.ns(server), 'iperf3', '-s', '-1', '-p', port, '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let srvExited = false;
  srv.on('exit', () => { srvExited = true; });
  try {
    if (!srv.stdout) throw new Error('no stdout');
    await waitForLine(srv.stdout, /Server listening/, 5000);
    const r = await lab.exec(client, 'iperf3', ['-c', serverAddr, '-p', port, '-t', String(seconds), '--json'], {
      timeoutMs: (seconds + 30) * 1000,
    });
    let j: IperfJson;
    try {
      j = JSON.parse(r.stdout) as IperfJson;
    } catch {
      throw new Error(`iperf3 printed no JSON (exit ${r.code}): ${r.stderr}`);
    }
    if (j.error !== undefined) throw new Error(`iperf3: ${j.error}`);
    return {
      bytesReceived: j.end?.sum_received?.bytes ?? 0,
      bitsPerSecond: j.end?.sum_received?.bits_per_second ?? 0,
      retransmits: j.end?.sum_sent?.retransmits ?? 0,
    };
  } finally {
    if (!srvExited) {
      srv.kill('SIGTERM');
      await waitUntil(() => srvExited, 2000, 50);
    }
  }
}
