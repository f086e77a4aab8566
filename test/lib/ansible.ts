// Running ansible-core from tests against the collection in ansible/ (Debian 12's
// ansible-core, installed by scripts/setup): the checkout's collection linked into a
// private collections path, a private ANSIBLE_HOME, no ControlPersist masters left.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.ts';

export const ANSIBLE_PLAYBOOK = '/usr/bin/ansible-playbook';
export const ANSIBLE = '/usr/bin/ansible';

/** Why the Ansible tests cannot run here, or null. */
export function ansibleSkipReason(): string | null {
  return existsSync(ANSIBLE_PLAYBOOK) ? null : `SKIPPED: ${ANSIBLE_PLAYBOOK} is missing (bash scripts/setup installs ansible-core)`;
}

/** Environment for ansible-core with the checkout's collection as sitelink.fleet; state under dir. */
export function ansibleEnv(dir: string): NodeJS.ProcessEnv {
  const colls = path.join(dir, 'collections', 'ansible_collections', 'sitelink');
  if (!existsSync(path.join(colls, 'fleet'))) {
    mkdirSync(colls, { recursive: true });
    symlinkSync(path.join(repoRoot, 'ansible'), path.join(colls, 'fleet'));
  }
  return {
    ...process.env,
    ANSIBLE_COLLECTIONS_PATH: path.join(dir, 'collections'),
    ANSIBLE_HOME: path.join(dir, 'ansible-home'),
    ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'),
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_SSH_ARGS: '-o ControlMaster=no -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    ANSIBLE_FORKS: '4',
  };
}

/** Runs argv with stdin closed; resolves with the exit code and all output. */
export function execEnv(argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: `${stdout}\n${stderr}` });
    }).stdin?.end();
  });
}

/** ansible-playbook ansible/playbooks/BOOK in network namespace ns. */
export function playbook(
  ns: string,
  env: NodeJS.ProcessEnv,
  inventory: string,
  book: string,
  ...extra: string[]
): Promise<{ code: number; out: string }> {
  return execEnv(
    ['ip', 'netns', 'exec', ns, ANSIBLE_PLAYBOOK, '-i', inventory, path.join(repoRoot, 'ansible', 'playbooks', book), ...extra],
    env,
  );
}
