/**
 * zod schemas of every town/rig file the node agent reads. The inferred types are the only types.
 * Shapes fixed by the seed are `.strict()`: a typo in a field name is an error, not silence.
 */
import { z } from 'zod';
import { nameProblem } from '../../proto/index.js';

const isoTime = z.iso.datetime({ offset: true });

const rigName = z.string().superRefine((value, ctx) => {
  const problem = nameProblem('rig', value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** Beads issue prefix: 1–8 lowercase letters/digits, starting with a letter. */
export const BEADS_PREFIX_RE = /^[a-z][a-z0-9]{0,7}$/;
const beadsPrefix = z
  .string()
  .regex(BEADS_PREFIX_RE, 'must be 1–8 lowercase letters or digits, starting with a letter');

/** config/town.json */
export const TownConfigSchema = z
  .object({
    type: z.literal('town'),
    version: z.literal(1),
    name: z.string().min(1),
    created_at: isoTime,
    /** The Overseer's dashboard, served by the daemon on 127.0.0.1 (absent: a free port). */
    dashboard: z
      .object({ port: z.number().int().min(1).max(65_535).optional() })
      .strict()
      .optional(),
    /** The daemon's watch over the machines (coordinator/liveness.ts; defaults there). */
    fleet: z
      .object({
        /** How often each machine sends a heartbeat; silent 3 intervals → disconnected. */
        heartbeat_interval_ms: z.number().int().min(50).max(600_000).optional(),
        /** Silent this long → lost (one escalation to the Mayor). */
        lost_after_ms: z.number().int().positive().optional(),
        /** Give a lost machine's issues back at once (as `gt machine reassign`). Default off. */
        reassign_lost: z.boolean().optional(),
      })
      .strict()
      .superRefine((f, ctx) => {
        const silence = 3 * (f.heartbeat_interval_ms ?? 5_000);
        if (f.lost_after_ms !== undefined && f.lost_after_ms <= silence)
          ctx.addIssue({
            code: 'custom',
            path: ['lost_after_ms'],
            message: `must be longer than the ${silence} ms after which a machine is disconnected (3 heartbeat intervals)`,
          });
      })
      .optional(),
  })
  .strict();
export type TownConfig = z.infer<typeof TownConfigSchema>;

/** One entry of config/rigs.json */
export const RigEntrySchema = z
  .object({
    git_url: z.string().min(1),
    added_at: isoTime,
    prefix: beadsPrefix.optional(),
    /** Machine the rig lives on (federation); absent = local. */
    machine: z.string().min(1).optional(),
    /**
     * A satellite: the rig is homed on that machine (its beads, refinery and witness are there)
     * and only polecats of it run here. Written by a spawn the coordinator placed here.
     */
    home_machine: z.string().min(1).optional(),
  })
  .strict();
export type RigEntry = z.infer<typeof RigEntrySchema>;

/** config/rigs.json */
export const RigsRegistrySchema = z
  .object({
    version: z.literal(1),
    rigs: z.record(z.string(), RigEntrySchema),
  })
  .strict()
  .superRefine((registry, ctx) => {
    for (const name of Object.keys(registry.rigs)) {
      const problem = nameProblem('rig', name);
      if (problem !== undefined)
        ctx.addIssue({ code: 'custom', message: problem, path: ['rigs', name] });
    }
  });
export type RigsRegistry = z.infer<typeof RigsRegistrySchema>;

/** <rig>/config.json */
export const RigConfigSchema = z
  .object({
    type: z.literal('rig'),
    version: z.literal(1),
    name: rigName,
    git_url: z.string().min(1),
    default_branch: z.string().min(1).optional(),
    beads: z
      .object({
        prefix: beadsPrefix,
        /** Git remote for `bd sync`. */
        sync_remote: z.string().min(1).optional(),
      })
      .strict(),
    /** Command the refinery runs before merging (e.g. "npm test"). */
    test_command: z.string().min(1).optional(),
    /**
     * Queued entries touching disjoint files the refinery may merge and test together (one gate
     * run, one push). Default 1: one entry at a time.
     */
    merge_batch: z.number().int().positive().optional(),
    /**
     * How often a worker machine's own Refinery loop processes the queue (default 10 s; the
     * daemon's loop under `gt up` keeps its own interval).
     */
    merge_interval_ms: z.number().int().positive().optional(),
    /** How long the test gate may run before the entry is rejected. Default 30 min. */
    test_timeout_ms: z.number().int().positive().optional(),
    /** Cap on concurrently running polecats in this rig. */
    max_polecats: z.number().int().positive().optional(),
    /** Default agent preset for polecats (claude, codex, gemini, aider, custom). */
    agent: z.string().min(1).optional(),
    /** Witness patrol thresholds; each missing value takes its default (node-agent/witness). */
    witness: z
      .object({
        /** How long a polecat may show no progress before (and between) nudges. */
        nudge_interval_ms: z.number().int().nonnegative().optional(),
        /** Nudges without progress before the Witness escalates to the Mayor. */
        max_nudges: z.number().int().nonnegative().optional(),
        /** Times a polecat is woken to rework refinery send-backs before escalating. */
        max_rework: z.number().int().nonnegative().optional(),
        /** No progress in a swarm for this long → stuck swarm, escalated. */
        stuck_timeout_ms: z.number().int().nonnegative().optional(),
        /** Patrol loop interval under `gt up`. */
        patrol_interval_ms: z.number().int().positive().optional(),
        /** A working state this fresh without a session is being spawned, not crashed. */
        crash_grace_ms: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type RigConfig = z.infer<typeof RigConfigSchema>;

/**
 * config/federation.json, permissive: the full schema lives with the coordinator's machine
 * registry. The node agent only checks that the file is there, parses, and names a local machine.
 */
export const FederationFileSchema = z
  .object({
    version: z.literal(1),
    machines: z.record(z.string(), z.looseObject({ type: z.enum(['local', 'ssh', 'gcp']) })),
  })
  .loose();
export type FederationFile = z.infer<typeof FederationFileSchema>;

export const AgentRoleSchema = z.enum(['mayor', 'witness', 'refinery', 'polecat', 'plugin']);
export type AgentRole = z.infer<typeof AgentRoleSchema>;

export const AgentStateValueSchema = z.enum(['idle', 'working', 'done', 'stuck', 'stopped']);
export type AgentStateValue = z.infer<typeof AgentStateValueSchema>;

/** state.json of an agent home. */
export const AgentStateSchema = z
  .object({
    version: z.literal(1),
    role: AgentRoleSchema,
    state: AgentStateValueSchema,
    /** Beads issue the agent is working on. */
    issue: z.string().min(1).optional(),
    /** tmux session name. */
    session: z.string().min(1).optional(),
    /** Spawn epoch: every signal about a worker carries it; stale ones are ignored. */
    epoch: z.number().int().nonnegative().optional(),
    /** Git branch of the assignment (polecats). */
    branch: z.string().min(1).optional(),
    /** Agent preset the session runs (to restart it the same way on handoff). */
    agent: z.string().min(1).optional(),
    /** `gt sleep` sets false (inactive: not to be nudged or given work), `gt wake` true. */
    active: z.boolean().optional(),
    /** With state `stuck`: the screen the agent's session stopped at ("login"), for a human. */
    waiting_for: z.string().min(1).optional(),
    updated_at: isoTime,
    last_activity: isoTime.optional(),
  })
  .strict();
export type AgentState = z.infer<typeof AgentStateSchema>;

export function idleState(role: AgentRole, now = new Date()): AgentState {
  return { version: 1, role, state: 'idle', updated_at: now.toISOString() };
}

/** A beads prefix derived from a rig name: its first 3 lowercase letters/digits ("wyvern" → "wyv"). */
export function derivePrefix(rig: string): string {
  const alnum = rig.toLowerCase().replace(/[^a-z0-9]/g, '');
  const letters = alnum.replace(/^[0-9]+/, '');
  const base = letters.length >= 2 ? letters : `r${alnum}`;
  return base.slice(0, 3);
}

/** `<rig>/refinery/queue/<issue>.json`: the submission `gt done` writes (one per issue). */
export const MergeRequestSchema = z
  .object({
    version: z.literal(1),
    rig: z.string().min(1),
    issue: z.string().min(1),
    polecat: z.string().min(1),
    address: z.string().min(1),
    branch: z.string().min(1),
    head: z.string().regex(/^[0-9a-f]{40,64}$/, 'must be a full git commit id'),
    epoch: z.number().int().nonnegative(),
    remote_ref: z.string().min(1),
    submitted_at: isoTime,
  })
  .strict();
export type MergeRequest = z.infer<typeof MergeRequestSchema>;

export const QueueEntryStateSchema = z.enum([
  'queued',
  'merging',
  'merged',
  'rejected',
  'conflict',
]);

/** `<rig>/refinery/queue/<issue>.state.json`: the refinery's progress on one submission. */
export const EntryProgressSchema = z
  .object({
    version: z.literal(1),
    /** The submission this progress belongs to (MergeRequest.submitted_at). */
    submitted_at: isoTime,
    state: QueueEntryStateSchema,
    attempts: z.number().int().nonnegative(),
    last_error: z.string().optional(),
    merged_commit: z.string().optional(),
    conflict_files: z.array(z.string()).optional(),
    /** The process merging it (state merging): a dead pid means the merge was interrupted. */
    pid: z.number().int().nonnegative().optional(),
    /** Plugin hooks already run for this submission (one mail per entry per hook). */
    hooks: z.array(z.string()).optional(),
    updated_at: isoTime,
  })
  .strict();
export type EntryProgress = z.infer<typeof EntryProgressSchema>;
