// The runner layer's entry.
export * from './fleet.js';
export * from './scheduler.js';
export * from './suites.js';
export * from './shard.js';
