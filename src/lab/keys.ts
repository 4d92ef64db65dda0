// The lab's generated SSH keys: the client key gauntlet logs in with, and the host key baked into the guest image.

import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabPaths } from './cache.js';
import { runTool } from './host-tools.js';

export interface LabKeys {
  /** Private key for `ansible_ssh_private_key_file`. */
  clientKey: string;
  clientPublic: string;
  /** The guests' ed25519 host key (private), copied into the image. */
  hostKey: string;
  /** `ssh-ed25519 AAAA…`, the line known_hosts pins. */
  hostPublic: string;
}

/** Generates the two ed25519 key pairs once per cache and returns them. */
export async function ensureLabKeys(paths: LabPaths): Promise<LabKeys> {
  await mkdir(paths.keys, { recursive: true, mode: 0o700 });
  const clientKey = join(paths.keys, 'id_ed25519');
  const hostKey = join(paths.keys, 'ssh_host_ed25519_key');
  await generateKeyIfMissing(clientKey, 'gauntlet-lab');
  await generateKeyIfMissing(hostKey, 'gauntlet-lab-host');
  const [clientPublic, hostPublic] = await Promise.all([readPublicKey(clientKey), readPublicKey(hostKey)]);
  return { clientKey, clientPublic, hostKey, hostPublic };
}

async function generateKeyIfMissing(file: string, comment: string): Promise<void> {
  try {
    await access(file);
    await access(`${file}.pub`);
  } catch {
    await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { input: 'y\n' });
  }
}

/** `type base64` without the comment. */
async function readPublicKey(file: string): Promise<string> {
  const [type, blob] = (await readFile(`${file}.pub`, 'utf8')).trim().split(/\s+/);
  return `${type} ${blob}`;
}
