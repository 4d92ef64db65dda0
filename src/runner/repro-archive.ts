// Writes a reproduction bundle as one .tar.gz, all at once: a bundle is either complete or absent.

import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { create } from 'tar';
import type { BundleFiles } from '../report/index.js';

/**
 * Writes `files` under one folder `top` inside the gzipped tar `path`. The files are staged in a temporary folder next
 * to `path` and the archive is written under a temporary name, then renamed: a reader never sees a partial bundle.
 */
export async function writeBundleArchive(path: string, top: string, files: BundleFiles): Promise<void> {
  const parent = dirname(path);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.${basename(path)}-`));
  const partial = join(staging, 'bundle.tar.gz');
  try {
    for (const [name, text] of files) {
      const file = join(staging, top, name);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text, { mode: 0o644 });
    }
    // portable: no owner names or ids of the runner's user in the archive; sorted so the listing reads in order.
    await create({ gzip: true, file: partial, cwd: staging, portable: true }, [...[...files.keys()].sort().map((name) => join(top, name))]);
    await rename(partial, path);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
