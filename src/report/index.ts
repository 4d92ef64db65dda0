// The report layer: the journal, the run record rebuilt from it, JUnit output, and the Reporter interface.
export * from './reporter.js';
export * from './journal.js';
export * from './run-record.js';
export * from './junit.js';
export * from './terminal.js';
export * from './junit-read.js';
export * from './merge-runs.js';
export * from './rank-output.js';
export * from './qualification.js';
export * from './html-page.js';
export * from './html-rank.js';
export * from './html-run.js';
export * from './soak-record.js';
export * from './repro-signature.js';
export * from './repro-bundle.js';
