// Lint rules, chiefly the architecture: each folder of src/ imports only what its layer allows.
// Import cycles are checked separately with madge (npm run lint).

import tseslint from 'typescript-eslint';

/** Folder → the src/ folders it may import from (itself always allowed). The pipeline reads top to bottom. */
const LAYERS = {
  model: [],
  inventory: ['model'],
  transport: ['model'],
  facts: ['model', 'transport'],
  watch: ['model', 'transport'],
  classify: ['model'],
  report: ['model'],
  rank: ['model'],
  lab: ['model', 'inventory', 'transport'],
  runner: ['model', 'inventory', 'transport', 'facts', 'watch', 'classify', 'report'],
  cli: ['model', 'inventory', 'transport', 'facts', 'watch', 'classify', 'report', 'rank', 'runner', 'lab'],
};
const FOLDERS = Object.keys(LAYERS);

/** Imports are relative (`../transport/index.js`), so a forbidden folder is any `../…/<folder>/` in the path. */
function forbiddenImports(folder) {
  const allowed = new Set([folder, ...LAYERS[folder]]);
  const forbidden = FOLDERS.filter((name) => !allowed.has(name));
  return forbidden.map((name) => ({
    group: [`../${name}/*`, `../../${name}/*`, `../${name}`, `../../${name}`],
    message: `src/${folder} may import only from: ${[...allowed].join(', ')}.`,
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'reports/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
  },
  ...FOLDERS.map((folder) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: forbiddenImports(folder) }] },
  })),
  {
    files: ['suites/**/*.ts', 'suites/**/*.js'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../src/*', '../../src/*', '**/dist/*'], message: 'suites may import only the suite API: gauntlet/suite.' }] },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'suites/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name=/^(describe|it|context)$/][callee.property.name='only']", message: 'no .only(): it hides every other test' },
      ],
    },
  },
);
