// Image archives without a registry: `docker save`-format tars (manifest.json, one config per image with its
// rootfs.diff_ids, one tar per layer) built in memory and identical byte for byte for the same input, for
// `docker load` or the engine's load API; and a reader for the tars an engine gives back (`docker save`, `docker cp`).

import { createHash } from 'node:crypto';

/** One member of a tar archive. */
export interface TarEntry {
  /** Relative path, without a leading `/`; a directory's may end in `/`. */
  name: string;
  /** Default `file`. */
  type?: 'file' | 'directory' | 'symlink';
  /** A file's content. */
  data?: Buffer | string;
  /** A symlink's target. */
  linkname?: string;
  /** Permission bits; default 0644 for files, 0755 for directories, 0777 for symlinks. */
  mode?: number;
  /** Seconds since the epoch; default 0, so that the same entries give the same bytes. */
  mtime?: number;
}

/** A member read back from a tar archive. */
export interface ReadTarEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  linkname: string;
  data: Buffer;
}

const BLOCK = 512;
const TYPE_FLAG = { file: '0', directory: '5', symlink: '2' } as const;

/** Writes `value` as a zero-padded octal field of `width` bytes (the last one NUL). */
function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  const text = value.toString(8).padStart(width - 1, '0');
  if (text.length > width - 1) throw new Error(`tar: ${value} does not fit in a ${width}-byte header field`);
  header.write(`${text}\0`, offset, width, 'ascii');
}

/** Splits a path longer than 100 bytes into ustar's prefix (up to 155) and name (up to 100), at a `/`. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let at = name.indexOf('/'); at >= 0; at = name.indexOf('/', at + 1)) {
    const prefix = name.slice(0, at);
    const rest = name.slice(at + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { prefix, name: rest };
  }
  throw new Error(`tar: the path ${JSON.stringify(name)} is too long for a ustar header`);
}

function tarHeader(entry: TarEntry, size: number): Buffer {
  const type = entry.type ?? 'file';
  const header = Buffer.alloc(BLOCK);
  const name = type === 'directory' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const split = splitName(name);
  header.write(split.name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, entry.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644));
  writeOctal(header, 108, 8, 0); // uid
  writeOctal(header, 116, 8, 0); // gid
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, entry.mtime ?? 0);
  header.write(TYPE_FLAG[type], 156, 1, 'ascii');
  if (entry.linkname) header.write(entry.linkname, 157, 100, 'utf8');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  header.write(split.prefix, 345, 155, 'utf8');
  // The checksum is computed with its own field read as eight spaces.
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** A ustar archive of `entries`, in the order given, owned by root, with the end-of-archive blocks. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    if (type === 'symlink' && !entry.linkname) throw new Error(`tar: the symlink ${entry.name} needs a linkname`);
    const data = type === 'file' ? (typeof entry.data === 'string' ? Buffer.from(entry.data) : (entry.data ?? Buffer.alloc(0))) : Buffer.alloc(0);
    parts.push(tarHeader(entry, data.length), data);
    const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function readString(block: Buffer, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? width : end).toString('utf8');
}

function readOctal(block: Buffer, offset: number, width: number): number {
  // GNU tar writes sizes of 8 GiB and more in base-256, marked by the high bit of the first byte.
  if ((block[offset]! & 0x80) !== 0) {
    let value = 0;
    for (let i = offset + 1; i < offset + width; i++) value = value * 256 + block[i]!;
    return value;
  }
  const text = readString(block, offset, width).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** Parses PAX extended-header records (`LEN key=value\n`). */
function readPax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
}

/**
 * The members of a tar archive (ustar, with GNU long names and PAX paths as engines write them). Throws on a
 * header whose checksum is wrong or a member that runs past the end, saying where.
 */
export function readTar(archive: Buffer): ReadTarEntry[] {
  const entries: ReadTarEntry[] = [];
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Record<string, string> = {};
  for (let at = 0; at + BLOCK <= archive.length; ) {
    const block = archive.subarray(at, at + BLOCK);
    if (block.every((byte) => byte === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    const recorded = readOctal(block, 148, 8);
    if (sum !== recorded) throw new Error(`tar: bad header checksum at byte ${at} (computed ${sum}, recorded ${recorded})`);
    const size = readOctal(block, 124, 12);
    const flag = String.fromCharCode(block[156]!);
    const dataStart = at + BLOCK;
    if (dataStart + size > archive.length) throw new Error(`tar: the member at byte ${at} needs ${size} bytes, the archive ends first`);
    const data = archive.subarray(dataStart, dataStart + size);
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'L') {
      longName = readString(data, 0, data.length);
      continue;
    }
    if (flag === 'K') {
      longLink = readString(data, 0, data.length);
      continue;
    }
    if (flag === 'x') {
      pax = readPax(data);
      continue;
    }
    if (flag === 'g') continue;
    const prefix = readString(block, 345, 155);
    const shortName = readString(block, 0, 100);
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${shortName}` : shortName);
    const linkname = pax.linkpath ?? longLink ?? readString(block, 157, 100);
    const type = flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'directory' : flag === '2' ? 'symlink' : flag === '1' ? 'hardlink' : 'other';
    entries.push({ name, type, mode: readOctal(block, 100, 8), linkname, data: Buffer.from(data) });
    longName = null;
    longLink = null;
    pax = {};
  }
  return entries;
}

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A layer: its uncompressed tar and that tar's digest (its diff ID). */
export interface ArchiveLayer {
  diffId: string;
  tar: Buffer;
}

/** A file a layer adds, at an absolute or relative path. */
export interface LayerFile {
  path: string;
  data: Buffer | string;
  mode?: number;
}

/**
 * A layer holding `files`, with an entry for each of their parent directories (0755) before them; the same files
 * give the same bytes and so the same diff ID.
 */
export function makeLayer(files: readonly LayerFile[]): ArchiveLayer {
  const entries: TarEntry[] = [];
  const directories = new Set<string>();
  for (const file of files) {
    const path = file.path.replace(/^\/+/, '');
    if (path === '' || path.endsWith('/')) throw new Error(`layer file path ${JSON.stringify(file.path)} names no file`);
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      const directory = parts.slice(0, depth).join('/');
      if (directories.has(directory)) continue;
      directories.add(directory);
      entries.push({ name: directory, type: 'directory' });
    }
    entries.push({ name: path, data: file.data, mode: file.mode });
  }
  const tar = writeTar(entries);
  return { diffId: sha256Digest(tar), tar };
}

/**
 * The chain ID of each layer of a stack, bottom first: the first is its diff ID, each next one
 * `sha256(<chain ID below> + " " + <diff ID>)`. An engine names its layers by chain ID (docker's
 * `image/<driver>/layerdb/sha256/<hex>`), so two images share a layer only when they share everything below it.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) chain.push(chain.length === 0 ? diffId : sha256Digest(`${chain[chain.length - 1]} ${diffId}`));
  return chain;
}

/** One image of a save archive. */
export interface ArchiveImage {
  /** `name:tag` references the engine tags the image with on load. */
  tags: readonly string[];
  /** Bottom first. */
  layers: readonly ArchiveLayer[];
  /** `config.Labels`. */
  labels?: Record<string, string>;
  /** `config.Cmd`. */
  cmd?: readonly string[];
  /** `config.Env`. */
  env?: readonly string[];
  /** GOARCH names: `amd64`, `arm64`; default `amd64`. */
  architecture?: string;
  /** Default `linux`. */
  os?: string;
  /** RFC 3339; default the epoch, so that the same image gives the same ID. */
  created?: string;
}

/** The image's config (what `docker inspect` shows) as written, and its digest, which is the image's ID. */
export function imageConfig(image: ArchiveImage): { json: Buffer; id: string } {
  const created = image.created ?? '1970-01-01T00:00:00Z';
  const config = {
    architecture: image.architecture ?? 'amd64',
    os: image.os ?? 'linux',
    created,
    config: {
      ...(image.env ? { Env: [...image.env] } : {}),
      ...(image.cmd ? { Cmd: [...image.cmd] } : {}),
      Labels: { ...(image.labels ?? {}) },
    },
    rootfs: { type: 'layers', diff_ids: image.layers.map((layer) => layer.diffId) },
    history: image.layers.map((_, i) => ({ created, created_by: `gauntlet layer ${i + 1}/${image.layers.length}` })),
  };
  const json = Buffer.from(JSON.stringify(config));
  return { json, id: sha256Digest(json) };
}

/**
 * A `docker save`-format archive of `images`: `<layer hex>/layer.tar` (with `VERSION` and `json`) for every
 * distinct layer, `<config hex>.json` for every image, `manifest.json` listing each image's config, tags and
 * layers bottom first, and the legacy `repositories` file. A layer two images share is written once.
 */
export function writeSaveArchive(images: readonly ArchiveImage[]): Buffer {
  const entries: TarEntry[] = [];
  const written = new Set<string>();
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const image of images) {
    const { json, id } = imageConfig(image);
    const configName = `${id.replace(/^sha256:/, '')}.json`;
    const chain = chainIds(image.layers.map((layer) => layer.diffId));
    const layerNames: string[] = [];
    image.layers.forEach((layer, i) => {
      // The legacy layer ID: the chain ID names the layer with everything below it, as `docker save` does.
      const dir = chain[i]!.replace(/^sha256:/, '');
      layerNames.push(`${dir}/layer.tar`);
      if (written.has(dir)) return;
      written.add(dir);
      const parent = i > 0 ? chain[i - 1]!.replace(/^sha256:/, '') : undefined;
      entries.push(
        { name: dir, type: 'directory' },
        { name: `${dir}/VERSION`, data: '1.0' },
        { name: `${dir}/json`, data: JSON.stringify({ id: dir, ...(parent ? { parent } : {}), created: image.created ?? '1970-01-01T00:00:00Z' }) },
        { name: `${dir}/layer.tar`, data: layer.tar },
      );
    });
    if (!written.has(configName)) {
      written.add(configName);
      entries.push({ name: configName, data: json });
    }
    manifest.push({ Config: configName, RepoTags: [...image.tags], Layers: layerNames });
    const top = chain[chain.length - 1]?.replace(/^sha256:/, '');
    for (const tag of image.tags) {
      const colon = tag.lastIndexOf(':');
      if (colon <= 0 || tag.slice(colon).includes('/')) throw new Error(`image reference ${JSON.stringify(tag)} needs a :tag`);
      if (top) (repositories[tag.slice(0, colon)] ??= {})[tag.slice(colon + 1)] = top;
    }
  }
  entries.push({ name: 'manifest.json', data: JSON.stringify(manifest) }, { name: 'repositories', data: JSON.stringify(repositories) });
  return writeTar(entries);
}
