// The runner layer's entry.
export * from './fleet.js';
