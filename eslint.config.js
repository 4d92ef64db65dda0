// Lint rules, chiefly the architecture: each folder of src/ imports only what its layer allows, and no cycles.

import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

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
  runner: ['model', 'inventory', 'transport', 'facts', 'watch', 'classify', 'report'],
  cli: ['model', 'inventory', 'transport', 'facts', 'watch', 'classify', 'report', 'rank', 'runner'],
};

const zones = Object.entries(LAYERS).map(([folder, allowed]) => ({
  target: `./src/${folder}`,
  from: './src',
  except: [`./${folder}`, ...allowed.map((name) => `./${name}`)],
  message: `src/${folder} may import only from: ${[folder, ...allowed].join(', ')}.`,
}));
zones.push({
  target: './suites',
  from: './src',
  except: ['./runner/suite-api.ts'],
  message: 'suites may import only the suite API (gauntlet/suite).',
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'reports/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      '@typescript-eslint/no-floating-promises': 'off',
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
