// The strongSwan reference-peer harness on the netns lab: two charons (gwA
// behind the NAT, gwB) bring up a PSK tunnel and lanA/lanB talk through it.
// Proves the harness works before it is used against sitelink.
import t from 'tap';
import { Lab, LAB, uniquePrefix } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON } from '../lib/strongswan.ts';
import { startStrongswanPair } from '../lib/strongswan-pair.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']);

const cases = [
  { version: 1 as const, espProposals: 'aes128gcm16' },
  { version: 2 as const, espProposals: 'aes128-sha256' },
];

for (const c of cases) {
  t.test(`strongSwan IKEv${c.version} ESP ${c.espProposals}, gwA behind NAT`, { skip: skip ?? false }, async (t) => {
    const lab = new Lab(uniquePrefix('ss'));
    t.teardown(() => lab.down());
    await lab.up();
    const pair = await startStrongswanPair(lab, { version: c.version, espProposals: c.espProposals });
    t.teardown(() => pair.stop());

    const init = await pair.gwA.initiate('lab');
    t.equal(init.code, 0, 'swanctl --initiate succeeded');
    if (init.code !== 0) t.comment(init.stdout.slice(-3000), pair.gwA.log().slice(-3000));
    const sas = await pair.gwB.listSas();
    t.match(sas, /ESTABLISHED/, 'gwB lists an established IKE SA');
    t.match(sas, /INSTALLED, TUNNEL-in-UDP/, 'gwB has a tunnel-mode CHILD_SA with UDP encapsulation');
    t.match(sas, new RegExp(`remote.*${LAB.natPublic.replace(/\./g, '\\.')}`), 'gwB sees gwA at the NAT public address');

    t.ok(await lab.ping('lanA', LAB.lanB), 'lanA pings lanB through the tunnel');
    t.ok(await lab.ping('lanB', LAB.lanA), 'lanB pings lanA through the tunnel');

    const n = await lab.counters();
    t.equal(n.leak?.packets, 0, 'no cleartext LAN packet crossed the NAT');
    t.ok(n.espudp.packets >= 12, `UDP 4500 traffic crossed the NAT (${n.espudp.packets} packets)`);
    t.equal(n.rawesp.packets, 0, 'no raw ESP (libipsec always encapsulates)');
  });
}
