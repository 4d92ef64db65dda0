// Qualification: selectors, the three verdicts and their evidence, and the JUnit and markdown it writes.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { GauntletError } from '../../src/model/index.js';
import { parseSelector, qualifyCandidate } from '../../src/rank/index.js';
import { formatQualificationMarkdown, readJunitText, renderQualificationJunit } from '../../src/report/index.js';
import { JENKINS_XSD } from '../helpers/junit.js';
import { crashed, passing, PANICKY, STABLE, suiteOf } from '../helpers/rank-results.js';

const PANIC = 'Kernel panic - not syncing: Fatal exception in interrupt';
const baseline = parseSelector('--baseline', 'kernel=6.1.0-56-amd64');
const candidate = parseSelector('--candidate', 'kernel=6.12.9-amd64,storage_driver=overlay2');

/** Three runs of the baseline, each 1 test-hour. */
const baselineSuites = ['b1', 'b2', 'b3'].map((run) => suiteOf(run, STABLE, [passing('a', 60)]));

function expectUsage(action: () => unknown, message: string): void {
  try {
    action();
  } catch (err) {
    expect(err).to.be.instanceOf(GauntletError);
    expect((err as GauntletError).code).to.equal('USAGE');
    expect((err as GauntletError).message).to.equal(message);
    return;
  }
  expect.fail('expected a USAGE error');
}

describe('qualification', () => {
  describe('parseSelector', () => {
    it('reads comma-separated FIELD=VALUE pairs, = allowed in a value', () => {
      expect(parseSelector('--candidate', 'key=a/b=c/d, cgroup=cgroup2').terms).to.deep.equal([
        { field: 'key', value: 'a/b=c/d' },
        { field: 'cgroup', value: 'cgroup2' },
      ]);
    });

    it('reads host labels as label.NAME=VALUE beside stack fields', () => {
      const selector = parseSelector('--candidate', 'kernel=6.12.9-amd64,label.disk=nvme');
      expect(selector.terms).to.deep.equal([{ field: 'kernel', value: '6.12.9-amd64' }]);
      expect(selector.labels).to.deep.equal([{ name: 'disk', value: 'nvme' }]);
    });

    const fields = 'key, distro, kernel, arch, engine, storage_driver, backing_fs, cgroup, cgroup_driver, runtime or label.NAME';
    for (const [text, message] of [
      ['kernal=6.1', `--baseline: expected FIELD=VALUE[,FIELD=VALUE…] with FIELD one of ${fields}, got "kernal=6.1"`],
      ['kernel', `--baseline: expected FIELD=VALUE[,FIELD=VALUE…] with FIELD one of ${fields}, got "kernel"`],
      ['kernel=6.1,', `--baseline: expected FIELD=VALUE[,FIELD=VALUE…] with FIELD one of ${fields}, got "kernel=6.1,"`],
      ['label.=a1', `--baseline: expected FIELD=VALUE[,FIELD=VALUE…] with FIELD one of ${fields}, got "label.=a1"`],
      ['label.rack', `--baseline: expected FIELD=VALUE[,FIELD=VALUE…] with FIELD one of ${fields}, got "label.rack"`],
    ] as const) {
      it(`refuses ${JSON.stringify(text)} as bad input`, () => expectUsage(() => parseSelector('--baseline', text), message));
    }
  });

  it('selects by host label: the same stack on other disks is another candidate', () => {
    const labelled = (run: string, disk: string) => ({ ...suiteOf(run, PANICKY, [passing('a', 60)]), labels: { disk } });
    const suites = [...baselineSuites, ...['c1', 'c2', 'c3'].map((run) => labelled(run, 'nvme')), { ...suiteOf('c4', PANICKY, [crashed('x', 1, 'PANIC', PANIC)]), labels: { disk: 'sata' } }];
    const nvme = qualifyCandidate(suites, baseline, parseSelector('--candidate', 'kernel=6.12.9-amd64,label.disk=nvme'));
    expect([nvme.verdict, nvme.candidate.runs]).to.deep.equal(['pass', 3]);
    const sata = qualifyCandidate(suites, baseline, parseSelector('--candidate', 'kernel=6.12.9-amd64,label.disk=sata'));
    expect([sata.verdict, sata.candidate.runs]).to.deep.equal(['fail', 1]);
    expectUsage(
      () => qualifyCandidate(suites, baseline, parseSelector('--candidate', 'label.disk=ssd')),
      '--candidate label.disk=ssd: matched no testsuite with stack properties (present: label.disk: nvme | sata | unset)',
    );
  });

  it('passes a candidate as good as the baseline', () => {
    const suites = [...baselineSuites, ...['c1', 'c2', 'c3'].map((run) => suiteOf(run, PANICKY, [passing('a', 60)]))];
    const result = qualifyCandidate(suites, baseline, candidate);
    expect(result.verdict).to.equal('pass');
    expect(result.newSignatures).to.deep.equal([]);
    expect(result.rateTest.worse).to.equal(false);
  });

  it('fails a candidate with a crash signature the baseline lacks, with the run and test where it happened', () => {
    const suites = [
      ...baselineSuites,
      ...['c1', 'c2', 'c3'].map((run) => suiteOf(run, PANICKY, [passing('a', 60)])),
      suiteOf('c4', PANICKY, [crashed('overlay > writes 1000 layers', 1, 'PANIC', PANIC)]),
    ];
    const result = qualifyCandidate(suites, baseline, candidate);
    expect(result.verdict).to.equal('fail');
    expect(result.newSignatures).to.have.length(1);
    expect(result.newSignatures[0]!.occurrences).to.deep.equal([{ run: 'c4', suite: 'stress @ node1', test: 'overlay > writes 1000 layers', source: 'reports/c4/junit.xml' }]);
    expect(result.reasons[0]).to.equal(`new crash signature PANIC: ${PANIC} (1× in 1 run)`);
  });

  it('fails a candidate whose known signature happens significantly more often', () => {
    const suites = [
      ...['b1', 'b2', 'b3'].map((run) => suiteOf(run, STABLE, [passing('a', 600), ...(run === 'b1' ? [crashed('x', 1, 'PANIC', PANIC)] : [])])),
      ...['c1', 'c2', 'c3'].map((run) => suiteOf(run, PANICKY, [passing('a', 20), crashed('x', 1, 'PANIC', PANIC), crashed('y', 1, 'PANIC', PANIC)])),
    ];
    const result = qualifyCandidate(suites, baseline, candidate);
    expect(result.newSignatures).to.deep.equal([]);
    expect(result.rateTest.worse).to.equal(true);
    expect(result.rateTest.pValue).to.be.below(0.05);
    expect(result.verdict).to.equal('fail');
  });

  it('says insufficient when a clean candidate has too little exposure, and what it lacks', () => {
    const suites = [...baselineSuites, suiteOf('c1', PANICKY, [passing('a', 30)])];
    const result = qualifyCandidate(suites, baseline, candidate);
    expect(result.verdict).to.equal('insufficient');
    expect(result.missing).to.deep.equal(['0.5 of 1 test-hours', '1 of 3 runs']);
    expect(qualifyCandidate(suites, baseline, candidate, { minHours: 0.5, minRuns: 1 }).verdict).to.equal('pass');
  });

  it('refuses a selector that matches nothing, naming the values present', () => {
    expectUsage(
      () => qualifyCandidate(baselineSuites, baseline, candidate),
      '--candidate kernel=6.12.9-amd64,storage_driver=overlay2: matched no testsuite with stack properties (present: kernel: 6.1.0-56-amd64; storage_driver: overlay2)',
    );
  });

  it('writes a schema-valid JUnit testsuite `qualification` and a markdown summary', () => {
    const suites = [...baselineSuites, ...['c1', 'c2'].map((run) => suiteOf(run, PANICKY, [crashed('t <1>', 1, 'PANIC', PANIC)]))];
    const result = qualifyCandidate(suites, baseline, candidate);
    const xml = renderQualificationJunit(result, { startedAt: new Date('2026-03-01T10:00:00Z'), hostname: 'ci' });
    const dir = mkdtempSync(join(tmpdir(), 'gauntlet-qualify-'));
    try {
      writeFileSync(join(dir, 'q.xml'), xml);
      const lint = spawnSync('xmllint', ['--noout', '--schema', JENKINS_XSD, join(dir, 'q.xml')], { encoding: 'utf8' });
      expect(lint.status, lint.stderr).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const [suite] = readJunitText(xml, 'q.xml');
    expect(suite!.name).to.equal('qualification');
    expect(suite!.tests.map((test) => [test.outcome, test.type ?? null])).to.deep.equal([
      ['failed', 'NEW_CRASH_SIGNATURE'],
      ['failed', 'WORSE_FATAL_RATE'],
      ['error', 'INSUFFICIENT_EVIDENCE'],
    ]);
    expect(xml).to.match(/run c1, stress @ node1, test (&quot;|")t &lt;1&gt;(&quot;|") \(reports\/c1\/junit.xml\)/);
    const markdown = formatQualificationMarkdown(result);
    expect(markdown).to.match(/^## Stack qualification: ❌ \*\*fail\*\*\n/);
    expect(markdown).to.include('  - run `c2`, stress @ node1, test “t <1>” (reports/c2/junit.xml)');
  });
});
