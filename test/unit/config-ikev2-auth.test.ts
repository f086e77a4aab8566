// Config for IKEv2 authentication and size: `ppk` / `ppk-required` (RFC 8784,
// keys in the secrets file's ppk section), `fragment-size` (RFC 7383) and
// dn: identities; each refused with file:line:field under version = 1, a PPK
// missing from the secrets file named, PPKs never in a message.

import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { parseSecrets } from '../../firmware/src/config/secrets.ts';
import { formatConfigError } from '../../firmware/src/config/types.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'v2cfg-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const PPK = '0x' + 'ab'.repeat(32);
const secrets = path.join(dir, 'secrets.conf');
writeFileSync(secrets, `psk {\n  gw.hq.lab = "a psk"\n}\nppk {\n  branch-1 = ${PPK}\n}\n`);
chmodSync(secrets, 0o600);

const conf = (peerLines: string): string => `gateway { id = gw.branch.lab
          secrets = ${secrets} }
peers {
  hq {
    remote = 198.51.100.2
    remote-id = gw.hq.lab
${peerLines}
  }
}
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.2.0.0/24 } } }
filter-actions { sec { action = negotiate
                       security-methods = aes128gcm16 } }
rules { r1 { filters = l
             action = sec
             peer = hq } }
`;
const load = (lines: string) => loadConfigText(path.join(dir, 'sitelink.conf'), conf(lines));
const errorsOf = (lines: string): string[] => {
  const r = load(lines);
  return r.ok ? [] : r.errors.map(formatConfigError);
};

t.test('ppk, ppk-required and fragment-size load with version = 2', async (t) => {
  const r = load('    version = 2\n    ppk = branch-1\n    ppk-required = yes\n    fragment-size = 1200');
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  const p = r.config.peers.get('hq')!;
  t.same(p.ppk, { id: 'branch-1', required: true });
  t.equal(p.ppkKey?.reveal().toString('hex'), 'ab'.repeat(32), 'the key from the ppk section');
  t.equal(p.fragmentSize, 1200);
  t.notMatch(JSON.stringify(p), /abababab/, 'the PPK does not serialise');
});

t.test('each is IKEv2 only: version 1 refuses it with file:line:field', async (t) => {
  t.match(errorsOf('    ppk = branch-1\n    ppk-required = yes\n    fragment-size = 1200'), [
    /^sitelink\.conf:7: peers\.hq\.ppk: IKEv2 only .*set version = 2$/,
    /^sitelink\.conf:8: peers\.hq\.ppk-required: IKEv2 only/,
    /^sitelink\.conf:9: peers\.hq\.fragment-size: IKEv2 only/,
  ]);
  t.match(errorsOf('    local-id = dn:O=x, CN=y').join('\n'), /sitelink\.conf:7: peers\.hq\.local-id: .*dn: identities are IKEv2 only/);
});

t.test('mistakes: unknown PPK_ID, ppk-required alone, fragment-size out of range, dn: with psk, bad dn', async (t) => {
  t.match(errorsOf('    version = 2\n    ppk = nope').join('\n'), /sitelink\.conf:8: peers\.hq\.ppk: no PPK "nope" in the secrets file/);
  t.match(errorsOf('    version = 2\n    ppk-required = yes').join('\n'), /sitelink\.conf:8: peers\.hq\.ppk-required: expected a ppk = <PPK_ID> line/);
  t.match(errorsOf('    version = 2\n    fragment-size = 100').join('\n'), /sitelink\.conf:8: peers\.hq\.fragment-size: expected/);
  t.match(errorsOf('    version = 2\n    local-id = dn:O=x, CN=y').join('\n'), /peers\.hq\.local-id: a dn: identity needs certificate authentication/);
  const bad = errorsOf('    version = 2\n    local-id = dn:XX=1').join('\n');
  t.match(bad, /peers\.hq\.local-id: expected a distinguished name .*unknown attribute type "XX"/);
});

t.test('secrets file: a PPK shorter than 32 bytes is refused without showing it', async (t) => {
  const r = parseSecrets('secrets.conf', 'ppk {\n  short = 0x0102030405\n}\n');
  t.notOk(r.ok);
  const text = r.ok ? '' : r.errors.map(formatConfigError).join('\n');
  t.match(text, /secrets\.conf:2: ppk\.short: expected a PPK of at least 32 bytes/);
  t.notMatch(text, /0102030405/);
  const clash = parseSecrets('secrets.conf', 'psk {\n  ppk:x = "y"\n}\n');
  t.notOk(clash.ok, 'an identity cannot pose as a PPK');
});
