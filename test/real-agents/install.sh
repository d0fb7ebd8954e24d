#!/usr/bin/env bash
# Install the real agent CLIs the real-agents suite starts (Claude Code, Codex, Gemini CLI), at
# the versions pinned in package-lock.json, into test/real-agents/node_modules (~900 MB; kept
# out of the root package.json so the root `npm install` stays fast). Does nothing when they
# are there already. The suite's global setup runs it; CI gets it that way.
set -euo pipefail
cd "$(dirname "$0")"
bin=node_modules/.bin
if [ -x "$bin/claude" ] && [ -x "$bin/codex" ] && [ -x "$bin/gemini" ]; then
  exit 0
fi
echo "installing the real agent CLIs into $(pwd)/node_modules (pinned in package-lock.json)"
npm ci --no-audit --no-fund --ignore-scripts
