// Where things are, for tests. shared/ sits beside the repository (CI clones
// the repo with shared/ next to it), never inside it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir: string = path.resolve(repoRoot, '..', 'shared');
export const labScript: string = path.join(repoRoot, 'scripts', 'lab', 'netns');
export const staticTool: string = path.join(repoRoot, 'dist', 'sitelink-static.mjs');
