// OpenSSH known_hosts: look up a host's recorded keys, judge a presented key, record new keys.

import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  keyType: string;
  /** The key blob, as the server sends it. */
  key: Buffer;
  line: number;
  revoked: boolean;
}

export type HostKeyVerdict =
  | { kind: 'match'; entry: KnownHostEntry }
  | { kind: 'unknown' }
  | { kind: 'changed'; expected: KnownHostEntry[] }
  | { kind: 'revoked'; entry: KnownHostEntry };

/** The name OpenSSH records a host under: `addr` for port 22, `[addr]:port` otherwise. */
export function knownHostName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** `SHA256:…` as `ssh-keygen -l` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Host key algorithms that a recorded key type can be presented under. */
export function algorithmsForKeyType(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

function matchesPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  if (!/[*?]/.test(pattern)) return pattern === name;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/** True when a comma-separated host field names `name` and no `!negation` in it does. */
function fieldMatches(field: string, name: string): boolean {
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (matchesPattern(pattern.slice(1), name)) return false;
    } else if (matchesPattern(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** Every entry recorded for `name` in known_hosts text. `@cert-authority` lines are not host keys and are skipped. */
export function findKnownHostEntries(text: string, name: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') continue;
      revoked = marker === '@revoked';
    }
    const [hosts, keyType, keyBase64] = fields;
    if (!hosts || !keyType || !keyBase64) continue;
    if (!fieldMatches(hosts, name)) continue;
    entries.push({ keyType, key: Buffer.from(keyBase64, 'base64'), line: i + 1, revoked });
  }
  return entries;
}

/** Judges a presented key the way OpenSSH does: revoked beats match; a mismatch of a recorded type is a change. */
export function judgeHostKey(entries: KnownHostEntry[], presented: Buffer): HostKeyVerdict {
  const revoked = entries.find((entry) => entry.revoked && entry.key.equals(presented));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const valid = entries.filter((entry) => !entry.revoked);
  const match = valid.find((entry) => entry.key.equals(presented));
  if (match) return { kind: 'match', entry: match };
  const sameType = valid.filter((entry) => entry.keyType === keyTypeOf(presented));
  if (sameType.length > 0) return { kind: 'changed', expected: sameType };
  // A key of a type not recorded for this host: OpenSSH asks, so gauntlet treats it as unknown.
  return { kind: 'unknown' };
}

/** A known_hosts file read once per run, with serialised appends for `--accept-new-host-keys`. */
export class KnownHostsFile {
  private text: Promise<string> | undefined;
  private appending: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async entriesFor(name: string): Promise<KnownHostEntry[]> {
    this.text ??= readFile(this.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    return findKnownHostEntries(await this.text, name);
  }

  /** Appends `name keytype base64`; concurrent callers are serialised so lines never interleave. */
  async record(name: string, key: Buffer): Promise<void> {
    const line = `${name} ${keyTypeOf(key)} ${key.toString('base64')}\n`;
    const next = this.appending.then(async () => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await appendFile(this.path, line, { mode: 0o600 });
      if (this.text) this.text = this.text.then((text) => (text === '' || text.endsWith('\n') ? text : `${text}\n`) + line);
    });
    this.appending = next.catch(() => undefined);
    await next;
  }
}

/** One KnownHostsFile per path for the whole process, so every host of a run shares reads and appends. */
const openFiles = new Map<string, KnownHostsFile>();

export function openKnownHosts(path: string): KnownHostsFile {
  let file = openFiles.get(path);
  if (!file) {
    file = new KnownHostsFile(path);
    openFiles.set(path, file);
  }
  return file;
}
