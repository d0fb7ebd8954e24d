#!/usr/bin/env bash
# Install the real agent CLIs the real-agents suite starts (Claude Code, Codex, Gemini CLI), at
# the versions pinned in package-lock.json, into test/real-agents/node_modules (~900 MB; kept
# out of the root package.json so the root `npm install` stays fast). Does nothing when they
# are there already. The suite's global setup runs it; CI gets it that way.
set -euo pipefail
cd "$(dirname "$0")"
bin=node_modules/.bin
# Claude Code's bin is a stub until its postinstall links the platform binary: ask it to run.
if [ -x "$bin/codex" ] && [ -x "$bin/gemini" ] && "$bin/claude" --version >/dev/null 2>&1; then
  exit 0
fi
echo "installing the real agent CLIs into $(pwd)/node_modules (pinned in package-lock.json)"
npm ci --no-audit --no-fund --ignore-scripts
# The one install script needed: Claude Code's postinstall links its native binary from the
# platform package npm just installed (no network). npm does not run install scripts by default.
(cd node_modules/@anthropic-ai/claude-code && node install.cjs)
"$bin/claude" --version >/dev/null
