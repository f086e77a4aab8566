/**
 * Routes for remote subnets point at the engine's TUN device, so the kernel
 * hands their packets to the workers. Done with iproute2 (`ip route replace`
 * is idempotent; `ip route del` of a missing route is not an error here).
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { checkCidr } from './validate.ts';

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

function family(cidr: string): string {
  return isIP(cidr.split('/')[0] ?? '') === 6 ? '-6' : '-4';
}

export async function addRoute(cidr: string, dev: string): Promise<void> {
  checkCidr(cidr, 'route');
  await ip([family(cidr), 'route', 'replace', cidr, 'dev', dev]);
}

export async function deleteRoute(cidr: string, dev: string): Promise<void> {
  checkCidr(cidr, 'route');
  try {
    await ip([family(cidr), 'route', 'del', cidr, 'dev', dev]);
  } catch (e) {
    if (!/No such process|Cannot find device/.test((e as Error).message)) throw e;
  }
}
