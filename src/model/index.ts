// The model: types shared by every layer of gauntlet's pipeline.
export * from './host.js';
export * from './command.js';
export * from './facts.js';
export * from './errors.js';
export * from './run.js';
export * from './fault.js';
export * from './rank.js';
export * from './soak.js';
