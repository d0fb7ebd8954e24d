/**
 * How the node agent runs on a machine, as a service that brings it back after a crash:
 *   systemd       where systemd runs (/run/systemd/system) and we log in as root: the template
 *                 unit gt-node-agent@.service, one instance per town path (the instance is
 *                 `systemd-escape --path <town>`), enabled so it starts at boot
 *   restart-loop  anywhere else (no systemd, or a user without root, whose user units would
 *                 stop at logout without lingering): .gt/supervisor.sh, started with setsid,
 *                 restarting the agent one second after it exits
 * Both append the agent's output to <town>/run/node-agent.log. The shell functions below are
 * shared by the remote scripts of provision.ts; they take the town path as $1 and the machine
 * name as $2 and never see other user text.
 */
import type { Platform } from './provision.js';

export type AgentService = 'systemd' | 'restart-loop';

/** The service a machine gets (what the shell function use_systemd decides there). */
export function agentService(platform: Pick<Platform, 'systemd' | 'uid'>): AgentService {
  return platform.systemd && platform.uid === 0 ? 'systemd' : 'restart-loop';
}

/**
 * The systemd template unit. %f is the instance unescaped: the town path. KillMode=process:
 * stopping or restarting the agent must not kill what it started in its cgroup — the town's tmux
 * server and every polecat session in it survive an agent restart, as with the restart loop.
 */
export const SYSTEMD_UNIT = `[Unit]
Description=Gas Town node agent for the town at %f
Documentation=man:gt(1)
After=network.target

[Service]
Type=simple
EnvironmentFile=%f/.gt/agent.env
ExecStart="%f/.gt/current/node" "%f/.gt/current/agent.mjs" --town "%f" --machine "\${GT_MACHINE}"
Restart=always
RestartSec=1
KillMode=process
TimeoutStopSec=15
UMask=0077
StandardOutput=append:%f/run/node-agent.log
StandardError=append:%f/run/node-agent.log

[Install]
WantedBy=multi-user.target
`;

export const SUPERVISOR = `#!/bin/sh
# Gas Town node agent supervisor (written by gt machine provision): restarts the agent when it
# exits, one second apart, and records each exit in run/node-agent.exits; TERM stops both.
t=$1; m=$2
echo $$ > "$t/run/node-agent-supervisor.pid"
trap 'kill $child 2>/dev/null; wait $child; [ "$(cat "$t/run/node-agent-supervisor.pid")" = $$ ] && rm -f "$t/run/node-agent-supervisor.pid"; exit 0' TERM INT
while :; do
  "$t/.gt/current/node" "$t/.gt/current/agent.mjs" --town "$t" --machine "$m" >>"$t/run/node-agent.log" 2>&1 &
  child=$!
  wait $child
  echo "$? $(date +%s)" >> "$t/run/node-agent.exits"
  sleep 1
done
`;

// The restart loop records each exit of the agent in run/node-agent.exits (cleared by
// stop_agent); systemd counts them (NRestarts). start_agent uses the count to tell an agent that
// keeps exiting from one that is still starting. Exit 13 = the agent did not start listening.
export const AGENT_FUNCTIONS = `
use_systemd() { [ -d /run/systemd/system ] && [ "$(id -u)" = 0 ] && command -v systemctl >/dev/null; }
unit_of() { echo "gt-node-agent@$(systemd-escape --path "$1").service"; }
agent_running() {
  if use_systemd; then systemctl is-active --quiet "$(unit_of "$1")"; return; fi
  p="$1/run/node-agent-supervisor.pid"; [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null
}
stop_agent() {
  use_systemd && systemctl stop "$(unit_of "$1")" 2>/dev/null
  s="$1/run/node-agent-supervisor.pid"; a="$1/run/node-agent.pid"; sp=
  [ -f "$s" ] && sp=$(cat "$s") && kill "$sp" 2>/dev/null
  if [ -f "$a" ]; then p=$(cat "$a"); kill "$p" 2>/dev/null; i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    kill -9 "$p" 2>/dev/null; fi
  i=0; while [ -n "$sp" ] && kill -0 "$sp" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  rm -f "$s" "$a" "$1/run/node-agent.sock" "$1/run/node-agent.exits"
}
install_unit() {
  u=/etc/systemd/system/gt-node-agent@.service
  cat > "$u.tmp" <<'GT_UNIT_END' || return 1
${SYSTEMD_UNIT}GT_UNIT_END
  mv "$u.tmp" "$u" && systemctl daemon-reload
}
restarts() {
  if use_systemd; then systemctl show -p NRestarts --value "$(unit_of "$1")" 2>/dev/null || echo 0
  elif [ -f "$1/run/node-agent.exits" ]; then wc -l < "$1/run/node-agent.exits"; else echo 0; fi
}
start_agent() {
  b=$(restarts "$1")
  if use_systemd; then
    printf 'GT_MACHINE=%s\\n' "$2" > "$1/.gt/agent.env" && install_unit || return 13
    systemctl enable --quiet "$(unit_of "$1")" && systemctl restart "$(unit_of "$1")" || return 13
  else
    setsid -f sh "$1/.gt/supervisor.sh" "$1" "$2" </dev/null >/dev/null 2>&1 || return 13
  fi
  i=0; n=0
  while [ $i -lt 600 ]; do
    [ -S "$1/run/node-agent.sock" ] && [ -f "$1/run/node-agent.pid" ] && return 0
    n=$(( $(restarts "$1") - b )); [ "$n" -ge 2 ] && break
    sleep 0.05; i=$((i+1))
  done
  echo "exits=$n"; echo "log:"; tail -n 12 "$1/run/node-agent.log" 2>/dev/null
  return 13
}
`;
