// base/busybox-applet.ts: a command is told to be a busybox applet from the file
// system (its PATH entry resolves to a file named busybox), with no process started;
// syslog's logger flavour and ip-batch's -batch probe (test/unit/ip-batch.test.ts) use it.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findOnPath, isBusyboxApplet } from '../../firmware/src/base/busybox-applet.ts';
import { detectFlavour } from '../../firmware/src/log/syslog.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sl-bb-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const bin = path.join(dir, 'bin');
const sbin = path.join(dir, 'sbin');
mkdirSync(bin);
mkdirSync(sbin);
const exe = (p: string): void => {
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
};
exe(path.join(bin, 'busybox'));
symlinkSync('../bin/busybox', path.join(sbin, 'ip'));  // the board's layout
symlinkSync('busybox', path.join(bin, 'logger'));
exe(path.join(bin, 'nft'));                            // a program of its own
writeFileSync(path.join(bin, 'notexec'), '');
const PATH = `${sbin}:${bin}`;

t.test('findOnPath: the first executable on PATH, or the path itself', async (t) => {
  t.equal(findOnPath('ip', PATH), path.join(sbin, 'ip'));
  t.equal(findOnPath('nft', PATH), path.join(bin, 'nft'));
  t.equal(findOnPath('notexec', PATH), null, 'not executable');
  t.equal(findOnPath('missing', PATH), null);
  t.equal(findOnPath(path.join(bin, 'nft'), ''), path.join(bin, 'nft'), 'a path is taken as it is');
});

t.test('isBusyboxApplet: symlinks to busybox are, anything else is not', async (t) => {
  t.ok(isBusyboxApplet('ip', PATH), 'sbin/ip -> ../bin/busybox');
  t.ok(isBusyboxApplet('logger', PATH), 'bin/logger -> busybox');
  t.ok(isBusyboxApplet(path.join(sbin, 'ip'), ''), 'by path');
  t.notOk(isBusyboxApplet('nft', PATH), 'its own program');
  t.notOk(isBusyboxApplet('missing', PATH), 'not found');
  t.notOk(isBusyboxApplet('ip', bin), 'not on this PATH');
});

t.test("syslog's logger flavour: busybox told without running it, others asked", async (t) => {
  const ran = path.join(dir, 'ran');
  const bb = path.join(dir, 'bb');
  mkdirSync(bb);
  writeFileSync(path.join(bb, 'busybox'), `#!/bin/sh\ntouch ${ran}\n`);
  chmodSync(path.join(bb, 'busybox'), 0o755);
  symlinkSync('busybox', path.join(bb, 'logger'));
  t.equal(detectFlavour(path.join(bb, 'logger')), 'busybox');
  t.notOk(existsSync(ran), 'the logger was not started');
  const ul = path.join(dir, 'logger-util-linux');
  writeFileSync(ul, '#!/bin/sh\necho "logger from util-linux 2.38.1"\n');
  chmodSync(ul, 0o755);
  t.equal(detectFlavour(ul), 'util-linux', 'another logger is still asked (--version)');
});
