// `gauntlet merge` end to end: `--shard 1/2` and `--shard 2/2` runs of the built CLI on real netns sshd hosts, merged into one run.

import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '../helpers/cli.js';
import { validateJunit } from '../helpers/junit.js';
import { createNetnsLab, type NetnsLab } from '../helpers/netns-hosts.js';

/** `SUITE @ HOST :: test title` of every `<testcase>`, in document order (repeats kept). */
function testcaseKeys(xml: string): string[] {
  // Attribute values may hold '>' (test titles do), so attributes are matched whole.
  return [...xml.matchAll(/<testcase\b(?:\s+[\w:-]+="[^"]*")*\s*\/?>/g)].map((match) => {
    const attribute = (name: string): string => new RegExp(`\\b${name}="([^"]*)"`).exec(match[0])?.[1] ?? '';
    return `${attribute('classname')} :: ${attribute('name')}`;
  });
}

/** The `<properties>` block of the testsuite named `name`. */
function propertiesOf(xml: string, name: string): string {
  return new RegExp(`<testsuite name="${name}"[\\s\\S]*?</properties>`).exec(xml)?.[0] ?? '';
}

async function onlyRunDir(out: string): Promise<string> {
  const entries = await readdir(out);
  expect(entries, `run folders in ${out}`).to.have.length(1);
  return join(out, entries[0]!);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('gauntlet merge (CLI, real hosts)', function () {
  this.timeout(300_000);
  let lab: NetnsLab;
  let dir: string;
  let inventory: string;
  let suites: string;
  /** Run directories: the unsharded run, shard 1/2, shard 2/2, and shard 1/2 run again. */
  let whole: string;
  let shard1: string;
  let shard2: string;
  let shard1Again: string;

  const run = async (out: string, extra: string[]): Promise<string> => {
    const result = await runCli(['run', '-i', inventory, '--suite', suites, '--no-watch', '--seed', '7', '--param', 'size=2', '--out', out, ...extra], { timeoutMs: 240_000 });
    // 1 when the run has the planned failure (beta on h0), which one shard has and the other has not.
    expect(result.exitCode, result.stdout + result.stderr).to.be.oneOf([0, 1]);
    return onlyRunDir(out);
  };

  before(async function () {
    this.timeout(600_000);
    lab = await createNetnsLab({ prefix: 'gt-mg', count: 2, subnet: 71 });
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-cli-merge-'));
    inventory = join(dir, 'hosts.yaml');
    await lab.writeInventory(inventory);
    const names = ['alpha', 'beta', 'gamma'];
    for (const name of names) {
      await writeFile(
        join(dir, `${name}.js`),
        `describe('${name}', () => {\n` +
          `  it('reads the host name', async () => { if (!(await host.checkOutput('hostname')).trim()) throw new Error('no hostname'); });\n` +
          `  it('counts to the size param', () => { if (params.size !== 2) throw new Error('size ' + params.size); });\n` +
          (name === 'beta' ? `  it('fails on the first host', () => { if (host.name === 'h0') throw new Error('planned failure on ' + host.name); });\n` : '') +
          `});\n`,
      );
    }
    suites = names.map((name) => join(dir, `${name}.js`)).join(',');
    [whole, shard1, shard2, shard1Again] = await Promise.all([
      run(join(dir, 'out-whole'), []),
      run(join(dir, 'out-shard-1'), ['--shard', '1/2']),
      run(join(dir, 'out-shard-2'), ['--shard', '2/2']),
      run(join(dir, 'out-shard-1-again'), ['--shard', '1/2']),
    ]);
  });

  after(async () => {
    await lab?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('merges the two shards into one run whose JUnit has every host × suite × test once, as the unsharded run has', async () => {
    const out = join(dir, 'merged');
    const result = await runCli(['merge', shard1, shard2, '-o', out]);
    expect(result.exitCode, result.stdout + result.stderr).to.equal(1); // the planned failure
    expect(result.stderr).to.equal('');
    const runDir = await onlyRunDir(out);
    const junit = join(runDir, 'junit.xml');
    expect(result.stdout).to.match(/^merged 2 runs \(shards 1\/2, 2\/2\) into run \d{8}-\d{6}-[0-9a-f]{4}\n/);
    expect(result.stdout.split('\n').at(-1)).to.equal(`junit: ${junit}`);
    expect(result.stdout).to.not.include('duplicate');
    await validateJunit(junit);

    const merged = testcaseKeys(await readFile(junit, 'utf8'));
    const expected = testcaseKeys(await readFile(join(whole, 'junit.xml'), 'utf8'));
    expect(expected).to.have.length(2 * (2 + 3 + 2));
    expect(new Set(merged).size, 'each test once').to.equal(merged.length);
    expect([...merged].sort()).to.deep.equal([...expected].sort());

    // The merged run names the shards it came from, and each testsuite its shard run, seed and shard.
    const xml = await readFile(junit, 'utf8');
    const start = JSON.parse((await readFile(join(runDir, 'journal.jsonl'), 'utf8')).split('\n')[0]!) as { runId: string; shard: unknown; mergedFrom: Array<{ runId: string; shard: { index: number }; pairs: Record<string, string[]> }> };
    expect(start.shard).to.equal(null);
    expect(start.mergedFrom.map((shard) => shard.shard.index)).to.deep.equal([1, 2]);
    for (const shard of start.mergedFrom) {
      for (const [host, names] of Object.entries(shard.pairs)) {
        for (const name of names) {
          const properties = propertiesOf(xml, `${name} @ ${host}`);
          expect(properties, `${name} @ ${host}`).to.include(`<property name="gauntlet.run" value="${start.runId}"/>`);
          expect(properties).to.include(`<property name="gauntlet.shard.run" value="${shard.runId}"/>`);
          expect(properties).to.include(`<property name="gauntlet.shard" value="${shard.shard.index}/2"/>`);
          expect(properties).to.include('<property name="gauntlet.seed" value="7"/>');
        }
      }
    }
    expect(xml.match(/<property name="gauntlet.stack.key"/g)).to.have.length(6);

    // `gauntlet report` rebuilds the same JUnit from the merged journal alone.
    const before = await readFile(junit, 'utf8');
    const rebuilt = await runCli(['report', runDir]);
    expect(rebuilt.exitCode, rebuilt.stdout + rebuilt.stderr).to.equal(1);
    expect(await readFile(junit, 'utf8')).to.equal(before);

    // Ranking the reports tree counts each testsuite once: the shards' and the merged run's are the same testsuites.
    const ranked = await runCli(['rank', dir, '--format', 'json', '--min-runs', '1']);
    expect(ranked.exitCode, ranked.stderr).to.equal(0);
    const stacks = (JSON.parse(ranked.stdout) as { stacks: Array<{ tests: number; runs: number }> }).stacks;
    // Every test of the plan ran in the unsharded run, once in a shard run, once more in the repeated shard 1.
    const shard1Tests = testcaseKeys(await readFile(join(shard1, 'junit.xml'), 'utf8')).length;
    expect(stacks.reduce((sum, stack) => sum + stack.tests, 0)).to.equal(2 * expected.length + shard1Tests);
  });

  it('keeps the later of a shard run twice (saying how many results it dropped), merges a killed shard as its journal says, warns about a missing shard', async () => {
    const out = join(dir, 'merged-again');
    const result = await runCli(['merge', shard1Again, shard2, shard1, '--out', out]);
    expect(result.exitCode, result.stdout + result.stderr).to.equal(1);
    const shard1Tests = testcaseKeys(await readFile(join(shard1, 'junit.xml'), 'utf8')).length;
    expect(result.stderr).to.match(/^gauntlet: warning: shard 1\/2 is given 2 times \(.*\): where they share a host × suite, the run that started last is kept$/);
    expect(result.stdout).to.include(`dropped ${shard1Tests} duplicate test results (a host × suite in more than one run: the later run's kept)\n`);
    const junit = join(await onlyRunDir(out), 'junit.xml');
    await validateJunit(junit);
    const merged = testcaseKeys(await readFile(junit, 'utf8'));
    expect(new Set(merged).size).to.equal(merged.length);
    expect([...merged].sort()).to.deep.equal(testcaseKeys(await readFile(join(whole, 'junit.xml'), 'utf8')).sort());

    // Shard 2 as its runner leaves it when killed before its last test ended: no test-end for it, no run-end.
    const lines = (await readFile(join(shard2, 'journal.jsonl'), 'utf8')).trimEnd().split('\n');
    const lastEnd = lines.findLastIndex((line) => (JSON.parse(line) as { type: string }).type === 'test-end');
    const cut = JSON.parse(lines[lastEnd]!) as { suite: string; host: string; title: string };
    const killed = join(dir, 'killed-shard-2');
    await mkdir(killed);
    await writeFile(join(killed, 'journal.jsonl'), `${lines.slice(0, lastEnd).join('\n')}\n`);
    const withKilled = await runCli(['merge', shard1, killed, '--out', join(dir, 'merged-killed')]);
    expect(withKilled.exitCode, withKilled.stdout + withKilled.stderr).to.equal(1);
    const killedXml = await readFile(join(await onlyRunDir(join(dir, 'merged-killed')), 'junit.xml'), 'utf8');
    const killedKeys = testcaseKeys(killedXml);
    expect([...killedKeys].sort()).to.deep.equal(testcaseKeys(await readFile(join(whole, 'junit.xml'), 'utf8')).sort());
    const testcase = new RegExp(`<testcase classname="${cut.suite} @ ${cut.host}" name="${cut.title}"[\\s\\S]*?</testcase>`).exec(killedXml)?.[0];
    expect(testcase, `${cut.suite} @ ${cut.host} :: ${cut.title}`).to.match(/<error message="the runner stopped before the test finished \(killed\?\)" type="INTERRUPTED"/);

    const alone = await runCli(['merge', shard2, '--out', join(dir, 'merged-alone')]);
    expect(alone.exitCode, alone.stdout + alone.stderr).to.be.oneOf([0, 1]);
    expect(alone.stderr).to.equal('gauntlet: warning: shard 1/2 is missing: the merged run lacks their host × suite pairs');
    expect(alone.stdout).to.match(/^merged 1 run \(shards 2\/2\) into run /);
  });

  it('answers bad input with exit 2 and a message naming it, writing nothing', async () => {
    const otherPlan = await run(join(dir, 'out-other-plan'), ['--shard', '2/2', '--param', 'size=3']);
    const out = join(dir, 'merged-bad');
    const cases: Array<[string[], string | RegExp]> = [
      [[shard1, join(dir, 'nowhere')], `gauntlet: ${join(dir, 'nowhere')}: no such directory`],
      [[shard1, inventory], `gauntlet: ${inventory}: not a directory (expected a shard's run directory, reports/<run-id>)`],
      [[shard1, dir], `gauntlet: ${dir}: no journal.jsonl (is this a gauntlet run directory?)`],
      [[shard1, whole], new RegExp(`^gauntlet: ${whole}: run \\S+ is a run without --shard; expected the run directories of \`gauntlet run --shard i/n\` jobs$`)],
      [[shard1, shard1], new RegExp(`^gauntlet: not shards of one plan, nothing merged: run \\S+ is given twice: ${shard1} and ${shard1}$`)],
      [[shard1, otherPlan], new RegExp(`^gauntlet: not shards of one plan, nothing merged: params differ: ${shard1} has \\{"size":2\\}; ${otherPlan} has \\{"size":3\\}$`)],
      [[], /^gauntlet: missing required argument 'dirs'/],
    ];
    for (const [dirs, message] of cases) {
      const result = await runCli(['merge', ...dirs, '--out', out]);
      expect(result.exitCode, `${dirs.join(' ')}: ${result.stderr}`).to.equal(2);
      if (typeof message === 'string') expect(result.stderr).to.equal(message);
      else expect(result.stderr).to.match(message);
      expect(result.stderr).to.not.match(/\n\s+at /);
      expect(result.stdout).to.equal('');
    }
    expect(await exists(out), 'no output folder').to.equal(false);
  });
});
