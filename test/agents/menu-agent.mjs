// A test agent that draws a trust menu the way Claude Code does ("❯ No, exit" preselected,
// "Yes, I trust this folder" below) and, like a TUI that draws before it reads its input, drops
// every key it gets during its first DEAF_MS (argv[2], default 1500). Down/Up move the marker;
// Enter on "Yes" shows a ready prompt ("> "), on "No" it exits 1. argv[3] = "keys" draws a plain
// "Press Enter to continue" screen instead (answered by keys, not by a menu choice).
const deafMs = Number(process.argv[2] ?? 1500);
const mode = process.argv[3] ?? 'menu';
const started = Date.now();
const options = ['No, exit', 'Yes, I trust this folder'];
let at = 0;
let done = false;

function draw() {
  process.stdout.write('\x1b[2J\x1b[H');
  if (mode === 'keys') {
    process.stdout.write('Welcome. Press Enter to continue\n');
    return;
  }
  process.stdout.write(' Quick safety check: Is this a project you trust?\n\n');
  options.forEach((o, i) => process.stdout.write(`${i === at ? ' ❯ ' : '   '}${o}\n`));
  process.stdout.write('\n Enter to confirm · Esc to cancel\n');
}

process.stdin.setRawMode(true);
process.stdin.on('data', (buf) => {
  if (done || Date.now() - started < deafMs) return; // not listening yet: the key is lost
  const key = buf.toString('latin1');
  if (key === '\x1b[B' || key === '\x1bOB') at = Math.min(at + 1, options.length - 1);
  else if (key === '\x1b[A' || key === '\x1bOA') at = Math.max(at - 1, 0);
  else if (key === '\r' || key === '\n') {
    done = true;
    process.stdout.write('\x1b[2J\x1b[H');
    if (mode === 'menu' && at === 0) {
      process.stdout.write('exited: not trusted\n');
      process.exit(1);
    }
    process.stdout.write('trusted\n> ');
    return;
  } else return;
  draw();
});
draw();
