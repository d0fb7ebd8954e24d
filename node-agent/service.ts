/**
 * The NodeAgent service implementation: the gRPC face of this machine's towns, rigs, mail,
 * sessions and doctor. The same object serves in-process (embedded mode) and on the unix socket.
 */
import { hostname } from 'node:os';
import type { Log } from './log.js';
import {
  GT_VERSION,
  GtError,
  ListSessionsRequestSchema,
  PROTOCOL_VERSION,
  create,
  type AgentFrame,
  type CoordinatorFrame,
  type ImplOf,
  type MessageInitShape,
  type NodeAgent,
  type RigInfoSchema,
} from '../proto/index.js';
import { attachStream } from './attach.js';
import { OUTBOX_UP_CHECK } from './outbox-up.js';
import type { Uplink } from './uplink.js';
import { runBeads } from './beads-relay.js';
import { checkOrigin } from './check-origin.js';
import { machineReport } from './report.js';
import { LoopLedger } from './loop-ledger.js';
import { gitStateOf } from './git-state.js';
import { createMailService } from './mail-service.js';
import { refineryRpcs } from './refinery-service.js';
import { BEADS_CHECKS } from './beads-checks.js';
import { FILE_CHECKS } from './file-checks.js';
import { GIT_IDENTITY_CHECK } from './git-identity-check.js';
import { MERGE_QUEUE_FILES_CHECK, STUCK_MERGE_CHECK } from './refinery/index.js';
import { agentStatusInfo, sessionRpcs } from './session-service.js';
import {
  SWARM_CHECKS,
  acceptMergeRequest,
  requireRig,
  tmuxServerHealth,
} from './sessions/index.js';
import { WITNESS_CHECKS } from './witness/index.js';
import { witnessRpcs } from './witness-service.js';
import {
  addRig,
  listRigs,
  loadTown,
  primeContext,
  townDirectory,
  removeRig,
  runDoctor,
  townStatus,
  installTown,
  type AgentStatus,
  type RigSummary,
} from './town/index.js';

export interface NodeAgentOptions {
  townRoot: string;
  machine: string;
  log: Log;
  /** Carries calls up the Attach stream (the standalone node agent on a worker machine). */
  uplink?: Uplink;
  /** The machine's loop record; without one, this node agent runs no loops of its own. */
  ledger?: LoopLedger;
}

export type NodeAgentImpl = ImplOf<typeof NodeAgent>;

function rigInfo(rig: RigSummary, machine: string): MessageInitShape<typeof RigInfoSchema> {
  return {
    name: rig.name,
    gitUrl: rig.git_url,
    prefix: rig.prefix ?? '',
    path: rig.path,
    addedAt: rig.added_at,
    machine: rig.machine ?? machine,
    polecatCount: rig.polecats,
    defaultBranch: rig.default_branch ?? '',
    witnessJson: rig.witness === undefined ? '' : JSON.stringify(rig.witness),
  };
}

type Rpc = (req: unknown, ctx: unknown) => unknown;

/**
 * The service boundary's rig check: every RPC whose request names a rig (`rig` non-empty:
 * sessions, polecats, merge queue, refinery, witness, swarms, plugins) first checks that rig
 * exists, so every command says `no rig named "X"` (or that the name is invalid) the same way,
 * before any rig file is looked for. Rig add/remove name theirs in `name` and check it themselves.
 */
function withRigCheck(townRoot: string, impl: NodeAgentImpl): NodeAgentImpl {
  const methods = impl as unknown as Record<string, Rpc>;
  const checked: Record<string, Rpc> = { ...methods };
  for (const [name, rpc] of Object.entries(methods)) {
    if (name === 'attach') continue; // a stream of frames, no request message
    checked[name] = async (req, ctx) => {
      const r = req as { rig?: unknown; remote?: unknown } | undefined;
      // A spawn the coordinator placed here for a rig homed elsewhere makes the rig's satellite.
      const makesSatellite = name === 'spawn' && r?.remote !== undefined;
      if (typeof r?.rig === 'string' && r.rig !== '' && !makesSatellite)
        await requireRig(townRoot, r.rig);
      return rpc.call(impl, req, ctx);
    };
  }
  return checked as unknown as NodeAgentImpl;
}

export function createNodeAgentService(options: NodeAgentOptions): NodeAgentImpl {
  return withRigCheck(options.townRoot, createUncheckedService(options));
}

function createUncheckedService(options: NodeAgentOptions): NodeAgentImpl {
  const { townRoot, machine, log } = options;
  const mail = createMailService({ townRoot, log });
  const sessionRpcsOf = sessionRpcs(townRoot);
  const ledger = options.ledger ?? new LoopLedger({ own: false, machine });
  return {
    async handshake(req) {
      log.debug(
        { coordinator: req.coordinatorVersion, protocol: req.protocolVersion },
        'handshake',
      );
      let townName = '';
      try {
        townName = (await loadTown(townRoot)).config.name;
      } catch {
        /* not installed yet: install comes next */
      }
      return {
        agentVersion: GT_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        machine,
        townRoot,
        townName,
        pid: process.pid,
        hostname: hostname(),
      };
    },
    async installTown(req) {
      const root = req.root === '' ? townRoot : req.root;
      const installed = await installTown({
        root,
        name: req.name === '' ? undefined : req.name,
        force: req.force,
      });
      log.info({ root }, 'town installed');
      return {
        name: installed.town.name,
        root: installed.root,
        createdAt: installed.town.created_at,
        machine,
      };
    },
    async addRig(req, ctx) {
      const rig = await addRig({
        townRoot,
        name: req.name,
        gitUrl: req.gitUrl,
        prefix: req.prefix === '' ? undefined : req.prefix,
        signal: ctx.signal,
      });
      log.info({ rig: rig.name }, 'rig added');
      return rigInfo(rig, machine);
    },
    async removeRig(req, ctx) {
      const removed = await removeRig({
        townRoot,
        name: req.name,
        force: req.force,
        signal: ctx.signal,
      });
      log.info({ rig: removed.name }, 'rig removed');
      return { name: removed.name, path: removed.path };
    },
    async report(_req, ctx) {
      // Sessions as listSessions sees them; a tmux that does not answer leaves the list empty.
      const sessions = await sessionRpcsOf
        .listSessions(create(ListSessionsRequestSchema, { rig: '' }), ctx)
        .then((r) => r.sessions ?? [])
        .catch(() => []);
      return machineReport(townRoot, sessions, ledger);
    },
    async runBeads(req, ctx) {
      return runBeads({
        townRoot,
        rig: req.rig,
        args: req.args,
        actor: req.actor,
        stdin: req.stdin,
        signal: ctx.signal,
      });
    },
    async checkOrigin(req, ctx) {
      if (req.url.trim() === '')
        throw new GtError('GT_INVALID_ARGUMENT', 'CheckOrigin without a url', {
          hint: "give the rig's git_url",
        });
      return checkOrigin({ townRoot, machine, url: req.url, signal: ctx.signal });
    },
    async listRigs() {
      const all = await listRigs(townRoot, { satellites: true });
      return {
        rigs: all.filter((r) => r.home_machine === undefined).map((r) => rigInfo(r, machine)),
        satellites: all.filter((r) => r.home_machine !== undefined).map((r) => r.name),
        polecats: all.reduce((n, r) => n + r.polecats, 0),
      };
    },
    async getStatus() {
      const st = await townStatus(townRoot);
      // Status must answer whatever tmux does: a dead or hung server is shown, not thrown.
      const tmux = await tmuxServerHealth(townRoot);
      const live = new Set(tmux.sessions.map((s) => s.name));
      const info = (a: AgentStatus) =>
        agentStatusInfo(a, a.session !== undefined && live.has(a.session));
      return {
        town: { name: st.name, root: st.root, createdAt: st.created_at, machine },
        mayor: info(st.mayor),
        rigs: st.rigs.map((r) => ({ rig: rigInfo(r, machine), agents: r.agents.map(info) })),
        tmux: {
          state: tmux.state,
          socket: tmux.socket,
          sessions: tmux.sessions.length,
          detail: tmux.detail,
        },
      };
    },
    async prime(req) {
      const p = await primeContext({ townRoot, cwd: townDirectory(townRoot, req.townPath) });
      return {
        role: p.role,
        rig: p.rig ?? '',
        name: p.name ?? '',
        address: p.address,
        home: p.home,
        townRoot: p.townRoot,
        text: p.text,
      };
    },
    async doctor(req) {
      const report = await runDoctor({
        townRoot,
        fix: req.fix,
        polecatsElsewhere: req.polecatsElsewhere,
        checks: [
          ...FILE_CHECKS,
          GIT_IDENTITY_CHECK,
          ...BEADS_CHECKS,
          ...SWARM_CHECKS,
          STUCK_MERGE_CHECK,
          MERGE_QUEUE_FILES_CHECK,
          ...WITNESS_CHECKS,
          OUTBOX_UP_CHECK,
        ],
      });
      return {
        findings: report.findings.map((f) => ({
          check: f.check,
          scope: f.scope,
          rig: f.rig ?? '',
          status: f.status,
          message: f.message,
          hint: f.hint ?? '',
          fixable: f.fixable,
          machine,
        })),
        fixed: report.fixed,
      };
    },
    async getGitState(req, ctx) {
      return gitStateOf(townRoot, req.address, ctx.signal);
    },
    async deliverMail(req, ctx) {
      if (req.message === undefined)
        throw new GtError('GT_INVALID_ARGUMENT', 'DeliverMail without a message');
      const to = req.message.to;
      // A polecat's `gt done` on another machine: the record goes into the rig's merge queue
      // here, the mail into the refinery's inbox as the trace of it.
      if (req.message.type === 'merge-request' && /^[^/]+\/refinery$/.test(to)) {
        await requireRig(townRoot, to.split('/')[0] ?? '');
        await acceptMergeRequest(townRoot, req.message.body);
      }
      return mail.deliver(req.message, ctx.signal);
    },
    async listMail(req) {
      return mail.list(req.address, req.unreadOnly);
    },
    async readMail(req, ctx) {
      return mail.read(req.address, req.id, req.peek, ctx.signal);
    },
    async markMailRead(req, ctx) {
      return mail.markRead(req.address, req.ids, req.all, ctx.signal);
    },
    ...sessionRpcsOf,
    ...refineryRpcs(townRoot, ledger),
    ...witnessRpcs(townRoot, ledger),
    attach(
      frames: AsyncIterable<CoordinatorFrame>,
      ctx,
    ): AsyncIterable<MessageInitShape<typeof import('../proto/index.js').AgentFrameSchema>> {
      return attachStream({
        machine,
        frames,
        signal: ctx.signal,
        log,
        ...(options.uplink === undefined ? {} : { uplink: options.uplink }),
      });
    },
  };
}

export type { AgentFrame };
