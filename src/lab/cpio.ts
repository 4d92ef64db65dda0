// Writes an uncompressed newc cpio archive, the format the kernel unpacks as an initramfs.

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'char'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

/** Encodes entries in order (parents before children) followed by the TRAILER!!! record. */
export function encodeCpio(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  let ino = 1;
  for (const entry of [...entries, { kind: 'file', path: 'TRAILER!!!', data: Buffer.alloc(0), mode: 0 } as const]) {
    const name = entry.path.replace(/^\/+/, '');
    const data = entry.kind === 'file' ? entry.data : Buffer.alloc(0);
    const type = entry.kind === 'dir' ? S_IFDIR : entry.kind === 'char' ? S_IFCHR : S_IFREG;
    const perm = entry.mode ?? (entry.kind === 'dir' ? 0o755 : entry.kind === 'char' ? 0o600 : 0o644);
    const isTrailer = name === 'TRAILER!!!';
    const fields = [
      isTrailer ? 0 : ino++,
      isTrailer ? 0 : type | perm,
      0, // uid
      0, // gid
      entry.kind === 'dir' ? 2 : 1,
      0, // mtime: fixed, so the archive is reproducible
      data.length,
      0,
      0,
      entry.kind === 'char' ? entry.major : 0,
      entry.kind === 'char' ? entry.minor : 0,
      Buffer.byteLength(name) + 1,
      0,
    ];
    const header = `070701${fields.map((value) => value.toString(16).padStart(8, '0')).join('')}`;
    chunks.push(padTo4(Buffer.concat([Buffer.from(header, 'latin1'), Buffer.from(`${name}\0`)])));
    if (data.length > 0) chunks.push(padTo4(data));
  }
  return Buffer.concat(chunks);
}

function padTo4(buffer: Buffer): Buffer {
  const rest = buffer.length % 4;
  return rest === 0 ? buffer : Buffer.concat([buffer, Buffer.alloc(4 - rest)]);
}
