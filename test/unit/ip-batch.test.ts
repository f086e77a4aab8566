// Batched `ip` commands (dataplane/ip-batch.ts): a burst of route changes runs in
// one `ip -force -batch -` process, each command settled from its own line's
// error; an `ip` without -batch (the board's busybox) gets one process per command.
// The `ip` here is a stand-in script that logs its invocations.
import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IpBatch, batchErrors } from '../../firmware/src/dataplane/ip-batch.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sl-ipbatch-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A fake ip: with -batch (unless `noBatch`) reads lines and fails those containing "bad" the way iproute2 -force does. */
function fakeIp(name: string, noBatch: boolean): { bin: string; calls: () => string[] } {
  const log = path.join(dir, `${name}.log`);
  const bin = path.join(dir, name);
  writeFileSync(
    bin,
    `#!/bin/sh
echo "$*" >> ${log}
case "$*" in
  *-batch*)
    ${noBatch ? 'echo "ip: invalid option -- \'b\'" >&2; exit 1' : `n=0; rc=0
    while IFS= read -r line; do
      n=$((n+1)); echo "  $line" >> ${log}
      case "$line" in *bad*) echo "Cannot find device \\"bad\\"" >&2; echo "Command failed -:$n" >&2; rc=1;; esac
    done
    exit $rc`}
    ;;
  *bad*) echo "Cannot find device \\"bad\\"" >&2; exit 1 ;;
esac
exit 0
`,
  );
  chmodSync(bin, 0o755);
  return { bin, calls: () => readFileSync(log, 'utf8').trim().split('\n') };
}

t.test("batchErrors: each failure's text by line number", async (t) => {
  const errs = batchErrors('Cannot find device "nodev"\nCommand failed -:2\nRTNETLINK answers: No such process\nCommand failed -:3\n');
  t.same([...errs], [[2, 'Cannot find device "nodev"'], [3, 'RTNETLINK answers: No such process']]);
  t.same([...batchErrors('')], []);
});

t.test('a burst goes to one batch process; failures reach their own commands only', async (t) => {
  const ip = fakeIp('ip-batch', false);
  const b = new IpBatch(ip.bin);
  const cmds = Array.from({ length: 100 }, (_, i) => ({
    options: ['-4'],
    args: ['route', 'replace', `10.${i}.0.0/24`, 'dev', i === 42 ? 'bad' : 'sl0', 'table', '152'],
  }));
  const results = await Promise.allSettled(cmds.map((c) => b.run(c)));
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 99);
  const failed = results[42];
  t.equal(failed?.status, 'rejected');
  t.match(failed?.status === 'rejected' ? String(failed.reason) : '', /ip -4 route replace 10\.42\.0\.0\/24 dev bad table 152: Cannot find device "bad"/);
  t.equal(b.spawned, 2, 'one probe and one batch for 100 commands');
  const calls = ip.calls();
  t.same(calls.filter((c) => !c.startsWith(' ')), ['-batch -', '-force -batch -']);
  t.equal(calls.filter((c) => c.startsWith('  route replace')).length, 100, 'every line written, without the -4 option');
  // Commands after the first batch go to the next one.
  await b.run({ args: ['route', 'del', '10.1.0.0/24', 'dev', 'sl0', 'table', '152'] });
  t.equal(b.spawned, 3);
});

t.test('without -batch support every command runs alone, with its options', async (t) => {
  const ip = fakeIp('ip-busybox', true);
  const b = new IpBatch(ip.bin);
  const r = await Promise.allSettled([
    b.run({ options: ['-4'], args: ['route', 'replace', '10.0.0.0/24', 'dev', 'sl0', 'table', '152'] }),
    b.run({ options: ['-4'], args: ['route', 'replace', '10.0.1.0/24', 'dev', 'bad', 'table', '152'] }),
  ]);
  t.equal(r[0]?.status, 'fulfilled');
  t.equal(r[1]?.status, 'rejected');
  t.same(ip.calls(), ['-batch -', '-4 route replace 10.0.0.0/24 dev sl0 table 152', '-4 route replace 10.0.1.0/24 dev bad table 152']);
});

t.test('an ip that is a busybox applet gets no probe process', async (t) => {
  // The board's /sbin/ip -> /bin/busybox: known to lack -batch without starting it.
  const bb = path.join(dir, 'bb');
  mkdirSync(bb);
  const ip = fakeIp(path.join('bb', 'busybox'), true);
  symlinkSync('busybox', path.join(bb, 'ip'));
  const b = new IpBatch(path.join(bb, 'ip'));
  t.equal(await b.probe(), false, 'no -batch');
  t.equal(b.spawned, 0, 'and no process for it');
  await b.run({ options: ['-4'], args: ['route', 'replace', '10.0.0.0/24', 'dev', 'sl0', 'table', '152'] });
  t.same(ip.calls(), ['-4 route replace 10.0.0.0/24 dev sl0 table 152'], 'one process for the command, none for a probe');
});

t.test('an argument that would split a batch line is refused', async (t) => {
  const b = new IpBatch(fakeIp('ip-unused', false).bin);
  await t.rejects(b.run({ args: ['route', 'replace', '10.0.0.0/24', 'dev', 'sl0\nroute flush all'] }), /bad argument/);
  await t.rejects(b.run({ args: ['route', ''] }), /bad argument/);
  t.equal(b.spawned, 0);
});

t.test('an ip that fails without naming a line fails the whole batch', async (t) => {
  const bin = path.join(dir, 'ip-broken');
  writeFileSync(bin, '#!/bin/sh\ncase "$*" in "-batch -") exit 0;; esac\ncat >/dev/null; echo "out of memory" >&2; exit 2\n');
  chmodSync(bin, 0o755);
  const b = new IpBatch(bin);
  const r = await Promise.allSettled([
    b.run({ args: ['route', 'replace', '10.0.0.0/24', 'dev', 'sl0'] }),
    b.run({ args: ['route', 'replace', '10.0.1.0/24', 'dev', 'sl0'] }),
  ]);
  t.same(r.map((x) => x.status), ['rejected', 'rejected']);
  t.match(r[0]?.status === 'rejected' ? String(r[0].reason) : '', /out of memory/);
});
