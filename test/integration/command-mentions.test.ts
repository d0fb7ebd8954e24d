// Text that tells a user or an agent to run a command names a command that exists. Every `gt …`
// and `bd …` mentioned in the product's strings (hints, agent role templates, prompts, nudges,
// notices, messages) and in README.md and docs/*.md is checked against the live commander trees
// (buildProgram of gt and of bd), so commands added later are picked up without editing this test.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { buildProgram as buildBd } from '../../cli/bd/program.js';
import { buildProgram as buildGt } from '../../cli/program.js';
import { GT_VERSION } from '../../proto/index.js';
import { REPO_ROOT } from '../helpers/cli.js';

export interface Mention {
  /** `file:line` where it was found. */
  where: string;
  /** The mention as written, from the program name on. */
  text: string;
}

// A command mention: `gt`/`bd` as a word of its own (not `gt-mayor`, `.gt`, `$gt`, the `[gt mail]`
// notice tag), then a space and words up to a quote, bracket, pipe, `;`, `&`, or a sentence's end.
const TOKEN = String.raw`[^\s\`'"),;:|&\]]*[^\s\`'"),;:|&\].?!]`;
const MENTION = new RegExp(String.raw`(?<![\w./$[-])(gt|bd) +(${TOKEN}(?: +${TOKEN})*)`, 'g');
const WORD = /^[a-z][a-z0-9-]*$/;

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Mentions in a piece of text (a string literal's contents, or a markdown file). */
export function mentionsIn(text: string, where: (index: number) => string): Mention[] {
  const found: Mention[] = [];
  for (const m of text.matchAll(MENTION))
    found.push({ where: where(m.index), text: `${m[1]} ${m[2]}` });
  return found;
}

function walk(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory())
      return e.name === 'gen' || e.name === 'node_modules' ? [] : walk(path, keep);
    return keep(path) ? [path] : [];
  });
}

/** Every string literal and template text in the production sources (comments are not read). */
function sourceMentions(): Mention[] {
  const files = ['cli', 'coordinator', 'node-agent', 'proto'].flatMap((d) =>
    walk(join(REPO_ROOT, d), (p) => /\.(ts|mjs)$/.test(p) && !/\.test\.ts$/.test(p)),
  );
  return files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const found: Mention[] = [];
    const visit = (node: ts.Node): void => {
      if (
        ts.isStringLiteral(node) ||
        ts.isNoSubstitutionTemplateLiteral(node) ||
        ts.isTemplateHead(node) ||
        ts.isTemplateMiddle(node) ||
        ts.isTemplateTail(node)
      ) {
        const at = `${relative(REPO_ROOT, file)}:${lineOf(text, node.getStart(source))}`;
        found.push(...mentionsIn(node.text, () => at));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  });
}

/** Mentions in markdown code (inline `code` and fenced blocks): what readers copy and run. */
function markdownMentions(): Mention[] {
  const files = [
    join(REPO_ROOT, 'README.md'),
    ...walk(join(REPO_ROOT, 'docs'), (p) => p.endsWith('.md')),
  ];
  return files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const found: Mention[] = [];
    for (const m of text.matchAll(/```[^\n]*\n([\s\S]*?)```|`([^`\n]+)`/g)) {
      const code = m[1] ?? m[2] ?? '';
      const offset = m.index + m[0].indexOf(code);
      found.push(
        ...mentionsIn(code, (i) => `${relative(REPO_ROOT, file)}:${lineOf(text, offset + i)}`),
      );
    }
    return found;
  });
}

const hasAction = (cmd: Command): boolean =>
  (cmd as unknown as { _actionHandler: unknown })._actionHandler != null;

function optionNames(cmd: Command | null): string[] {
  const names: string[] = ['--help'];
  for (let c = cmd; c !== null; c = c.parent)
    for (const o of c.options) names.push(...[o.long, o.short].filter((n) => n !== undefined));
  return names;
}

/**
 * Why a mention does not name a real command, or undefined when it does: the words after the
 * program name must walk the tree (a command that only groups subcommands needs one), and every
 * `--option` written right after them must be one the command (or a parent) takes.
 */
export function problemWith(
  programs: Record<string, Command>,
  mention: string,
): string | undefined {
  const [name = '', ...tokens] = mention.split(/ +/);
  const program = programs[name];
  if (program === undefined) return `no program ${name}`;
  let cmd: Command = program;
  const path = [name];
  let i = 0;
  for (; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    const word = token.replace(/[.?!]$/, ''); // `… run gt done.`
    if (!WORD.test(word)) {
      if (path.length === 1 && !token.startsWith('-')) return undefined; // `gt <command>`: prose
      break;
    }
    const sub: Command | undefined = cmd.commands.find(
      (c) => c.name() === word || c.aliases().includes(word),
    );
    if (sub !== undefined) {
      cmd = sub;
      path.push(word);
      if (word !== token) return undefined; // the sentence ends here
      continue;
    }
    if (word === 'help' && path.length === 1) return undefined;
    if (path.length === 1) return `\`${name} ${word}\` is not a command`;
    // A command that groups subcommands takes no words of its own; a leaf's words are arguments.
    if (cmd.commands.length > 0 && !(hasAction(cmd) && cmd.registeredArguments.length > 0))
      return `\`${path.join(' ')}\` has no subcommand \`${word}\``;
    break;
  }
  const options = optionNames(cmd);
  for (const token of tokens.slice(i)) {
    const flag = /^(--?[a-zA-Z][\w-]*)/.exec(token)?.[1];
    if (flag !== undefined && !options.includes(flag))
      return `\`${path.join(' ')}\` has no option ${flag}`;
  }
  return undefined;
}

const programs = (): Record<string, Command> => ({ gt: buildGt(GT_VERSION), bd: buildBd() });

/**
 * Prose in strings where "gt"/"bd" names the program, not a command (say why when adding one).
 * A mention whose first word is not a word (`gt <command>`, `bd (often …`) is not checked.
 */
const NOT_COMMANDS: ReadonlyArray<RegExp> = [
  /^gt (never|may|from|and) /, // "gt never deletes it", "gt may delete", "gt from inside …"
  /^bd context not set/, // an internal error naming bd's context object
  /^gt does not /, // "gt does not rewrite them"
];

describe('command mentions', () => {
  it('every gt/bd command named in strings, templates, hints and docs exists', () => {
    const trees = programs();
    const mentions = [...sourceMentions(), ...markdownMentions()];
    // The scan finds the texts this test exists for (a broken scan would pass vacuously).
    const texts = mentions.map((m) => m.text);
    expect(texts).toContain('gt done');
    expect(texts.some((t) => t.startsWith('gt mail read'))).toBe(true);
    expect(texts.some((t) => t.startsWith('gt send'))).toBe(true);
    expect(texts.some((t) => t.startsWith('bd '))).toBe(true);
    expect(mentions.some((m) => m.where.startsWith('node-agent/town/templates.ts'))).toBe(true);
    expect(mentions.some((m) => m.where.startsWith('README.md'))).toBe(true);
    const bad = mentions
      .filter((m) => !NOT_COMMANDS.some((re) => re.test(m.text)))
      .map((m) => ({ ...m, problem: problemWith(trees, m.text) }))
      .filter((m) => m.problem !== undefined)
      .map((m) => `${m.where}: ${m.problem} (in "${m.text}")`);
    expect(bad).toEqual([]);
  });

  it('fails on commands that do not exist, and reads the live tree', () => {
    const trees = programs();
    expect(problemWith(trees, 'gt mail send mayor')).toBe('`gt mail` has no subcommand `send`');
    expect(problemWith(trees, 'gt mail inbox --as mayor')).toBe(
      '`gt mail` has no subcommand `inbox`',
    );
    expect(problemWith(trees, 'gt machines add build-2')).toBe('`gt machines` is not a command');
    expect(problemWith(trees, 'gt inbox --as mayor')).toBeUndefined();
    expect(problemWith(trees, 'gt inbox --nope')).toBe('`gt inbox` has no option --nope');
    expect(problemWith(trees, 'gt mail read <id>')).toBeUndefined();
    expect(problemWith(trees, 'gt witness patrol alpha --once')).toBeUndefined();
    expect(problemWith(trees, 'bd dep add a b')).toBeUndefined();
    expect(problemWith(trees, 'bd dep frobnicate')).toBe('`bd dep` has no subcommand `frobnicate`');
    expect(problemWith(trees, 'gt --town /x status')).toBeUndefined();
    // A command added to the tree is known at once.
    const gt = trees.gt as Command;
    expect(problemWith(trees, 'gt fleet list')).toBe('`gt fleet` is not a command');
    gt.command('fleet').command('list');
    expect(problemWith(trees, 'gt fleet list')).toBeUndefined();
    expect(problemWith(trees, 'gt fleet add')).toBe('`gt fleet` has no subcommand `add`');
  });
});
