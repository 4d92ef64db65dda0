// Resolves paths written in an inventory (`~` and inventory-relative) and checks key files are readable.
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
};

/**
 * `~` and `~/x` become the user's home; relative paths are taken from the inventory's directory, as
 * Ansible does for key files. `~other/x` is refused rather than guessed (undefined).
 */
export function resolveUserPath(raw: string, baseDir: string): string | undefined {
  if (raw === '~') return homedir();
  if (raw.startsWith('~/')) return resolve(homedir(), raw.slice(2));
  if (raw.startsWith('~')) return undefined;
  return isAbsolute(raw) ? resolve(raw) : resolve(baseDir, raw);
}

/**
 * Why a key file cannot be used, as `ENOENT: no such file`, or undefined when it can. A directory is
 * refused explicitly because access(R_OK) succeeds on one; a dangling symlink gives ENOENT.
 */
export function explainUnreadableFile(path: string): string | undefined {
  try {
    if (statSync(path).isDirectory()) return describeErrno('EISDIR');
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return describeErrno(code);
  }
}

/** `ENOENT: no such file`: the errno code and its meaning in words. */
export function describeErrno(code: string): string {
  const words = ERRNO_WORDS[code];
  return words === undefined ? code : `${code}: ${words}`;
}
