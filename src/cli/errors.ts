// Turns any failure into what a user should see: one clear line (and details) with the right exit code.

import { isGauntletError } from '../model/index.js';

/** Exit codes are a public contract. */
export const EXIT = {
  OK: 0,
  /** Something under test failed, or a host did not answer. */
  FAILED: 1,
  /** Bad input: arguments, inventory, files. */
  USAGE: 2,
  /** Not enough evidence to decide (qualification). */
  INSUFFICIENT: 3,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

const USAGE_CODES = new Set(['INVENTORY_INVALID', 'USAGE']);

/** Prints an error for a user and returns the exit code; only real bugs show a stack trace (with GAUNTLET_DEBUG=1). */
export function reportError(err: unknown, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): number {
  if (isGauntletError(err)) {
    write(`gauntlet: ${err.message}`);
    for (const detail of err.details) write(`  ${detail}`);
    return USAGE_CODES.has(err.code) ? EXIT.USAGE : EXIT.FAILED;
  }
  const message = err instanceof Error ? err.message : String(err);
  write(`gauntlet: internal error: ${message}`);
  if (process.env.GAUNTLET_DEBUG && err instanceof Error && err.stack) write(err.stack);
  else write('  (set GAUNTLET_DEBUG=1 for the stack trace, and please report it)');
  return EXIT.FAILED;
}
