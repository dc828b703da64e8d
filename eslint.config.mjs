// One linter for the whole tree. Type-aware rules catch floating promises; per-folder
// `no-restricted-imports` keeps the engine, the runner and the webview free of `vscode`.
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const noVscode = (where) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: [
        { name: 'vscode', message: `${where} must not import 'vscode': only src/vscode/** may.` },
      ],
    },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', '.vscode-test/**', 'test-results/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: [
                'test',
                'it',
                'describe',
                'suite',
                'before',
                'after',
                'beforeEach',
                'afterEach',
              ],
            },
          ],
        },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/core/**', 'src/adapters/**', 'src/protocol/**', 'src/cli/**'],
    rules: noVscode('The engine, adapters, protocol and CLI'),
  },
  { files: ['runner/**'], rules: noVscode('The runner') },
  { files: ['webview/**'], rules: noVscode('The webview') },
  {
    files: ['**/*.mjs', 'test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
