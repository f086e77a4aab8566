// `sitelinkctl explain PEER` as an operator runs it against a running sitelinkd: the
// plain-words text and the --json record, both through the real CLI and control
// socket. Helper for the netns and interop tests of issue 15.
import { runCli } from '../../firmware/src/ctl/cli.ts';
import type { FailureRecord } from '../../firmware/src/log/failure-record.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { waitUntil } from './wait.ts';

export interface Explained {
  /** Exit code and output of `sitelinkctl explain PEER`. */
  code: number;
  text: string;
  err: string;
  /** `sitelinkctl explain PEER --json`: the record (null when none). */
  record: FailureRecord | null;
}

async function cli(socket: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['--socket', socket, ...argv], { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), env: {} });
  return { code, out, err };
}

export async function explain(socket: string, peer: string): Promise<Explained> {
  const text = await cli(socket, ['explain', peer]);
  const json = await cli(socket, ['explain', peer, '--json']);
  const record = json.code === 0 ? ((JSON.parse(json.out) as { record: FailureRecord | null }).record ?? null) : null;
  return { code: text.code, text: text.out, err: text.err + json.err, record };
}

/** Wait until the daemon holds a failure record for `peer` that `accept` takes. */
export async function waitForRecord(
  socket: string,
  peer: string,
  timeoutMs: number,
  accept: (r: FailureRecord) => boolean = () => true,
): Promise<boolean> {
  return waitUntil(
    async () => {
      const r = (await controlRequest(socket, 'explain', { peer })).record;
      return r !== null && accept(r);
    },
    timeoutMs,
    250,
  );
}
