// Commands for the benchmark's own setup, stdin closed (no input pipe that a
// fast-exiting command could break with EPIPE).

import { execFile } from 'node:child_process';

export interface ExecResult {
  ok: boolean;
  out: string;
}

export function exec(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ ok: err === null, out: `${stdout}${stderr}`.trim() });
    });
    child.stdin?.end();
  });
}

export async function execOk(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const r = await exec(cmd, args, timeoutMs);
  if (!r.ok) throw new Error(`${cmd} ${args.join(' ')}: ${r.out}`);
  return r.out;
}
