// Answering a blocking prompt is checked on the pane: an agent that draws its screen before it
// reads its input drops the first keys, and a fixed key sequence sent once leaves it at the
// screen (or, worse, picks the preselected "No, exit"). answerPrompt moves the menu marker onto
// the wanted line key by key, resending what was dropped, then presses Enter.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { TmuxServer, answerPrompt, builtinPreset } from '../../../node-agent/index.js';
import { tempDirUnmanaged } from '../../helpers/tmp.js';

const MENU_AGENT = join(import.meta.dirname, '..', '..', 'agents', 'menu-agent.mjs');
const claudeTrust = builtinPreset('claude')?.blockingPrompts.find(
  (b) => b.name === 'trust this folder',
);

let dir: string;
let tmux: TmuxServer;
let n = 0;

beforeAll(() => {
  dir = tempDirUnmanaged('gt-answer-');
  tmux = new TmuxServer({ socketPath: join(dir, 'run', 'tmux.sock') });
});

afterAll(async () => {
  await tmux.killServer();
  rmSync(dir, { recursive: true, force: true });
});

async function startMenu(deafMs: number, mode = 'menu'): Promise<string> {
  n += 1;
  const name = `gt-menu-${n}`;
  await tmux.newSession({
    name,
    cwd: dir,
    command: [process.execPath, MENU_AGENT, String(deafMs), mode],
    keepAfterExit: true,
  });
  onTestFinished(async () => {
    await tmux.killSession(name).catch(() => undefined);
  });
  await tmux.waitForReady(name, /Enter to (confirm|continue)/, { timeoutMs: 15_000 });
  return name;
}

describe('answering a blocking prompt', () => {
  it('the claude trust prompt is a menu choice, not fixed keys', () => {
    expect(claudeTrust?.choose?.test('   Yes, I trust this folder')).toBe(true);
    expect(claudeTrust?.answer).toBeUndefined();
  });

  it('moves the marker onto "Yes, I trust this folder" although the first keys are dropped', async () => {
    if (claudeTrust === undefined) throw new Error('no claude trust prompt');
    const name = await startMenu(1500);
    expect(await answerPrompt(tmux, name, claudeTrust)).toBe(true);
    expect(await tmux.capturePane(name)).toMatch(/^trusted\n> ?$/m);
  });

  it('fixed keys sent once are lost on the same screen (what answerPrompt guards against)', async () => {
    const name = await startMenu(1500);
    await tmux.sendKeys(name, ['Down', 'Enter']);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await tmux.capturePane(name)).toContain('❯ No, exit');
  });

  it('a key answer that changed nothing is sent again', async () => {
    const name = await startMenu(1200, 'keys');
    const prompt = {
      name: 'welcome',
      pattern: /Press Enter to continue/,
      answer: ['Enter'] as const,
    };
    expect(await answerPrompt(tmux, name, prompt)).toBe(true);
    expect(await tmux.capturePane(name)).toMatch(/^trusted\n> ?$/m);
  });

  it('a prompt with neither keys nor a choice is left for a human', async () => {
    const name = await startMenu(0);
    expect(await answerPrompt(tmux, name, { name: 'human', pattern: /Quick safety check/ })).toBe(
      false,
    );
    expect(await tmux.capturePane(name)).toContain('❯ No, exit');
  });
});
