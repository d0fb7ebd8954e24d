// The built `bd` in a session on a worker machine (w1: its node agent's relay socket, no DB of the
// rig here) against the same `bd` on the rig's home machine: every command gives the same
// stdout, stderr and exit code, through the light unary client on GT_AGENT_SOCKET. When the relay
// cannot answer, bd says what is wrong with the words gt's grpc-js client uses, exit 1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentSocketPath } from '../../../node-agent/index.js';
import { GtError } from '../../../proto/index.js';
import { bd, type RunResult } from '../../helpers/cli.js';
import { startFleet } from './worker-helpers.js';

const ACTOR = 'alpha/Nux';

function envs(homeTown: string, workerTown: string) {
  const home = {
    GT_TOWN: homeTown,
    BEADS_DIR: join(homeTown, 'alpha', '.beads'),
    BD_ACTOR: ACTOR,
    GT_AGENT_SOCKET: '',
  };
  const session = {
    GT_TOWN: workerTown,
    GT_RIG: 'alpha',
    BEADS_DIR: join(workerTown, 'alpha', '.beads'),
    GT_AGENT_SOCKET: agentSocketPath(workerTown),
    BD_ACTOR: ACTOR,
  };
  return { home, session };
}

const shown = (r: RunResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

describe('bd in a session on a worker machine (relayed) vs bd on the home', () => {
  it('gives the same output and exit code for reads, claims, failures and usage errors', async () => {
    const { home, w1, up } = await startFleet();
    await up();
    const env = envs(home.townRoot, w1.townRoot);
    // A large description: the answer spans many HTTP/2 frames.
    const created = await bd(
      ['create', 'Tïtle ✓ with "quotes"', '-d', 'line\n'.repeat(20_000), '-p', '1', '--json'],
      { env: env.home },
    );
    expect(created.code, created.stderr).toBe(0);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const second = await bd(['create', 'Second', '--json'], { env: env.home });
    const other = (JSON.parse(second.stdout) as { id: string }).id;
    for (const args of [
      ['ready'],
      ['ready', '--json'],
      ['show', id],
      ['list', '--json'],
      ['show', 'alpha-zzz'],
      ['update'],
      ['no-such-command'],
      ['--version'],
    ]) {
      const [relayed, onHome] = await Promise.all([
        bd(args, { env: env.session }),
        bd(args, { env: env.home }),
      ]);
      expect(shown(relayed), `bd ${args.join(' ')}`).toEqual(shown(onHome));
    }
    expect((await bd(['show', id], { env: env.session })).stdout.length).toBeGreaterThan(100_000);

    // A claim from the worker lands in the home's DB; a second claimant is refused alike.
    const claimed = await bd(['update', other, '--claim'], { env: env.session });
    expect(shown(claimed)).toMatchObject({ code: 0, stderr: '' });
    expect(claimed.stdout).toContain(other);
    const after = await bd(['show', other, '--json'], { env: env.home });
    expect(JSON.parse(after.stdout)).toMatchObject([{ status: 'in_progress', assignee: ACTOR }]);
    const rival = { BD_ACTOR: 'alpha/Toast' };
    const [again, againHome] = await Promise.all([
      bd(['update', other, '--claim'], { env: { ...env.session, ...rival } }),
      bd(['update', other, '--claim'], { env: { ...env.home, ...rival } }),
    ]);
    expect(againHome.code).toBe(1);
    expect(shown(again)).toEqual(shown(againHome));
  });

  it('says what is wrong when the relay cannot answer: no stream, no agent, a stale socket', async () => {
    const { dir, home, w1 } = await startFleet();
    const env = envs(home.townRoot, w1.townRoot);
    // No coordinator attached: the node agent's own refusal, as gt's grpc-js client reports it.
    const viaGrpcJs = await w1.session
      .runBeads({ rig: 'alpha', args: ['ready'], actor: ACTOR, stdin: new Uint8Array() })
      .catch((e: unknown) => e);
    expect(viaGrpcJs).toBeInstanceOf(GtError);
    const e = viaGrpcJs as GtError;
    expect(e.code).toBe('GT_COORDINATOR_UNREACHABLE');
    const detached = await bd(['ready'], { env: env.session });
    expect(shown(detached)).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: ${e.message}\nhint: ${e.hint}\n`,
    });

    const missing = join(dir, 'gone', 'agent-gt.sock');
    const noAgent = await bd(['ready'], { env: { ...env.session, GT_AGENT_SOCKET: missing } });
    expect(noAgent.code).toBe(1);
    expect(noAgent.stderr).toMatch(
      new RegExp(`^error: the node agent's socket ${missing} \\(GT_AGENT_SOCKET\\) is not there\n`),
    );
    const stale = join(dir, 'stale.sock');
    writeFileSync(stale, '');
    const refused = await bd(['ready'], { env: { ...env.session, GT_AGENT_SOCKET: stale } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^error: cannot reach ${stale}: .*\nhint: `));
  });
});
