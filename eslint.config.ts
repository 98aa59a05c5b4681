import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.mlops-local/', 'coverage/', 'reports/', '.stryker-tmp/', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only', message: 'focused tests hide what CI should see' },
        { object: 'it', property: 'only', message: 'focused tests hide what CI should see' },
        { object: 'test', property: 'only', message: 'focused tests hide what CI should see' },
        { object: 'describe', property: 'skip', message: 'skipped tests hide what CI should see' },
        { object: 'it', property: 'skip', message: 'skipped tests hide what CI should see' },
        { object: 'test', property: 'skip', message: 'skipped tests hide what CI should see' },
        { object: 'it', property: 'todo', message: 'todo tests hide what CI should see' },
        { object: 'test', property: 'todo', message: 'todo tests hide what CI should see' },
      ],
    },
  },
  {
    // Plain ESM scripts (the benchmark's Lambda harness) run on Node.
    files: ['**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', performance: 'readonly' },
    },
  },
  {
    // The core is pure: no AWS, no runtime adapters (see docs/architecture.md).
    files: ['lambdas/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', '@aws-lambda-powertools/*', 'onnxruntime-node', '#adapters/*', '#shared/*', 'aws-cdk-lib', 'aws-cdk-lib/*'] }],
    },
  },
  {
    // contracts/ is what lib/ and the Lambdas share: schemas, names, routes. It imports nothing of ours and no AWS.
    files: ['contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '#core/*',
            '#adapters/*',
            '#shared/*',
            '../*',
            '@aws-sdk/*',
            '@aws-lambda-powertools/*',
            'aws-cdk-lib',
            'aws-cdk-lib/*',
            'constructs',
            'node:*',
          ],
        },
      ],
    },
  },
  {
    // lib/ is CDK only: it points at handler entry files but never imports runtime code (contracts/ it may import).
    files: ['lib/**/*.ts', 'bin/app.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['#core/*', '#adapters/*', '#shared/*', '../lambdas/*', '../../lambdas/*'] }],
    },
  },
);
