/** One line per change for the dashboard's activity log ("alpha/Nux: working → done"). */
import type {
  DashboardPolecat,
  DashboardRig,
  MachineStatusResponse,
  MailMessage,
  SwarmInfo,
} from '../../proto/index.js';
import type { FeedItem } from './feed.js';

const arrow = (from: string | undefined, to: string): string =>
  from === undefined || from === to ? to : `${from} → ${to}`;

function machine(now: MachineStatusResponse, old?: MachineStatusResponse): string {
  const to = now.machine?.state ?? '';
  const from = old?.machine?.state;
  if (from === to) return '';
  return `machine ${now.machine?.name ?? ''}: ${arrow(from, to)}`;
}

function polecatState(p: DashboardPolecat): string {
  const s = p.info?.status;
  if (s === undefined) return '';
  return s.waitingFor === '' ? s.state : `${s.state} (waiting for input: ${s.waitingFor})`;
}

function polecat(now: DashboardPolecat, old?: DashboardPolecat): string {
  const to = polecatState(now);
  const from = old === undefined ? undefined : polecatState(old);
  const issue = now.info?.status?.issue ?? '';
  const oldIssue = old?.info?.status?.issue ?? '';
  if (from === to && issue === oldIssue) return '';
  const name = `${now.rig}/${now.info?.status?.name ?? ''}`;
  return `${name}: ${arrow(from, to)}${issue === '' ? '' : ` (${issue})`}`;
}

function rig(now: DashboardRig, old?: DashboardRig): string {
  const name = now.status?.rig?.name ?? '';
  const before = new Map((old?.mergeQueue?.entries ?? []).map((e) => [e.id, e.state]));
  const lines = (now.mergeQueue?.entries ?? [])
    .filter((e) => before.get(e.id) !== e.state)
    .map((e) => `${name} merge queue ${e.id}: ${arrow(before.get(e.id), e.state)}`);
  if (old === undefined && lines.length === 0) return `rig ${name}`;
  return lines.join('; ');
}

function swarm(now: SwarmInfo, old?: SwarmInfo): string {
  if (old !== undefined && old.state === now.state && old.settled === now.settled) return '';
  return `swarm ${now.id} on ${now.rig}: ${arrow(old?.state, now.state)}, ${now.settled}/${now.issues.length} settled`;
}

function mail(now: MailMessage): string {
  return `mail to ${now.to} from ${now.from}: ${now.subject}`;
}

export function summarize(item: FeedItem, old: FeedItem | undefined, removed: boolean): string {
  if (removed) return item.kind === 'mail' ? '' : `${item.key.replace(/^[a-z]+:/, '')} is gone`;
  switch (item.kind) {
    case 'machine':
      return machine(item.value as MachineStatusResponse, old?.value as MachineStatusResponse);
    case 'polecat':
      return polecat(item.value as DashboardPolecat, old?.value as DashboardPolecat);
    case 'rig':
      return rig(item.value as DashboardRig, old?.value as DashboardRig);
    case 'swarm':
      return swarm(item.value as SwarmInfo, old?.value as SwarmInfo);
    case 'mail':
      return old === undefined ? mail(item.value as MailMessage) : '';
  }
}
