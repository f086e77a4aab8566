// The spoke list the load generator reads: one spoke per line,
//   ADDRESS ID PSK_HEX LOCAL_SUBNET
// (its own source address, FQDN identity, pre-shared key, LAN behind it).
// The benchmark writes this file with mode 0600; '#' starts a comment.

import { readFileSync } from 'node:fs';

export interface Spoke {
  address: string;
  id: string;
  pskHex: string;
  subnet: string;
}

export function parseSpokes(text: string): Spoke[] {
  const out: Spoke[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [address, id, pskHex, subnet, extra] = line.split(/\s+/);
    if (address === undefined || id === undefined || pskHex === undefined || subnet === undefined || extra !== undefined) {
      throw new Error(`spokes line ${i + 1}: expected "ADDRESS ID PSK_HEX SUBNET"`);
    }
    if (!/^[0-9a-f]+$/i.test(pskHex) || pskHex.length % 2 !== 0) throw new Error(`spokes line ${i + 1}: PSK must be hex`);
    out.push({ address, id, pskHex, subnet });
  });
  return out;
}

export function readSpokes(file: string): Spoke[] {
  return parseSpokes(readFileSync(file, 'utf8'));
}
