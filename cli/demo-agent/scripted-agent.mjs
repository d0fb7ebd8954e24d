#!/usr/bin/env node
// Scripted stand-in for an AI coding agent (the demo agent of `gt demo`, and the tests' agent):
// it behaves like an agent in a tmux pane, with no AI.
//
// It prints a `> ` prompt, reads what is typed (raw mode, bracketed paste, Enter submits),
// parses an assignment from the prompt, does the work a polecat does, and signals done:
//   1. `bd show <issue> --json`          (BD_BIN, default `bd`; BEADS_DIR from the env)
//   2. writes work/<issue>.txt, `git add`, `git commit`, `git push -u origin HEAD`
//   3. `gt done`                         (GT_BIN, default `gt`; GT_* env from the session)
// A prompt without an issue id is answered and otherwise ignored (nudges, notices).
//
// The assignment is found by `Issue: <id>` (or `issue <id>`, `--issue <id>`), e.g.
//   "You are polecat Nux. Issue: wyv-12 Title: Fix the parser ..."
// Work sent back by the refinery (the Witness types its mail as a rework prompt):
//   "Rebase required"  git fetch, git rebase onto the branch the mail names (origin/main by
//                      default), resolve conflicts by keeping both sides' lines, push
//                      --force-with-lease, `gt done`
//   "Rejected"         try again: rewrite the work file (a `break` agent still breaks the gate),
//                      commit, push, `gt done`
//
// Behaviour: the issue's description may say `agent-mode: <mode>`; otherwise GT_TEST_AGENT_MODE:
//   normal    do the work and run `gt done` (default)
//   hang      start the work (edit a file), then never finish
//   crash     edit a file, then exit with status 3 mid-work
//   dirty     commit and push, leave an uncommitted change and an untracked file, run `gt done`
//   flood     print GT_TEST_AGENT_FLOOD_LINES (default 20000) lines while working, then finish
//   conflict  also append a line to CHANGES.md (two such agents conflict in the merge queue)
//   break     write BROKEN into the work file (a test gate that greps for it fails)
//   ask       first ask "Allow this command? (y/n)" and wait; y/yes/Enter goes on (and clears the
//             screen, as a real agent's prompt UI goes away), anything else declines
// GT_TEST_AGENT_LOG: optional JSON-lines file of what the agent saw and did.
// GT_TEST_AGENT_DELAY_MS: optional pause before the work starts (to watch "working" state).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAssignment } from './assignment.mjs';
import { readSubmissions } from './tty-input.mjs';

const env = process.env;
const defaultMode = env.GT_TEST_AGENT_MODE ?? 'normal';
let mode = defaultMode;
const GT = env.GT_BIN ?? 'gt';
const BD = env.BD_BIN ?? 'bd';
const who = env.GT_ADDRESS ?? env.BD_ACTOR ?? 'scripted-agent';

function log(event, fields = {}) {
  if (env.GT_TEST_AGENT_LOG)
    appendFileSync(
      env.GT_TEST_AGENT_LOG,
      `${JSON.stringify({ at: new Date().toISOString(), event, mode, who, ...fields })}\n`,
    );
}

function say(text) {
  process.stdout.write(`${text.replace(/\n/g, '\r\n')}\r\n`);
}

/** Run a command (argv, no shell); its output, or undefined when it failed. */
function output(cmd, args, what) {
  say(`$ ${[what ?? cmd, ...args].join(' ')}`);
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (out.trim()) say(out.trim());
    log('ran', { cmd: what ?? cmd, args, ok: true });
    return out;
  } catch (err) {
    const detail = (err.stderr || err.message || '').toString().trim();
    say(`error: ${what ?? cmd} ${args[0] ?? ''} failed: ${detail}`);
    log('ran', { cmd: what ?? cmd, args, ok: false, detail });
    return undefined;
  }
}

const run = (cmd, args, what) => output(cmd, args, what) !== undefined;

function gitArgs(args) {
  const name = env.GIT_AUTHOR_NAME ?? who;
  const email = env.GIT_AUTHOR_EMAIL ?? `${who.replace(/[^A-Za-z0-9.-]/g, '-')}@gastown.invalid`;
  return [
    '-c',
    `user.name=${name}`,
    '-c',
    `user.email=${email}`,
    '-c',
    'core.editor=true',
    ...args,
  ];
}
const git = (...args) => run('git', gitArgs(args), 'git');
const gitOut = (...args) => output('git', gitArgs(args), 'git');

/** The issue's description (for an `agent-mode:` line), from `bd show --json`. */
function issueMode(issue) {
  const out = output(BD, ['show', issue, '--json'], 'bd');
  try {
    const parsed = JSON.parse(out ?? '');
    const found = Array.isArray(parsed) ? parsed[0] : parsed;
    return /agent-mode:\s*([a-z]+)/.exec(found?.description ?? '')?.[1] ?? defaultMode;
  } catch {
    return defaultMode;
  }
}

function editWork(issue, title, attempt = 1) {
  mkdirSync('work', { recursive: true });
  const file = join('work', `${issue}.txt`);
  const broken = mode === 'break' ? 'BROKEN: this change breaks the test gate\n' : '';
  writeFileSync(
    file,
    `Work on ${issue}${title ? `: ${title}` : ''}\nby ${who}, attempt ${attempt}\n${broken}`,
  );
  say(`edited ${file}`);
  const files = [file];
  if (mode === 'conflict') {
    const changes = 'CHANGES.md';
    const before = existsSync(changes) ? readFileSync(changes, 'utf8') : '# Changes\n';
    writeFileSync(changes, `${before}- ${issue}: ${title ?? 'scripted work'} (${who})\n`);
    say(`edited ${changes}`);
    files.push(changes);
  }
  return files;
}

/** Resolve a conflicted file by keeping both sides' lines (ours first), markers dropped. */
function keepBoth(file) {
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace(/^(?:<<<<<<<|=======|>>>>>>>|\|\|\|\|\|\|\|)(?: .*)?\n/gm, ''));
  say(`resolved ${file} (kept both sides)`);
}

function signalDone(issue) {
  if (run(GT, ['done'], 'gt')) {
    say(`DONE ${issue}`);
    log('done', { issue });
  }
}

/** "Rebase required": rebase onto the branch the mail names, resolve, force-push, done. */
function rebase(issue, prompt) {
  const onto = /git rebase (origin\/[A-Za-z0-9._/-]+)/.exec(prompt)?.[1] ?? 'origin/main';
  log('rebase', { issue, onto });
  if (!git('fetch', '-q', 'origin')) return;
  let ok = git('rebase', onto);
  for (let round = 0; !ok && round < 20; round++) {
    const conflicted = (gitOut('diff', '--name-only', '--diff-filter=U') ?? '')
      .split('\n')
      .filter(Boolean);
    if (conflicted.length === 0) break;
    for (const file of conflicted) keepBoth(file);
    if (!git('add', ...conflicted)) return;
    ok = git('rebase', '--continue');
  }
  if (!ok) {
    say(`error: could not rebase ${issue} onto ${onto}`);
    return;
  }
  if (!git('push', '-q', '--force-with-lease', 'origin', 'HEAD')) return;
  log('rebased', { issue, onto });
  signalDone(issue);
}

/** "Rejected" (or any other rework): try again, commit, push, done. */
function retry(issue, title, prompt) {
  const attempt = Number(/Rework (\d+)\//.exec(prompt)?.[1] ?? '1') + 1;
  log('retry', { issue, attempt });
  const files = editWork(issue, title, attempt);
  if (
    git('add', ...files) &&
    git('commit', '-q', '-m', `${issue}: attempt ${attempt}`) &&
    git('push', '-q', '-u', 'origin', 'HEAD')
  )
    signalDone(issue);
}

function flood() {
  const lines = Number(env.GT_TEST_AGENT_FLOOD_LINES ?? 20000);
  let chunk = '';
  for (let i = 0; i < lines; i++) {
    chunk += `flood line ${i} ${'#'.repeat(60)}\r\n`;
    if (chunk.length > 64 * 1024) {
      process.stdout.write(chunk);
      chunk = '';
    }
  }
  process.stdout.write(chunk);
}

function work({ issue, title }, prompt) {
  say(`Working on ${issue}${title ? `: ${title}` : ''}`);
  mode = issueMode(issue);
  log('assignment', { issue, title });
  if (/^Rework \d+\//m.test(prompt)) {
    if (/rebase required/i.test(prompt)) rebase(issue, prompt);
    else retry(issue, title, prompt);
    return true;
  }
  const files = editWork(issue, title);
  const file = files[0];
  if (mode === 'hang') {
    say('thinking...');
    log('hang', { issue });
    setInterval(() => undefined, 1 << 30);
    return false;
  }
  if (mode === 'crash') {
    log('crash', { issue });
    process.stderr.write(`scripted agent: simulated crash while working on ${issue}\n`);
    process.exit(3);
  }
  if (mode === 'flood') flood();
  const committed =
    git('add', ...files) &&
    git('commit', '-q', '-m', `${issue}: ${title ?? 'scripted work'}`) &&
    git('push', '-q', '-u', 'origin', 'HEAD');
  if (!committed) return true;
  if (mode === 'dirty') {
    writeFileSync(file, `${issue}: an edit that was never committed\n`);
    writeFileSync(join('work', 'untracked-notes.txt'), 'scratch\n');
    log('dirty', { issue });
  }
  signalDone(issue);
  return true;
}

const delay = Number(env.GT_TEST_AGENT_DELAY_MS ?? 0);
say(`scripted agent (${mode}) at ${process.cwd()}`);
process.stdout.write('> ');
log('ready', { cwd: process.cwd() });
let busy = false;
/** An assignment held until the `ask` question is answered. */
let asking;
readSubmissions({
  onSubmit: (text) => {
    log('prompt', { text });
    if (asking !== undefined) {
      const held = asking;
      asking = undefined;
      if (!['', 'y', 'yes'].includes(text.trim().toLowerCase())) {
        say('declined');
        log('declined', { issue: held.issue });
        busy = false;
        process.stdout.write('> ');
        return;
      }
      process.stdout.write('\x1b[2J\x1b[H');
      log('allowed', { issue: held.issue });
      if (work(held.assignment, held.text)) {
        busy = false;
        process.stdout.write('> ');
      }
      return;
    }
    const assignment = parseAssignment(text);
    if (assignment === undefined) {
      say(text.trim() === '' ? '' : 'noted (no issue in this prompt)');
      process.stdout.write('> ');
      return;
    }
    if (busy) {
      say(`busy: still working; ignoring ${assignment.issue}`);
      return;
    }
    busy = true;
    if (mode === 'ask' && !/^Rework \d+\//m.test(text)) {
      asking = { assignment, text, issue: assignment.issue };
      log('ask', { issue: assignment.issue });
      process.stdout.write('Allow this command? (y/n) ');
      return;
    }
    setTimeout(() => {
      const finished = work(assignment, text);
      if (finished) {
        busy = false;
        process.stdout.write('> ');
      }
    }, delay);
  },
  onKey: (key) => {
    log('key', { key });
    if (key === 'C-c' || key === 'C-d') {
      say('interrupted');
      process.exit(130);
    }
  },
});
