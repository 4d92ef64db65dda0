// Reading JUnit back for ranking: gauntlet's own report round-trips, another tool's with gauntlet.stack.* is accepted.

import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { GauntletError, ResultSuite } from '../../src/model/index.js';
import { buildRunRecord, findJunitSources, readJournal, readJunitSources, readJunitText, renderJunit } from '../../src/report/index.js';

const JOURNAL = fileURLToPath(new URL('../fixtures/journals/mixed.jsonl', import.meta.url));

describe('readJunitText', () => {
  it('reads gauntlet\'s own report back: stacks, runs, hosts, outcomes, kernel events', async () => {
    const suites = readJunitText(renderJunit(buildRunRecord((await readJournal(JOURNAL)).events)), 'mixed.xml');
    expect(suites.length).to.be.greaterThan(2);
    const withStack = suites.filter((suite) => suite.stack.key);
    expect(withStack.every((suite) => suite.run === '20260302-091402-k7q2' && suite.stack.kernel && suite.host.startsWith('ssh://'))).to.equal(true);
    expect(suites.filter((suite) => !suite.stack.key)).to.have.length(2); // the unreachable host: no stack properties
    const outcomes = suites.flatMap((suite) => suite.tests.map((test) => test.outcome));
    expect(outcomes).to.include.members(['passed', 'failed', 'error']);
    expect(suites.flatMap((suite) => suite.tests).find((test) => test.attempts.length > 0)?.attempts[0]).to.include({ outcome: 'failed', type: 'ASSERTION' });
  });

  it('accepts another tool\'s JUnit with gauntlet.stack.* properties and builds the key from the parts', () => {
    const xml = `<?xml version="1.0"?>
<testsuite name="soak" timestamp="2026-03-01T10:00:00" hostname="n7" tests="2">
  <properties>
    <property name="gauntlet.stack.distro" value="ubuntu-24.04"/>
    <property name="gauntlet.stack.kernel" value="6.8.0-51-generic"/>
    <property name="gauntlet.stack.engine" value="docker 27.5.1"/>
    <property name="gauntlet.stack.storage_driver" value="overlay2"/>
    <property name="gauntlet.stack.backing_fs" value="extfs"/>
    <property name="gauntlet.stack.cgroup" value="cgroup2"/>
    <property name="gauntlet.kernel.events" value="WARNING: WARNING in x | PANIC!: Kernel panic - not syncing: y"/>
  </properties>
  <testcase name="one" time="1,800.5"/>
  <testcase name="two" time="3"><error type="PANIC" message="Kernel panic - not syncing: y">trace</error></testcase>
  <testcase name="three"><failure message="nope"/></testcase>
</testsuite>`;
    const [suite] = readJunitText(xml, 'other.xml');
    expect(suite!.stack.key).to.equal('ubuntu-24.04/6.8.0-51-generic/docker-27.5.1/overlay2/extfs/cgroup2');
    expect(suite!.run).to.equal('other.xml');
    expect(suite!.host).to.equal('n7');
    expect(suite!.timestamp).to.equal('2026-03-01T10:00:00.000Z');
    expect(suite!.kernelEvents).to.deep.equal([
      { class: 'WARNING', fatal: false, title: 'WARNING in x' },
      { class: 'PANIC', fatal: true, title: 'Kernel panic - not syncing: y' },
    ]);
    expect(suite!.tests.map((test) => [test.name, test.durationMs, test.outcome, test.type ?? null])).to.deep.equal([
      ['one', 1_800_500, 'passed', null],
      ['two', 3000, 'error', 'PANIC'],
      ['three', 0, 'failed', 'FAILURE'],
    ]);
  });

  it('reads the same results whatever the size of the outputs it passes over', async () => {
    const xml = renderJunit(buildRunRecord((await readJournal(JOURNAL)).events));
    const line = 'overlay2: 1000 layers <written> & "checked" ]] > done\n';
    // Every test's output, failure body and <system-err> grow to megabytes, with markup-like text and a CDATA
    // section holding a closing tag of its own element.
    const big = xml
      .replace(/<system-out>/g, `<system-out>${escapeXml(line.repeat(20_000))}<![CDATA[ </system-out> <testcase name="fake"/> ]]>`)
      .replace(/<\/testcase>/g, `<system-err>${escapeXml(line.repeat(5_000))}</system-err></testcase>`)
      .replace(/(<failure\b[^>]*>)/g, `$1${escapeXml(line.repeat(5_000))}`);
    expect(big.length).to.be.greaterThan(xml.length * 20);
    expect(big.match(/<system-err>/g)?.length).to.be.greaterThan(5);
    expect(readJunitText(big, 'mixed.xml')).to.deep.equal(readJunitText(xml, 'mixed.xml'));
    // Without any output at all, too.
    const bare = xml.replace(/<system-out>[\s\S]*?<\/system-out>/g, '');
    expect(bare).to.not.include('<system-out>');
    expect(readJunitText(bare, 'mixed.xml')).to.deep.equal(readJunitText(xml, 'mixed.xml'));
  });

  it('reads a large reports tree as it reads each file alone, in order, skipping found XML that is not JUnit', async function () {
    this.timeout(120_000);
    const xml = renderJunit(buildRunRecord((await readJournal(JOURNAL)).events));
    const dir = await mkdtemp(join(tmpdir(), 'gauntlet-rank-read-'));
    try {
      const expected: ResultSuite[] = [];
      for (let i = 0; i < 240; i++) {
        const path = join(dir, `run-${String(i).padStart(3, '0')}`, 'junit.xml');
        const text = xml.replaceAll('20260302-091402-k7q2', `run-${i}`);
        await mkdir(dirname(path));
        await writeFile(path, text);
        expected.push(...readJunitText(text, path));
      }
      await writeFile(join(dir, 'run-100', 'other.xml'), '<html/>');
      await writeFile(join(dir, 'run-200', 'broken.xml'), '<testsuite><testcase></testsuite>');
      const { suites, skipped } = await readJunitSources(await findJunitSources([dir]));
      expect(suites).to.deep.equal(expected);
      expect(skipped).to.deep.equal([
        `${join(dir, 'run-100', 'other.xml')}: expected a JUnit document (<testsuites> or <testsuite>), got another XML document`,
        `${join(dir, 'run-200', 'broken.xml')}: not well-formed XML: ${firstLineOf(() => readJunitText('<testsuite><testcase></testsuite>', 'x'))}`,
      ]);
      // Named on the command line, a file that is not JUnit is bad input, even among many.
      await rm(join(dir, 'run-100', 'other.xml'));
      const named = [...(await findJunitSources([dir])), { path: join(dir, 'run-200', 'broken.xml'), explicit: true }];
      await readJunitSources(named).then(
        () => expect.fail('read'),
        (err: GauntletError) => expect([err.code, err.message]).to.deep.equal(['USAGE', skipped[1]]),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses XML that is not JUnit, and text that is not XML', () => {
    expect(() => readJunitText('<html><body/></html>', 'x.xml')).to.throw('expected a JUnit document (<testsuites> or <testsuite>), got another XML document');
    expect(() => readJunitText('<testsuite><testcase></testsuite>', 'x.xml')).to.throw(/^not well-formed XML: /);
  });
});

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The first line of what `read` throws (saxes words its own messages). */
function firstLineOf(read: () => unknown): string {
  try {
    read();
  } catch (err) {
    return (err as Error).message.replace(/^not well-formed XML: /, '');
  }
  throw new Error('it did not throw');
}
