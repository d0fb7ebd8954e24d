// CI check: regenerating proto/gen from the .proto files must produce no diff with what is committed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'gt-gen-'));
const list = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? list(p) : [p];
  });
try {
  execFileSync(
    join(root, 'node_modules', '.bin', 'buf'),
    ['generate', '--template', 'proto/buf.gen.yaml', '-o', out],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      },
    },
  );
  const fresh = join(out, 'proto', 'gen');
  const committed = join(root, 'proto', 'gen');
  const a = list(fresh)
    .map((p) => relative(fresh, p))
    .sort();
  const b = list(committed)
    .map((p) => relative(committed, p))
    .sort();
  const problems = [];
  for (const f of new Set([...a, ...b])) {
    if (!a.includes(f)) problems.push(`${f}: committed but no longer generated`);
    else if (!b.includes(f)) problems.push(`${f}: generated but not committed`);
    else if (readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'))
      problems.push(`${f}: differs from a fresh generation`);
  }
  if (problems.length > 0) {
    console.error(
      `proto/gen is stale:\n  ${problems.join('\n  ')}\nrun \`npm run gen\` and commit the result`,
    );
    process.exit(1);
  }
  console.log(`proto/gen is up to date (${a.length} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
