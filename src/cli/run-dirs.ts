// Checks a folder named on the command line before anything reads it: bad input names the folder and what was expected.

import { stat } from 'node:fs/promises';
import { GauntletError } from '../model/index.js';

/** Resolves when `dir` is a directory; otherwise a USAGE error: `DIR: no such directory`, or `DIR: not a directory (expected …)`. */
export async function assertDirectory(dir: string, expected: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GauntletError('USAGE', code === 'ENOENT' ? `${dir}: no such directory` : `${dir}: ${(err as Error).message}`, { cause: err });
  }
  if (!isDirectory) throw new GauntletError('USAGE', `${dir}: not a directory (expected ${expected})`);
}
