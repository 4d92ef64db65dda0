// Tests the journal on disk: JournalWriter's one-line appends read back by readJournal, and the damage it tolerates or refuses.

import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { GauntletError, type JournalEvent } from '../../src/model/index.js';
import { JournalWriter, readJournal } from '../../src/report/index.js';

const RUN_START: JournalEvent = {
  type: 'run-start',
  ts: '2026-03-02T10:00:00.000Z',
  runId: 'run-1',
  gauntletVersion: '0.1.0',
  argv: ['run', '--param', 'note=a\nb'],
  inventory: { file: 'hosts.yaml', digest: 'sha256:00' },
  limit: null,
  hosts: [{ name: 'h1', id: 'ssh://ops@10.0.4.11:22' }],
  suites: [{ name: 's', path: '/suites/s.spec.ts', digest: 'sha256:11' }],
  params: { note: 'line one\nline two', count: 3 },
  seed: 7,
  shard: null,
  retries: 0,
  runner: null,
};
const PLAN: JournalEvent = { type: 'suite-plan', ts: '2026-03-02T10:00:01.000Z', host: 'h1', suite: 's', tests: ['a'], meta: {} };
const TEST_END: JournalEvent = {
  type: 'test-end',
  ts: '2026-03-02T10:00:02.000Z',
  host: 'h1',
  suite: 's',
  title: 'a',
  outcome: 'failed',
  message: 'expected "x"',
  detail: 'AssertionError\n    at line 1\r\n\u0000\u2028',
  output: '$ echo ok\nok\n',
  durationMs: 12,
  attempt: 1,
  flaky: false,
};

async function expectUsageError(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(GauntletError);
    expect((err as GauntletError).code).to.equal('USAGE');
    if (typeof message === 'string') expect((err as Error).message).to.equal(message);
    else expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail('expected a USAGE error');
}

describe('journal', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gauntlet-journal-'));
    path = join(dir, 'run-1', 'journal.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one line per event, creating the folder, and reads the same events back', async () => {
    const writer = JournalWriter.open(path);
    for (const event of [RUN_START, PLAN, TEST_END]) writer.append(event);
    writer.close();
    writer.close();
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')).to.have.length(4);
    expect(text.endsWith('\n')).to.equal(true);
    expect(await readJournal(path)).to.deep.equal({ events: [RUN_START, PLAN, TEST_END], warnings: [] });
  });

  it('has every appended line on disk before append returns (nothing waits in a buffer)', () => {
    const writer = JournalWriter.open(path);
    writer.append(RUN_START);
    expect(readFileSync(path, 'utf8')).to.equal(`${JSON.stringify(RUN_START)}\n`);
    writer.append(PLAN);
    expect(readFileSync(path, 'utf8').split('\n')).to.have.length(3);
    writer.close();
  });

  it('keeps every appended event when the process is SIGKILLed right after appending', async () => {
    const journalModule = fileURLToPath(new URL('../../src/report/journal.ts', import.meta.url));
    const script = [
      `import { JournalWriter } from ${JSON.stringify(journalModule)};`,
      `const writer = JournalWriter.open(${JSON.stringify(path)});`,
      `for (const event of ${JSON.stringify([RUN_START, PLAN, TEST_END])}) writer.append(event);`,
      `process.kill(process.pid, 'SIGKILL');`,
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.signal, child.stderr).to.equal('SIGKILL');
    expect(await readJournal(path)).to.deep.equal({ events: [RUN_START, PLAN, TEST_END], warnings: [] });
  });

  it('appends to an existing journal rather than replacing it', async () => {
    const first = JournalWriter.open(path);
    first.append(RUN_START);
    first.close();
    const writer = JournalWriter.open(path);
    writer.append(PLAN);
    writer.close();
    expect((await readJournal(path)).events).to.deep.equal([RUN_START, PLAN]);
  });

  it('refuses to append after close', () => {
    const writer = JournalWriter.open(path);
    writer.close();
    expect(() => writer.append(RUN_START)).to.throw(/closed/);
  });

  it('ignores a truncated last line with a warning naming file:line (a runner killed mid-write)', async () => {
    const whole = `${JSON.stringify(RUN_START)}\n${JSON.stringify(PLAN)}\n`;
    const cut = JSON.stringify(TEST_END).slice(0, 40);
    writeFileSync(join(dir, 'journal.jsonl'), whole + cut);
    const result = await readJournal(join(dir, 'journal.jsonl'));
    expect(result.events).to.deep.equal([RUN_START, PLAN]);
    expect(result.warnings).to.deep.equal([
      `${join(dir, 'journal.jsonl')}:3: ignored a truncated last line (the runner was probably stopped while writing it)`,
    ]);
  });

  it('ignores a last line of NUL bytes (what a crash of the runner\'s machine can leave)', async () => {
    writeFileSync(join(dir, 'journal.jsonl'), `${JSON.stringify(RUN_START)}\n\u0000\u0000\u0000\u0000`);
    const result = await readJournal(join(dir, 'journal.jsonl'));
    expect(result.events).to.deep.equal([RUN_START]);
    expect(result.warnings).to.have.length(1);
  });

  it('accepts a complete last event that lacks its newline', async () => {
    writeFileSync(join(dir, 'journal.jsonl'), `${JSON.stringify(RUN_START)}\n${JSON.stringify(PLAN)}`);
    expect(await readJournal(join(dir, 'journal.jsonl'))).to.deep.equal({ events: [RUN_START, PLAN], warnings: [] });
  });

  it('refuses a corrupt line in the middle, naming file:line', async () => {
    const file = join(dir, 'journal.jsonl');
    writeFileSync(file, `${JSON.stringify(RUN_START)}\n{"type":"suite-plan",\n${JSON.stringify(PLAN)}\n`);
    await expectUsageError(readJournal(file), new RegExp(`^${file}:2: not a journal event: `));
  });

  it('refuses a line that is JSON but not an event', async () => {
    const file = join(dir, 'journal.jsonl');
    writeFileSync(file, `${JSON.stringify(RUN_START)}\n[1,2]\n{"type":"metric"}\n${JSON.stringify(PLAN)}\n`);
    await expectUsageError(readJournal(file), `${file}:2: not a journal event: expected a JSON object`);
    writeFileSync(file, `${JSON.stringify(RUN_START)}\n{"type":"metric"}\n${JSON.stringify(PLAN)}\n`);
    await expectUsageError(readJournal(file), `${file}:2: not a journal event: no "ts"`);
  });

  it('skips an event of a type it does not know, with a warning', async () => {
    const file = join(dir, 'journal.jsonl');
    writeFileSync(file, `${JSON.stringify(RUN_START)}\n{"type":"host-teleported","ts":"2026-03-02T10:00:01.000Z"}\n`);
    const result = await readJournal(file);
    expect(result.events).to.deep.equal([RUN_START]);
    expect(result.warnings).to.deep.equal([`${file}:2: skipped an event of unknown type "host-teleported" (written by a newer gauntlet?)`]);
  });

  it('reads back kernel events and host liveness changes, which the runner journals too', async () => {
    const file = join(dir, 'journal.jsonl');
    const kernelEvent = { type: 'kernel-event', ts: '2026-03-02T10:00:01.000Z', host: 'db1', source: 'console', via: 'file:/tmp/console.log', class: 'PANIC', title: 'Kernel panic - not syncing: sysrq triggered crash', alt: [], fatal: true, corrupted: false, excerpt: 'Kernel panic - not syncing: sysrq triggered crash', detectedAt: '2026-03-02T10:00:01.000Z', test: null };
    const liveness = { type: 'host-liveness', ts: '2026-03-02T10:00:02.000Z', host: 'db1', state: 'lost', message: 'keepalive timeout' };
    writeFileSync(file, [RUN_START, kernelEvent, liveness].map((event) => JSON.stringify(event)).join('\n') + '\n');
    const result = await readJournal(file);
    expect(result.warnings).to.deep.equal([]);
    expect(result.events).to.deep.equal([RUN_START, kernelEvent, liveness]);
  });

  it('says a folder without journal.jsonl is not a run directory', async () => {
    await expectUsageError(readJournal(join(dir, 'journal.jsonl')), `${dir}: no journal.jsonl (is this a gauntlet run directory?)`);
  });

  it('requires run-start first', async () => {
    const file = join(dir, 'journal.jsonl');
    writeFileSync(file, `${JSON.stringify(PLAN)}\n${JSON.stringify(RUN_START)}\n`);
    await expectUsageError(readJournal(file), `${file}: the first event is "suite-plan", expected "run-start"`);
    writeFileSync(file, '');
    await expectUsageError(readJournal(file), `${file}: the journal holds no events (expected a run-start first)`);
    appendFileSync(file, '{"type":"run-st');
    await expectUsageError(readJournal(file), /the journal holds no events/);
  });
});
