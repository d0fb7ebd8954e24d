import { describe, expect, it } from 'vitest';
import type { GtError } from '../../proto/index.js';
import { parseAgentSettings, paneState, presetForUser, resolveAgentPreset } from './presets.js';

describe('agent presets', () => {
  it('defaults to claude with skipped permissions', () => {
    const preset = resolveAgentPreset({ role: 'polecat' });
    expect(preset.name).toBe('claude');
    expect(preset.command).toEqual(['claude', '--dangerously-skip-permissions']);
    expect(preset.reportsViaHooks).toBe(true);
  });

  it('resolves town → town role → rig → rig role → explicit', () => {
    const town = parseAgentSettings('town.json', { agent: 'codex', roles: { polecat: 'gemini' } });
    const rig = parseAgentSettings('rig.json', { roles: { witness: 'aider' } });
    expect(resolveAgentPreset({ role: 'mayor', town }).name).toBe('codex');
    expect(resolveAgentPreset({ role: 'polecat', town }).name).toBe('gemini');
    expect(resolveAgentPreset({ role: 'polecat', town, rig: { agent: 'aider' } }).name).toBe(
      'aider',
    );
    expect(resolveAgentPreset({ role: 'witness', town, rig }).name).toBe('aider');
    expect(resolveAgentPreset({ role: 'refinery', town, rig }).name).toBe('codex');
    expect(resolveAgentPreset({ role: 'witness', town, rig, requested: 'claude' }).name).toBe(
      'claude',
    );
  });

  it('overlays preset tweaks from town then rig, and defines custom presets', () => {
    const town = parseAgentSettings('town.json', {
      presets: {
        claude: { args: ['--model', 'opus'], env: { A: '1' } },
        bot: { command: ['./bot', '--tty'], ready_pattern: '^bot> ', ready_timeout_ms: 5000 },
      },
    });
    const rig = parseAgentSettings('rig.json', {
      presets: {
        claude: {
          env: { B: '2' },
          blocking_prompts: [{ name: 'x', pattern: 'Proceed\\?', answer: ['Enter'] }],
        },
      },
    });
    const claude = resolveAgentPreset({ role: 'polecat', town, rig });
    expect(claude.command).toEqual(['claude', '--dangerously-skip-permissions', '--model', 'opus']);
    expect(claude.env).toEqual({ A: '1', B: '2' });
    expect(claude.blockingPrompts[0]).toMatchObject({ name: 'x', answer: ['Enter'] });
    const bot = resolveAgentPreset({ role: 'polecat', town, requested: 'bot' });
    expect(bot).toMatchObject({ name: 'bot', command: ['./bot', '--tty'], readyTimeoutMs: 5000 });
    expect(bot.readyPattern.test('log\nbot> ')).toBe(true);
  });

  it('rejects unknown presets, a custom preset without command, and bad config', () => {
    expect(() => resolveAgentPreset({ role: 'polecat', requested: 'nope' })).toThrow(
      /unknown agent preset "nope"/,
    );
    expect(() => resolveAgentPreset({ role: 'polecat', requested: 'custom' })).toThrow(
      /has no command/,
    );
    const custom = resolveAgentPreset({
      role: 'polecat',
      requested: 'custom',
      rig: { presets: { custom: { command: ['my-agent'] } } },
    });
    expect(custom.command).toEqual(['my-agent']);
    const err = (() => {
      try {
        parseAgentSettings('/t/config/town.json', {
          agent: 'claude',
          presets: { x: { ready_pattern: '(' } },
          extra: 1,
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })() as GtError;
    expect(err.code).toBe('GT_CONFIG_INVALID');
    expect(err.message).toContain(
      '/t/config/town.json: presets.x.ready_pattern: not a valid regular expression',
    );
    expect(err.message).toContain('/t/config/town.json: (root):');
  });

  it('classifies panes: blocking prompts win over ready and busy', () => {
    const claude = resolveAgentPreset({ role: 'polecat' });
    expect(paneState(claude, 'Do you trust the files in this folder?\n> ')).toEqual({
      state: 'waiting-for-input',
      prompt: 'trust this folder',
      answerable: true,
    });
    expect(paneState(claude, 'Do you want to proceed?\n 1. Yes')).toMatchObject({
      answerable: false,
    });
    expect(paneState(claude, '✻ Thinking… (esc to interrupt)')).toEqual({ state: 'busy' });
    expect(paneState(claude, '╭───╮\n│ > │\n╰───╯\n  ? for shortcuts')).toEqual({ state: 'ready' });
    expect(paneState(claude, 'booting')).toEqual({ state: 'unknown' });
  });

  it('as root, claude gets IS_SANDBOX=1 and a note saying so; codex, gemini and others need nothing', () => {
    const claude = resolveAgentPreset({ role: 'polecat' });
    expect(presetForUser(claude, 1000)).toEqual({ preset: claude, notes: [] });
    const root = presetForUser(claude, 0);
    expect(root.preset.env).toEqual({ IS_SANDBOX: '1' });
    expect(root.notes).toEqual([expect.stringContaining('running as root: set IS_SANDBOX=1')]);
    // A user's own env for the preset wins over the root default.
    const own = resolveAgentPreset({
      role: 'polecat',
      town: parseAgentSettings('t.json', { presets: { claude: { env: { IS_SANDBOX: '0' } } } }),
    });
    expect(presetForUser(own, 0).preset.env).toEqual({ IS_SANDBOX: '0' });
    for (const name of ['codex', 'gemini', 'aider']) {
      const p = resolveAgentPreset({ role: 'polecat', requested: name });
      expect(presetForUser(p, 0)).toEqual({ preset: p, notes: [] });
    }
  });
});
