// Reads every file under a folder into a map by relative path, for tests that check what a command wrote.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every file below `dir` as text, keyed by its path relative to `dir` (with `/`). */
export async function readFileTree(dir: string, prefix = ''): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) for (const [inner, text] of await readFileTree(dir, path)) files.set(inner, text);
    else files.set(path, await readFile(join(dir, path), 'utf8'));
  }
  return files;
}
