// `gt machine add NAME --gcp P/Z/I --create` to a connected machine, against the local fake of
// the Compute REST endpoints (test/hosts/fake-compute.ts, bundled here): wall time split into the
// API part (insert + zone operation + get), the wait for sshd, and provisioning over SSH (the
// same path as an ssh machine). Each run creates an instance (a test-host container) and
// deletes it again. Needs Docker and the test-host image (built when missing).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { GT, ROOT, median, printTable, sized, writeResult } from './lib.mjs';

const run = promisify(execFile);
const fakeBundle = join(ROOT, 'dist', 'bench', 'fake-compute.mjs');
await build({
  entryPoints: [join(ROOT, 'test', 'hosts', 'fake-compute.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['testcontainers'],
  outfile: fakeBundle,
  logLevel: 'warning',
});
const { startFakeCompute } = await import(fakeBundle);

const base = realpathSync(mkdtempSync(join(tmpdir(), 'gt-bench-gcp-')));
const town = join(base, 'town');
mkdirSync(join(base, 'home'), { recursive: true });
await run(process.execPath, [GT, 'install', town]);
const fake = await startFakeCompute(join(town, 'run', 'bench-keys'));
const env = {
  ...process.env,
  GT_TOWN: town,
  HOME: join(base, 'home'),
  SSH_AUTH_SOCK: '',
  GOOGLE_APPLICATION_CREDENTIALS: fake.keyFile,
  GT_GCP_ENDPOINT: fake.endpoint,
  METADATA_SERVER_DETECTION: 'none',
  GCE_METADATA_HOST: '127.0.0.1:9',
};
const gt = (args) => run(process.execPath, [GT, ...args], { env, maxBuffer: 64 << 20 });

const runs = sized(3, 1);
const rows = [];
try {
  for (let i = 0; i < runs; i++) {
    const name = `b${i}`;
    const t0 = Date.now();
    const { stdout } = await gt([
      'machine',
      'add',
      name,
      '--gcp',
      `bench-project/us-central1-a/bench-${i}`,
      '--create',
      '--accept-host-key',
      '--json',
    ]);
    const total = Date.now() - t0;
    const r = JSON.parse(stdout);
    rows.push({ total, ...r.timings_ms });
    await gt(['machine', 'remove', name, '--delete', '--yes']);
  }
} finally {
  await fake.stop();
  rmSync(base, { recursive: true, force: true });
}
const m = (k) => Math.round(median(rows.map((r) => r[k])));
const table = [
  { part: 'API (insert, operation, get)', median_ms: m('api') },
  { part: 'wait for sshd', median_ms: m('sshd') },
  { part: 'provisioning over SSH', median_ms: m('provision') },
  { part: 'gt machine add, whole command', median_ms: m('total') },
];
printTable(table);
console.log(writeResult('gcp-add', { runs, rows, medians: table }));
