import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../../proto/index.js';
import { freeRoom, machinesToGrow, parseDuration, readGrow } from './swarm-grow.js';

const machine = (o: Partial<MachineInfo>): MachineInfo =>
  ({
    name: 'm',
    state: 'connected',
    draining: false,
    maxPolecats: 0,
    polecats: 0,
    labels: [],
    ...o,
  }) as MachineInfo;

const want = { n: 6, machines: [], labels: [], maxPerMachine: 0 };
const template = { max_polecats: 3 } as Parameters<typeof machinesToGrow>[1];

describe('growing a swarm', () => {
  it('reads durations and refuses others', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1d')).toBe(86400);
    for (const bad of ['0s', '10', 'm', '1.5h', '-1m', '10 m'])
      expect(() => parseDuration(bad)).toThrow(/is not a duration/);
  });

  it('--grow is gcp:TEMPLATE; --max-machines and --shrink-after only with it', () => {
    expect(readGrow({})).toBeUndefined();
    expect(readGrow({ grow: 'gcp:wk' })).toEqual({
      template: 'wk',
      maxMachines: 1,
      shrinkAfterS: undefined,
    });
    expect(readGrow({ grow: 'gcp:wk', maxMachines: '3', shrinkAfter: '5m' })).toEqual({
      template: 'wk',
      maxMachines: 3,
      shrinkAfterS: 300,
    });
    expect(() => readGrow({ maxMachines: '2' })).toThrow(/only with --grow/);
    expect(() => readGrow({ grow: 'gcp:' })).toThrow(/is not gcp:TEMPLATE/);
    expect(() => readGrow({ grow: 'gcp:wk', maxMachines: '51' })).toThrow(/is not 1–50/);
  });

  it('counts free room on connected, undrained machines the swarm may use', () => {
    const fleet = [
      machine({ name: 'a', maxPolecats: 4, polecats: 1 }),
      machine({ name: 'b', maxPolecats: 2, polecats: 2 }),
      machine({ name: 'c', maxPolecats: 3, draining: true }),
      machine({ name: 'd', maxPolecats: 3, state: 'unreachable' }),
      machine({ name: 'e', maxPolecats: 2, labels: ['pool=x'] }),
    ];
    expect(freeRoom(fleet, want)).toBe(5);
    expect(freeRoom(fleet, { ...want, labels: ['pool=x'] })).toBe(2);
    expect(freeRoom(fleet, { ...want, machines: ['a'] })).toBe(3);
    // --max-per-machine caps each machine (placement counts it as new polecats only).
    expect(freeRoom(fleet, { ...want, maxPerMachine: 1 })).toBe(3);
    // A machine without max_polecats has no limit: nothing is ever grown for it.
    expect(freeRoom([machine({ name: 'local' })], want)).toBe(Infinity);
  });

  it('grows enough machines for the shortfall, at most --max-machines', () => {
    const g = { template: 'wk', maxMachines: 2, shrinkAfterS: undefined };
    expect(machinesToGrow(0, template, g, want)).toBe(0);
    expect(machinesToGrow(-Infinity, template, g, want)).toBe(0);
    expect(machinesToGrow(1, template, g, want)).toBe(1);
    expect(machinesToGrow(3, template, g, want)).toBe(1);
    expect(machinesToGrow(4, template, g, want)).toBe(2);
    expect(machinesToGrow(60, template, g, want)).toBe(2);
    expect(machinesToGrow(4, template, g, { ...want, maxPerMachine: 1 })).toBe(2);
    expect(
      machinesToGrow(2, template, { ...g, maxMachines: 5 }, { ...want, maxPerMachine: 1 }),
    ).toBe(2);
  });
});
