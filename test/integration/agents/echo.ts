// Shared by the tmux and agent tests: hostile texts and the echo agent's record reader.
import { existsSync, readFileSync } from 'node:fs';

/** Texts that a naive tmux/shell driver would mangle, run or turn into keys. */
export const HOSTILE_TEXTS: readonly string[] = [
  `simple text`,
  `single 'quotes' and "double quotes"`,
  `$(touch /tmp/gt-pwned) and \`touch /tmp/gt-pwned2\` and $HOME and \${PATH}`,
  `a; b && c || d | e > f < g & h`,
  `ends with semicolon;`,
  `;`,
  `\\;`,
  `C-c`,
  `Enter`,
  `Escape`,
  `C-c Enter Escape C-d Tab BSpace`,
  `-leading dash`,
  `--`,
  `-l -t =x: -- send-keys`,
  `# not a comment, #{session_name} not a format`,
  `unicode: héllo wörld ✓ — 日本語 🚀🔥 👩‍💻`,
  `tab\there and backslash \\ and \\n`,
  `   leading and trailing spaces   `,
  `multi\nline\n  text\n`,
];

export async function waitForFile(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path) || readFileSync(path, 'utf8') === '') {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export type EchoRecord = { n: number; text: string } | { n: number; key: string };

/** Wait until the echo agent recorded `count` entries, then return them. */
export async function readEchoRecord(
  path: string,
  count: number,
  timeoutMs = 10_000,
): Promise<EchoRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length >= count || Date.now() > deadline)
      return lines.map((l) => JSON.parse(l) as EchoRecord);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
