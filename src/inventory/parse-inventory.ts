// Reads an inventory file or text into an Inventory, or throws one error listing every problem in it.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { GauntletError, type Inventory } from '../model/index.js';
import { describeErrno } from './file-paths.js';
import { ProblemList } from './problems.js';
import { readInventoryTree } from './read-tree.js';
import { resolveInventory } from './resolve-hosts.js';
import { parseYamlSource } from './yaml-source.js';

export interface ParseInventoryOptions {
  /** Directory that relative key, console and known_hosts paths are resolved against; default the file's. */
  baseDir?: string;
}

/** Reads, checks and resolves an inventory file; never touches the network. */
export async function loadInventory(file: string): Promise<Inventory> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new GauntletError('INVENTORY_INVALID', `${file}: 1 problem`, {
      details: [`${file}: expected a readable inventory file, got ${describeErrno(code)}`],
    });
  }
  const inventory = parseInventory(bytes.toString('utf8'), file);
  return { ...inventory, digest: hashBytes(bytes) };
}

/**
 * Checks and resolves inventory text. `file` names the inventory in messages and in `HostSpec.source`.
 * Every problem is collected before anything is thrown, so one run shows the user all of them.
 */
export function parseInventory(text: string, file: string, opts: ParseInventoryOptions = {}): Inventory {
  const problems = new ProblemList();
  const src = parseYamlSource(text, problems);
  let inventory: Inventory = { file, digest: hashBytes(Buffer.from(text, 'utf8')), hosts: [], groups: {} };
  // After a YAML syntax error the tree is a guess; checking it would bury the real error under noise.
  if (!src.hasSyntaxErrors) {
    const tree = readInventoryTree({ src, baseDir: opts.baseDir ?? dirname(resolve(file)), problems });
    inventory = { ...inventory, ...resolveInventory(tree, file, problems) };
  }
  if (problems.size > 0) {
    const details = problems.formatLines(file);
    const count = `${details.length} problem${details.length === 1 ? '' : 's'}`;
    throw new GauntletError('INVENTORY_INVALID', `${file}: ${count}`, { details });
  }
  return inventory;
}

function hashBytes(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
