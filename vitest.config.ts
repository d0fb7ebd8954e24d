import { defineConfig } from 'vitest/config';

// Four projects: pure logic (unit, next to the code), integration (real git / sqlite / gRPC /
// tmux in temp dirs) and end-to-end (the built gt/bd binaries, run as a user would).
export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'proto/**/*.test.ts',
            'coordinator/**/*.test.ts',
            'node-agent/**/*.test.ts',
            'cli/**/*.test.ts',
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      {
        // The real Claude Code / Codex / Gemini CLIs, offline; setup.ts installs them when missing.
        test: {
          name: 'real-agents',
          include: ['test/real-agents/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          // One CLI at a time: they are heavy.
          fileParallelism: false,
          globalSetup: ['test/real-agents/setup.ts'],
        },
      },
    ],
  },
});
