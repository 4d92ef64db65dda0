// `gauntlet classify` as a user runs it: the built CLI as a child process on temporary log files and on stdin.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import { readConsoleFixtures } from '../helpers/console-corpus.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/console/', import.meta.url));

describe('gauntlet classify (CLI)', function () {
  this.timeout(60_000);
  let dir: string;
  let hung: string;
  let memcg: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-classify-'));
    const fixtures = new Map(readConsoleFixtures(FIXTURES, (name) => name.endsWith('.txt')).map((f) => [f.name, f.log]));
    hung = join(dir, 'hung.log');
    memcg = join(dir, 'memcg.log');
    // Invalid UTF-8 (a lone 0xff) in the middle of the log must not stop the classification.
    await writeFile(hung, Buffer.concat([Buffer.from('[    1.000000] boot \xff\n', 'latin1'), Buffer.from(fixtures.get('hung-task-copy-net-ns.txt')!)]));
    await writeFile(memcg, fixtures.get('memcg-oom-kill.txt')!);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stops writing quietly when its reader goes away, and still exits as the logs say', async () => {
    // Enough output to fill the pipe many times over: later writes fail with EPIPE once `head` has exited.
    const files = Array.from({ length: 200 }, () => hung);
    const result = await execa('bash', ['-o', 'pipefail', '-c', 'node "$0" classify --json "$@" | head -c 10', CLI_PATH, ...files], { reject: false });
    expect(result.stdout).to.equal('{"file":"/'.slice(0, 10));
    expect(result.stderr).to.equal('');
    expect(result.exitCode).to.equal(1);
  });

  it('prints one JSON object per file and exits 1 when a log shows a crash', async () => {
    const result = await runCli(['classify', '--json', hung, memcg]);
    expect(result.exitCode, result.stderr).to.equal(1);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).to.have.length(2);
    expect(lines[0]).to.include({ file: hung, crashed: true });
    expect(lines[0]!.primary).to.deep.include({ class: 'HUNG_TASK', title: 'INFO: task hung in copy_net_ns', fatal: true, corrupted: false, alt: ['hang in copy_net_ns'] });
    expect(Object.keys(lines[0]!.primary as object).sort()).to.deep.equal(['alt', 'class', 'corrupted', 'excerpt', 'fatal', 'title']);
    expect((lines[0]!.primary as { excerpt: string }).excerpt).to.match(/^\[13064037\.892855\] INFO: task docker:102958 blocked/);
    expect(lines[1]).to.include({ file: memcg, crashed: false, primary: null });
    expect((lines[1]!.events as { class: string; title: string; startLine: number }[]).map((e) => [e.class, e.title, e.startLine])).to.deep.equal([
      ['OOM', 'OOM kill in memory cgroup', 1],
      ['OOM', 'OOM kill in memory cgroup', 3],
    ]);
  });

  it('prints a line per file with the report indented, and exits 0 when no log shows a crash', async () => {
    const crash = await runCli(['classify', hung]);
    expect(crash.exitCode).to.equal(1);
    expect(crash.stdout.split('\n')[0]).to.equal(`${hung}: HUNG_TASK INFO: task hung in copy_net_ns [fatal; lines 2-17]`);
    expect(crash.stdout.split('\n')[1]).to.equal('    [13064037.892855] INFO: task docker:102958 blocked for more than 120 seconds.');
    const quiet = await runCli(['classify', memcg]);
    expect(quiet.exitCode).to.equal(0);
    expect(quiet.stdout).to.equal(`${memcg}: no crash (2 other events: OOM kill in memory cgroup ×2)`);
  });

  it('reads standard input for -', async () => {
    const result = await execa(process.execPath, [CLI_PATH, 'classify', '--json', '-'], {
      reject: false,
      input: '[   44.000000] general protection fault: 0000 [#1] SMP KASAN\n[   44.100000] RIP: 0010:x25_connect+0x3c/0x800\n',
    });
    expect(result.exitCode).to.equal(1);
    expect(JSON.parse(result.stdout)).to.deep.include({ file: '-', crashed: true });
    expect(JSON.parse(result.stdout).primary.title).to.equal('general protection fault in x25_connect');
  });

  it('refuses missing files, folders and unknown options with one line each and exit 2, printing nothing else', async () => {
    const missing = await runCli(['classify', join(dir, 'nope.log'), dir, hung]);
    expect(missing.exitCode).to.equal(2);
    expect(missing.stdout).to.equal('');
    expect(missing.stderr.trim().split('\n')).to.deep.equal([
      'gauntlet: 2 inputs cannot be read',
      `  ${join(dir, 'nope.log')}: no such file (expected a console log file, or - for standard input)`,
      `  ${dir}: is a directory (expected a console log file, or - for standard input)`,
    ]);
    const one = await runCli(['classify', join(dir, 'nope.log')]);
    expect([one.exitCode, one.stderr.trim()]).to.deep.equal([2, `gauntlet: ${join(dir, 'nope.log')}: no such file (expected a console log file, or - for standard input)`]);
    const option = await runCli(['classify', '--bogus', hung]);
    expect(option.exitCode).to.equal(2);
    expect(option.stderr).to.match(/unknown option '--bogus'/);
    expect(option.stderr).to.not.match(/\n\s+at /);
  });
});
