// The README's first command runs `npx gauntlet` in the project: npm runs the package's own bin, which the build
// must leave executable (tsc writes plain files).

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npx gauntlet in the project', function () {
  this.timeout(120_000);

  it('runs the built command, as the README tells a new user to', async () => {
    const { version } = JSON.parse(await readFile(new URL('package.json', `file://${ROOT}`), 'utf8')) as { version: string };
    const result = await execa('npx', ['--no-install', 'gauntlet', '--version'], { cwd: ROOT, reject: false });
    expect(result.stderr, 'stderr').to.not.match(/Permission denied|not found/);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stdout.trim()).to.equal(version);
  });
});
