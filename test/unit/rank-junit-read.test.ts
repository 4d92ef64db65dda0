// Reading JUnit back for ranking: gauntlet's own report round-trips, another tool's with gauntlet.stack.* is accepted.

import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { buildRunRecord, readJournal, readJunitText, renderJunit } from '../../src/report/index.js';

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

  it('refuses XML that is not JUnit, and text that is not XML', () => {
    expect(() => readJunitText('<html><body/></html>', 'x.xml')).to.throw('expected a JUnit document (<testsuites> or <testsuite>), got another XML document');
    expect(() => readJunitText('<testsuite><testcase></testsuite>', 'x.xml')).to.throw(/^not well-formed XML: /);
  });
});
