// Two strongSwan gateways on the lab: gwA (behind the NAT, initiator) and gwB.
import path from 'node:path';
import type { Lab } from './lab.ts';
import { LAB } from './lab.ts';
import { Charon, randomPskHex, swanctlConf } from './strongswan.ts';

export interface PairOptions {
  version: 1 | 2;
  ikeProposals?: string;
  espProposals?: string;
}

export interface StrongswanPair {
  gwA: Charon;
  gwB: Charon;
  stop(): Promise<void>;
}

export async function startStrongswanPair(lab: Lab, opts: PairOptions): Promise<StrongswanPair> {
  const psk = randomPskHex();
  const common = {
    name: 'lab',
    version: opts.version,
    ikeProposals: opts.ikeProposals ?? 'aes128-sha256-modp2048',
    espProposals: opts.espProposals ?? 'aes128gcm16',
    pskHex: psk,
  };
  const base = `/tmp/sitelink-lab/${lab.prefix}`;
  const gwB = await Charon.start(lab.ns('gwB'), path.join(base, 'ts-charon-gwB'), swanctlConf({
    ...common,
    localAddr: LAB.gwBWan, remoteAddr: LAB.natPublic, localId: 'gwB.lab', remoteId: 'gwA.lab',
    localTs: LAB.subnetB, remoteTs: LAB.subnetA,
  }));
  let gwA: Charon;
  try {
    gwA = await Charon.start(lab.ns('gwA'), path.join(base, 'ts-charon-gwA'), swanctlConf({
      ...common,
      localAddr: LAB.gwAWan, remoteAddr: LAB.gwBWan, localId: 'gwA.lab', remoteId: 'gwB.lab',
      localTs: LAB.subnetA, remoteTs: LAB.subnetB,
    }));
  } catch (e) {
    await gwB.stop();
    throw e;
  }
  return { gwA, gwB, stop: async () => { await gwA.stop(); await gwB.stop(); } };
}
