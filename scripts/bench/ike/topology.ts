// Two namespaces of our own: PREFIX-hub (172.16.0.1/12 on a veth) and
// PREFIX-spk (every spoke address on the other end of that veth). Nothing
// else is reachable from either namespace.

import { writeFileSync } from 'node:fs';
import { exec, execOk } from './exec.ts';
import { spokeLanAddress } from './charon-spokes.ts';
import { HUB } from './plan.ts';
import type { Spoke } from '../../../firmware/src/tools/loadgen/spokes.ts';

export class Topology {
  readonly prefix: string;
  readonly hubNs: string;
  readonly spokeNs: string;

  constructor(prefix: string) {
    if (!/^[a-z][a-z0-9]{1,10}$/.test(prefix)) throw new Error(`bad namespace prefix ${prefix}`);
    this.prefix = prefix;
    this.hubNs = `${prefix}-hub`;
    this.spokeNs = `${prefix}-spk`;
  }

  /** `batchDir`: where the `ip -batch` files go (a private temp directory). */
  async up(spokes: readonly Spoke[], batchDir: string): Promise<void> {
    const vh = `${this.prefix}h`;
    const vs = `${this.prefix}s`;
    await execOk('ip', ['netns', 'add', this.hubNs]);
    await execOk('ip', ['netns', 'add', this.spokeNs]);
    await execOk('ip', ['link', 'add', vh, 'netns', this.hubNs, 'type', 'veth', 'peer', 'name', vs, 'netns', this.spokeNs]);
    // A hub LAN address (/32 on lo; no dummy links on this kernel): charon
    // (kernel-libipsec, install_routes) wants a local address inside its
    // local traffic selector, else the CHILD_SA is deleted right after QM3.
    const hubCmds = [
      'link set lo up',
      `addr add ${HUB.lanAddress}/32 dev lo`,
      `addr add ${HUB.address}/${HUB.prefix} dev ${vh}`,
      `link set ${vh} up`,
    ];
    // Spoke addresses as /32s on the veth plus one host route to the hub (N
    // addresses with a /12 each would make N identical prefix routes).
    // Each spoke's LAN address on lo, for strongSwan as the load generator (charon-spokes.ts).
    const spokeCmds = [
      'link set lo up',
      `link set ${vs} up`,
      `route add ${HUB.address}/32 dev ${vs}`,
      ...spokes.map((s) => `addr add ${s.address}/32 dev ${vs}`),
      ...spokes.map((s) => `addr add ${spokeLanAddress(s)}/32 dev lo`),
    ];
    for (const [ns, cmds] of [[this.hubNs, hubCmds], [this.spokeNs, spokeCmds]] as const) {
      const file = `${batchDir}/${ns}.ip`;
      writeFileSync(file, `${cmds.join('\n')}\n`);
      await execOk('ip', ['-n', ns, '-batch', file], 120_000);
    }
    const ping = await exec('ip', ['netns', 'exec', this.spokeNs, 'ping', '-c1', '-W2', '-I', spokes[0]!.address, HUB.address]);
    if (!ping.ok) throw new Error(`spoke namespace cannot reach the hub: ${ping.out}`);
  }

  async down(): Promise<void> {
    for (const ns of [this.spokeNs, this.hubNs]) await exec('ip', ['netns', 'del', ns]);
  }
}
