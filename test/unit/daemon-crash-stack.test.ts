// A bug that ends sitelinkd's start must leave its stack in the daemon's output
// (on the board: /var/log/sitelinkd.log, written by board/.../supervise), not only
// its message. Issue 10: the board's log once said just "sitelinkd: Date is not a
// constructor"; main()'s last-resort handler printed e.message, so nobody could
// tell which `new Date` failed, and the cause was never found.
//
// This reproduces that exact symptom: a preload makes the global Date a plain
// object (Date.now, Date.UTC, Date.parse and instanceof still work, `new Date`
// throws V8's own "Date is not a constructor"), sitelinkd starts in a network
// namespace of its own and dies at its first `new Date`. The old handler printed
// the bare message; now the stack must name the bundle's line.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot } from '../lib/paths.ts';
import { labSkipReason } from '../lib/root.ts';
import { scratchGateway } from '../lib/scratch-ns.ts';

const daemon = join(repoRoot, 'dist', 'sitelinkd.cjs');

t.test(
  "a crash in sitelinkd's start prints where it happened",
  { skip: labSkipReason() ?? false },
  async (t) => {
    // The daemon may die without its stop path: deleting the namespace cleans up after it.
    const { ns, dir, conf } = scratchGateway(t, 'sldc');
    const preload = join(dir, 'date-not-a-constructor.mjs');
    writeFileSync(
      preload,
      'const D = Date;\n' +
        'globalThis.Date = { now: () => D.now(), UTC: D.UTC, parse: D.parse, [Symbol.hasInstance]: (v) => v instanceof D };\n',
    );
    // tap's own loader hooks are not for the bundle.
    const env = { ...process.env, NODE_OPTIONS: '' };
    const d = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', preload, daemon, '-c', conf], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    d.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    d.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const killer = setTimeout(() => d.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | null>((resolve) => d.on('exit', (c) => resolve(c)));
    clearTimeout(killer);
    t.equal(code, 1, `sitelinkd exits 1 on the bug (stdout: ${out.trim().slice(0, 200)})`);
    t.match(err, /^sitelinkd: TypeError: Date is not a constructor$/m, `the symptom reported on the board:\n${err.slice(0, 1500)}`);
    t.match(
      err,
      // The bundle's line, or its source's when source maps are on (tap's environment).
      /^ +at .*(dist\/sitelinkd\.cjs|firmware\/src\/.*\.ts):\d+:\d+\)?$/m,
      'the stack follows the message and names the line that failed',
    );
  },
);
