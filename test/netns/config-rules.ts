// Adds a rule (its own filter list and filter action) ahead of the negotiate rule in
// a config writeGatewayConfig() wrote, for the policy tests' permit and block filters.
// Helper for the netns tests; not a test itself.
import { readFileSync, writeFileSync } from 'node:fs';

export interface ExtraRule {
  /** The rule's name (it shows in sitelinkd's nftables ruleset). */
  name: string;
  /** Its filter list: a name and one filter's `key = value` lines. */
  list: string;
  filter: Record<string, string>;
  /** Its filter action's name, and that action's `key = value` lines (e.g. { action: 'block' });
   * without them the action is one the config already has. */
  actionName: string;
  action?: Record<string, string>;
  /** The peer of a negotiate rule. */
  peer?: string;
}

const lines = (indent: string, kv: Record<string, string>): string =>
  Object.entries(kv).map(([k, v]) => `${indent}${k} = ${v}\n`).join('');

/** Writes `r` into the config file `file` (0600), first in each section. */
export function addRule(file: string, r: ExtraRule): void {
  let text = readFileSync(file, 'utf8');
  const insert = (section: string, body: string): void => {
    const head = `${section} {\n`;
    if (!text.includes(head)) throw new Error(`addRule: no ${section} section in ${file}`);
    text = text.replace(head, head + body);
  };
  insert('filter-lists', `  ${r.list} {\n    f {\n${lines('      ', r.filter)}    }\n  }\n`);
  if (r.action) insert('filter-actions', `  ${r.actionName} {\n${lines('    ', r.action)}  }\n`);
  const rule: Record<string, string> = { filters: r.list, action: r.actionName };
  if (r.peer !== undefined) rule['peer'] = r.peer;
  insert('rules', `  ${r.name} {\n${lines('    ', rule)}  }\n`);
  writeFileSync(file, text, { mode: 0o600 });
}
