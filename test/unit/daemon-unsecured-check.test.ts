// accept-unsecured on an Internet-facing interface (issue 17): the daemon warns when an
// interface the action is limited to carries a default route.
import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { defaultRouteInterfaces, unsecuredWarnings, unsecuredWarningsHere } from '../../firmware/src/daemon/unsecured-check.ts';

const conf = (ifs: string) => `
gateway { id = gwA.lab }
peers { hq { remote = 198.51.100.2
             remote-id = gwB.lab } }
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.2.0.0/24 } } }
filter-actions { s { action = negotiate
                     accept-unsecured = yes
                     accept-unsecured-interfaces = ${ifs} } }
rules { r { filters = l
            action = s
            peer = hq } }
`;

t.test('default route interfaces from ip -j route', async (t) => {
  t.same(defaultRouteInterfaces('[{"dst":"default","gateway":"192.0.2.1","dev":"wan0","flags":[]}]'), ['wan0']);
  t.same(defaultRouteInterfaces('[]'), []);
  t.same(defaultRouteInterfaces('not json'), [], 'garbage gives none, no throw');
});

t.test('a limited action warns only when a listed interface faces the Internet', async (t) => {
  const lan = loadConfigText('s.conf', conf('lan0'), { secrets: false });
  const wan = loadConfigText('s.conf', conf('lan0, wan0'), { secrets: false });
  if (!lan.ok || !wan.ok) throw new Error('config');
  t.same(unsecuredWarnings(lan.config, ['wan0']), [], 'LAN only: no warning');
  const w = unsecuredWarnings(wan.config, ['wan0']);
  t.equal(w.length, 1);
  t.match(w[0]?.message, /filter-actions\.s\.accept-unsecured-interfaces: wan0 carries a default route \(Internet-facing\)/);
});

t.test('the default routes are looked up only when an action limits accept-unsecured to interfaces', async (t) => {
  // An `ip` that notes each run and answers with a default route through wan0.
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-unsec-'));
  const ran = path.join(dir, 'ran');
  writeFileSync(path.join(dir, 'ip'), `#!/bin/sh\necho "$@" >> ${ran}\necho '[{"dst":"default","dev":"wan0"}]'\n`);
  chmodSync(path.join(dir, 'ip'), 0o755);
  const oldPath = process.env.PATH;
  process.env.PATH = `${dir}:${oldPath ?? ''}`;
  t.teardown(() => {
    process.env.PATH = oldPath;
    rmSync(dir, { recursive: true, force: true });
  });
  const plain = loadConfigText('s.conf', conf('lan0').replace(/\s+accept-unsecured = yes\s+accept-unsecured-interfaces = lan0/, ''), { secrets: false });
  const wan = loadConfigText('s.conf', conf('lan0, wan0'), { secrets: false });
  if (!plain.ok || !wan.ok) throw new Error('config');
  t.same(await unsecuredWarningsHere(plain.config), [], 'no accept-unsecured: nothing to warn about');
  t.notOk(existsSync(ran), 'and no ip was run');
  const w = await unsecuredWarningsHere(wan.config);
  t.equal(w.length, 1, 'limited to wan0, which carries the default route: one warning');
  t.ok(existsSync(ran), 'found by running ip');
});
