#!/usr/bin/env bash
# System packages the test suite needs: openssh (real sshd on loopback), PostgreSQL and Redis
# (throwaway servers on loopback for the job store and the bot's storage).
# Installs only what is missing; needs root (or sudo).
set -euo pipefail
need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
# infra tests: deploy drives git over ssh, backup streams tar, startup.sh needs bash/sha256sum
command -v git >/dev/null 2>&1 || need+=(git)
command -v tar >/dev/null 2>&1 || need+=(tar)
# backend store tests start their own cluster with initdb/pg_ctl from /usr/lib/postgresql/*/bin
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
