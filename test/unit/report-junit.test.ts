// Tests the JUnit report: a golden file rebuilt from a realistic journal, schema validity (xmllint), properties, unsafe text.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { JournalEvent, RunRecord, TestEndEvent } from '../../src/model/index.js';
import { buildRunRecord, MAX_OUTPUT_BYTES, readJournal, readJunitText, renderJunit, writeJunit } from '../../src/report/index.js';

const JOURNAL = fileURLToPath(new URL('../fixtures/journals/mixed.jsonl', import.meta.url));
const GOLDEN = fileURLToPath(new URL('../fixtures/junit/mixed.golden.xml', import.meta.url));
const JENKINS_XSD = fileURLToPath(new URL('../../../shared/schemas/jenkins-xunit-junit-10.xsd', import.meta.url));

const scratch = mkdtempSync(join(tmpdir(), 'gauntlet-junit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs xmllint against the Jenkins xUnit JUnit schema; every report these tests make goes through it. */
function expectSchemaValid(xml: string, name: string): void {
  const file = join(scratch, `${name}.xml`);
  writeFileSync(file, xml);
  const result = spawnSync('xmllint', ['--noout', '--schema', JENKINS_XSD, file], { encoding: 'utf8' });
  expect(result.error, 'xmllint must be installed (libxml2-utils)').to.equal(undefined);
  expect(result.status, result.stderr).to.equal(0);
}

/** Renders a record and checks the result against the schema before any test looks at it. */
function render(record: RunRecord, name: string): string {
  const xml = renderJunit(record);
  expectSchemaValid(xml, name);
  return xml;
}

/** Times, timestamps and hostnames change from run to run and machine to machine; the golden file has them blank. */
function blankVolatile(xml: string): string {
  return xml.replace(/ (time|timestamp|hostname)="[^"]*"/g, ' $1=""');
}

/** The value of every `<property>` of the testsuite named `suite`, by name, in document order. */
function propertiesOf(xml: string, suite: string): Map<string, string> {
  const start = xml.indexOf(`<testsuite name="${suite}"`);
  expect(start, `testsuite ${suite}`).to.be.greaterThan(-1);
  const block = xml.slice(start, xml.indexOf('</properties>', start));
  return new Map([...block.matchAll(/<property name="([^"]*)" value="([^"]*)"\/>/g)].map((match) => [match[1]!, match[2]!]));
}

/** A small run around one test-end, for the tests of odd text. */
function recordWithTestEnd(end: Partial<TestEndEvent>): RunRecord {
  const ts = '2026-03-02T10:00:00.000Z';
  const events: JournalEvent[] = [
    {
      type: 'run-start', ts, runId: 'run-1', gauntletVersion: '0.1.0', argv: [], inventory: { file: 'hosts.yaml', digest: 'sha256:00' }, limit: null,
      hosts: [{ name: 'h1', id: 'ssh://ops@10.0.4.11:22' }], suites: [{ name: 's', path: '/s.spec.ts', digest: 'sha256:11' }],
      params: {}, seed: 1, shard: null, retries: 0, runner: null,
    },
    { type: 'suite-plan', ts, host: 'h1', suite: 's', tests: ['t'], meta: {} },
    { type: 'test-start', ts, host: 'h1', suite: 's', title: 't', attempt: 1 },
    { type: 'test-end', ts, host: 'h1', suite: 's', title: 't', outcome: 'failed', output: '', durationMs: 1, attempt: 1, flaky: false, ...end },
    { type: 'run-end', ts, exitCode: 1 },
  ];
  return buildRunRecord(events);
}

describe('renderJunit', () => {
  let mixed: RunRecord;
  before(async () => {
    mixed = buildRunRecord((await readJournal(JOURNAL)).events);
  });

  it('renders the mixed journal (3 hosts, 2 suites) as the golden file, times and hostnames blanked', () => {
    const actual = blankVolatile(render(mixed, 'mixed'));
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, actual);
    expect(actual).to.equal(readFileSync(GOLDEN, 'utf8'), 'rerun with UPDATE_GOLDEN=1 to accept a deliberate change, then review the diff');
  });

  it('writes counts, the hostname, timestamp and time the schemas expect', () => {
    const xml = render(mixed, 'mixed-attributes');
    expect(xml).to.match(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="gauntlet 20260302-091402-k7q2" tests="21" failures="1" errors="10">\n/);
    expect(xml).to.include(
      '<testsuite name="docker-basics @ node2" timestamp="2026-03-02T09:14:29" time="63.366" tests="4" failures="1" errors="1" skipped="0" hostname="10.0.4.12">',
    );
    expect(xml).to.include('<testsuite name="overlay-stress @ db1" timestamp="2026-03-02T09:14:02" time="0" tests="3" failures="0" errors="3" skipped="0" hostname="10.0.4.21">');
  });

  it('documents the stack, host, run, params and metrics as properties with their exact names', () => {
    const xml = render(mixed, 'mixed-properties');
    expect(Object.fromEntries(propertiesOf(xml, 'overlay-stress @ node1'))).to.deep.equal({
      'gauntlet.run': '20260302-091402-k7q2',
      'gauntlet.version': '0.1.0',
      'gauntlet.seed': '1709370842',
      'gauntlet.retries': '1',
      'gauntlet.suite.digest': 'sha256:a3c5e7f9b1d2e4f6a8c0b2d4e6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4',
      'gauntlet.host': 'node1',
      'gauntlet.host.id': 'ssh://ops@10.0.4.11:22',
      'gauntlet.host.boot_id': 'eef811d7-5e2e-4875-947a-e36326ac6d31',
      'gauntlet.stack.key': 'debian-12/6.18.44-fc-v769/docker-20.10.24+dfsg1/overlay2/extfs/cgroup1',
      'gauntlet.stack.distro': 'debian-12',
      'gauntlet.stack.kernel': '6.18.44-fc-v769',
      'gauntlet.stack.arch': 'x86_64',
      'gauntlet.stack.engine': 'docker 20.10.24+dfsg1',
      'gauntlet.stack.storage_driver': 'overlay2',
      'gauntlet.stack.backing_fs': 'extfs',
      'gauntlet.stack.cgroup': 'cgroup1',
      'gauntlet.stack.cgroup_driver': 'cgroupfs',
      'gauntlet.stack.runtime': 'runc 1.1.5+ds1',
      'gauntlet.param.iterations': '50',
      'gauntlet.param.image': 'busybox:1.36',
      'gauntlet.param.parallel-writers': '{&quot;count&quot;:4,&quot;sizeMiB&quot;:64}',
      'gauntlet.metric.containers_per_second': '12.5 1/s',
      // create_p95 was reported twice (812 ms, then 790 ms): the last value wins.
      'gauntlet.metric.create_p95': '790 ms',
    });
    const node2 = propertiesOf(xml, 'overlay-stress @ node2');
    expect(node2.get('gauntlet.stack.cgroup')).to.equal('cgroup2');
    expect(node2.get('gauntlet.host.error')).to.equal('LOST_CONNECTION: connection to ssh://ops@10.0.4.12:22 lost: 3 keepalives unanswered (15 s)');
  });

  it('writes the host\'s labels as gauntlet.host.label.NAME, which rank and qualify read back', () => {
    const start = mixed.start;
    const labelled: RunRecord = { ...mixed, start: { ...start, hosts: start.hosts.map((host) => (host.name === 'node1' ? { ...host, labels: { zone: 'eu-1', disk: 'nvme' } } : host)) } };
    const xml = render(labelled, 'mixed-labels');
    const properties = propertiesOf(xml, 'overlay-stress @ node1');
    expect([...properties].filter(([name]) => name.includes('.label.'))).to.deep.equal([
      ['gauntlet.host.label.disk', 'nvme'],
      ['gauntlet.host.label.zone', 'eu-1'],
    ]);
    const read = readJunitText(xml, 'junit.xml');
    expect(read.find((suite) => suite.name === 'overlay-stress @ node1')!.labels).to.deep.equal({ disk: 'nvme', zone: 'eu-1' });
    expect(read.find((suite) => suite.name === 'overlay-stress @ node2')!.labels).to.equal(undefined);
  });

  it('marks an unreachable host and leaves its stack properties out', () => {
    const properties = propertiesOf(render(mixed, 'mixed-unreachable'), 'docker-basics @ db1');
    expect(properties.get('gauntlet.host.unreachable')).to.equal('connect ETIMEDOUT (connection timed out) after 10 s');
    expect([...properties.keys()].filter((name) => name.startsWith('gauntlet.stack.'))).to.deep.equal([]);
    expect(properties.get('gauntlet.host.id')).to.equal('ssh://ops@10.0.4.21:22');
  });

  it('writes failures, errors, flaky and rerun attempts as their own elements', () => {
    const xml = render(mixed, 'mixed-verdicts');
    expect(xml).to.include('<failure message="expected exit code 0, got 125 (docker: Error response from daemon: failed to create task for container)" type="ASSERTION">AssertionError: expected exit code 0, got 125\n');
    expect(xml).to.include('<error message="Timeout of 60000ms exceeded: docker pull busybox:1.36 was still running" type="TIMEOUT">command `docker pull busybox:1.36` killed after 60 s (process group 41377)</error>');
    expect(xml).to.include('<error message="not run: connection to ssh://ops@10.0.4.12:22 lost: 3 keepalives unanswered (15 s)" type="LOST_CONNECTION"/>');
    expect(xml).to.include('<flakyFailure type="ASSERTION" message="attempt 1: expected curl http://127.0.0.1:18080/ to answer 200, got ECONNREFUSED">');
    expect(xml).to.include('<rerunFailure type="ASSERTION" message="attempt 1: expected exit code 0, got 125');
    expect(xml, 'terminal colour codes are stripped from output').not.to.include('[31m');
  });

  it('writes a skipped suite\'s tests as <skipped message=…> and a load error as SUITE_LOAD_FAILED', () => {
    const ts = '2026-03-02T10:00:00.000Z';
    const start = (mixedStart: RunRecord['start']): JournalEvent => ({ ...mixedStart, hosts: [{ name: 'h1', id: 'local://h1' }] });
    const record = buildRunRecord([
      start(mixed.start),
      { type: 'suite-plan', ts, host: 'h1', suite: 'docker-basics', tests: ['a', 'b'], meta: {}, skipped: 'requires engine docker; h1 has none' },
      { type: 'suite-plan', ts, host: 'h1', suite: 'overlay-stress', tests: [], meta: {}, loadError: "SyntaxError: Unexpected token '}'\n    at overlay-stress.spec.ts:3" },
      { type: 'run-end', ts, exitCode: 1 },
    ]);
    const xml = render(record, 'skipped-and-load-error');
    expect(xml).to.include('<testcase classname="docker-basics @ h1" name="a" time="0">\n      <skipped message="requires engine docker; h1 has none"/>');
    expect(propertiesOf(xml, 'docker-basics @ h1').get('gauntlet.skipped')).to.equal('requires engine docker; h1 has none');
    expect(xml).to.include(`<error message="SyntaxError: Unexpected token '}'" type="SUITE_LOAD_FAILED">SyntaxError: Unexpected token '}'\n    at overlay-stress.spec.ts:3</error>`);
    expect(xml).to.include('hostname="h1"');
  });

  it('keeps a message with newlines and control characters on one XML-safe line', () => {
    const message = 'expected\r\n\t"<a> & b"\u0000\u0007 to equal\u001b[31m c\u001b[0m\nsecond line\u0085\ud800';
    const xml = render(recordWithTestEnd({ message, detail: 'stack ]]> and ]]> again\u0001', output: 'out\u0000put\r\n' }), 'control-characters');
    expect(xml).to.include('<failure message="expected &quot;&lt;a> &amp; b&quot; to equal c second line" type="ASSERTION">');
    expect(xml).to.include('stack ]]&gt; and ]]&gt; again</failure>');
    expect(xml).to.include('<system-out>output\n</system-out>');
    expect(xml).not.to.match(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|[\ud800-\udfff]/);
  });

  it('keeps the last 1 MiB of a huge output and says what it cut', () => {
    const output = `${'early line that will be dropped\n'.repeat(40_000)}the last line\n`;
    const xml = render(recordWithTestEnd({ output }), 'huge-output');
    const systemOut = /<system-out>([\s\S]*?)<\/system-out>/.exec(xml)?.[1] ?? '';
    expect(systemOut).to.match(/^\[gauntlet: output truncated: the first \d+ of \d+ bytes were dropped, the last 1048576 follow\]\n/);
    expect(systemOut.endsWith('the last line\n')).to.equal(true);
    expect(Buffer.byteLength(systemOut)).to.be.lessThan(MAX_OUTPUT_BYTES + 200);
  });

  it('cuts a long message to one bounded line and keeps the whole text in the body', () => {
    const message = `expected ${'x'.repeat(5000)}`;
    const xml = render(recordWithTestEnd({ message }), 'long-message');
    const attribute = /<failure message="([^"]*)"/.exec(xml)?.[1] ?? '';
    expect(attribute).to.have.length(1000);
    expect(attribute.endsWith('…')).to.equal(true);
    expect(xml).to.include(`>${message}</failure>`);
  });

  it('is valid with no suites at all', () => {
    const record = buildRunRecord([{ ...mixed.start, hosts: [], suites: [] }]);
    expect(render(record, 'empty')).to.equal('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="gauntlet 20260302-091402-k7q2" tests="0" failures="0" errors="0"/>\n');
  });
});

describe('writeJunit', () => {
  it('replaces the file in one rename and leaves no temporary file behind', async () => {
    const dir = mkdtempSync(join(scratch, 'write-'));
    const path = join(dir, 'junit.xml');
    writeFileSync(path, 'old report');
    const record = recordWithTestEnd({ outcome: 'passed' });
    await writeJunit(record, path);
    expect(readFileSync(path, 'utf8')).to.equal(renderJunit(record));
    expect(readdirSync(dir)).to.deep.equal(['junit.xml']);
  });

  it('creates the folder, and leaves nothing behind when it cannot write', async () => {
    const dir = join(scratch, 'new-folder', 'run');
    await writeJunit(recordWithTestEnd({}), join(dir, 'junit.xml'));
    expect(readdirSync(dir)).to.deep.equal(['junit.xml']);
    // A non-empty directory where the file should go: the rename fails and the temporary file is removed.
    await writeJunit(recordWithTestEnd({}), join(scratch, 'new-folder')).then(
      () => expect.fail('writing over a directory must fail'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.be.oneOf(['EISDIR', 'ENOTEMPTY', 'EEXIST']),
    );
    expect(readdirSync(scratch).filter((name) => name.endsWith('.tmp'))).to.deep.equal([]);
  });
});
