// ESLint flat config. The import boundaries below are the dependency direction of DESIGN.md §3:
//   cli → coordinator → proto ← node-agent
// node-agent never imports coordinator; coordinator never imports node-agent; proto imports neither;
// nothing outside a folder reaches past that folder's index.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const zones = [
  {
    target: './proto',
    from: './coordinator',
    message: 'proto is the shared contract: it imports nothing of ours.',
  },
  {
    target: './proto',
    from: './node-agent',
    message: 'proto is the shared contract: it imports nothing of ours.',
  },
  {
    target: './proto',
    from: './cli',
    message: 'proto is the shared contract: it imports nothing of ours.',
  },
  {
    target: './node-agent',
    from: './coordinator',
    message: 'node-agent must not import coordinator (cli → coordinator → proto ← node-agent).',
  },
  { target: './node-agent', from: './cli', message: 'node-agent must not import cli.' },
  {
    target: './coordinator',
    from: './node-agent',
    message: 'coordinator reaches node agents only through the proto contract.',
  },
  { target: './coordinator', from: './cli', message: 'coordinator must not import cli.' },
];

// Other folders may import only a folder's public surface (its index.ts).
const publicSurface = ['proto', 'coordinator', 'node-agent'].map((dir) => ({
  target: `./!(${dir})/**/*`,
  from: `./${dir}`,
  except: ['./index.ts'],
  message: `import ${dir}/index.js, the folder's public surface, not its internals.`,
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // NodeNext sources import './x.js' for './x.ts': teach the resolver, or the boundary rules
      // below would silently skip every import they cannot resolve.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.js', '.mjs'],
          extensionAlias: { '.js': ['.ts', '.js'] },
        }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: [...zones] }],
      'no-console': 'error',
    },
  },
  {
    // Production folders: only a folder's index.ts is importable from another folder.
    files: ['proto/**/*.ts', 'coordinator/**/*.ts', 'node-agent/**/*.ts', 'cli/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: [...zones, ...publicSurface] }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
  },
  {
    // The dashboard page runs in the browser.
    files: ['coordinator/dashboard/page/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'document',
          'location',
          'fetch',
          'EventSource',
          'URLSearchParams',
          'requestAnimationFrame',
          'confirm',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // The CLI's output module and bench/test scripts may write to the console.
    files: ['cli/output.ts', 'bench/**', 'test/**', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
);
