// gt machine list / status / remove, and the fleet-wide commands with a machine that cannot be
// reached (an ssh entry pointing at a closed loopback port): the local machine is served, the
// other is named with its reason, gt stop --all exits 1, nothing is removed half-way.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

async function townWithFarMachine(): Promise<{ town: string; env: NodeJS.ProcessEnv }> {
  const town = join(tempDir(), 'town');
  expect((await gt(['install', town])).code).toBe(0);
  writeFileSync(
    join(town, 'config', 'federation.json'),
    JSON.stringify({
      version: 1,
      machines: {
        local: { type: 'local' },
        far: { type: 'ssh', host: '127.0.0.1', port: 1, user: 'gt', town_path: '/srv/town' },
      },
    }),
  );
  return { town, env: { ...process.env, GT_TOWN: town } };
}

describe('gt machine', () => {
  it('lists every machine, names the one that cannot be reached, and status shows a report', async () => {
    const { env } = await townWithFarMachine();
    const list = await gtJson<{ machines: Array<Record<string, unknown>> }>(
      ['machine', 'list', '--json'],
      { env },
    );
    const byName = Object.fromEntries(list.machines.map((m) => [m['name'], m]));
    expect(byName['local']).toMatchObject({ type: 'local', state: 'connected' });
    expect(byName['far']).toMatchObject({
      type: 'ssh',
      address: 'gt@127.0.0.1:1',
      state: 'unreachable',
    });
    const table = await gt(['machine', 'list'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+ADDRESS\s+STATE/m);
    expect(table.stderr).toMatch(/warning: machine far unreachable: /);

    const status = await gt(['machine', 'status', 'local'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^disk: .* GiB free/m);
    expect(status.stdout).toMatch(/^clock offset: -?\d+ ms/m);
    const far = await gt(['machine', 'status', 'far'], { env });
    expect(far.code).toBe(1);
    expect(far.stdout).toMatch(/state: .*unreachable/);
    const bad = await gt(['machine', 'status', 'Bad Name'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^hint: /m);
  });

  it('gt rigs serves the local machine and warns; gt stop --all exits 1 naming the failure', async () => {
    const { env } = await townWithFarMachine();
    const rigs = await gt(['rigs'], { env });
    expect(rigs.code, rigs.stderr).toBe(0);
    expect(rigs.stderr).toMatch(/warning: machine far \(unreachable\) did not answer: /);
    const stop = await gt(['stop', '--all'], { env });
    expect(stop.code).toBe(1);
    expect(stop.stdout).toMatch(/no sessions were running/);
    expect(stop.stderr).toMatch(/error: not stopped \(unreachable\): far: /);
  });

  it('remove refuses the own machine and one it cannot ask; --force removes it, nothing else', async () => {
    const { town, env } = await townWithFarMachine();
    const file = join(town, 'config', 'federation.json');
    const own = await gt(['machine', 'remove', 'local'], { env });
    expect(own.code).toBe(2); // can never succeed: a usage error
    expect(own.stderr).toMatch(/coordinator's own machine/);
    const cannot = await gt(['machine', 'remove', 'far'], { env });
    expect(cannot.code).toBe(1);
    expect(cannot.stderr).toMatch(/hint: .*gt machine remove far --force/);
    expect(JSON.parse(readFileSync(file, 'utf8')).machines).toHaveProperty('far');
    const forced = await gt(['machine', 'remove', 'far', '--force'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      version: 1,
      machines: { local: { type: 'local' } },
    });
    const unknown = await gt(['machine', 'remove', 'far'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no machine named "far"/);
  });
});
