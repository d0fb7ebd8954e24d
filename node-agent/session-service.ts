/**
 * The NodeAgent's session and polecat RPCs (spawn, polecats, wake/sleep, done, handoff, stop,
 * inject, capture, kill), spread into the service by service.ts.
 */
import { existsSync } from 'node:fs';
import type { MessageInitShape, AgentStatusSchema, NodeAgent, ImplOf } from '../proto/index.js';
import { GtError, isGtError } from '../proto/index.js';
import {
  handoff,
  killAgent,
  listPolecats,
  placeAgent,
  polecatDone,
  setAgentActive,
  releasePolecatIssue,
  returnIssue,
  remoteRigOf,
  spawnOrResume,
  stopSessions,
  townTmux,
  type StoppedSession,
} from './sessions/index.js';
import { openBeads } from './beads/index.js';
import { rigAgents, listRigs, rigPaths, type AgentStatus } from './town/index.js';

/** Titles of the issues polecats hold (one read of the rig's beads); none when it cannot be read. */
function issueTitles(beadsDir: string, ids: string[]): Map<string, string> {
  const titles = new Map<string, string>();
  const wanted = ids.filter((id) => id !== '');
  if (wanted.length === 0) return titles;
  try {
    const store = openBeads(beadsDir);
    try {
      for (const id of wanted) {
        const issue = store.getIssue(id);
        if (issue !== undefined) titles.set(id, issue.title);
      }
    } finally {
      store.close();
    }
  } catch {
    /* a broken tracker is doctor's finding; the listing goes on without titles */
  }
  return titles;
}

type Impl = ImplOf<typeof NodeAgent>;
export type SessionRpcs = Pick<
  Impl,
  | 'listSessions'
  | 'sendText'
  | 'capture'
  | 'killSession'
  | 'releaseIssue'
  | 'returnIssue'
  | 'spawn'
  | 'listPolecats'
  | 'setAgentActive'
  | 'done'
  | 'handoff'
  | 'stopSessions'
>;

export function agentStatusInfo(
  a: AgentStatus,
  sessionAlive: boolean,
): MessageInitShape<typeof AgentStatusSchema> {
  return {
    role: a.role,
    address: a.address,
    rig: a.rig ?? '',
    name: a.name ?? '',
    state: a.state,
    issue: a.issue ?? '',
    session: a.session ?? '',
    sessionAlive,
    updatedAt: a.updated_at ?? '',
    lastActivity: a.last_activity ?? '',
    problem: a.problem ?? '',
    epoch: BigInt(a.epoch ?? 0),
    waitingFor: a.waiting_for ?? '',
  };
}

const stoppedInfo = (s: StoppedSession) => ({ ...s });

/** Only a live session can be typed into or captured. */
async function liveSession(townRoot: string, address: string): Promise<string> {
  const place = placeAgent(townRoot, address);
  if (!(await townTmux(townRoot).hasSession(place.session)))
    throw new GtError(
      'GT_AGENT_NOT_FOUND',
      `${place.address} has no running session (${place.session})`,
      {
        hint:
          place.role === 'polecat'
            ? `start it with \`gt spawn ${place.rig ?? ''} --issue <id> --name ${place.name ?? ''}\``
            : place.role === 'plugin'
              ? `start it with \`gt plugin start ${place.rig ?? ''}/${place.name ?? ''}\``
              : 'start it first',
      },
    );
  return place.session;
}

export function sessionRpcs(townRoot: string): SessionRpcs {
  return {
    async listSessions(req) {
      const tmux = townTmux(townRoot);
      const live = await tmux.listSessions();
      const rigs = (await listRigs(townRoot, { satellites: true })).filter(
        (r) => r.present && (req.rig === '' || r.name === req.rig),
      );
      const bySession = new Map<string, string>();
      for (const rig of rigs)
        for (const ref of rigAgents(townRoot, rig.name)) {
          // A satellite has no mayor or refinery home: only the agents that exist here count.
          if (!existsSync(ref.home)) continue;
          bySession.set(placeAgent(townRoot, ref.address).session, ref.address);
        }
      if (req.rig === '') bySession.set('gt-mayor', 'mayor');
      return {
        sessions: live
          .filter((s) => bySession.has(s.name))
          .map((s) => ({
            name: s.name,
            address: bySession.get(s.name) ?? '',
            alive: true,
            createdAt: s.createdAt.toISOString(),
            command: s.paneCommand,
          })),
      };
    },
    async sendText(req, ctx) {
      const session = await liveSession(townRoot, req.address);
      const tmux = townTmux(townRoot);
      const panePid = async (): Promise<number | undefined> =>
        (await tmux.listSessions().catch(() => [])).find((s) => s.name === session)?.panePid;
      const before = await panePid();
      try {
        const typed = await tmux.typeText(session, req.text, {
          enter: req.enter,
          signal: ctx.signal,
        });
        return { delivered: typed.verified || !req.enter };
      } catch (err) {
        // The text itself may end or restart the session (`gt handoff`, `exit`): the pane is gone
        // or replaced before delivery could be verified. Not an error; reported as unverified.
        if (
          isGtError(err) &&
          ((await panePid()) !== before || /can't find (session|pane)/.test(err.message))
        )
          return { delivered: false };
        throw err;
      }
    },
    async capture(req, ctx) {
      const session = await liveSession(townRoot, req.address);
      const tmux = townTmux(townRoot);
      if (req.command === '')
        return { text: await tmux.capturePane(session, { lines: req.lines, signal: ctx.signal }) };
      const result = await tmux.runCommand(session, req.command, { signal: ctx.signal });
      return { text: result.output };
    },
    async killSession(req) {
      const s = await killAgent(townRoot, req.address);
      return { killed: s.killed, session: s.session };
    },
    async releaseIssue(req) {
      return releasePolecatIssue(townRoot, req.address);
    },
    async returnIssue(req) {
      return returnIssue(townRoot, req);
    },
    async spawn(req, ctx) {
      const r = await spawnOrResume({
        townRoot,
        rig: req.rig,
        issue: req.issue,
        name: req.name,
        agent: req.agent,
        signal: ctx.signal,
        ...(req.remote === undefined ? {} : { remote: remoteRigOf(req.remote) }),
      });
      return {
        rig: r.rig,
        polecat: r.polecat,
        address: r.address,
        session: r.session,
        issue: r.issue,
        branch: r.branch,
        epoch: BigInt(r.epoch),
        clone: r.clone,
        reused: r.reused,
        agent: r.agent,
        cloneMs: r.timings.cloneMs,
        startMs: r.timings.startMs,
        readyWaitMs: r.timings.readyWaitMs,
        deliverMs: r.timings.deliverMs,
        totalMs: r.timings.totalMs,
        notes: r.notes,
      };
    },
    async listPolecats(req) {
      const rows = await listPolecats(townRoot, req.rig);
      const titles = issueTitles(
        rigPaths(townRoot, req.rig).beadsDir,
        rows.map((p) => p.status.issue ?? ''),
      );
      return {
        polecats: rows.map((p) => ({
          status: agentStatusInfo(p.status, p.status.session_alive),
          branch: p.branch ?? '',
          active: p.active,
          agent: p.agent ?? '',
          issueTitle: titles.get(p.status.issue ?? '') ?? '',
        })),
      };
    },
    async setAgentActive(req) {
      const s = await setAgentActive(townRoot, req.address, req.active);
      return agentStatusInfo(s, s.session_alive);
    },
    async done(req) {
      const r = await polecatDone({ townRoot, address: req.address, epoch: Number(req.epoch) });
      return {
        address: r.address,
        issue: r.issue,
        branch: r.branch,
        head: r.head,
        epoch: BigInt(r.epoch),
        queueRecord: r.queueRecord,
        mailId: r.mailId,
      };
    },
    async handoff(req) {
      const r = await handoff({
        townRoot,
        address: req.address,
        note: req.note,
        epoch: Number(req.epoch),
      });
      return { address: r.address, session: r.session, mailId: r.mailId, epoch: BigInt(r.epoch) };
    },
    async stopSessions(req) {
      const stopped = await stopSessions({ townRoot, rig: req.rig, all: req.all });
      return { stopped: stopped.map(stoppedInfo) };
    },
  };
}
