#!/usr/bin/env bash
# Prepare a fresh Debian machine for the test suite: install the system packages it needs, start
# the Docker engine the fleet suites use and wait until it answers, and give git an identity.
# Idempotent: installs only what is missing, starts dockerd only when `docker info` fails.
# Run as root (or with sudo) once per machine, then run the README's test command.
set -euo pipefail

log() { printf '\n== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

# binary -> Debian package that provides it
need_pkgs=()
have git || need_pkgs+=(git)
have tmux || need_pkgs+=(tmux)
have sshd || need_pkgs+=(openssh-server)
have ssh || need_pkgs+=(openssh-client)
have ssh-keygen || need_pkgs+=(openssh-client)
have debootstrap || need_pkgs+=(debootstrap)
have dockerd || need_pkgs+=(docker.io)
have make || need_pkgs+=(make)
have g++ || need_pkgs+=(g++)
have python3 || need_pkgs+=(python3)
have chromium || need_pkgs+=(chromium)
have ip || need_pkgs+=(iproute2)
have mount || need_pkgs+=(util-linux)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  # shellcheck disable=SC2207
  need_pkgs=($(printf '%s\n' "${need_pkgs[@]}" | sort -u))
  log "installing Debian packages: ${need_pkgs[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: installing packages needs root; run: sudo $0" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# sshd refuses to start without its privilege-separation directory.
mkdir -p /run/sshd 2>/dev/null || true

# Docker engine for the test-host containers (fleet suites): start it when it does not answer.
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  dockerd_log="${TMPDIR:-/tmp}/gt-dockerd.log"
  (nohup dockerd >"$dockerd_log" 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "error: dockerd did not answer within 60 s (see $dockerd_log)" >&2
    exit 1
  fi
  echo "dockerd is up"
fi

# Tests make commits: git needs an identity.
git config --global user.name >/dev/null 2>&1 || git config --global user.name "Gas Town CI"
git config --global user.email >/dev/null 2>&1 || git config --global user.email "ci@gastown.invalid"

log "versions"
node --version
npm --version
git --version
tmux -V
docker --version
