// Spawn epochs are never reused within a rig, whatever `polecats/.epoch` holds: the next epoch is
// above the counter file and above every polecat's recorded epoch (real files, real lock).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pickPolecat } from '../../../node-agent/sessions/index.js';
import { tempDir } from '../../helpers/tmp.js';

function rigWithPolecats(epochs: Record<string, number>, counter: string | undefined): string {
  const town = tempDir('gt-epochs-');
  const dir = join(town, 'wyvern', 'polecats');
  mkdirSync(dir, { recursive: true });
  for (const [name, epoch] of Object.entries(epochs)) {
    mkdirSync(join(dir, name));
    const state = { version: 1, role: 'polecat', state: 'idle', epoch, updated_at: new Date() };
    writeFileSync(join(dir, name, 'state.json'), JSON.stringify(state));
  }
  if (counter !== undefined) writeFileSync(join(dir, '.epoch'), counter);
  return town;
}

async function spawnEpoch(town: string, name: string): Promise<number> {
  const reserved: number[] = [];
  const picked = await pickPolecat(
    town,
    'wyvern',
    name,
    () => Promise.resolve(false),
    (p) => {
      reserved.push(p.epoch);
      return Promise.resolve();
    },
  );
  expect(reserved).toEqual([picked.epoch]);
  return picked.epoch;
}

describe('spawn epochs', () => {
  const cases: Array<[string, string | undefined, number]> = [
    ['missing', undefined, 6],
    ['empty', '', 6],
    ['garbage', 'x7\n', 6],
    ['negative', '-40\n', 6],
    ['lower than a record', '2\n', 6],
    ['higher than every record', '9\n', 10],
  ];
  it.each(cases)('with .epoch %s the next epoch is above every record', async (_, file, want) => {
    // Toast's own record is 1 and Capable's 2: another polecat (Nux) holds 5.
    const town = rigWithPolecats({ Nux: 5, Toast: 1, Capable: 2 }, file);
    expect(await spawnEpoch(town, 'Toast')).toBe(want);
    const counter = join(town, 'wyvern', 'polecats', '.epoch');
    expect(readFileSync(counter, 'utf8')).toBe(`${want}\n`);
    expect(existsSync(`${counter}.lock`)).toBe(false);
    // And the next spawn goes on from there, for any polecat.
    expect(await spawnEpoch(town, 'Capable')).toBe(want + 1);
    expect(await spawnEpoch(town, 'Furiosa')).toBe(want + 2);
  });
});
