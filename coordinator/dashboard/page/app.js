// The Overseer's dashboard page: renders the coordinator's feed (a snapshot inlined in the page,
// then DashboardEvents on one server-push stream) and calls Coordinator rpcs for the actions,
// with the JSON of the same messages the CLI uses. No framework, no build step.
'use strict';

const token = new URLSearchParams(location.search).get('token') ?? '';
const items = new Map(); // feed key ("polecat:alpha/Nux") → value (JSON of its message)
let seq = '0';
let feedId = '';
let selected = ''; // rig/polecat of the open card
const log = [];

const $ = (sel) => document.querySelector(sel);
const esc = (v) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
const ago = (iso) => {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
};
const gib = (b) => (b === undefined ? '' : `${(Number(b) / 2 ** 30).toFixed(1)} GiB`);
const of = (kind) =>
  [...items]
    .filter(([k]) => k.startsWith(`${kind}:`))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, v]) => v);
const stateCell = (s, text) => `<td class="state" data-s="${esc(s)}">${esc(text ?? s)}</td>`;

function applySnapshot(s) {
  items.clear();
  for (const m of s.machines ?? []) items.set(`machine:${m.machine?.name ?? ''}`, m);
  for (const r of s.rigs ?? []) items.set(`rig:${r.status?.rig?.name ?? ''}`, r);
  for (const p of s.polecats ?? []) items.set(`polecat:${p.rig}/${p.info?.status?.name ?? ''}`, p);
  for (const w of s.swarms ?? []) items.set(`swarm:${w.id}`, w);
  for (const m of s.mail ?? []) items.set(`mail:${m.to}/${m.id}`, m);
  seq = s.seq ?? '0';
  feedId = s.feedId ?? '';
  $('#town').textContent = s.town ?? '';
  schedule();
}

function applyEvent(e) {
  const value = e.machine ?? e.rig ?? e.polecat ?? e.swarm ?? e.mail;
  if (e.removed || value === undefined) items.delete(e.key);
  else items.set(e.key, value);
  seq = e.seq;
  if (e.summary) {
    log.unshift(`${new Date(e.at).toLocaleTimeString()} ${e.summary}`);
    log.length = Math.min(log.length, 200);
  }
  schedule();
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render();
  });
}

function render() {
  renderFleet();
  renderRigs();
  renderPolecats();
  renderDetail();
  renderSwarms();
  renderMail();
  $('#log .body').innerHTML = log.map((l) => `<li>${esc(l)}</li>`).join('');
  document.body.dataset.seq = seq;
}

function table(head, rows, empty) {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function renderFleet() {
  const rows = of('machine').map((m) => {
    const info = m.machine ?? {};
    const r = m.report;
    const load = r?.loadAverage?.[0];
    return `<tr data-key="machine:${esc(info.name)}"><td>${esc(info.name)}</td>${stateCell(info.state ?? 'disconnected')}<td class="version">${esc(info.agentVersion)}</td><td>${info.upgradeAvailable ? 'upgrade available' : ''}</td><td>${info.polecats ?? 0}/${info.maxPolecats ? info.maxPolecats : '∞'}</td><td>${load === undefined ? '' : `${load.toFixed(2)} (${r.cpus ?? '?'} cpus)`}</td><td>${r ? `${gib(r.diskFreeBytes)} free of ${gib(r.diskTotalBytes)}` : ''}</td><td title="${esc(info.lastSeenAt)}">${esc(ago(info.lastSeenAt))}</td><td class="muted wrap">${esc(info.detail)}</td></tr>`;
  });
  $('#fleet .body').innerHTML = table(
    ['machine', 'state', 'version', '', 'polecats', 'load', 'disk', 'last heartbeat', ''],
    rows,
    'no machines',
  );
}

function agentState(a) {
  if (!a) return '—';
  return a.sessionAlive ? `${a.state ?? 'idle'} (session)` : (a.state ?? 'idle');
}

function renderRigs() {
  const parts = of('rig').map((r) => {
    const rig = r.status?.rig ?? {};
    const agents = r.status?.agents ?? [];
    const witness = agents.find((a) => a.role === 'witness');
    const refinery = agents.find((a) => a.role === 'refinery');
    const entries = r.mergeQueue?.entries ?? [];
    const groups = (r.mergeQueue?.groups ?? []).filter((g) => (g.entries ?? []).length > 1);
    const rows = entries.map(
      (e) =>
        `<tr data-key="mq:${esc(rig.name)}/${esc(e.id)}"><td>${esc(e.id)}</td><td>${esc(e.polecat)}</td>${stateCell(e.state ?? 'queued')}<td>${e.group ?? ''}</td><td>${e.attempts ?? 0}</td><td class="muted wrap">${esc(e.lastError)}</td><td>${['rejected', 'conflict', 'queued'].includes(e.state) ? `<button data-act="retry" data-rig="${esc(rig.name)}" data-id="${esc(e.id)}">retry</button>` : ''}</td></tr>`,
    );
    return `<div class="rig" data-key="rig:${esc(rig.name)}"><h3>${esc(rig.name)} <span class="muted">home ${esc(rig.machine || 'local')} · witness ${esc(agentState(witness))} · refinery ${esc(agentState(refinery))}</span></h3>${table(['merge queue', 'polecat', 'state', 'group', 'attempts', 'last error', ''], rows, 'merge queue empty')}${groups.map((g) => `<p class="muted">overlap group ${g.group}: ${esc(g.entries.join(' → '))} (shared: ${esc((g.shared ?? []).join(', '))})</p>`).join('')}</div>`;
  });
  $('#rigs .body').innerHTML = parts.join('') || '<p class="muted">no rigs</p>';
}

function polecatState(s) {
  if (s.waitingFor) return ['waiting', `${s.state ?? 'idle'} (waiting for input: ${s.waitingFor})`];
  return [s.state ?? 'idle', s.state ?? 'idle'];
}

function renderPolecats() {
  const rows = of('polecat').map((p) => {
    const s = p.info?.status ?? {};
    const addr = `${p.rig}/${s.name}`;
    const [st, text] = polecatState(s);
    return `<tr class="pick${addr === selected ? ' selected' : ''}" data-key="polecat:${esc(addr)}" data-address="${esc(addr)}"><td>${esc(p.rig)}</td><td class="name">${esc(s.name)}</td><td>${esc(p.machine || 'local')}</td>${stateCell(st, text)}<td class="issue">${esc(s.issue)}</td><td class="title wrap">${esc(p.info?.issueTitle)}</td><td>${esc(s.epoch ?? '0')}</td><td title="${esc(s.lastActivity)}">${esc(ago(s.lastActivity || s.updatedAt))}</td><td>${s.sessionAlive ? 'live' : ''}</td><td class="active">${p.info?.active ? 'awake' : 'asleep'}</td><td>${s.unreadMail ? `${s.unreadMail} unread` : ''}</td></tr>`;
  });
  $('#polecats .body').innerHTML = table(
    [
      'rig',
      'polecat',
      'machine',
      'state',
      'issue',
      'title',
      'epoch',
      'last activity',
      'session',
      'wake/sleep',
      'mail',
    ],
    rows,
    'no polecats',
  );
}

function renderDetail() {
  const panel = $('#detail');
  const p = items.get(`polecat:${selected}`);
  panel.hidden = p === undefined;
  if (p === undefined) return;
  const s = p.info?.status ?? {};
  panel.dataset.address = selected;
  panel.querySelector('.name').textContent = selected;
  const [, text] = polecatState(s);
  panel.querySelector('.info').innerHTML =
    `state <b>${esc(text)}</b> · issue ${esc(s.issue || '—')}${p.info?.issueTitle ? ` “${esc(p.info.issueTitle)}”` : ''} · epoch ${esc(s.epoch ?? '0')} · branch ${esc(p.info?.branch)} · agent ${esc(p.info?.agent)} · ${p.info?.active ? 'awake' : 'asleep'}${s.problem ? ` · <span class="error">${esc(s.problem)}</span>` : ''}`;
}

function renderSwarms() {
  // Titles as the polecats holding the issues report them.
  const titles = new Map(
    of('polecat')
      .filter((p) => p.info?.status?.issue && p.info?.issueTitle)
      .map((p) => [p.info.status.issue, p.info.issueTitle]),
  );
  const parts = of('swarm')
    .sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)))
    .map((w) => {
      const issues = w.issues ?? [];
      const count = (f) => issues.filter(f).length;
      const merged = count((i) => i.mergeState === 'merged' || i.beadsStatus === 'closed');
      const escalated = count((i) => i.escalated);
      const rejected = count((i) => ['rejected', 'conflict'].includes(i.mergeState));
      const working = issues.length - merged - escalated - rejected;
      const pct = issues.length ? Math.round((100 * (w.settled ?? 0)) / issues.length) : 0;
      const rows = issues.map(
        (i) =>
          `<tr><td>${esc(i.issue)}</td><td class="wrap">${esc(titles.get(i.issue))}</td><td>${esc(i.address)}</td><td>${esc(i.polecatState)}</td><td>${esc(i.beadsStatus)}</td><td>${esc(i.mergeState)}</td><td>${i.escalated ? 'escalated' : ''}</td></tr>`,
      );
      return `<div class="swarm" data-key="swarm:${esc(w.id)}"><h3>${esc(w.id)} <span class="muted">on ${esc(w.rig)}</span> <span class="state" data-s="${esc(w.state)}">${esc(w.state)}</span> <span class="bar"><span style="width:${pct}%"></span></span> <span class="progress">${w.settled ?? 0}/${issues.length} settled</span> <span class="muted">merged ${merged} · working ${working} · rejected ${rejected} · escalated ${escalated}</span> ${w.state === 'active' ? `<button data-act="cancel-swarm" data-id="${esc(w.id)}" class="danger">cancel</button>` : ''}</h3>${table(['issue', 'title', 'polecat', 'polecat state', 'beads', 'merge', ''], rows, 'no issues')}</div>`;
    });
  $('#swarms .body').innerHTML = parts.join('') || '<p class="muted">no swarms</p>';
}

function renderMail() {
  const mail = of('mail').sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  const rows = mail.map(
    (m) =>
      `<tr data-key="mail:${esc(m.to)}/${esc(m.id)}"><td>${esc(ago(m.createdAt))}</td><td>${esc(m.to)}</td><td>${esc(m.from)}</td><td>${m.type === 'escalation' ? '<b data-s="stuck">escalation</b>' : esc(m.type)}</td><td class="wrap">${esc(m.subject)}</td><td><button data-act="read" data-to="${esc(m.to)}" data-id="${esc(m.id)}">mark read</button></td></tr>`,
  );
  $('#mail .body').innerHTML = table(
    ['when', 'to', 'from', 'type', 'subject', ''],
    rows,
    'nothing unread',
  );
}

// Actions: the Coordinator rpc of the same name as the CLI's, with the same messages.
async function rpc(method, request) {
  const res = await fetch(`/gastown.v1.Coordinator/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(request),
  });
  const body = await res.json().catch(() => ({ message: `HTTP ${res.status}` }));
  if (!res.ok) {
    const e = new Error(body.message ?? `HTTP ${res.status}`);
    e.hint = body.hint;
    throw e;
  }
  return body;
}

function showError(err) {
  const box = $('#error');
  if (err === undefined) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.textContent = `error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`;
  box.hidden = false;
}

async function act(fn) {
  try {
    showError(undefined);
    await fn();
  } catch (err) {
    showError(err);
  }
}

let preview;
async function refreshPane() {
  if (!selected || document.hidden) return;
  const address = selected;
  try {
    const r = await rpc('Capture', { address, lines: 40 });
    const pane = $('#detail .pane');
    if (address !== selected) return;
    const atEnd = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
    pane.textContent = r.text ?? '';
    if (atEnd) pane.scrollTop = pane.scrollHeight; // follow the end, unless scrolled back
  } catch (err) {
    if (address === selected) $('#detail .pane').textContent = `(${err.message})`;
  }
}

function select(address) {
  selected = address;
  $('#detail .pane').textContent = '';
  clearInterval(preview);
  if (address) {
    void refreshPane();
    preview = setInterval(refreshPane, 2000);
  }
  render();
}

document.addEventListener('click', (ev) => {
  const button = ev.target.closest('button[data-act]');
  if (button) {
    const { act: what, rig, id, to } = button.dataset;
    if (what === 'close') return select('');
    if (what === 'retry') return act(() => rpc('RetryMergeQueueEntry', { rig, id }));
    if (what === 'cancel-swarm') {
      if (
        !confirm(`Cancel swarm ${id}? Its sessions are stopped and unfinished claims given back.`)
      )
        return;
      return act(() => rpc('CancelSwarm', { id }));
    }
    if (what === 'read') return act(() => rpc('MarkMailRead', { address: to, ids: [id] }));
    if (what === 'kill') {
      if (!confirm(`Kill ${selected}'s session? Its clone and claim are kept.`)) return;
      return act(() => rpc('KillSession', { address: selected }));
    }
    if (what === 'wake' || what === 'sleep')
      return act(() => rpc('SetAgentActive', { address: selected, active: what === 'wake' }));
    return;
  }
  const row = ev.target.closest('tr[data-address]');
  if (row) select(row.dataset.address === selected ? '' : row.dataset.address);
});

$('#detail form.nudge').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = ev.target.elements.text;
  const text = input.value;
  if (!text) return;
  void act(async () => {
    const r = await rpc('SendText', { address: selected, text, enter: true });
    input.value = '';
    if (!r.delivered)
      showError({
        message:
          'warning: delivery not verified (the pane did not change after Enter, or the session ended); check the preview',
      });
    await refreshPane();
  });
});

// The live stream: one EventSource; it reconnects by itself, and after a refusal or a daemon
// restart this page tries again with a growing pause.
let retryMs = 500;
function connect() {
  const conn = $('#conn');
  const since = encodeURIComponent(`${feedId}:${seq}`);
  const es = new EventSource(`/events?token=${encodeURIComponent(token)}&since=${since}`);
  es.addEventListener('open', () => {
    conn.dataset.state = 'live';
    conn.textContent = 'live';
    retryMs = 500;
  });
  es.addEventListener('snapshot', (m) => applySnapshot(JSON.parse(m.data)));
  es.addEventListener('change', (m) => applyEvent(JSON.parse(m.data)));
  es.addEventListener('error', () => {
    conn.dataset.state = 'reconnecting';
    conn.textContent = 'reconnecting';
    if (es.readyState === EventSource.CLOSED) {
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    }
  });
}

applySnapshot(JSON.parse($('#snapshot').textContent));
render();
connect();
setInterval(schedule, 10000); // "12s ago" keeps moving
