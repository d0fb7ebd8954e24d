// One source of the version: package.json. The bundles get it injected at build time, sources read
// it through proto/version.ts; gt, bd and the node agent's handshake all report it.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  GT_VERSION,
  NodeAgent,
  PROTOCOL_VERSION,
  loadGrpc,
  packageRoot,
} from '../../proto/index.js';
import { BD, REPO_ROOT, gt, runNode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

async function waitFor(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Production sources (not tests, not generated code). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name) && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !p.includes(`${join('proto', 'gen')}`));
}

describe('the version', () => {
  it('gt --version, bd --version and the node agent handshake all say package.json’s version', async () => {
    expect(GT_VERSION).toBe(PKG.version);
    expect(packageRoot()).toBe(REPO_ROOT);

    const g = await gt(['--version']);
    expect(g.code).toBe(0);
    expect(g.stdout).toBe(`gt ${PKG.version}\n`);
    const b = await runNode(BD, ['--version']);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(`${PKG.version} (beads v0.30 files)\n`);

    const town = join(tempDir(), 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const agent = spawn(
      process.execPath,
      [join(REPO_ROOT, 'dist', 'node-agent', 'main.js'), '--town', town],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    onTestFinished(() => {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    });
    const socket = join(town, 'run', 'node-agent.sock');
    await waitFor(() => existsSync(socket) && stderr.includes('node agent serving'));
    const grpc = await loadGrpc();
    const { client, close } = grpc.connectUnix(NodeAgent, socket);
    onTestFinished(close);
    const hello = await client.handshake({
      coordinatorVersion: 'test',
      protocolVersion: PROTOCOL_VERSION,
      machine: 'local',
    });
    expect(hello.agentVersion).toBe(PKG.version);
  });

  it('no source file carries the version as a literal (package.json is the one source)', () => {
    const literal = new RegExp(`['"\`]${PKG.version.replace(/\./g, '\\.')}[ '"\`]`);
    const offenders = ['cli', 'proto', 'node-agent', 'coordinator', 'deploy']
      .flatMap((d) => sources(join(REPO_ROOT, d)))
      .filter((f) => literal.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
