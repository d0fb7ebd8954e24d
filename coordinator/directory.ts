/**
 * The fleet directory: which machine homes each rig and which machine runs each polecat, learnt
 * from the node agents' own answers (their rig and polecat listings, asked when a machine is
 * first needed and again on demand, and the replies to spawn / add / remove) — never from files
 * on the coordinator's disk. `route` is the one routing function every command naming a rig or
 * an address goes through (DESIGN §6).
 */
import { GtError, formatAddress, parseAddress, type Address } from '../proto/index.js';
import { askEach, type MachineAnswer } from './fan-out.js';
import type { MachineRegistry } from './machines.js';

export interface FleetDirectoryOptions {
  registry: MachineRegistry;
  /** The coordinator's own machine: `mayor` and `overseer` live there. */
  home: string;
  /** Time each machine gets to list what it holds. */
  timeoutMs: number;
}

/** Where a request goes: the machine, and the address as that machine knows it (no prefix). */
export interface Route {
  machine: string;
  address: string;
}

interface Listing {
  rigs: string[];
  polecats: Array<{ rig: string; name: string; issue?: string; branch?: string }>;
}

/** What a polecat held at the last word of it: its issue and branch ("" for none). */
export interface Held {
  polecat: string;
  issue: string;
  branch: string;
}

export class FleetDirectory {
  readonly #o: FleetDirectoryOptions;
  /** rig → machine */
  readonly #rigs = new Map<string, string>();
  /** `rig/polecat` → machine */
  readonly #polecats = new Map<string, string>();
  /** `<rig>/<polecat>` → the issue and branch it held at the last listing. */
  readonly #issues = new Map<string, { issue: string; branch: string }>();
  /** Machines whose listing is in. */
  readonly #listed = new Set<string>();

  constructor(options: FleetDirectoryOptions) {
    this.#o = options;
  }

  get home(): string {
    return this.#o.home;
  }

  /** Ask `machines` (default: all) what they hold; the failures, one per machine that could not answer. */
  async refresh(
    machines = this.#o.registry.names(),
    signal?: AbortSignal,
  ): Promise<Array<MachineAnswer<Listing>>> {
    const answers = await askEach(
      this.#o.registry,
      machines,
      async (client, s): Promise<Listing> => {
        const listed = await client.listRigs({}, { signal: s });
        const rigs = listed.rigs.map((r) => r.name);
        // A satellite's polecats run here too, though the rig is homed elsewhere.
        const polecats = await Promise.all(
          [...rigs, ...listed.satellites].map(async (rig) =>
            (await client.listPolecats({ rig }, { signal: s })).polecats.map((p) => ({
              rig,
              name: p.status?.name ?? '',
              issue: p.status?.issue ?? '',
              branch: p.branch,
            })),
          ),
        );
        return { rigs, polecats: polecats.flat().filter((p) => p.name !== '') };
      },
      { timeoutMs: this.#o.timeoutMs, signal },
    );
    for (const a of answers) if (a.value !== undefined) this.#record(a.machine, a.value);
    return answers;
  }

  /** What the directory holds now (for status and `gt machine remove`). */
  rigsOn(machine: string): string[] {
    return [...this.#rigs].filter(([, m]) => m === machine).map(([rig]) => rig);
  }

  /** The polecats last listed on `machine` and the issue (and branch) each held then. */
  heldOn(machine: string): Held[] {
    return this.polecatsOn(machine).map((p) => ({
      polecat: p,
      issue: this.#issues.get(p)?.issue ?? '',
      branch: this.#issues.get(p)?.branch ?? '',
    }));
  }

  /** The rig's home as last listed, without asking anyone (undefined: not known). */
  knownRigHome(rig: string): string | undefined {
    return this.#rigs.get(rig);
  }

  /** `gt machine reassign`: the polecat's work went back to ready; it is no longer anywhere. */
  forgetPolecat(polecat: string): void {
    this.#polecats.delete(polecat);
    this.#issues.delete(polecat);
  }

  /** How many polecats each machine runs, in one pass (`gt machine list`). */
  polecatCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.#polecats.values()) counts.set(m, (counts.get(m) ?? 0) + 1);
    return counts;
  }

  /**
   * A rig as a command names it: `rig` → its home; `machine:rig` → that machine, which must home
   * the rig or run polecats of it (its satellite), else the error says where the rig is.
   */
  async routeRig(input: string, signal?: AbortSignal): Promise<{ machine: string; rig: string }> {
    const colon = input.indexOf(':');
    if (colon < 0) return { machine: await this.rigHome(input, signal), rig: input };
    const machine = input.slice(0, colon);
    const rig = input.slice(colon + 1);
    if (machine === '' || rig === '')
      throw new GtError('GT_USAGE', `"${input}" is not a rig: write <rig> or <machine>:<rig>`, {
        hint: 'e.g. app or worker-1:app',
      });
    if (!this.#o.registry.has(machine))
      throw new GtError(
        'GT_MACHINE_UNKNOWN',
        `"${input}" names machine "${machine}", which is not in config/federation.json`,
        { hint: `known machines: ${this.#o.registry.names().join(', ')}` },
      );
    const home = await this.rigHome(rig, signal);
    if (home === machine || this.#o.registry.names().length === 1) return { machine, rig };
    await this.ensureListed(signal);
    if (this.machinesWithPolecats(rig).includes(machine)) return { machine, rig };
    throw new GtError(
      'GT_INVALID_ADDRESS',
      `"${input}" names machine "${machine}", but rig "${rig}" is homed on machine "${home}" and has no polecats on ${machine}`,
      { hint: `write ${home}:${rig}, or leave the machine out: ${rig}` },
    );
  }

  /** Ask the machines whose listing is not in yet (once each; later changes come from replies). */
  async ensureListed(signal?: AbortSignal): Promise<void> {
    const unlisted = this.#o.registry.names().filter((m) => !this.#listed.has(m));
    if (unlisted.length > 0) await this.refresh(unlisted, signal);
  }

  /** The machines running polecats of `rig` (as last listed or spawned). */
  machinesWithPolecats(rig: string): string[] {
    const found = new Set<string>();
    for (const [key, m] of this.#polecats) if (key.startsWith(`${rig}/`)) found.add(m);
    return [...found];
  }

  /** The names of the rig's polecats on every machine listed. */
  polecatNames(rig: string): string[] {
    return [...this.#polecats.keys()]
      .filter((k) => k.startsWith(`${rig}/`))
      .map((k) => k.slice(rig.length + 1));
  }

  polecatsOn(machine: string): string[] {
    return [...this.#polecats].filter(([, m]) => m === machine).map(([p]) => p);
  }

  /** A machine's rig listing came in (gt rigs, gt status): its rig homes are current. */
  rigsListed(machine: string, rigs: string[]): void {
    for (const [rig, m] of [...this.#rigs]) if (m === machine) this.#rigs.delete(rig);
    for (const rig of rigs) this.#rigs.set(rig, machine);
  }

  /**
   * A machine's status came in (gt status, the dashboard's looks): its polecats and their issues
   * are current; branches (not in a status) stay as last known.
   */
  polecatsListed(
    machine: string,
    rigs: string[],
    polecats: Array<{ rig: string; name: string; issue: string }>,
  ): void {
    // A status covers the rigs homed there: polecats of satellites (rigs homed elsewhere) stay.
    const covered = new Set(rigs);
    for (const [key, m] of [...this.#polecats])
      if (m === machine && covered.has(key.split('/')[0] ?? '')) this.#polecats.delete(key);
    for (const p of polecats) {
      const key = `${p.rig}/${p.name}`;
      this.#polecats.set(key, machine);
      this.#issues.set(key, { issue: p.issue, branch: this.#issues.get(key)?.branch ?? '' });
    }
  }

  /** A rig was added on / removed from a machine, or a polecat spawned there. */
  rigAdded(rig: string, machine: string): void {
    this.#rigs.set(rig, machine);
  }

  rigRemoved(rig: string): void {
    this.#rigs.delete(rig);
    for (const key of [...this.#polecats.keys()])
      if (key.startsWith(`${rig}/`)) this.#polecats.delete(key);
  }

  polecatSpawned(rig: string, name: string, machine: string, issue = '', branch = ''): void {
    this.#polecats.set(`${rig}/${name}`, machine);
    if (issue !== '') this.#issues.set(`${rig}/${name}`, { issue, branch });
  }

  machineRemoved(machine: string): void {
    this.#listed.delete(machine);
    for (const map of [this.#rigs, this.#polecats])
      for (const [key, m] of [...map]) if (m === machine) map.delete(key);
  }

  /** The machine homing `rig`. */
  async rigHome(rig: string, signal?: AbortSignal): Promise<string> {
    const names = this.#o.registry.names();
    // One machine: it is the answer, and asking it for a listing would only cost time.
    if (names.length === 1 && names[0] !== undefined) return names[0];
    const known = this.#rigs.get(rig);
    if (known !== undefined) return known;
    // Unknown rig: ask the machines not listed yet, then (on demand) the others again.
    const unlisted = names.filter((m) => !this.#listed.has(m));
    let answers = unlisted.length > 0 ? await this.refresh(unlisted, signal) : [];
    if (!this.#rigs.has(rig) && unlisted.length < names.length)
      answers = await this.refresh(names, signal);
    const found = this.#rigs.get(rig);
    if (found !== undefined) return found;
    const failed = answers.filter((a) => a.error !== undefined);
    if (failed.length > 0)
      throw new GtError(
        'GT_MACHINE_UNREACHABLE',
        `rig "${rig}" is on none of the machines that answered; ${failed
          .map((a) => `${a.machine} could not be asked (${a.error?.message ?? ''})`)
          .join('; ')}`,
        { hint: 'see `gt machine list`; the rig may be homed on a machine that is down' },
      );
    // Nobody has it: the coordinator's own machine answers with its usual "no such rig".
    return this.#o.home;
  }

  /**
   * The one routing function: `[machine:]address` → the machine and the machine-local address.
   * An explicit machine wins but must agree with the directory; `<rig>/witness|refinery|mayor`
   * and plugins go to the rig's home; `<rig>/<polecat>` to where that polecat runs (its rig's home
   * until it is known to run elsewhere); `mayor` and `overseer` to the coordinator's machine.
   */
  async route(address: string, signal?: AbortSignal): Promise<Route> {
    const parsed = parseAddress(address);
    const { machine: explicit, ...rest } = parsed;
    const local = formatAddress(rest as Address);
    if (explicit !== undefined) {
      if (!this.#o.registry.has(explicit))
        throw new GtError(
          'GT_MACHINE_UNKNOWN',
          `address "${address}" names machine "${explicit}", which is not in config/federation.json`,
          { hint: `known machines: ${this.#o.registry.names().join(', ')}` },
        );
      // Agreement is checked against the listings: ask the machines not listed yet.
      const unlisted = this.#o.registry.names().filter((m) => !this.#listed.has(m));
      if (
        rest.rig !== undefined &&
        !this.#rigs.has(rest.rig) &&
        unlisted.length > 0 &&
        this.#o.registry.names().length > 1
      )
        await this.refresh(unlisted, signal);
      const actual = rest.rig === undefined ? undefined : this.#where(rest);
      if (actual !== undefined && actual !== explicit)
        throw new GtError(
          'GT_INVALID_ADDRESS',
          `address "${address}" names machine "${explicit}", but ${describe(rest)} is on machine "${actual}"`,
          { hint: `write ${actual}:${local}, or leave the machine out: ${local}` },
        );
      return { machine: explicit, address: local };
    }
    if (rest.rig === undefined) return { machine: this.#o.home, address: local };
    if (rest.role === 'polecat') {
      const runs = this.#polecats.get(`${rest.rig}/${rest.name}`);
      if (runs !== undefined) return { machine: runs, address: local };
    }
    return { machine: await this.rigHome(rest.rig, signal), address: local };
  }

  #where(a: Address): string | undefined {
    if (a.rig === undefined) return undefined;
    if (a.role === 'polecat') {
      const runs = this.#polecats.get(`${a.rig}/${a.name}`);
      if (runs !== undefined) return runs;
    }
    return this.#rigs.get(a.rig);
  }

  #record(machine: string, listing: Listing): void {
    this.#listed.add(machine);
    for (const map of [this.#rigs, this.#polecats])
      for (const [key, m] of [...map]) if (m === machine) map.delete(key);
    for (const rig of listing.rigs) this.#rigs.set(rig, machine);
    for (const p of listing.polecats) this.#polecats.set(`${p.rig}/${p.name}`, machine);
    for (const p of listing.polecats)
      this.#issues.set(`${p.rig}/${p.name}`, { issue: p.issue ?? '', branch: p.branch ?? '' });
  }
}

function describe(a: Address): string {
  if (a.role === 'polecat') return `polecat ${a.rig}/${a.name}`;
  return `rig "${a.rig ?? ''}"`;
}
