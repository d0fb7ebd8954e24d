/**
 * Agent presets: how to start an agent program, how to tell from its pane that it is ready for
 * a prompt, busy, or stuck at a prompt that waits for a human (trust / permission / login), and
 * which of those prompts are safe to answer automatically.
 *
 * Pane text is only a fallback signal (DESIGN.md §8): it breaks on UI changes, so patterns are
 * config, overridable without a release, and agents that report their own state (Claude Code
 * hooks calling `gt`) should be believed first.
 *
 * Configuration (zod, `.strict()`): an `AgentSettings` object, found at town level and rig
 * level (the town/rig layout decides the file; e.g. an `agents` key):
 *
 *   { "agent": "claude",                       preset for every role at this level
 *     "roles": { "polecat": "codex" },         preset per role at this level
 *     "presets": { "claude": { "args": ["--model", "opus"] },      tweak a built-in
 *                  "mybot": { "command": ["./bot", "--tty"], "ready_pattern": "^bot> " } } }
 *
 * Resolution, later wins: built-in default (claude) → town.agent → town.roles[role] → rig.agent
 * → rig.roles[role] → an explicit choice (`gt spawn --agent X`). The preset definition named by
 * the winner is the built-in one, overlaid by town.presets[name], then rig.presets[name].
 */
import { z } from 'zod';
import { GtError, formatSchemaIssues, type RoleWord } from '../../proto/index.js';
import { currentPrompt, type TmuxKey } from '../tmux/index.js';

export const BUILTIN_PRESET_NAMES = ['claude', 'codex', 'gemini', 'aider', 'custom'] as const;
export const DEFAULT_PRESET = 'claude';

export interface AgentBlockingPrompt {
  /** Short name shown to users ("trust this folder"); `gt status` says "waiting for input: <name>". */
  name: string;
  pattern: RegExp;
  /** Keys that answer it safely; absent (and no `choose`) = a human must answer. */
  answer?: readonly TmuxKey[];
  /**
   * A menu choice that answers it safely: the selection marker (❯ › ● ▶ >) is moved onto the
   * line matching this with Up/Down, checked on the pane after every key, then Enter is pressed
   * (delivery.ts). Safer than fixed keys: a key the agent drops is seen and sent again.
   */
  choose?: RegExp;
  /** The agent does not come back from this screen: the start fails with its words (offline). */
  fatal?: boolean;
}

export interface AgentPreset {
  name: string;
  /** argv to start the agent (program + arguments); never a shell string. */
  command: readonly string[];
  /** Extra environment for the agent's session. */
  env: Readonly<Record<string, string>>;
  /** The pane shows this when the agent is idle and ready for a prompt. */
  readyPattern: RegExp;
  /** The pane shows this while the agent is working. */
  busyPattern?: RegExp;
  blockingPrompts: readonly AgentBlockingPrompt[];
  /** How long to wait for the first ready prompt after start. */
  readyTimeoutMs: number;
  /** Whether the agent reports its own state through hooks calling `gt` (Claude Code). */
  reportsViaHooks: boolean;
  /** What running as root (uid 0) needs: extra environment, and the note that says so. */
  asRoot?: { env: Readonly<Record<string, string>>; note: string };
}

const TRUST_ANSWER: readonly TmuxKey[] = ['Enter'];

const BUILTINS: Record<Exclude<(typeof BUILTIN_PRESET_NAMES)[number], 'custom'>, AgentPreset> = {
  claude: {
    name: 'claude',
    command: ['claude', '--dangerously-skip-permissions'],
    env: {},
    readyPattern: /\? for shortcuts|^\s*[│|]?\s*[>❯]\s*$/m,
    busyPattern: /esc to interrupt/i,
    // Screens as Claude Code 2.1 shows them (test/real-agents/fixtures/claude-*.txt).
    blockingPrompts: [
      // The agent's own clone: trusting it is safe. Claude Code 2.1's "Quick safety check"
      // preselects "No, exit": Down moves to "Yes, I trust this folder".
      {
        name: 'trust this folder',
        pattern:
          /Quick safety check|Yes, I trust this folder|Do you trust the files in this folder\?/i,
        choose: /Yes, I trust this folder/,
      },
      // Accepting it is the user's call (once per machine: Claude Code remembers it).
      { name: 'accept bypass-permissions mode', pattern: /running in Bypass Permissions mode/i },
      { name: 'permission to proceed', pattern: /Do you want to (proceed|make this edit|create)/i },
      // "Not logged in · run /login" sits under the ready prompt: blocking screens win.
      {
        name: 'login',
        pattern: /Select login method|Please run \/login|Invalid API key|Not logged in/i,
      },
      // It exits a moment later anyway: the start fails now, naming its words, the claim given back.
      {
        name: 'offline (Unable to connect to Anthropic services)',
        pattern: /Unable to connect to Anthropic services/i,
        fatal: true,
      },
      { name: 'theme selection', pattern: /Choose the text style/i },
    ],
    readyTimeoutMs: 60_000,
    reportsViaHooks: true,
    // Claude Code refuses --dangerously-skip-permissions as root ("cannot be used with
    // root/sudo privileges") unless it is told it runs in a sandbox: Gas Town's polecats work
    // in their own clones, and root is what containers and provisioned hosts run as.
    asRoot: {
      env: { IS_SANDBOX: '1' },
      note: 'running as root: set IS_SANDBOX=1 so Claude Code accepts --dangerously-skip-permissions (it refuses that flag as root otherwise)',
    },
  },
  codex: {
    name: 'codex',
    command: ['codex', '--dangerously-bypass-approvals-and-sandbox'],
    env: {},
    readyPattern: /for shortcuts|⏎ send|^\s*[›▌]\s/m,
    busyPattern: /esc to interrupt/i,
    // Its first screen offline and logged out is the sign-in choice (codex-login.txt).
    blockingPrompts: [
      {
        name: 'trust this folder',
        pattern: /allow Codex to work in this folder|trust the contents of this directory/i,
        answer: TRUST_ANSWER,
      },
      { name: 'approve command', pattern: /Allow command\?|approve this command/i },
      {
        name: 'login',
        pattern: /Sign in with ChatGPT|Sign in with Device Code|Provide your own API key/i,
      },
    ],
    // Codex 0.171 took 40 s to draw its first screen on a busy 2-core machine.
    readyTimeoutMs: 90_000,
    reportsViaHooks: false,
  },
  gemini: {
    name: 'gemini',
    command: ['gemini', '--yolo'],
    env: {},
    readyPattern: /Type your message/i,
    busyPattern: /esc to cancel/i,
    // Gemini CLI 0.61 (gemini-trust.txt, gemini-login.txt): "1. Trust folder" is preselected;
    // after it restarts itself, the trust box stays on the screen above the login choice.
    blockingPrompts: [
      {
        name: 'trust this folder',
        pattern: /Do you trust the files in this folder\?|Do you trust this folder\?/i,
        answer: TRUST_ANSWER,
      },
      { name: 'confirm action', pattern: /Waiting for user confirmation|Allow execution/i },
      {
        name: 'login',
        pattern:
          /How would you like to authenticate|Sign in with Google|Use Gemini API Key|Login with Google/i,
      },
    ],
    // It starts slowly (node, then a restart after the trust answer): 80 s seen on 2 busy cores.
    readyTimeoutMs: 120_000,
    reportsViaHooks: false,
  },
  aider: {
    name: 'aider',
    command: ['aider', '--yes-always'],
    env: {},
    readyPattern: /^[\w-]*> $/m,
    blockingPrompts: [{ name: 'yes/no question', pattern: /\(Y\)es\/\(N\)o/ }],
    readyTimeoutMs: 60_000,
    reportsViaHooks: false,
  },
};

const CUSTOM_DEFAULTS: Omit<AgentPreset, 'name' | 'command'> = {
  env: {},
  readyPattern: /[>$#%] $/m,
  blockingPrompts: [],
  readyTimeoutMs: 30_000,
  reportsViaHooks: false,
};

const PresetNameSchema = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'preset names are lowercase words');
const PatternSchema = z
  .string()
  .min(1)
  .refine((source) => {
    try {
      new RegExp(source, 'm');
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression');

export const AgentPresetOverrideSchema = z
  .object({
    /** Replaces the whole argv. Required for a preset that is not built in. */
    command: z.array(z.string().min(1)).min(1).optional(),
    /** Appended to the command. */
    args: z.array(z.string()).optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
    ready_pattern: PatternSchema.optional(),
    busy_pattern: PatternSchema.optional(),
    /** Added before the preset's own (first match wins). */
    blocking_prompts: z
      .array(
        z
          .object({
            name: z.string().min(1),
            pattern: PatternSchema,
            answer: z
              .array(z.enum(['Enter', 'Escape', 'Tab', 'Up', 'Down', 'Left', 'Right', 'C-c']))
              .optional(),
            /** A menu line to select (a pattern); the marker is moved onto it, then Enter. */
            choose: PatternSchema.optional(),
            /** The agent does not come back from this screen: a start that meets it fails. */
            fatal: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    ready_timeout_ms: z.number().int().positive().optional(),
  })
  .strict();
export type AgentPresetOverride = z.infer<typeof AgentPresetOverrideSchema>;

const ROLE_KEYS = ['mayor', 'witness', 'refinery', 'polecat', 'plugin'] as const;

export const AgentSettingsSchema = z
  .object({
    agent: PresetNameSchema.optional(),
    roles: z.partialRecord(z.enum(ROLE_KEYS), PresetNameSchema).optional(),
    presets: z.record(PresetNameSchema, AgentPresetOverrideSchema).optional(),
  })
  .strict();
export type AgentSettings = z.infer<typeof AgentSettingsSchema>;

/** Validate settings read from `file` (GT_CONFIG_INVALID naming the file and the key). */
export function parseAgentSettings(file: string, raw: unknown): AgentSettings {
  const result = AgentSettingsSchema.safeParse(raw);
  if (!result.success) {
    throw new GtError('GT_CONFIG_INVALID', formatSchemaIssues(file, result.error.issues), {
      hint: `fix the agent settings in ${file}; built-in presets: ${BUILTIN_PRESET_NAMES.join(', ')}`,
    });
  }
  return result.data;
}

function applyOverride(base: AgentPreset, o: AgentPresetOverride | undefined): AgentPreset {
  if (o === undefined) return base;
  return {
    ...base,
    command: [...(o.command ?? base.command), ...(o.args ?? [])],
    env: { ...base.env, ...o.env },
    readyPattern:
      o.ready_pattern === undefined ? base.readyPattern : new RegExp(o.ready_pattern, 'm'),
    ...(o.busy_pattern === undefined ? {} : { busyPattern: new RegExp(o.busy_pattern, 'm') }),
    blockingPrompts: [
      ...(o.blocking_prompts ?? []).map((b) => ({
        name: b.name,
        pattern: new RegExp(b.pattern, 'm'),
        ...(b.answer === undefined ? {} : { answer: b.answer }),
        ...(b.choose === undefined ? {} : { choose: new RegExp(b.choose, 'm') }),
        ...(b.fatal === undefined ? {} : { fatal: b.fatal }),
      })),
      ...base.blockingPrompts,
    ],
    readyTimeoutMs: o.ready_timeout_ms ?? base.readyTimeoutMs,
  };
}

export interface ResolvePresetOptions {
  role: RoleWord;
  town?: AgentSettings;
  rig?: AgentSettings;
  /** An explicit choice (`--agent NAME`), wins over every setting. */
  requested?: string;
}

/** The preset an agent of `role` runs with, after town → rig → role → explicit overrides. */
export function resolveAgentPreset(options: ResolvePresetOptions): AgentPreset {
  const role = options.role === 'overseer' ? undefined : options.role;
  const layers = [options.town, options.rig];
  let name: string = DEFAULT_PRESET;
  for (const layer of layers) {
    name = layer?.agent ?? name;
    if (role !== undefined) name = layer?.roles?.[role] ?? name;
  }
  name = options.requested ?? name;
  const overrides = layers.map((layer) => layer?.presets?.[name]);
  const builtin = (BUILTINS as Record<string, AgentPreset | undefined>)[name];
  const command = overrides.reduce<readonly string[] | undefined>(
    (c, o) => o?.command ?? c,
    builtin?.command,
  );
  if (command === undefined) {
    const known = [
      ...new Set([
        ...Object.keys(BUILTINS),
        ...layers.flatMap((l) => Object.keys(l?.presets ?? {})),
      ]),
    ];
    throw new GtError(
      'GT_CONFIG_INVALID',
      name === 'custom' || layers.some((l) => l?.presets?.[name] !== undefined)
        ? `agent preset "${name}" has no command`
        : `unknown agent preset "${name}"`,
      {
        hint: `define it with presets.${name}.command in the town or rig agent settings; known presets: ${known.join(', ')}`,
      },
    );
  }
  const base: AgentPreset = builtin ?? { ...CUSTOM_DEFAULTS, name, command };
  return overrides.reduce((preset, o) => applyOverride(preset, o), base);
}

/**
 * The preset as a process of user `uid` starts it: as root, with its `asRoot` environment (the
 * preset's own env, which a user can override, still wins), and the notes saying so.
 */
export function presetForUser(
  preset: AgentPreset,
  uid: number | undefined,
): { preset: AgentPreset; notes: string[] } {
  if (uid !== 0 || preset.asRoot === undefined) return { preset, notes: [] };
  return {
    preset: { ...preset, env: { ...preset.asRoot.env, ...preset.env } },
    notes: [preset.asRoot.note],
  };
}

/** The built-in definition of a preset (for `gt doctor` / docs). */
export function builtinPreset(name: string): AgentPreset | undefined {
  return (BUILTINS as Record<string, AgentPreset | undefined>)[name];
}

export type PaneState =
  | { state: 'waiting-for-input'; prompt: string; answerable: boolean }
  | { state: 'busy' }
  | { state: 'ready' }
  | { state: 'unknown' };

/**
 * Classify a pane capture (fallback signal; blocking prompts win over ready/busy, and of two
 * prompts on the screen the lower one, the newer, is the current one).
 */
export function paneState(preset: AgentPreset, paneText: string): PaneState {
  const blocked = currentPrompt(preset.blockingPrompts, paneText);
  if (blocked !== undefined)
    return {
      state: 'waiting-for-input',
      prompt: blocked.name,
      answerable: blocked.answer !== undefined || blocked.choose !== undefined,
    };
  if (preset.busyPattern?.test(paneText) === true) return { state: 'busy' };
  if (preset.readyPattern.test(paneText)) return { state: 'ready' };
  return { state: 'unknown' };
}
