// Tests the journal → RunRecord reconciliation table, the summary counts and the exit codes, on hand-written events.

import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import {
  GauntletError,
  type HostCause,
  type HostSuiteRecord,
  type JournalEvent,
  type OutcomeKind,
  type RunRecord,
  type TestEndEvent,
  type TestRecord,
} from '../../src/model/index.js';
import {
  buildRunRecord,
  exitCodeOf,
  listFailedAttempts,
  readJournal,
  renderJunit,
  summarizeRun,
  SUITE_LOAD_FAILED_TITLE,
  SUITE_NOT_RUN_TITLE,
  SUITE_SKIPPED_TITLE,
} from '../../src/report/index.js';

/** Writes a journal the way the runner does, one event at a time, with a clock that ticks one second per event. */
class JournalScript {
  readonly events: JournalEvent[] = [];
  private clock = Date.parse('2026-03-02T10:00:00.000Z');

  constructor(hosts: string[] = ['h1'], suites: string[] = ['s']) {
    this.push({
      type: 'run-start',
      runId: 'run-1',
      gauntletVersion: '0.1.0',
      argv: ['run'],
      inventory: { file: 'hosts.yaml', digest: 'sha256:00' },
      limit: null,
      hosts: hosts.map((name) => ({ name, id: `ssh://ops@${name}.lab:22` })),
      suites: suites.map((name) => ({ name, path: `/suites/${name}.spec.ts`, digest: `sha256:${name}` })),
      params: {},
      seed: 7,
      shard: null,
      retries: 1,
      runner: null,
    });
  }

  private push(event: Record<string, unknown> & { type: JournalEvent['type'] }): this {
    this.clock += 1000;
    this.events.push({ ...event, ts: new Date(this.clock).toISOString() } as JournalEvent);
    return this;
  }

  plan(host: string, suite: string, tests: string[], extra: { skipped?: string; loadError?: string; error?: { type: string; message: string } } = {}): this {
    return this.push({ type: 'suite-plan', host, suite, tests, meta: {}, ...extra });
  }

  suiteStart(host: string, suite: string): this {
    return this.push({ type: 'suite-start', host, suite });
  }

  suiteEnd(host: string, suite: string, durationMs: number): this {
    return this.push({ type: 'suite-end', host, suite, durationMs });
  }

  start(host: string, suite: string, title: string, attempt = 1): this {
    return this.push({ type: 'test-start', host, suite, title, attempt });
  }

  end(host: string, suite: string, title: string, outcome: OutcomeKind, extra: Partial<TestEndEvent> = {}): this {
    return this.push({ type: 'test-end', host, suite, title, outcome, output: `${title} output`, durationMs: 250, attempt: 1, flaky: false, ...extra });
  }

  /** test-start then test-end, as one attempt. */
  run(host: string, suite: string, title: string, outcome: OutcomeKind, extra: Partial<TestEndEvent> = {}): this {
    return this.start(host, suite, title, extra.attempt ?? 1).end(host, suite, title, outcome, extra);
  }

  metric(host: string, suite: string, name: string, value: number, unit: string): this {
    return this.push({ type: 'metric', host, suite, name, value, unit });
  }

  unreachable(host: string, error: string): this {
    return this.push({ type: 'host-unreachable', host, id: `ssh://ops@${host}.lab:22`, error });
  }

  hostEnd(host: string, error?: HostCause): this {
    return this.push({ type: 'host-end', host, ...(error ? { error } : {}) });
  }

  kernel(host: string, event: { class: string; title: string; fatal: boolean; test: { suite: string; title: string } | null; source?: string; excerpt?: string }): this {
    return this.push({
      type: 'kernel-event',
      host,
      source: event.source ?? 'console',
      via: 'file:/var/log/serial.log',
      class: event.class,
      title: event.title,
      alt: [],
      fatal: event.fatal,
      corrupted: false,
      excerpt: event.excerpt ?? `[  12.000000] ${event.title}`,
      detectedAt: new Date(this.clock + 500).toISOString(),
      test: event.test ? { ...event.test, attempt: 1 } : null,
    });
  }

  runEnd(interrupted?: string): this {
    return this.push({ type: 'run-end', exitCode: 0, ...(interrupted ? { interrupted } : {}) });
  }

  build(): RunRecord {
    return buildRunRecord(this.events);
  }
}

function suiteOf(record: RunRecord, host: string, suite: string): HostSuiteRecord {
  const found = record.suites.find((entry) => entry.host === host && entry.suite === suite);
  if (!found) throw new Error(`no suite ${suite} @ ${host}`);
  return found;
}

function testOf(record: RunRecord, host: string, suite: string, title: string): TestRecord {
  const found = suiteOf(record, host, suite).tests.find((test) => test.title === title);
  if (!found) throw new Error(`no test ${title} in ${suite} @ ${host}`);
  return found;
}

/** The fields a reader of the report judges by. */
function verdictOf(test: TestRecord): Pick<TestRecord, 'outcome' | 'errorType' | 'message'> {
  return { outcome: test.outcome, errorType: test.errorType, message: test.message };
}

const CRASH: HostCause = { type: 'WORKER_CRASHED', message: 'worker exited unexpectedly (code=null, signal=SIGSEGV)' };

describe('buildRunRecord', () => {
  describe('finished tests', () => {
    it('takes passed, failed and error outcomes from their test-end, with detail, output and timing', () => {
      const record = new JournalScript()
        .plan('h1', 's', ['ok', 'wrong', 'broken'])
        .run('h1', 's', 'ok', 'passed', { durationMs: 120 })
        .run('h1', 's', 'wrong', 'failed', { errorType: 'ASSERTION', message: 'expected 1 to equal 2', detail: 'AssertionError: expected 1 to equal 2\n    at x' })
        .run('h1', 's', 'broken', 'error', { errorType: 'TIMEOUT', message: 'Timeout of 2000ms exceeded' })
        .hostEnd('h1')
        .runEnd()
        .build();
      const [ok, wrong, broken] = suiteOf(record, 'h1', 's').tests;
      expect(ok).to.deep.include({ title: 'ok', outcome: 'passed', output: 'ok output', durationMs: 120, attempts: 1, flaky: false, startedAt: '2026-03-02T10:00:03.000Z' });
      expect(ok?.errorType).to.equal(undefined);
      expect(wrong).to.deep.include({ outcome: 'failed', errorType: 'ASSERTION', message: 'expected 1 to equal 2', detail: 'AssertionError: expected 1 to equal 2\n    at x' });
      expect(broken).to.deep.include({ outcome: 'error', errorType: 'TIMEOUT', message: 'Timeout of 2000ms exceeded' });
    });

    it('gives a failure without a type ASSERTION and an error without one HARNESS_ERROR', () => {
      const record = new JournalScript().plan('h1', 's', ['a', 'b']).run('h1', 's', 'a', 'failed').run('h1', 's', 'b', 'error').runEnd().build();
      expect(testOf(record, 'h1', 's', 'a').errorType).to.equal('ASSERTION');
      expect(testOf(record, 'h1', 's', 'b').errorType).to.equal('HARNESS_ERROR');
    });

    it('keeps a test-end that came without a test-start (a skipped or hook-blocked test), with 0 attempts', () => {
      const record = new JournalScript()
        .plan('h1', 's', ['a', 'b'])
        .end('h1', 's', 'a', 'skipped', { message: 'skipped by the suite (it.skip or this.skip())', durationMs: 0, attempt: 0 })
        .end('h1', 's', 'b', 'error', { errorType: 'HOOK_FAILED', message: 'not run: "before all" hook failed: exit 4', attempt: 0 })
        .runEnd()
        .build();
      expect(verdictOf(testOf(record, 'h1', 's', 'a'))).to.deep.equal({ outcome: 'skipped', errorType: undefined, message: 'skipped by the suite (it.skip or this.skip())' });
      expect(verdictOf(testOf(record, 'h1', 's', 'b'))).to.deep.equal({ outcome: 'error', errorType: 'HOOK_FAILED', message: 'not run: "before all" hook failed: exit 4' });
      expect(testOf(record, 'h1', 's', 'a').attempts).to.equal(0);
    });

    it('keeps tests in plan order whatever order they ran in', () => {
      const record = new JournalScript().plan('h1', 's', ['first', 'second']).run('h1', 's', 'second', 'passed').run('h1', 's', 'first', 'passed').runEnd().build();
      expect(suiteOf(record, 'h1', 's').tests.map((test) => test.title)).to.deep.equal(['first', 'second']);
    });
  });

  describe('retries', () => {
    it('uses the last test-end: a test that passed on its second attempt is passed, flaky, with 2 attempts', () => {
      const record = new JournalScript()
        .plan('h1', 's', ['port'])
        .run('h1', 's', 'port', 'failed', { message: 'ECONNREFUSED', detail: 'stack', output: 'attempt 1 output' })
        .run('h1', 's', 'port', 'passed', { attempt: 2, flaky: true, output: 'attempt 2 output' })
        .runEnd()
        .build();
      const test = testOf(record, 'h1', 's', 'port');
      expect(test).to.deep.include({ outcome: 'passed', attempts: 2, flaky: true, output: 'attempt 2 output' });
      expect(test.message).to.equal(undefined);
      expect(listFailedAttempts(test)).to.deep.equal([
        { attempt: 1, outcome: 'failed', errorType: 'ASSERTION', message: 'ECONNREFUSED', detail: 'stack', output: 'attempt 1 output', durationMs: 250 },
      ]);
    });

    it('fails a test that failed on every attempt, keeping the earlier attempt', () => {
      const record = new JournalScript()
        .plan('h1', 's', ['t'])
        .run('h1', 's', 't', 'failed', { message: 'first' })
        .run('h1', 's', 't', 'failed', { message: 'second', attempt: 2 })
        .runEnd()
        .build();
      const test = testOf(record, 'h1', 's', 't');
      expect(test).to.deep.include({ outcome: 'failed', message: 'second', attempts: 2, flaky: false });
      expect(listFailedAttempts(test).map((attempt) => attempt.message)).to.deep.equal(['first']);
    });

    it('gives a retry that never finished the host cause, not the earlier attempt\'s failure', () => {
      const record = new JournalScript()
        .plan('h1', 's', ['t'])
        .run('h1', 's', 't', 'failed', { message: 'first attempt failed' })
        .start('h1', 's', 't', 2)
        .hostEnd('h1', CRASH)
        .runEnd()
        .build();
      const test = testOf(record, 'h1', 's', 't');
      expect(verdictOf(test)).to.deep.equal({ outcome: 'error', errorType: 'WORKER_CRASHED', message: CRASH.message });
      expect(test.attempts).to.equal(2);
      expect(listFailedAttempts(test).map((attempt) => attempt.message)).to.deep.equal(['first attempt failed']);
    });

    it('tells apart two tests with the same title (mocha allows it)', () => {
      const record = new JournalScript()
        .plan('h1', 's', ['same', 'other', 'same'])
        .run('h1', 's', 'same', 'passed')
        .run('h1', 's', 'other', 'passed')
        .run('h1', 's', 'same', 'failed', { message: 'the second one' })
        .runEnd()
        .build();
      expect(suiteOf(record, 'h1', 's').tests.map((test) => [test.title, test.outcome, test.attempts])).to.deep.equal([
        ['same', 'passed', 1],
        ['other', 'passed', 1],
        ['same', 'failed', 1],
      ]);
    });
  });

  describe('suites that did not run their tests', () => {
    it('skips every planned test of a skipped suite, with the reason', () => {
      const record = new JournalScript().plan('h1', 's', ['a', 'b'], { skipped: 'destructive suite: h1 is not gauntlet_disposable' }).hostEnd('h1').runEnd().build();
      const suite = suiteOf(record, 'h1', 's');
      expect(suite.skipped).to.equal('destructive suite: h1 is not gauntlet_disposable');
      expect(suite.tests.map(verdictOf)).to.deep.equal([
        { outcome: 'skipped', errorType: undefined, message: 'destructive suite: h1 is not gauntlet_disposable' },
        { outcome: 'skipped', errorType: undefined, message: 'destructive suite: h1 is not gauntlet_disposable' },
      ]);
    });

    it('keeps a skipped suite visible when its plan names no tests', () => {
      const record = new JournalScript().plan('h1', 's', [], { skipped: 'requires podman' }).runEnd().build();
      expect(suiteOf(record, 'h1', 's').tests.map((test) => [test.title, test.outcome, test.message])).to.deep.equal([
        [SUITE_SKIPPED_TITLE, 'skipped', 'requires podman'],
      ]);
    });

    it('turns a load error into one SUITE_LOAD_FAILED error', () => {
      const loadError = "SyntaxError: Unexpected token '}'\n    at suites/broken.spec.ts:12:1";
      const record = new JournalScript().plan('h1', 's', [], { loadError }).hostEnd('h1').runEnd().build();
      const tests = suiteOf(record, 'h1', 's').tests;
      expect(tests).to.have.length(1);
      expect(tests[0]).to.deep.include({
        title: SUITE_LOAD_FAILED_TITLE,
        outcome: 'error',
        errorType: 'SUITE_LOAD_FAILED',
        message: "SyntaxError: Unexpected token '}'",
        detail: loadError,
      });
    });
  });

  describe('tests that never reported an end', () => {
    it('gives a worker crash to the running test, and "not run: …" to the tests after it', () => {
      const record = new JournalScript()
        .plan('h1', 's', ['done', 'running', 'later'])
        .run('h1', 's', 'done', 'passed')
        .start('h1', 's', 'running')
        .hostEnd('h1', CRASH)
        .runEnd()
        .build();
      expect(suiteOf(record, 'h1', 's').tests.map(verdictOf)).to.deep.equal([
        { outcome: 'passed', errorType: undefined, message: undefined },
        { outcome: 'error', errorType: 'WORKER_CRASHED', message: CRASH.message },
        { outcome: 'error', errorType: 'WORKER_CRASHED', message: `not run: ${CRASH.message}` },
      ]);
      expect(testOf(record, 'h1', 's', 'running')).to.deep.include({ attempts: 1, durationMs: 1000 });
      expect(testOf(record, 'h1', 's', 'later')).to.deep.include({ attempts: 0, durationMs: 0 });
    });

    it('gives a lost connection to every unfinished test of every suite on that host only', () => {
      const lost: HostCause = { type: 'LOST_CONNECTION', message: 'connection lost: 3 keepalives unanswered (15 s)' };
      const record = new JournalScript(['h1', 'h2'], ['s', 't'])
        .plan('h1', 's', ['a'])
        .plan('h1', 't', ['b'])
        .plan('h2', 's', ['a'])
        .plan('h2', 't', ['b'])
        .run('h2', 's', 'a', 'passed')
        .run('h2', 't', 'b', 'passed')
        .start('h1', 's', 'a')
        .hostEnd('h1', lost)
        .hostEnd('h2')
        .runEnd()
        .build();
      expect(verdictOf(testOf(record, 'h1', 's', 'a'))).to.deep.equal({ outcome: 'error', errorType: 'LOST_CONNECTION', message: lost.message });
      expect(verdictOf(testOf(record, 'h1', 't', 'b'))).to.deep.equal({ outcome: 'error', errorType: 'LOST_CONNECTION', message: `not run: ${lost.message}` });
      expect(testOf(record, 'h2', 's', 'a').outcome).to.equal('passed');
      expect(testOf(record, 'h2', 't', 'b').outcome).to.equal('passed');
    });

    it('makes every planned test of an unreachable host a HOST_UNREACHABLE error with the connect error', () => {
      const error = 'connect ETIMEDOUT (connection timed out) after 10 s';
      const withHostEnd = new JournalScript()
        .unreachable('h1', error)
        .plan('h1', 's', ['a', 'b'])
        .hostEnd('h1', { type: 'HOST_UNREACHABLE', message: error })
        .runEnd()
        .build();
      const withoutHostEnd = new JournalScript().unreachable('h1', error).plan('h1', 's', ['a', 'b']).runEnd().build();
      for (const record of [withHostEnd, withoutHostEnd]) {
        expect(suiteOf(record, 'h1', 's').tests.map(verdictOf)).to.deep.equal([
          { outcome: 'error', errorType: 'HOST_UNREACHABLE', message: error },
          { outcome: 'error', errorType: 'HOST_UNREACHABLE', message: error },
        ]);
        expect(record.hosts[0]).to.deep.include({ name: 'h1', unreachable: error, facts: null, stackKey: null });
      }
    });

    it('calls unfinished tests of a run stopped by SIGINT interrupted', () => {
      const record = new JournalScript().plan('h1', 's', ['done', 'running', 'later']).run('h1', 's', 'done', 'failed').start('h1', 's', 'running').runEnd('SIGINT').build();
      expect(suiteOf(record, 'h1', 's').tests.map(verdictOf)).to.deep.equal([
        { outcome: 'failed', errorType: 'ASSERTION', message: undefined },
        { outcome: 'error', errorType: 'INTERRUPTED', message: 'interrupted by SIGINT' },
        { outcome: 'error', errorType: 'INTERRUPTED', message: 'not run: interrupted by SIGINT' },
      ]);
    });

    it('calls unfinished tests of a journal without run-end interrupted: the runner was killed', () => {
      const record = new JournalScript().plan('h1', 's', ['running', 'later']).start('h1', 's', 'running').build();
      expect(record.end).to.equal(null);
      expect(suiteOf(record, 'h1', 's').tests.map(verdictOf)).to.deep.equal([
        { outcome: 'error', errorType: 'INTERRUPTED', message: 'the runner stopped before the test finished (killed?)' },
        { outcome: 'error', errorType: 'INTERRUPTED', message: 'not run: the runner stopped before it ran' },
      ]);
    });

    it('calls a test missing from a run that ended normally a HARNESS_ERROR', () => {
      const record = new JournalScript().plan('h1', 's', ['a', 'vanished']).run('h1', 's', 'a', 'passed').hostEnd('h1').runEnd().build();
      expect(verdictOf(testOf(record, 'h1', 's', 'vanished'))).to.deep.equal({
        outcome: 'error',
        errorType: 'HARNESS_ERROR',
        message: 'the test was planned but never reported',
      });
    });

    it('ranks the causes: unreachable, then the host cause, then the run\'s interruption', () => {
      const record = new JournalScript(['h1', 'h2', 'h3'])
        .unreachable('h1', 'connect ECONNREFUSED (connection refused) after 0.0 s')
        .plan('h1', 's', ['a'])
        .plan('h2', 's', ['a'])
        .plan('h3', 's', ['a'])
        .hostEnd('h1', { type: 'HOST_UNREACHABLE', message: 'connect ECONNREFUSED (connection refused) after 0.0 s' })
        .hostEnd('h2', CRASH)
        .runEnd('SIGTERM')
        .build();
      expect(['h1', 'h2', 'h3'].map((host) => testOf(record, host, 's', 'a').errorType)).to.deep.equal(['HOST_UNREACHABLE', 'WORKER_CRASHED', 'INTERRUPTED']);
    });
  });

  describe('nothing is dropped', () => {
    it('appends tests mocha reported that the plan did not list (dynamic tests), finished or not', () => {
      const record = new JournalScript()
        .plan('h1', 's', ['planned'])
        .run('h1', 's', 'generated 1', 'passed')
        .run('h1', 's', 'planned', 'passed')
        .start('h1', 's', 'generated 2')
        .hostEnd('h1', CRASH)
        .runEnd()
        .build();
      expect(suiteOf(record, 'h1', 's').tests.map((test) => [test.title, test.outcome])).to.deep.equal([
        ['planned', 'passed'],
        ['generated 1', 'passed'],
        ['generated 2', 'error'],
      ]);
    });

    it('reports a suite whose events came without a plan', () => {
      const record = new JournalScript(['h1'], []).run('h1', 'unplanned', 'a', 'passed').runEnd().build();
      expect(suiteOf(record, 'h1', 'unplanned').tests.map((test) => test.title)).to.deep.equal(['a']);
    });

    it('gives a selected suite that a host never planned one "(suite not run)" test with the cause', () => {
      const killed = new JournalScript(['h1', 'h2'], ['s']).plan('h1', 's', ['a']).run('h1', 's', 'a', 'passed').build();
      expect(record(killed, 'h2')).to.deep.equal([SUITE_NOT_RUN_TITLE, 'error', 'INTERRUPTED', 'not run: the runner stopped before it ran']);
      const unreachable = new JournalScript(['h1'], ['s']).unreachable('h1', 'connect EHOSTUNREACH (no route to host) after 3 s').runEnd().build();
      expect(record(unreachable, 'h1')).to.deep.equal([SUITE_NOT_RUN_TITLE, 'error', 'HOST_UNREACHABLE', 'connect EHOSTUNREACH (no route to host) after 3 s']);
      const normal = new JournalScript(['h1'], ['s']).hostEnd('h1').runEnd().build();
      expect(record(normal, 'h1')).to.deep.equal([SUITE_NOT_RUN_TITLE, 'error', 'HARNESS_ERROR', 'the suite was selected but never planned on this host']);

      function record(run: RunRecord, host: string): unknown[] {
        const [test, ...others] = suiteOf(run, host, 's').tests;
        expect(others).to.deep.equal([]);
        return [test?.title, test?.outcome, test?.errorType, test?.message];
      }
    });

    it('adds no "(suite not run)" test in a sharded run, where the pair may be another shard\'s', () => {
      const script = new JournalScript(['h1', 'h2'], ['s']).plan('h1', 's', ['a']).run('h1', 's', 'a', 'passed').runEnd();
      const start = script.events[0] as Extract<JournalEvent, { type: 'run-start' }>;
      start.shard = { index: 1, total: 2 };
      expect(script.build().suites.map((suite) => `${suite.suite}@${suite.host}`)).to.deep.equal(['s@h1']);
    });

    it('in a sharded run, reports an unplanned pair only when run-start says the host owed it', () => {
      const script = new JournalScript(['h1', 'h2'], ['s', 't']).plan('h1', 's', ['a']).run('h1', 's', 'a', 'passed');
      const start = script.events[0] as Extract<JournalEvent, { type: 'run-start' }>;
      start.shard = { index: 1, total: 2 };
      start.pairs = { h1: ['s'], h2: ['t'] };
      const built = script.build();
      expect(built.suites.map((suite) => `${suite.suite}@${suite.host}`)).to.deep.equal(['s@h1', 't@h2']);
      expect(verdictOf(testOf(built, 'h2', 't', SUITE_NOT_RUN_TITLE))).to.deep.equal({
        outcome: 'error',
        errorType: 'INTERRUPTED',
        message: 'not run: the runner stopped before it ran',
      });
    });

    it('makes every test of a suite whose plan carries an error that error, not a skip', () => {
      const cause = { type: 'ENGINE_UNAVAILABLE', message: 'the suite needs the container engine, which did not answer: timeout' };
      const built = new JournalScript(['h1'], ['s']).plan('h1', 's', ['a', 'b'], { error: cause }).hostEnd('h1').runEnd().build();
      for (const title of ['a', 'b']) {
        expect(verdictOf(testOf(built, 'h1', 's', title))).to.deep.equal({ outcome: 'error', errorType: 'ENGINE_UNAVAILABLE', message: `not run: ${cause.message}` });
      }
    });

    it('counts as many tests as were planned plus those added on the fly', () => {
      const script = new JournalScript(['h1', 'h2'], ['s', 't'])
        .plan('h1', 's', ['a', 'b', 'c'])
        .plan('h1', 't', [], { loadError: 'Error: Cannot find module' })
        .plan('h2', 's', ['a', 'b', 'c'], { skipped: 'requires cgroup v2' })
        .plan('h2', 't', ['x', 'y'])
        .run('h1', 's', 'a', 'passed')
        .run('h1', 's', 'dynamic', 'passed')
        .start('h2', 't', 'x');
      const record = script.build();
      const counts = record.suites.map((suite) => `${suite.suite}@${suite.host}:${suite.tests.length}`);
      expect(counts).to.deep.equal(['s@h1:4', 't@h1:1', 's@h2:3', 't@h2:2']);
    });
  });

  describe('hosts, metrics and timing', () => {
    it('takes hosts from run-start, and facts, stack key, unreachable and cause from their events', () => {
      const facts = { bootId: 'b-1' } as unknown as Extract<JournalEvent, { type: 'host-facts' }>['facts'];
      const script = new JournalScript(['h1', 'h2']);
      script.events.push({ type: 'host-facts', ts: '2026-03-02T10:00:01.500Z', host: 'h1', id: 'ssh://ops@h1.lab:22', stackKey: 'debian-12/6.1.0/docker-24.0.5/overlay2/extfs/cgroup2', facts });
      const record = script.unreachable('h2', 'connect ECONNREFUSED (connection refused) after 0.0 s').hostEnd('h1', CRASH).runEnd().build();
      expect(record.hosts).to.deep.equal([
        { name: 'h1', id: 'ssh://ops@h1.lab:22', stackKey: 'debian-12/6.1.0/docker-24.0.5/overlay2/extfs/cgroup2', facts, unreachable: null, cause: CRASH },
        { name: 'h2', id: 'ssh://ops@h2.lab:22', stackKey: null, facts: null, unreachable: 'connect ECONNREFUSED (connection refused) after 0.0 s', cause: null },
      ]);
      expect(record.start.runId).to.equal('run-1');
      expect(record.end).to.include({ type: 'run-end' });
    });

    it('collects metrics per suite and host, repeats included', () => {
      const record = new JournalScript(['h1', 'h2'])
        .plan('h1', 's', [])
        .plan('h2', 's', [])
        .metric('h1', 's', 'create_p95', 812, 'ms')
        .metric('h2', 's', 'create_p95', 900, 'ms')
        .metric('h1', 's', 'create_p95', 790, 'ms')
        .runEnd()
        .build();
      expect(suiteOf(record, 'h1', 's').metrics).to.deep.equal([
        { name: 'create_p95', value: 812, unit: 'ms' },
        { name: 'create_p95', value: 790, unit: 'ms' },
      ]);
      expect(suiteOf(record, 'h2', 's').metrics).to.deep.equal([{ name: 'create_p95', value: 900, unit: 'ms' }]);
    });

    it('takes a suite\'s start and duration from suite-start and suite-end, else from its tests', () => {
      const record = new JournalScript(['h1'], ['s', 't'])
        .plan('h1', 's', ['a'])
        .plan('h1', 't', ['a', 'b'])
        .suiteStart('h1', 's')
        .run('h1', 's', 'a', 'passed', { durationMs: 100 })
        .suiteEnd('h1', 's', 5000)
        .run('h1', 't', 'a', 'passed', { durationMs: 100 })
        .run('h1', 't', 'b', 'passed', { durationMs: 300 })
        .runEnd()
        .build();
      expect(suiteOf(record, 'h1', 's')).to.deep.include({ startedAt: '2026-03-02T10:00:04.000Z', durationMs: 5000 });
      expect(suiteOf(record, 'h1', 't')).to.deep.include({ startedAt: '2026-03-02T10:00:08.000Z', durationMs: 400 });
    });

    it('refuses events that do not start with run-start', () => {
      const events = new JournalScript().plan('h1', 's', []).events.slice(1);
      expect(() => buildRunRecord(events)).to.throw(GauntletError, /run-start/);
    });
  });
});

describe('buildRunRecord: kernel events', () => {
  it('makes a test an error of the fatal class it caused, titled by the event, even when mocha passed it', () => {
    const record = new JournalScript()
      .plan('h1', 's', ['spins', 'after'])
      .start('h1', 's', 'spins')
      .kernel('h1', { class: 'SOFT_LOCKUP', title: 'BUG: soft lockup in gauntlet_spin', fatal: true, test: { suite: 's', title: 'spins' }, excerpt: 'watchdog: BUG: soft lockup - CPU#0 stuck for 8s! [insmod:312]' })
      .end('h1', 's', 'spins', 'passed')
      .run('h1', 's', 'after', 'passed')
      .hostEnd('h1')
      .runEnd()
      .build();
    const spins = testOf(record, 'h1', 's', 'spins');
    expect(verdictOf(spins)).to.deep.equal({ outcome: 'error', errorType: 'SOFT_LOCKUP', message: 'BUG: soft lockup in gauntlet_spin' });
    expect(spins.output).to.include('spins output').and.include('watchdog: BUG: soft lockup - CPU#0 stuck for 8s! [insmod:312]');
    expect(testOf(record, 'h1', 's', 'after').outcome).to.equal('passed');
    expect(exitCodeOf(record)).to.equal(1);
  });

  it('keeps a non-fatal event as evidence without failing the test', () => {
    const record = new JournalScript()
      .plan('h1', 's', ['oom'])
      .start('h1', 's', 'oom')
      .kernel('h1', { class: 'OOM', title: 'OOM kill in memory cgroup', fatal: false, test: { suite: 's', title: 'oom' } })
      .end('h1', 's', 'oom', 'passed')
      .hostEnd('h1')
      .runEnd()
      .build();
    const oom = testOf(record, 'h1', 's', 'oom');
    expect(verdictOf(oom)).to.deep.equal({ outcome: 'passed', errorType: undefined, message: undefined });
    expect(oom.output).to.include('kernel event OOM: OOM kill in memory cgroup');
    expect(oom.kernelEvents?.map((event) => event.class)).to.deep.equal(['OOM']);
  });

  it('lets the post-mortem title win over the lost connection that came first, by severity', () => {
    const record = new JournalScript()
      .plan('h1', 's', ['panics', 'next'])
      .start('h1', 's', 'panics')
      .end('h1', 's', 'panics', 'error', { errorType: 'LOST_CONNECTION', message: 'connection closed by the host' })
      .kernel('h1', { class: 'LOST_CONNECTION', title: 'lost connection to host', fatal: true, source: 'heartbeat', test: { suite: 's', title: 'panics' } })
      .kernel('h1', { class: 'PANIC', title: 'kernel panic: sysrq triggered crash', fatal: true, source: 'post-mortem', test: { suite: 's', title: 'panics' } })
      .run('h1', 's', 'next', 'passed')
      .hostEnd('h1')
      .runEnd()
      .build();
    expect(verdictOf(testOf(record, 'h1', 's', 'panics'))).to.deep.equal({ outcome: 'error', errorType: 'PANIC', message: 'kernel panic: sysrq triggered crash' });
    expect(testOf(record, 'h1', 's', 'next').outcome).to.equal('passed');
  });

  it('keeps an event seen while no test ran on the host record', () => {
    const record = new JournalScript().kernel('h1', { class: 'WARNING', title: 'WARNING in foo', fatal: false, test: null }).plan('h1', 's', ['t']).run('h1', 's', 't', 'passed').hostEnd('h1').runEnd().build();
    expect(record.hosts[0]!.kernelEvents?.map((event) => event.title)).to.deep.equal(['WARNING in foo']);
    expect(testOf(record, 'h1', 's', 't').outcome).to.equal('passed');
  });
});

describe('summarizeRun', () => {
  it('counts hosts that ran and every outcome; a flaky test is passed and flaky', () => {
    const record = new JournalScript(['h1', 'h2', 'h3'], ['s'])
      .unreachable('h3', 'connect ETIMEDOUT (connection timed out) after 10 s')
      .plan('h1', 's', ['a', 'b', 'c'])
      .plan('h2', 's', ['a', 'b', 'c'], { skipped: 'requires podman' })
      .plan('h3', 's', ['a', 'b', 'c'])
      .run('h1', 's', 'a', 'failed')
      .run('h1', 's', 'a', 'passed', { attempt: 2, flaky: true })
      .run('h1', 's', 'b', 'failed')
      .run('h1', 's', 'c', 'error', { errorType: 'TIMEOUT' })
      .hostEnd('h1')
      .hostEnd('h2')
      .runEnd()
      .build();
    expect(summarizeRun(record)).to.deep.equal({ hostsTotal: 3, hostsRan: 2, passed: 1, failed: 1, errors: 4, skipped: 3, flaky: 1 });
  });
});

describe('exitCodeOf', () => {
  const cases: [string, JournalScript, number][] = [
    ['everything passed', new JournalScript().plan('h1', 's', ['a']).run('h1', 's', 'a', 'passed').runEnd(), 0],
    ['passed, flaky and skipped only', new JournalScript().plan('h1', 's', ['a', 'b']).run('h1', 's', 'a', 'failed').run('h1', 's', 'a', 'passed', { attempt: 2, flaky: true }).end('h1', 's', 'b', 'skipped').runEnd(), 0],
    ['a test failed', new JournalScript().plan('h1', 's', ['a']).run('h1', 's', 'a', 'failed').runEnd(), 1],
    ['a test errored', new JournalScript().plan('h1', 's', ['a']).run('h1', 's', 'a', 'error').runEnd(), 1],
    ['a host was unreachable', new JournalScript().unreachable('h1', 'connect ETIMEDOUT').plan('h1', 's', ['a']).runEnd(), 1],
    ['the runner was killed', new JournalScript().plan('h1', 's', ['a']), 1],
    ['SIGINT, even with every finished test passed', new JournalScript().plan('h1', 's', ['a']).run('h1', 's', 'a', 'passed').runEnd('SIGINT'), 130],
    ['SIGTERM', new JournalScript().plan('h1', 's', ['a']).runEnd('SIGTERM'), 143],
  ];
  for (const [name, script, code] of cases) {
    it(`is ${code} when ${name}`, () => {
      expect(exitCodeOf(script.build())).to.equal(code);
    });
  }
});

describe('a real run rebuilt from its journal', () => {
  it('gives the same JUnit the runner wrote when the run ended, kernel events included', async () => {
    const dir = new URL('../../reports/examples/20261122-125945-4dbb/', import.meta.url);
    const { events, warnings } = await readJournal(new URL('journal.jsonl', dir).pathname);
    expect(warnings).to.deep.equal([]);
    const written = await readFile(new URL('junit.xml', dir), 'utf8');
    expect(written).to.include('gauntlet.kernel.events');
    expect(renderJunit(buildRunRecord(events))).to.equal(written);
  });
});
