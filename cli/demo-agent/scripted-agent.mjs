#!/usr/bin/env node
// Scripted stand-in for an AI coding agent (the demo agent of `gt demo`, and the tests' agent):
// it behaves like an agent in a tmux pane, with no AI.
//
// It prints a `> ` prompt, reads what is typed (raw mode, bracketed paste, Enter submits),
// parses an assignment from the prompt, does the work a polecat does, and signals done:
//   1. `bd show <issue>`                 (BD_BIN, default `bd`; BEADS_DIR from the env)
//   2. writes work/<issue>.txt, `git add`, `git commit`, `git push -u origin HEAD`
//   3. `gt done`                         (GT_BIN, default `gt`; GT_* env from the session)
// A prompt without an issue id is answered and otherwise ignored (nudges, notices).
//
// The assignment is found by `Issue: <id>` (or `issue <id>`, `--issue <id>`), e.g.
//   "You are polecat Nux. Issue: wyv-12 Title: Fix the parser ..."
//
// Behaviour (GT_TEST_AGENT_MODE):
//   normal  do the work and run `gt done` (default)
//   hang    start the work (edit a file), then never finish
//   crash   edit a file, then exit with status 3 mid-work
//   dirty   commit and push, leave an uncommitted change and an untracked file, run `gt done`
//   flood   print GT_TEST_AGENT_FLOOD_LINES (default 20000) lines while working, then finish
// GT_TEST_AGENT_LOG: optional JSON-lines file of what the agent saw and did.
// GT_TEST_AGENT_DELAY_MS: optional pause before the work starts (to watch "working" state).
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAssignment } from './assignment.mjs';
import { readSubmissions } from './tty-input.mjs';

const env = process.env;
const mode = env.GT_TEST_AGENT_MODE ?? 'normal';
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

function run(cmd, args, what) {
  say(`$ ${[what ?? cmd, ...args].join(' ')}`);
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (out.trim()) say(out.trim());
    log('ran', { cmd: what ?? cmd, args, ok: true });
    return true;
  } catch (err) {
    const detail = (err.stderr || err.message || '').toString().trim();
    say(`error: ${what ?? cmd} ${args[0] ?? ''} failed: ${detail}`);
    log('ran', { cmd: what ?? cmd, args, ok: false, detail });
    return false;
  }
}

function git(...args) {
  const name = env.GIT_AUTHOR_NAME ?? who;
  const email = env.GIT_AUTHOR_EMAIL ?? `${who.replace(/[^A-Za-z0-9.-]/g, '-')}@gastown.invalid`;
  return run('git', ['-c', `user.name=${name}`, '-c', `user.email=${email}`, ...args], 'git');
}

function editWork(issue, title) {
  mkdirSync('work', { recursive: true });
  const file = join('work', `${issue}.txt`);
  writeFileSync(file, `Work on ${issue}${title ? `: ${title}` : ''}\nby ${who}\n`);
  say(`edited ${file}`);
  return file;
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

function work({ issue, title }) {
  say(`Working on ${issue}${title ? `: ${title}` : ''}`);
  log('assignment', { issue, title });
  run(BD, ['show', issue], 'bd');
  const file = editWork(issue, title);
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
    git('add', file) &&
    git('commit', '-q', '-m', `${issue}: ${title ?? 'scripted work'}`) &&
    git('push', '-q', '-u', 'origin', 'HEAD');
  if (!committed) return true;
  if (mode === 'dirty') {
    writeFileSync(file, `${issue}: an edit that was never committed\n`);
    writeFileSync(join('work', 'untracked-notes.txt'), 'scratch\n');
    log('dirty', { issue });
  }
  if (run(GT, ['done'], 'gt')) {
    say(`DONE ${issue}`);
    log('done', { issue });
  }
  return true;
}

const delay = Number(env.GT_TEST_AGENT_DELAY_MS ?? 0);
say(`scripted agent (${mode}) at ${process.cwd()}`);
process.stdout.write('> ');
log('ready', { cwd: process.cwd() });
let busy = false;
readSubmissions({
  onSubmit: (text) => {
    log('prompt', { text });
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
    setTimeout(() => {
      const finished = work(assignment);
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
