#!/usr/bin/env node
// Echo agent: records exactly what was typed into it, for the hostile-text tests.
//   echo-agent.mjs <record-file>
// Every submission (text up to Enter; a bracketed paste counts as text) is appended to the
// record file as one JSON line {"n":1,"text":"..."}: JSON keeps any text exact and on one
// line. An empty submission is not recorded (real agents ignore an empty Enter). Control keys
// are recorded as {"n":2,"key":"C-c"}. Every raw byte read is appended to <record-file>.raw.
// The pane shows a `> ` prompt like an interactive agent.
import { appendFileSync, writeFileSync } from 'node:fs';
import { readSubmissions } from '../../cli/demo-agent/tty-input.mjs';

const record = process.argv[2] ?? process.env.GT_ECHO_RECORD;
if (!record) {
  process.stderr.write('usage: echo-agent.mjs <record-file>\n');
  process.exit(2);
}
writeFileSync(record, '');
writeFileSync(`${record}.raw`, '');
let n = 0;
// GT_ECHO_DROP_ENTERS=N: ignore the first N Enter presses (an agent that loses Enters).
let dropEnters = Number(process.env.GT_ECHO_DROP_ENTERS ?? 0);
process.stdout.write('echo agent ready\r\n> ');
readSubmissions({
  acceptEnter: () => dropEnters-- <= 0,
  onRaw: (buf) => appendFileSync(`${record}.raw`, buf),
  onSubmit: (text) => {
    // Like real agents, an empty Enter submits nothing (so typeText's retried Enter is harmless).
    if (text === '') {
      process.stdout.write('> ');
      return;
    }
    n += 1;
    appendFileSync(record, `${JSON.stringify({ n, text })}\n`);
    process.stdout.write(`[received ${n}: ${Buffer.byteLength(text)} bytes]\r\n> `);
  },
  onKey: (key) => {
    n += 1;
    appendFileSync(record, `${JSON.stringify({ n, key })}\n`);
    if (key === 'C-d') process.exit(0);
    process.stdout.write(`[key ${key}]\r\n> `);
  },
});
