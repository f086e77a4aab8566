// Interop: sitelinkd (version = 2) against strongSwan 5.9 charon with
// certificates (RFC 7427 digital signatures, CERT/CERTREQ), RFC 7383
// fragmentation and RFC 8784 PPK, in one netns lab (the NAT in front of gwA):
//   1. sitelinkd on gwA initiates to charon on gwB with 4096-bit RSA
//      certificates; the NAT drops every IP fragment (nftables, ahead of
//      conntrack's defragmentation), so both IKE_AUTH messages (~2 KB) must
//      cross as IKEv2 fragments. Optional PPK on both sides: it is used.
//   2. charon on gwA initiates to sitelinkd on gwB with ECDSA P-256
//      certificates and DN identities; PPK required on both sides.
//   3./4. the other way round for each key type (RSA through the same NAT);
//   5. charon names a PPK sitelinkd does not have: NO_PPK_AUTH is verified;
//   6. sitelinkd <-> sitelinkd with 4096-bit RSA through the same NAT.
// Traffic must flow and charon must log that it verified our signature.
import t from 'tap';
import type * as Tap from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON } from '../lib/strongswan.ts';
import { charonPair, checkInitiated, checkUp } from '../lib/strongswan-pair.ts';
import { waitUntil } from '../lib/wait.ts';
import { labGatewayPair, sitelinkdPath, startLabPair } from '../netns/ike-sitelinkd.ts';
import { gatewayCert, giveCharonKey, makeGatewayPki, opensslSkipReason, swanctlPubkey } from '../lib/test-pki.ts';
import { dropNatFragments, natFragmentsDropped } from '../lib/nat-fragments.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']) ?? opensslSkipReason();

const PPK_ID = 'branch-ppk';
const PPK_HEX = '5c'.repeat(16) + 'a3'.repeat(16);

t.test('IKEv2 certificates, fragmentation and PPK against strongSwan', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'v2a');
  const nft = await dropNatFragments(lab);
  t.equal(nft.code, 0, `the NAT drops IP fragments ${nft.stderr}`);

  // One PKI per key type for the whole file (copied from test-pki's cache).
  const pkiFor = (key: 4096 | 'ec'): string => {
    const pki = path.join(dir, `pki-${key}`);
    if (!existsSync(pki)) makeGatewayPki(pki, key);
    return pki;
  };

  const run = async (
    t: Tap.Test,
    c: { name: string; key: 4096 | 'ec'; sitelinkdOn: 'gwA' | 'gwB'; dn: boolean; ppkRequired: boolean; ourPpkId?: string },
  ): Promise<void> => {
    const pki = pkiFor(c.key);
    const me = c.sitelinkdOn;
    const other = me === 'gwA' ? 'gwB' : 'gwA';
    const id = (gw: string): string => (c.dn ? `O=sitelink lab, CN=${gw}.lab` : `${gw}.lab`);
    const kind = c.key === 'ec' ? ('ecdsa-sig' as const) : ('rsa-sig' as const);
    const p = await charonPair(lab, dir, {
      sitelinkdOn: me,
      version: 2,
      name: c.name,
      sitelinkd: {
        id: c.dn ? `dn:${id(me)}` : id(me),
        remoteId: c.dn ? `dn:${id(other)}` : id(other),
        pskId: 'unused.lab',
        secretsExtra: `ppk {\n  ${c.ourPpkId ?? PPK_ID} = 0x${PPK_HEX}\n}\n`,
        psk: 'unused-with-certificates',
        cert: gatewayCert(pki, me, kind),
        peerLines: [`ppk = ${c.ourPpkId ?? PPK_ID}`, `ppk-required = ${c.ppkRequired ? 'yes' : 'no'}`],
      },
      charon: (side) => swanctlPubkey({
        ...side,
        pki,
        version: 2,
        fragmentation: 'yes',
        localId: id(other),
        remoteId: id(me),
        connExtra: { ppk_id: PPK_ID, ppk_required: c.ppkRequired ? 'yes' : 'no' },
        secrets: ['ppk-lab {', `  secret = 0x${PPK_HEX}`, `  id = ${PPK_ID}`, '}'],
      }),
      charonReady: async (charon) => {
        const creds = await giveCharonKey(charon, pki, other, c.key === 'ec' ? 'ec' : 'rsa');
        t.equal(creds.code, 0, `charon loaded its key and the PPK ${creds.stderr}`);
      },
      waitMs: 30_000,
    });
    const { charon, daemon, files } = p;
    try {
      if (me === 'gwB') {
        checkInitiated(t, p, 'swanctl --initiate succeeded against sitelinkd');
      }
      checkUp(t, p);
      t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA (3/3)');
      const sas = await charon.listSas();
      t.match(sas, /ESTABLISHED, IKEv2/, 'charon lists an established IKEv2 SA');
      const algo = c.key === 'ec' ? 'ECDSA' : 'RSA_EMSA_PSS';
      t.match(charon.log(), new RegExp(`authentication of '${id(me).replace(/[.]/g, '\\.')}' with ${algo}\\S* successful`), `charon verified our ${algo} signature`);
      const peerScheme = c.key === 'ec' ? 'ecdsa-sha256' : 'rsa';
      const ppkUsed = c.ourPpkId === undefined;
      const ours = new RegExp(`peer .* authenticated \\(we ${kind}, peer ${peerScheme}(-sha\\d+)?${ppkUsed ? ', PPK' : ''}\\)`);
      t.match(
        daemon.logText(),
        ours,
        ppkUsed ? 'sitelinkd verified charon and used the PPK' : "sitelinkd, without charon's PPK, verified its NO_PPK_AUTH instead",
      );
      t.notOk(daemon.logText().includes(PPK_HEX.slice(0, 16)), 'the PPK is not in the log');
      const status = await controlRequest(files.socket, 'sas');
      t.equal(status.mainMode[0]?.auth, kind, `sitelinkctl sas shows ${kind}`);
      if (c.key === 4096) {
        t.match(daemon.logText(), /message sent as \d+ fragments \(RFC 7383\)/, 'sitelinkd sent its IKE_AUTH as IKEv2 fragments');
        t.match(daemon.logText(), /reassembled from \d+ fragments/, "and reassembled charon's");
        t.match(charon.log(), /received fragment #\d+ of \d+/, 'charon received our IKEv2 fragments');
        t.equal(await natFragmentsDropped(lab), 0, 'not one IP fragment reached the NAT');
      }
      const n = await lab.counters();
      t.equal(n.leak?.packets, 0, 'no cleartext LAN packet crossed the NAT');
    } finally {
      await p.stop();
    }
  };

  await t.test('sitelinkd (gwA) initiates, RSA 4096 certificates, IP fragments dropped, optional PPK', (t) =>
    run(t, { name: 'rsa', key: 4096, sitelinkdOn: 'gwA', dn: false, ppkRequired: false }),
  );
  await t.test('strongSwan (gwA) initiates, ECDSA P-256 certificates, DN identities, required PPK', (t) =>
    run(t, { name: 'ec', key: 'ec', sitelinkdOn: 'gwB', dn: true, ppkRequired: true }),
  );
  await t.test('strongSwan (gwA) initiates, RSA certificates through the fragment-dropping NAT', (t) =>
    run(t, { name: 'rsa-r', key: 4096, sitelinkdOn: 'gwB', dn: false, ppkRequired: false }),
  );
  await t.test('sitelinkd (gwA) initiates, ECDSA certificates, DN identities', (t) =>
    run(t, { name: 'ec-i', key: 'ec', sitelinkdOn: 'gwA', dn: true, ppkRequired: false }),
  );
  await t.test("strongSwan initiates with a PPK sitelinkd does not have: NO_PPK_AUTH (RFC 8784 §3), both optional", (t) =>
    run(t, { name: 'ec-n', key: 'ec', sitelinkdOn: 'gwB', dn: false, ppkRequired: false, ourPpkId: 'another-ppk' }),
  );

  await t.test('sitelinkd <-> sitelinkd, 4096-bit RSA certificates, IP fragments dropped: RFC 7383 both ways', async (t) => {
    const pki = pkiFor(4096);
    const files = labGatewayPair(dir, 'unused-with-certificates', {
      a: { version: 2, cert: gatewayCert(pki, 'gwA', 'rsa-sig') },
      b: { version: 2, cert: gatewayCert(pki, 'gwB', 'rsa-sig') },
    });
    const before = await natFragmentsDropped(lab);
    const { a, b } = await startLabPair(t, lab, files);
    const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 30_000, 500);
    if (!up) t.comment(`gwA log:\n${a.logText().slice(-5000)}\ngwB log:\n${b.logText().slice(-5000)}`);
    t.ok(up, 'the tunnel comes up');
    t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA (3/3)');
    t.match(a.logText(), /message sent as \d+ fragments/, 'A fragmented its IKE_AUTH request');
    t.match(b.logText(), /message sent as \d+ fragments/, 'B fragmented its IKE_AUTH response');
    t.match(b.logText(), /authenticated \(we rsa-sig, peer rsa-pss-sha256\)/, 'RSASSA-PSS both ways');
    t.equal(await natFragmentsDropped(lab), before, 'not one IP fragment reached the NAT');
  });
});
