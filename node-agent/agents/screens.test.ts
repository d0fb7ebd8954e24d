// The presets against the first screens of the real CLIs, captured from tmux panes (Claude Code
// 2.1.332, codex-cli 0.171.0, Gemini CLI 0.61.0; fresh HOME, no network). The real-agents suite
// (test/real-agents) checks the same screens live; these captures keep the patterns honest
// without the CLIs installed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { paneState, resolveAgentPreset } from './presets.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'real-agents', 'fixtures');
const screen = (file: string): string => readFileSync(join(FIXTURES, file), 'utf8');
const preset = (name: string) => resolveAgentPreset({ role: 'polecat', requested: name });

const waiting = (prompt: string, answerable: boolean) => ({
  state: 'waiting-for-input',
  prompt,
  answerable,
});

describe('presets against the real first screens', () => {
  it.each([
    ['claude', 'claude-trust.txt', waiting('trust this folder', true)],
    ['claude', 'claude-bypass-warning.txt', waiting('accept bypass-permissions mode', false)],
    // The input box is drawn, with "Not logged in · run /login" under it: not ready.
    ['claude', 'claude-not-logged-in.txt', waiting('login', false)],
    [
      'claude',
      'claude-offline.txt',
      waiting('offline (Unable to connect to Anthropic services)', false),
    ],
    ['codex', 'codex-login.txt', waiting('login', false)],
    ['gemini', 'gemini-trust.txt', waiting('trust this folder', true)],
    // The answered trust box is still on the screen, above the login choice: login is current.
    ['gemini', 'gemini-login.txt', waiting('login', false)],
  ])('%s: %s', (name, file, expected) => {
    expect(paneState(preset(name), screen(file))).toEqual(expected);
  });

  it('claude as root without IS_SANDBOX exits with its refusal: no screen to wait at', () => {
    const text = screen('claude-root-refused.txt');
    expect(text).toContain('--dangerously-skip-permissions cannot be used with root/sudo');
    expect(paneState(preset('claude'), text)).toEqual({ state: 'unknown' });
  });

  it('the trust answers are the keys that pick "trust" on those screens', () => {
    const trustPrompt = (name: string) =>
      preset(name).blockingPrompts.find((b) => b.name === 'trust this folder');
    const trust = (name: string) => trustPrompt(name)?.answer;
    // Claude Code preselects "No, exit": its answer is the menu line to move the marker onto
    // (answerPrompt checks each key on the pane); Gemini CLI preselects "1. Trust folder".
    expect(screen('claude-trust.txt')).toMatch(/❯ No, exit\n\s*Yes, I trust this folder/);
    const choose = trustPrompt('claude')?.choose;
    const lines = screen('claude-trust.txt').split('\n');
    expect(lines.filter((l) => choose?.test(l) === true)).toEqual(['   Yes, I trust this folder']);
    expect(trust('claude')).toBeUndefined();
    expect(screen('gemini-trust.txt')).toMatch(/● 1\. Trust folder/);
    expect(trust('gemini')).toEqual(['Enter']);
  });
});
