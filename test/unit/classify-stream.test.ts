// Tests the stream classifier: the same events as classifyLog whatever the chunking (the whole corpus, cut at
// random), detection times, pending reports, quiet periods, and what a console can throw at it.

import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { classifyLog, createStreamClassifier, summarizeEvents, type DetectedKernelEvent } from '../../src/classify/index.js';
import { readConsoleFixtures } from '../helpers/console-corpus.js';

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/syzkaller-linux/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/console/', import.meta.url));

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feeds `text` in chunks of random size (1 to `maxChunk` characters), the clock advancing 1 ms per chunk. */
function classifyInChunks(text: string, random: () => number, maxChunk: number, copyExcerpts = false): DetectedKernelEvent[] {
  const classifier = createStreamClassifier({ quietMs: Number.POSITIVE_INFINITY, copyExcerpts });
  const events: DetectedKernelEvent[] = [];
  let atMs = 0;
  for (let pos = 0; pos < text.length; atMs++) {
    const size = 1 + Math.floor(random() * maxChunk);
    events.push(...classifier.push(text.slice(pos, pos + size), atMs));
    pos += size;
  }
  events.push(...classifier.flush(atMs));
  return events;
}

const HEADER = '[   95.152992] BUG: KASAN: use-after-free in snd_seq_queue_alloc+0x670/0x690';
const KASAN_REPORT = [
  '[   95.145581] ==================================================================',
  HEADER,
  '[   95.162080] Read of size 4 at addr ffff8801d0c6b080 by task syz-executor2/5764',
  '[   95.170000] Call Trace:',
  '[   95.170001]  dump_stack+0x194/0x257',
  '[   95.170002]  kasan_report+0x25b/0x340',
  '[   95.170003]  snd_seq_queue_alloc+0x670/0x690',
  '[   95.170004]  snd_seq_ioctl+0x2ac/0x3d0',
  '[   95.180000] ==================================================================',
];

describe('classify: the stream classifier', function () {
  this.timeout(300_000);

  it('gives the same events as classifyLog on every corpus log and fixture, cut into random chunks', () => {
    const fixtures = [...readConsoleFixtures(CORPUS, (name) => /^\d+$/.test(name)), ...readConsoleFixtures(FIXTURES, (name) => name.endsWith('.txt'))];
    const random = createRandom(20261122);
    let events = 0;
    for (const fixture of fixtures) {
      const expected = classifyLog(fixture.log);
      for (const maxChunk of [7, 300, 5000]) {
        const streamed = summarizeEvents(classifyInChunks(fixture.log, random, maxChunk));
        expect(streamed, `${fixture.name}, chunks of up to ${maxChunk} characters`).to.deep.equal(expected);
      }
      const copied = summarizeEvents(classifyInChunks(fixture.log, random, 5000, true));
      expect(copied, `${fixture.name}, excerpts copied`).to.deep.equal(expected);
      events += expected.events.length;
    }
    expect(events).to.be.greaterThan(400);
  });

  it('gives the same events one character at a time, and for CRLF line ends', () => {
    const fixtures = readConsoleFixtures(CORPUS, (name) => ['4', '74', '263', '692'].includes(name));
    expect(fixtures).to.have.length(4);
    for (const fixture of fixtures) {
      const expected = classifyLog(fixture.log);
      expect(summarizeEvents(classifyInChunks(fixture.log, () => 0, 1)), fixture.name).to.deep.equal(expected);
      const crlf = classifyLog(fixture.log.replace(/\n/g, '\r\n'));
      expect(crlf.events.map((e) => [e.title, e.startLine, e.endLine]), `${fixture.name} with CRLF`).to.deep.equal(
        expected.events.map((e) => [e.title, e.startLine, e.endLine]),
      );
    }
  });

  it("gives an excerpt of the report's own lines as the log has them: blanks kept, carriage returns and other tasks' lines left out", () => {
    const [divider, header, read, trace, ...frames] = KASAN_REPORT.map((line) => line.replace('] ', '][ T5764] '));
    const own = [`${divider}  `, header!, `${read}\t`, trace!, ...frames.map((frame, i) => (i === 1 ? `${frame} ` : frame))];
    const other = '[   95.170000][ T6001] syz-executor1: page allocation failure';
    const log = ['[   94.000000][    T1] eth0: link up', ...own.slice(0, 5), other, ...own.slice(5), '[   96.000000][    T1] eth0: link down', ''];
    const expected = own.join('\n');
    for (const [what, text] of [['LF', log.join('\n')], ['CRLF', log.join('\r\n')]] as const) {
      const whole = classifyLog(text);
      expect(whole.events.map((e) => e.rule), what).to.deep.equal(['kasan']);
      expect(whole.events[0]!.excerpt, what).to.equal(expected);
      expect(summarizeEvents(classifyInChunks(text, createRandom(7), 40)), `${what} in chunks`).to.deep.equal(whole);
      expect(classifyLog(text, { copyExcerpts: true }), `${what}, excerpts copied`).to.deep.equal(whole);
    }
    // Without the other task's line the report is one piece of the log: the same excerpt.
    const onePiece = classifyLog([...own, ''].join('\n'));
    expect(onePiece.events[0]!.excerpt).to.equal(expected);
  });

  it('tells when a report was detected, and shows it as pending until it is complete', () => {
    const classifier = createStreamClassifier({ quietMs: 60_000 });
    expect(classifier.push('[   94.000000] eth0: link up\n', 1000)).to.deep.equal([]);
    expect(classifier.pending()).to.equal(null);
    // The header arrives split across two chunks: it counts from the chunk that completes the line.
    expect(classifier.push(`${KASAN_REPORT[0]}\n${HEADER.slice(0, 30)}`, 2000)).to.deep.equal([]);
    expect(classifier.pending()).to.equal(null);
    expect(classifier.push(`${HEADER.slice(30)}\n${KASAN_REPORT.slice(2, 6).join('\n')}\n`, 2500)).to.deep.equal([]);
    expect(classifier.pending()).to.deep.include({ class: 'MEMORY_SAFETY', startedAtMs: 2500 });
    const done = classifier.push(`${KASAN_REPORT.slice(6).join('\n')}\n[   96.000000] eth0: link down\n`, 3000);
    expect(done).to.have.length(1);
    expect(done[0]).to.deep.include({
      class: 'MEMORY_SAFETY',
      title: 'KASAN: use-after-free Read in snd_seq_queue_alloc',
      fatal: true,
      detectedAtMs: 2500,
      startLine: 2,
      endLine: 10,
      rule: 'kasan',
    });
    expect(classifier.pending()).to.equal(null);
    expect(classifier.flush(4000)).to.deep.equal([]);
  });

  it('completes a report after a quiet period, and flush completes the rest', () => {
    const classifier = createStreamClassifier({ quietMs: 5000 });
    const hung = ['[  361.246294] INFO: task syz-executor0:6102 blocked for more than 120 seconds.', '[  361.297131] Call Trace:', '[  361.299714]  schedule+0x9c/0x1b0', '[  361.373472]  copy_net_ns+0xcc/0x220'];
    expect(classifier.push(`${hung.join('\n')}\n`, 10_000)).to.deep.equal([]);
    expect(classifier.push('', 14_999)).to.deep.equal([]);
    const quiet = classifier.push('', 15_000);
    expect(quiet.map((e) => [e.title, e.detectedAtMs])).to.deep.equal([['INFO: task hung in copy_net_ns', 10_000]]);
    // A last line without its newline is still read when the stream ends.
    expect(classifier.push('[  400.000000] unregister_netdevice: waiting for lo to become free. Usage count = 1', 20_000)).to.deep.equal([]);
    expect(classifier.flush(21_000).map((e) => e.title)).to.deep.equal(['unregister_netdevice: waiting for DEV to become free']);
  });

  it('takes a line longer than 1 MiB without a newline as it is, instead of buffering without end', () => {
    const classifier = createStreamClassifier();
    const blob = 'x'.repeat(1024 * 1024 + 10);
    expect(classifier.push(blob, 0)).to.deep.equal([]);
    expect(classifier.push(`\n${HEADER}\n`, 1)).to.deep.equal([]);
    expect(classifier.flush(2).map((e) => [e.rule, e.startLine])).to.deep.equal([['kasan', 3]]);
  });
});
