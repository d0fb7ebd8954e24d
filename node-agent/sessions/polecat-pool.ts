/**
 * Choosing the polecat for a spawn: an explicit name, else an idle polecat with nothing unsaved,
 * else the next free name of the pool. The choice and the new epoch are made under the rig's
 * spawn lock, so two spawns at once never pick the same polecat or share an epoch.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GtError,
  assertName,
  nextPoolName,
  withFileLock,
  writeFileAtomic,
} from '../../proto/index.js';
import { rigPaths } from '../town/index.js';
import { readAgentState } from './agent-home.js';
import { unsavedWorkIn } from './clone.js';

export { POLECAT_NAMES, nextPoolName } from '../../proto/index.js';

function polecatDirs(polecatsDir: string): string[] {
  if (!existsSync(polecatsDir)) return [];
  return readdirSync(polecatsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** An existing polecat that is idle, done or stopped, with no session and nothing unsaved. */
async function idlePolecat(
  polecatsDir: string,
  sessionAlive: (name: string) => Promise<boolean>,
): Promise<string | undefined> {
  for (const name of polecatDirs(polecatsDir)) {
    const home = join(polecatsDir, name);
    // No clone or no state yet: another spawn is making this polecat right now.
    if (!existsSync(join(home, '.git')) || !existsSync(join(home, 'state.json'))) continue;
    const state = await readAgentState(home, 'polecat').catch(() => undefined);
    if (state === undefined || state.state === 'working' || state.state === 'stuck') continue;
    if (state.active === false) continue;
    if (await sessionAlive(name)) continue;
    if ((await unsavedWorkIn(home).catch(() => ['?'])).length > 0) continue;
    return name;
  }
  return undefined;
}

/**
 * The rig's next epoch: above the counter file and above every epoch any polecat of the rig
 * records, so an empty, garbage or rolled-back `polecats/.epoch` never makes an epoch be reused.
 */
export async function nextEpoch(polecatsDir: string): Promise<number> {
  const counter = join(polecatsDir, '.epoch');
  const raw = existsSync(counter) ? Number(readFileSync(counter, 'utf8').trim()) : 0;
  const last = Number.isSafeInteger(raw) && raw > 0 ? raw : 0;
  const recorded = await Promise.all(
    polecatDirs(polecatsDir).map(
      async (name) =>
        (await readAgentState(join(polecatsDir, name), 'polecat').catch(() => undefined))?.epoch ??
        0,
    ),
  );
  return Math.max(last, ...recorded) + 1;
}

export interface PickedPolecat {
  name: string;
  epoch: number;
}

/**
 * Pick the polecat and take the rig's next spawn epoch (`polecats/.epoch`, a counter never
 * reused, even when polecat folders are deleted or the counter file is damaged), written
 * atomically under the rig's spawn lock.
 */
export async function pickPolecat(
  townRoot: string,
  rig: string,
  requested: string | undefined,
  sessionAlive: (name: string) => Promise<boolean>,
  reserve: (picked: PickedPolecat) => Promise<void>,
  /** Rig config `max_polecats`: refuse when this many polecats already have a live session. */
  cap?: { max: number; live: () => Promise<Set<string>>; sessionOf: (name: string) => string },
): Promise<PickedPolecat> {
  const dir = rigPaths(townRoot, rig).polecatsDir;
  const counter = join(dir, '.epoch');
  return withFileLock(counter, async () => {
    if (cap !== undefined) {
      const live = await cap.live();
      const running = polecatDirs(dir).filter((n) => live.has(cap.sessionOf(n)));
      if (running.length >= cap.max)
        throw new GtError(
          'GT_CONFLICT',
          `rig ${rig} already runs ${running.length} polecat(s), its max_polecats is ${cap.max}: ${running.join(', ')}`,
          {
            hint: `wait for one to finish (\`gt polecats ${rig}\`), or raise max_polecats in ${rig}/config.json`,
          },
        );
    }
    let name: string;
    if (requested !== undefined && requested !== '') {
      assertName('polecat', requested);
      name = requested;
    } else {
      name = (await idlePolecat(dir, sessionAlive)) ?? nextPoolName(polecatDirs(dir));
    }
    const epoch = await nextEpoch(dir);
    await writeFileAtomic(counter, `${epoch}\n`);
    await reserve({ name, epoch });
    return { name, epoch };
  });
}
