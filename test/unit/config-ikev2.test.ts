// `version = 1 | 2` per peer: version 2 loads, and every option of the other
// version is refused with file:line:field (validator, config/validate.ts).

import t from 'tap';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { formatConfigError } from '../../firmware/src/config/types.ts';

const conf = (peerLines: string): string => `gateway { id = gw.branch.lab }
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

const errorsOf = (text: string): string[] => {
  const r = loadConfigText('sitelink.conf', text, { secrets: false });
  return r.ok ? [] : r.errors.map(formatConfigError);
};

t.test('version = 2 loads and reaches the peer', async (t) => {
  const r = loadConfigText('sitelink.conf', conf('    version = 2\n    ike-lifetime = 4h'), { secrets: false });
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  t.equal(r.config.peers.get('hq')!.ikeVersion, 2);
  t.equal(r.config.peers.get('hq')!.keyExchange.lifetimeSeconds, 4 * 3600);
});

t.test('version defaults to 1; other values are refused', async (t) => {
  const r = loadConfigText('sitelink.conf', conf(''), { secrets: false });
  t.ok(r.ok && r.config.peers.get('hq')!.ikeVersion === 1);
  t.same(errorsOf(conf('    version = 3')), ['sitelink.conf:6: peers.hq.version: expected 1 or 2, got "3"']);
});

t.test('IKEv1-only options with version = 2: one file:line:field error each', async (t) => {
  const errs = errorsOf(conf('    version = 2\n    mode = main\n    main-mode-lifetime = 8h\n    quick-mode-limit = 3\n    master-key-pfs = yes'));
  t.match(errs, [
    /^sitelink\.conf:7: peers\.hq\.mode: IKEv1 only .*set version = 1$/,
    /^sitelink\.conf:8: peers\.hq\.main-mode-lifetime: IKEv1 only .*ike-lifetime/,
    /^sitelink\.conf:9: peers\.hq\.quick-mode-limit: IKEv1 only/,
    /^sitelink\.conf:10: peers\.hq\.master-key-pfs: IKEv1 only/,
  ]);
});

t.test('IKEv2-only options with version 1', async (t) => {
  t.match(errorsOf(conf('    ike-lifetime = 4h')), [/^sitelink\.conf:6: peers\.hq\.ike-lifetime: IKEv2 only .*set version = 2$/]);
});

t.test('version = 2 takes certificates (asking for their files) but refuses 3DES-only proposals', async (t) => {
  const certErrors = errorsOf(conf('    version = 2\n    auth = rsa-sig')).join('\n');
  t.match(certErrors, /peers\.hq\.certificate: missing/);
  t.notMatch(certErrors, /peers\.hq\.auth/);
  t.match(errorsOf(conf('    version = 2\n    proposals = 3des-sha1-modp2048')).join('\n'), /peers\.hq\.proposals: expected at least one AES proposal/);
});

t.test('AEAD IKE SA suites (RFC 5282): written as strongSwan does, IKEv2 only', async (t) => {
  const r = loadConfigText(
    'sitelink.conf',
    conf('    version = 2\n    proposals = aes256gcm16-prfsha384-ecp384, chacha20poly1305-prfsha256-curve25519, aes128gcm-sha256-modp3072'),
    { secrets: false },
  );
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  t.same(r.config.peers.get('hq')!.keyExchange.methods, [
    { encryption: 'aes256gcm16', integrity: 'sha384', dhGroup: 20 },
    { encryption: 'chacha20poly1305', integrity: 'sha256', dhGroup: 31 },
    { encryption: 'aes128gcm16', integrity: 'sha256', dhGroup: 15 },
  ]);
  t.match(errorsOf(conf('    proposals = aes256gcm16-prfsha384-ecp384, aes256-sha256-modp2048')), [
    /^sitelink\.conf:6: peers\.hq\.proposals: IKEv2 only \(aes256gcm16-prfsha384-ecp384: IKEv1 has no AEAD IKE SA cipher\).*set version = 2$/,
  ]);
  t.match(errorsOf(conf('    version = 2\n    proposals = aes256gcm16-prfmd5-ecp384')), [/peers\.hq\.proposals: expected a PRF prfsha1/]);
});

t.test('esn = no | yes | either: IKEv2 only, reaches the tunnels', async (t) => {
  const r = loadConfigText('sitelink.conf', conf('    version = 2\n    esn = either'), { secrets: false });
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  t.equal(r.config.peers.get('hq')!.esn, 'either');
  t.match(errorsOf(conf('    esn = yes')), [/^sitelink\.conf:6: peers\.hq\.esn: IKEv2 only .*set version = 2$/]);
  t.match(errorsOf(conf('    version = 2\n    esn = maybe')), [/^sitelink\.conf:7: peers\.hq\.esn: expected one of no, yes, either/]);
});

t.test('RFC 9370 additional key exchanges: "-ke1_mlkem768" as in strongSwan, IKEv2 only, reaches the policy', async (t) => {
  const proposals = 'aes256gcm16-prfsha256-x25519-ke1_mlkem768-ke1_none, aes256-sha384-ecp384-ke1_mlkem1024-ke2_mlkem768';
  const r = loadConfigText('sitelink.conf', conf(`    version = 2\n    proposals = ${proposals}`), { secrets: false });
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  t.same(
    r.config.peers.get('hq')!.keyExchange.methods.map((m) => m.addKe),
    [[{ slot: 1, ids: [36, 0] }], [{ slot: 1, ids: [37] }, { slot: 2, ids: [36] }]],
  );
  t.same(errorsOf(conf('    proposals = aes256-sha256-modp2048-ke1_mlkem768')), [
    'sitelink.conf:6: peers.hq.proposals: IKEv2 only (aes256-sha256-modp2048-ke1_mlkem768: additional key exchanges such as ML-KEM ' +
      'need IKE_INTERMEDIATE, RFC 9370); remove the -ke<n>_ parts or set version = 2',
  ]);
  t.match(errorsOf(conf('    version = 2\n    proposals = aes256-sha256-x25519-ke1_kyber768')), [
    /^sitelink\.conf:7: peers\.hq\.proposals: expected mlkem512, mlkem768, mlkem1024, none or a DH group after ke1_ instead of "kyber768"/,
  ]);
  t.match(errorsOf(conf('    version = 2\n    proposals = aes256-sha256-x25519-ke8_mlkem768')), [
    /^sitelink\.conf:7: peers\.hq\.proposals: expected an additional key exchange such as ke1_mlkem768 \(ke1\.\.ke7/,
  ]);
  t.match(errorsOf(conf('    version = 2\n    proposals = aes256-sha256-x25519-ke1_mlkem768-ke1_mlkem768')), [/ke1_mlkem768 given twice/]);
});

t.test('a weak group as an additional key exchange is refused like a weak main group', async (t) => {
  t.match(errorsOf(conf('    version = 2\n    proposals = aes256-sha256-x25519-ke1_modp768')), [/^sitelink\.conf:7: peers\.hq\.proposals: "aes256-sha256-x25519-ke1_modp768" uses DH group 1 \(modp768\), refused unless allow-weak = yes/]);
});
