/**
 * `gt swarm start <rig> … --grow gcp:TEMPLATE [--max-machines M] [--shrink-after DURATION]`: when
 * the fleet's free room (max_polecats minus running polecats on the machines the swarm may use)
 * is short of the issues asked for, create up to M machines from the template, in parallel, each
 * through the same path as `gt machine add --gcp --create` and provisioned as an ssh machine;
 * progress per machine on stderr and in run/grow-<pid>.json (`gt swarm status` shows it). A
 * machine that fails is not registered (its instance is deleted again) and is named; the swarm
 * then runs on the room there is. Placement (coordinator/swarm-spread.ts) puts the polecats on
 * the machines with the most room: the new ones.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadGcp,
  readFederation,
  updateFederation,
  updateLedger,
  type GcpTemplate,
} from '../../coordinator/index.js';
import { GtError, errorMessage, writeJsonAtomic, type MachineInfo } from '../../proto/index.js';
import { gcpEndpointFromEnv } from '../gcp-env.js';
import { err } from '../output.js';
import { gcpLabels } from './machine-gcp-actions.js';
import { addGcpMachine, type ComputeApi } from './machine-gcp-core.js';

export interface GrowRequest {
  template: string;
  maxMachines: number;
  shrinkAfterS: number | undefined;
}

const usage = (message: string, hint: string): GtError =>
  new GtError('GT_USAGE', message, { hint });

/** "90s", "10m", "2h", "1d" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  const n = m === null ? 0 : Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's'];
  if (n <= 0)
    throw usage(
      `--shrink-after "${text}" is not a duration`,
      'e.g. --shrink-after 10m (s, m, h, d)',
    );
  return n;
}

/** --grow / --max-machines / --shrink-after as given (exit 2 on a problem); undefined: no --grow. */
export function readGrow(opts: Record<string, unknown>): GrowRequest | undefined {
  if (opts.grow === undefined) {
    for (const [k, flag] of [
      ['maxMachines', '--max-machines'],
      ['shrinkAfter', '--shrink-after'],
    ] as const)
      if (opts[k] !== undefined)
        throw usage(`${flag} is used only with --grow`, 'add --grow gcp:TEMPLATE, or leave it out');
    return undefined;
  }
  const [kind, template = '', ...rest] = String(opts.grow).split(':');
  if (kind !== 'gcp' || template === '' || rest.length > 0)
    throw usage(
      `--grow "${String(opts.grow)}" is not gcp:TEMPLATE`,
      'e.g. --grow gcp:worker (see the templates with `gt machine template list`)',
    );
  const max = Number(opts.maxMachines ?? 1);
  if (!Number.isInteger(max) || max < 1 || max > 50)
    throw usage(`--max-machines ${String(opts.maxMachines)} is not 1–50`, 'e.g. --max-machines 2');
  return {
    template,
    maxMachines: max,
    shrinkAfterS:
      opts.shrinkAfter === undefined ? undefined : parseDuration(String(opts.shrinkAfter)),
  };
}

export interface Want {
  n: number;
  machines: string[];
  labels: string[];
  maxPerMachine: number;
}

/** Free polecat room on the machines the swarm may use (Infinity when one has no cap). */
export function freeRoom(machines: MachineInfo[], want: Want): number {
  let room = 0;
  for (const m of machines) {
    if (m.state !== 'connected' || m.draining) continue;
    if (want.machines.length > 0 && !want.machines.includes(m.name)) continue;
    if (want.labels.some((l) => !m.labels.includes(l))) continue;
    const cap = Math.min(
      m.maxPolecats === 0 ? Infinity : m.maxPolecats,
      want.maxPerMachine || Infinity,
    );
    room += Math.max(0, cap - (want.maxPerMachine > 0 ? 0 : m.polecats));
  }
  return room;
}

export async function loadTemplate(townRoot: string, g: GrowRequest, want: Want) {
  const fed = await readFederation(townRoot).catch(() => undefined);
  const template = fed?.templates?.[g.template];
  if (template === undefined)
    throw usage(
      `no template named "${g.template}"`,
      'see the templates with `gt machine template list`; add one with `gt machine template add NAME --gcp PROJECT/ZONE`',
    );
  const missing = want.labels.filter((l) => !(template.labels ?? []).includes(l));
  if (missing.length > 0)
    throw usage(
      `machines grown from "${g.template}" would not carry --label ${missing.join(', ')}`,
      `add the label to the template (\`gt machine template remove ${g.template}\`, then add it again with --label), or leave out --label`,
    );
  return template;
}

/** How many machines to grow for `short` polecats more. */
export function machinesToGrow(short: number, template: GcpTemplate, g: GrowRequest, want: Want) {
  if (short <= 0) return 0;
  const each = Math.min(template.max_polecats, want.maxPerMachine || Infinity);
  return Math.min(g.maxMachines, Math.ceil(short / each));
}

export interface GrowResult {
  grown: string[];
  failed: Array<{ name: string; error: string }>;
}

/** Create, register and provision `count` machines from the template, in parallel. */
export async function growMachines(
  townRoot: string,
  g: GrowRequest,
  template: GcpTemplate,
  count: number,
  json: boolean,
  onReady: (name: string) => void = () => undefined,
): Promise<GrowResult> {
  const fed = await readFederation(townRoot);
  const names: string[] = [];
  for (let i = 1; names.length < count; i++)
    if (fed.machines[`${g.template}-${i}`] === undefined) names.push(`${g.template}-${i}`);
  const progress = new Progress(townRoot, g.template, names);
  const gcp = await loadGcp();
  const api = await gcp.createComputeApi({ endpoint: gcpEndpointFromEnv() });
  // The town's key is made once, before the machines are created side by side.
  if (template.identity_file === undefined) await gcp.ensureTownKey(townRoot);
  try {
    const results = await Promise.allSettled(
      names.map(async (name) => {
        await growOne(gcp, api, { townRoot, name, g, template, json, progress });
        onReady(name);
      }),
    );
    const out: GrowResult = { grown: [], failed: [] };
    results.forEach((r, i) => {
      const name = names[i] ?? '';
      if (r.status === 'fulfilled') out.grown.push(name);
      else out.failed.push({ name, error: errorMessage(r.reason) });
    });
    return out;
  } finally {
    progress.done();
    await api.close();
  }
}

async function growOne(
  gcp: Awaited<ReturnType<typeof loadGcp>>,
  api: ComputeApi,
  o: {
    townRoot: string;
    name: string;
    g: GrowRequest;
    template: GcpTemplate;
    json: boolean;
    progress: Progress;
  },
): Promise<void> {
  const { name, template: t } = o;
  const show = (step: string, detail?: string): void => {
    o.progress.step(name, step);
    if (!o.json) err(`  [${name}] ${step}${detail === undefined ? '' : `: ${detail}`}`);
  };
  const ref = { project: t.project, zone: t.zone, instance: name };
  const added = await addGcpMachine(gcp, api, {
    townRoot: o.townRoot,
    name,
    ref,
    create: {
      machineType: t.machine_type,
      imageFamily: t.image_family,
      imageProject: t.image_project,
      diskGb: t.disk_gb,
      instanceLabels: gcpLabels(t.labels),
    },
    user: t.user,
    identity: t.identity_file,
    townPath: undefined,
    maxPolecats: t.max_polecats,
    labels: t.labels,
    // A new instance's host key is unknown by definition; the first one offered is recorded.
    acceptHostKey: true,
    extra: {
      grown: {
        swarm: '',
        template: o.g.template,
        ...(o.g.shrinkAfterS === undefined ? {} : { shrink_after_s: o.g.shrinkAfterS }),
      },
    },
    show,
    json: true,
  });
  await updateLedger(o.townRoot, (rs) => [
    ...rs,
    {
      name,
      swarm: '',
      template: o.g.template,
      ...(added.machine.machine_type === undefined
        ? {}
        : { machine_type: added.machine.machine_type }),
      created_at: added.machine.created_at ?? new Date().toISOString(),
    },
  ]);
  const provStart = Date.now();
  try {
    await gcp.provisionGcpMachine({
      townRoot: o.townRoot,
      name,
      machine: added.machine,
      api,
      resolved: added.resolved,
      onStep: (s, d) => show(s, d),
    });
    const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
    show(
      'ready',
      `api ${secs(added.apiMs)}, sshd ${secs(added.sshdMs)}, provisioning ${secs(Date.now() - provStart)}`,
    );
  } catch (e) {
    // Not half there: out of federation.json again, the instance deleted, the ledger closed.
    await updateFederation(o.townRoot, (f) => {
      const { [name]: _gone, ...rest } = f.machines;
      return { ...f, machines: rest };
    });
    await api.waitForOperation(ref, await api.deleteInstance(ref)).catch(() => undefined);
    await updateLedger(o.townRoot, (rs) =>
      rs.map((r) =>
        r.name === name && r.deleted_at === undefined
          ? { ...r, deleted_at: new Date().toISOString() }
          : r,
      ),
    );
    throw new GtError('GT_PROVISION_FAILED', `provisioning ${name} failed: ${errorMessage(e)}`, {
      hint: 'its instance was deleted again',
    });
  }
}

/** Record the swarm's id on the machines grown for it (federation.json and the ledger). */
export async function markGrown(townRoot: string, names: string[], swarm: string): Promise<void> {
  if (names.length === 0) return;
  await updateFederation(townRoot, (f) => {
    for (const n of names) {
      const m = f.machines[n];
      if (m?.type === 'gcp' && m.grown !== undefined) m.grown.swarm = swarm;
    }
    return f;
  });
  await updateLedger(townRoot, (rs) =>
    rs.map((r) => (names.includes(r.name) && r.swarm === '' ? { ...r, swarm } : r)),
  );
}

/** run/grow-<pid>.json: the machines one `gt swarm start --grow` is creating, and their step. */
class Progress {
  readonly #path: string;
  readonly #state: {
    pid: number;
    template: string;
    started_at: string;
    machines: Record<string, string>;
  };
  #write: Promise<void> = Promise.resolve();

  constructor(townRoot: string, template: string, names: string[]) {
    this.#path = join(townRoot, 'run', `grow-${process.pid}.json`);
    this.#state = {
      pid: process.pid,
      template,
      started_at: new Date().toISOString(),
      machines: Object.fromEntries(names.map((n) => [n, 'waiting'])),
    };
    this.#flush();
  }

  step(name: string, step: string): void {
    this.#state.machines[name] = step;
    this.#flush();
  }

  done(): void {
    void this.#write.finally(() => rmSync(this.#path, { force: true }));
  }

  #flush(): void {
    const copy = structuredClone(this.#state);
    this.#write = this.#write.then(() => writeJsonAtomic(this.#path, copy)).catch(() => undefined);
  }
}

export interface GrowPlan {
  townRoot: string;
  template: GcpTemplate;
  /** Machines to grow (0: the fleet has room). */
  count: number;
  /** Free room on the fleet now. */
  room: number;
  note: string;
}

/** How many machines a swarm needs grown: the fleet's free room against the issues asked for. */
export async function planGrow(
  opts: Record<string, unknown>,
  g: GrowRequest,
  req: { issues: string[]; ready: number; max: number } & Omit<Want, 'n'>,
): Promise<GrowPlan> {
  const { resolveTownRoot } = await import('../town-root.js');
  const { withCoordinator } = await import('./context.js');
  const townRoot = resolveTownRoot(opts.town as string | undefined);
  const asked = req.issues.length > 0 ? req.issues.length : req.ready;
  const want: Want = { ...req, n: req.max > 0 ? Math.min(asked, req.max) : asked };
  const template = await loadTemplate(townRoot, g, want);
  const machines = await withCoordinator(
    opts,
    async ({ client }) => (await client.listMachines({})).machines,
  );
  const room = freeRoom(machines, want);
  const count = machinesToGrow(want.n - room, template, g, want);
  const have = room === Infinity ? 'no limit' : String(room);
  const note =
    count === 0
      ? `grow: the fleet has room (${have}) for ${want.n}: nothing grown`
      : `growing ${count} machine(s) from gcp:${g.template} (room ${have}, ${want.n} wanted)…`;
  return { townRoot, template, count, room, note };
}

/** The notes a grow leaves on the swarm: what was grown, what could not be. */
export function growNotes(g: GrowRequest, r: GrowResult): string[] {
  return [
    ...(r.grown.length > 0 ? [`grew ${r.grown.join(', ')} from gcp:${g.template}`] : []),
    ...r.failed.map((f) => `could not grow ${f.name}: ${f.error}`),
  ];
}
