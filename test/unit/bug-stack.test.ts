// A TypeError or ReferenceError in sitelinkctl, in one of the daemon's control handlers
// or in its periodic tasks is a bug (log/bug.ts): its stack must be kept (sitelinkctl
// prints it; the server hands it to onBug, by default the daemon's stderr; the tasks'
// reporter writes it once per task), while refusals stay one line. Issue 10: "Date is
// not a constructor" once left only its message, and its origin was never found.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../firmware/src/ctl/cli.ts';
import { ControlServer } from '../../firmware/src/control/server.ts';
import { Secret } from '../../firmware/src/base/secret.ts';
import { redactor } from '../../firmware/src/log/redact.ts';
import { bugReporter } from '../../firmware/src/log/bug.ts';

const PSK = 'bug-stack-psk-5a4b3c2d';
redactor.add(new Secret(Buffer.from(PSK)));

const dir = mkdtempSync(join(tmpdir(), 'sl-bug-stack-'));
const socket = join(dir, 'run', 'control.sock');
const bugs: { command: string; e: Error }[] = [];
const server = new ControlServer({ path: socket, onBug: (command, e) => bugs.push({ command, e }) });

function notAConstructor(): unknown {
  // The shape of issue 10's crash: `new` on something that is not a constructor.
  const Date = { now: (): number => 0 } as unknown as DateConstructor;
  return new Date();
}

// status: a reply sitelinkctl's renderer cannot take (a bug on the ctl side).
server.handle('status', () => null);
// health: a handler with a bug (daemon side); explain: a refusal.
server.handle('health', notAConstructor);
server.handle('explain', () => {
  throw new Error(`no failure recorded for hq (psk ${PSK})`);
});

t.before(() => server.listen());
t.teardown(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ctl(...args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await runCli(['--socket', socket, ...args], { out: () => undefined, err: (s) => (err += `${s}\n`) });
  return { code, err };
}

t.test("a bug in sitelinkctl prints its stack", async (t) => {
  const r = await ctl('status');
  t.equal(r.code, 1);
  t.match(r.err, /^sitelinkctl: TypeError: .+\n +at .*render.*:\d+:\d+/, `the message, then where:\n${r.err}`);
});

t.test("a bug in a control handler reaches onBug with its stack; the client gets the message", async (t) => {
  bugs.length = 0;
  const r = await ctl('health');
  t.equal(r.code, 1);
  t.equal(r.err, 'sitelinkctl: Date is not a constructor\n', 'the client: one line, as for any error from the daemon');
  t.equal(bugs.length, 1);
  t.equal(bugs[0]?.command, 'health');
  t.match(bugs[0]?.e.stack ?? '', /TypeError: Date is not a constructor\n +at notAConstructor .*bug-stack\.test\.ts:\d+:\d+/);
});

t.test('a refusal stays one line, redacted, and is no bug', async (t) => {
  bugs.length = 0;
  const r = await ctl('explain', 'hq');
  t.equal(r.code, 1);
  t.equal(r.err.split('\n').filter(Boolean).length, 1, r.err);
  t.notMatch(r.err, PSK);
  t.equal(bugs.length, 0);
});

t.test("the server's default onBug writes the redacted stack to stderr", async (t) => {
  const s = new ControlServer({ path: join(dir, 'run2', 'control.sock') });
  s.handle('health', () => {
    throw new TypeError(`broken with ${PSK}`);
  });
  await s.listen();
  t.teardown(() => s.close());
  let written = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    written += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  let r: { code: number; err: string };
  try {
    let err = '';
    const code = await runCli(['--socket', s.path, 'health'], { out: () => undefined, err: (x) => (err += x) });
    r = { code, err };
  } finally {
    process.stderr.write = write;
  }
  t.equal(r.code, 1);
  t.match(written, /^control health: TypeError: broken with .+\n +at .*bug-stack\.test\.ts:\d+:\d+/);
  t.notMatch(written, PSK, 'redacted');
});

t.test('the periodic tasks\' reporter: a bug once per task, with its stack; other errors not at all', async (t) => {
  let written = '';
  const bug = bugReporter((line) => (written += line));
  for (let i = 0; i < 3; i++) {
    try {
      notAConstructor();
    } catch (e) {
      bug('sitelinkd: tick', e);
    }
  }
  bug('sitelinkd: restart', new Error('peer unreachable'));
  bug('sitelinkd: restart', new ReferenceError(`x is not defined (${PSK})`));
  const lines = written.split('\n').filter((l) => !/^ +at /.test(l) && l !== '');
  t.same(
    lines,
    ['sitelinkd: tick: TypeError: Date is not a constructor', 'sitelinkd: restart: ReferenceError: x is not defined (<redacted>)'],
    written,
  );
  t.match(written, /Date is not a constructor\n +at notAConstructor .*bug-stack\.test\.ts:\d+:\d+/);
  t.notMatch(written, PSK);
});

t.test("a start step's failure: a refusal becomes a logged StartError, a bug goes on with its stack", async (t) => {
  const { startFailure, StartError } = await import('../../firmware/src/daemon/daemon.ts');
  const logged: string[] = [];
  const log = { log: (e: { message: string }): null => (logged.push(e.message), null) };
  const refusal = new Error('ML-KEM bundle not found: /usr/lib/sitelink/sitelink-mlkem.mjs');
  t.throws(() => startFailure(log, refusal), new StartError(refusal.message), 'a refusal: StartError, its message');
  t.same(logged, [refusal.message], 'and logged');
  logged.length = 0;
  let thrown: unknown;
  try {
    startFailure(log, (() => { try { return notAConstructor(); } catch (e) { return e; } })());
  } catch (e) {
    thrown = e;
  }
  t.ok(thrown instanceof TypeError && !(thrown instanceof StartError), 'a bug is thrown on as it is, for the last-resort handler');
  t.match((thrown as Error).stack ?? '', /at notAConstructor .*bug-stack\.test\.ts:\d+:\d+/, 'with the stack of where it happened');
  t.same(logged, [], 'not turned into a one-line refusal');
});
