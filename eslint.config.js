// ESLint with typescript-eslint's type-aware rules. `npm test` runs it before
// the suite (scripts/test.sh); `npm run lint` alone.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// A data-sized array spread into a call's arguments overflows the stack at a
// few hundred thousand values (Math.max(...column), rows.push(...batch)).
const noDataSizedSpread = {
  selector: 'CallExpression[callee.property.name=/^(push|unshift|min|max|apply|concat|fromCharCode)$/] > SpreadElement',
  message: 'Spreading an array into push/unshift/Math.min/Math.max arguments overflows the stack on production-size data: use a loop.',
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'test/fixtures/**', 'src/drift/batch/worker-bootstrap.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': ['error', noDataSizedSpread],
      // Async functions that implement an async interface without awaiting (MemoryStore, activity stubs) are fine.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests and scripts read JSON they wrote themselves (reports, histories, fixtures); tsc still checks them.
    files: ['test/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
