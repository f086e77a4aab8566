// Where things are, for tests. shared/ sits beside the repository (CI clones
// the repo with shared/ next to it), never inside it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir: string = path.resolve(repoRoot, '..', 'shared');
export const labScript: string = path.join(repoRoot, 'scripts', 'lab', 'netns');
export const staticTool: string = path.join(repoRoot, 'dist', 'sitelink-static.mjs');

/**
 * A file under test/fixtures (kept in the repository: the strongSwan captures and their lab-only
 * key tables). A missing fixture throws, so the test file fails instead of passing with no assertions.
 */
export function fixture(...parts: string[]): string {
  const file = path.join(repoRoot, 'test', 'fixtures', ...parts);
  if (!existsSync(file)) throw new Error(`test fixture missing: ${file}`);
  return file;
}
