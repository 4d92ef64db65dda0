// `gauntlet repro` end to end on one real QEMU lab VM: the faults suite panics the kernel in a normal run, then repro
// re-runs just the panic test until the panic recurs and writes the vendor bundle, which must hold the panic text, the
// facts and the kernel config, and no private key (the lab's inventory reaches the VM with an SSH key).

import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { extract } from 'tar';
import { parse } from 'yaml';
import { readFileTree } from '../helpers/file-tree.js';
import { runCli } from '../helpers/cli.js';
import { startLabVms, type LabVms } from '../helpers/lab-vms.js';

const VM = 'rp-panic';
const KERNEL = '6.1.0-56-amd64';
const LAB_TIMEOUT_MS = 15 * 60_000;

interface JournalLine {
  type: string;
  host?: string;
  title?: string;
  class?: string;
  tests?: string[];
  stackKey?: string;
  commands?: Array<{ command: string; startMs: number; durationMs: number; exitCode: number | null }>;
}

async function readJournal(dir: string): Promise<JournalLine[]> {
  return (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JournalLine);
}

describe('gauntlet repro (CLI, a real QEMU lab VM that panics)', function () {
  this.timeout(LAB_TIMEOUT_MS);
  let lab: LabVms | undefined;
  let originalRun: string;

  before(async () => {
    lab = await startLabVms('gauntlet-repro-lab-', `lab:\n  vms:\n    - name: ${VM}\n      kernel: ${KERNEL}\n      fs: ext4\n`, LAB_TIMEOUT_MS - 60_000);
  });

  after(async () => {
    await lab?.down();
  });

  it('records a run of the faults suite in which the panic test panics the kernel', async () => {
    const out = join(lab!.dir, 'reports');
    const run = await runCli(['run', '-i', lab!.inventory, '--suite', 'faults', '--out', out], { timeoutMs: 900_000 });
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).to.equal(1);
    originalRun = join(out, (await readdir(out))[0]!);
    const journal = await readJournal(originalRun);
    const panic = journal.find((event) => event.type === 'kernel-event' && event.class === 'PANIC');
    expect(panic, run.stdout).to.not.equal(undefined);
    // Every command a test ran reaches the journal with its timings.
    const ends = journal.filter((event) => event.type === 'test-end' && event.commands);
    expect(ends.length, 'test-ends with a command transcript').to.be.greaterThan(0);
    expect(ends[0]!.commands![0]).to.include.keys('command', 'startMs', 'durationMs', 'exitCode');
  });

  it('reproduces the panic with the panic test alone and bundles the evidence without the private key', async () => {
    const out = join(lab!.dir, 'repro');
    const repro = await runCli(['repro', originalRun, '--test', 'faults > panic', '--attempts', '2', '--until-first', '-o', out], { timeoutMs: 900_000 });
    expect(repro.exitCode, `${repro.stdout}\n${repro.stderr}`).to.equal(0);
    expect(repro.stdout).to.match(/^reproduced 1\/1: PANIC: .*sysrq triggered crash$/im);
    expect(repro.stderr).to.not.match(/\n\s+at /);

    // The attempt is a normal run folder that ran the panic test and nothing else of the suite.
    const runs = (await readdir(out, { withFileTypes: true })).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'));
    expect(runs, 'one attempt, one run folder').to.have.length(1);
    const attempt = await readJournal(join(out, runs[0]!.name));
    expect(attempt.find((event) => event.type === 'suite-plan')?.tests).to.deep.equal(['faults > panic']);
    expect(attempt.filter((event) => event.type === 'test-start').map((event) => event.title)).to.deep.equal(['faults > panic']);
    const report = await runCli(['report', join(out, runs[0]!.name)]);
    expect(report.exitCode, report.stderr).to.equal(1);
    expect(await readFile(join(out, runs[0]!.name, 'junit.xml'), 'utf8')).to.match(/<error [^>]*type="PANIC"/);

    const bundles = (await readdir(out)).filter((name) => name.endsWith('.tar.gz'));
    expect(bundles).to.have.length(1);
    expect(bundles[0]).to.match(/^repro-kernel-panic-.*sysrq-triggered-crash\.tar\.gz$/);
    const unpacked = join(lab!.dir, 'unpacked');
    await mkdir(unpacked);
    await extract({ file: join(out, bundles[0]!), cwd: unpacked });
    const files = await readFileTree(join(unpacked, bundles[0]!.replace(/\.tar\.gz$/, '')));

    expect(files.get('occurrences/attempt-1.txt')).to.include('Kernel panic - not syncing: sysrq triggered crash');
    expect(files.get('occurrences/original.txt')).to.include('Kernel panic - not syncing: sysrq triggered crash');
    // The serial console around the recurrence, from this boot only: the test's marker, then the panic.
    const occurrence = files.get('occurrences/attempt-1.txt')!;
    expect(occurrence.indexOf('--- console (file:'), occurrence).to.be.greaterThan(-1);
    const consoleLines = occurrence.slice(occurrence.indexOf('--- console (file:'));
    expect(consoleLines.indexOf('gauntlet-fault: begin class=PANIC'), consoleLines).to.be.greaterThan(-1);
    expect(consoleLines.indexOf('Kernel panic - not syncing: sysrq triggered crash')).to.be.greaterThan(consoleLines.indexOf('gauntlet-fault: begin class=PANIC'));
    expect(consoleLines).to.not.include('\r');
    const facts = JSON.parse(files.get(`facts/${VM}.json`)!) as { stackKey: string; facts: { kernel: { release: string } } };
    expect(facts.facts.kernel.release).to.equal(KERNEL);
    expect(facts.stackKey).to.include(`/${KERNEL}/`);
    // The lab's guest boots a kernel it does not hold; the lab's inventory names the config next to it on the runner.
    expect(files.get('kernel/config')).to.match(/^CONFIG_PANIC_TIMEOUT=/m);
    expect(files.get('kernel/cmdline')).to.match(/console=ttyS0/);
    expect(files.get('engine/info.txt')).to.match(/"Version": "\d/);
    expect(files.get('suite/faults.spec.ts')).to.include("it('panic'");
    expect(files.get('transcript/attempt-1.txt')).to.include("echo c > /proc/sysrq-trigger");
    expect(files.get('README.md')).to.include('Reproduced **1/1**').and.include("gauntlet repro . --test 'faults > panic'");

    const tree = parse(await readFile(lab!.inventory, 'utf8')) as { all: { children: { lab: { hosts: Record<string, { ansible_ssh_private_key_file: string }> } } } };
    const key = await readFile(tree.all.children.lab.hosts[VM]!.ansible_ssh_private_key_file, 'utf8');
    const keyBody = key.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----'));
    expect(keyBody.length, 'the lab key has a body to look for').to.be.greaterThan(0);
    for (const [path, text] of files) {
      expect(text, path).to.not.include('PRIVATE KEY');
      for (const line of keyBody) expect(text.includes(line), `${path} holds a line of the lab's private key`).to.equal(false);
    }
    expect([...files.keys()].some((path) => /hosts\.ya?ml$/.test(path)), 'no inventory in the bundle').to.equal(false);
  });
});
