// The rank layer, pure: testsuites read back from JUnit give ranked stacks and qualification verdicts.
export * from './statistics.js';
export * from './evidence.js';
export * from './rank-stacks.js';
export * from './qualify.js';
