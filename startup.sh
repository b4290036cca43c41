#!/usr/bin/env bash
# genpod start-up: the same script on a RunPod pod (every boot) and on a laptop.
#
#   ./startup.sh                      set up and start (or update) everything under supervisord
#   ./startup.sh --status             supervisor states, ports, /health, GPU, disk
#   ./startup.sh --stop               stop every service and supervisord
#   WORKSPACE=$PWD/.workspace ./startup.sh    laptop: everything under ./.workspace
#   COMFYUI_URL=http://10.0.0.5:8188 ./startup.sh   use that ComfyUI (external, not started here)
#
# Flags (each has an environment twin):
#   --install-comfyui  (INSTALL_COMFYUI=1)  clone ComfyUI $COMFYUI_VERSION into $WORKSPACE/ComfyUI
#   --demo             (DEMO=1)             run the demo engine even if ComfyUI is installed
#                                           (not together with COMFYUI_URL)
#   --skip-install     (SKIP_INSTALL=1)     use $VENV_DIR as it is
#   --skip-models      (SKIP_MODELS=1)      do not sync models (default in demo mode)
#   --sync-models      (SKIP_MODELS=0)      sync models even in demo mode
#   --no-warmup        (WARMUP=0)           skip the warm-up job
#   --foreground       (FOREGROUND=1)       stay in the foreground while supervisord runs
#   --restart          (RESTART=1)          restart every service (after a code update)
# Settings: WORKSPACE (/workspace), VENV_DIR ($WORKSPACE/venv), COMFYUI_DIR
# ($WORKSPACE/ComfyUI), PYTHON_BIN (python3), BACKEND_PORT, GPU_SERVER_PORT, COMFYUI_PORT,
# RESULT_RETENTION_S, WARMUP_STYLE (realism), COMFYUI_PYTHON (ComfyUI's own interpreter, if it
# has one: then its requirements are left alone), MODELS_MANIFEST (config/models.yaml);
# COMFYUI_URL (http or https URL of a ComfyUI you run yourself: no comfyui program is
# supervised, the worker and the health checks use that URL, models still sync into
# $WORKSPACE/models, which that ComfyUI must read). The ports, RESULT_RETENTION_S,
# COMFYUI_PYTHON and COMFYUI_URL may also be lines of $WORKSPACE/.env (the environment wins);
# secrets live there too (generated on first run, mode 0600).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKSPACE="${WORKSPACE:-/workspace}"
VENV_DIR="${VENV_DIR:-$WORKSPACE/venv}"
COMFYUI_DIR="${COMFYUI_DIR:-$WORKSPACE/ComfyUI}"
COMFYUI_REPO="${COMFYUI_REPO:-https://github.com/comfyanonymous/ComfyUI}"
COMFYUI_VERSION="${COMFYUI_VERSION:-v0.3.64}"
PYTHON_BIN="${PYTHON_BIN:-python3}"
INSTALL_COMFYUI="${INSTALL_COMFYUI:-0}"
DEMO="${DEMO:-0}"
SKIP_INSTALL="${SKIP_INSTALL:-0}"
SKIP_MODELS="${SKIP_MODELS:-}"
MODELS_MANIFEST="${MODELS_MANIFEST:-}"
# Checked and completed from $WORKSPACE/.env by resolve_engine.
COMFYUI_URL="${COMFYUI_URL:-}"
WARMUP="${WARMUP:-1}"
WARMUP_STYLE="${WARMUP_STYLE:-realism}"
FOREGROUND="${FOREGROUND:-0}"
RESTART="${RESTART:-0}"
ACTION=start

log() { printf '[startup %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

usage() { sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --install-comfyui) INSTALL_COMFYUI=1 ;;
      --demo) DEMO=1 ;;
      --skip-install) SKIP_INSTALL=1 ;;
      --skip-models) SKIP_MODELS=1 ;;
      --sync-models) SKIP_MODELS=0 ;;
      --no-warmup) WARMUP=0 ;;
      --foreground) FOREGROUND=1 ;;
      --restart) RESTART=1 ;;
      --status) ACTION=status ;;
      --stop) ACTION=stop ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
}

PY() { "$VENV_DIR/bin/python" "$@"; }
CONF() { printf '%s' "$WORKSPACE/config/supervisord.conf"; }
ctl() { PY -m supervisor.supervisorctl -c "$(CONF)" "$@"; }
supervisord_up() { [ -f "$(CONF)" ] && ctl pid >/dev/null 2>&1; }

# pip's build chatter goes to a log; on failure its tail is shown.
pip_quiet() {
  mkdir -p "$WORKSPACE/logs"
  if ! PY -m pip install -q "$@" >> "$WORKSPACE/logs/install.log" 2>&1; then
    tail -n 30 "$WORKSPACE/logs/install.log" >&2
    die "pip install $* failed (full output: $WORKSPACE/logs/install.log)"
  fi
}

ensure_venv() {
  if [ ! -x "$VENV_DIR/bin/python" ]; then
    log "creating $VENV_DIR"
    "$PYTHON_BIN" -m venv "$VENV_DIR"
  fi
  [ "$SKIP_INSTALL" = 1 ] && { log "install skipped (SKIP_INSTALL=1)"; return; }
  # Reinstall only when the project's dependency list or the interpreter changed: fast reboots.
  local stamp="$VENV_DIR/.genpod-install" want
  want="$( (cat "$REPO/pyproject.toml"; PY -V; printf '%s' "$REPO") | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "python environment up to date"
    return
  fi
  log "installing genpod into $VENV_DIR (output: $WORKSPACE/logs/install.log)"
  pip_quiet --upgrade pip
  pip_quiet -e "$REPO[backend,gpu,bot,infra]"
  printf '%s\n' "$want" > "$stamp"
}

# An external ComfyUI (COMFYUI_URL, environment or .env), checked before anything is installed.
resolve_engine() {
  COMFYUI_URL="$(cd "$REPO" && PY -m infra.pod --workspace "$WORKSPACE" comfyui-url)" \
    || die "COMFYUI_URL is not usable (set in the environment or $WORKSPACE/.env)"
  [ -z "$COMFYUI_URL" ] && return
  [ "$DEMO" = 1 ] && die "--demo (DEMO=1) and COMFYUI_URL exclude each other: drop one of them"
  log "image engine: external ComfyUI at $COMFYUI_URL (not started or supervised here)"
}

ensure_comfyui() {
  if [ "$DEMO" = 1 ] || [ -n "$COMFYUI_URL" ]; then return; fi
  if [ ! -f "$COMFYUI_DIR/main.py" ] && [ "$INSTALL_COMFYUI" = 1 ]; then
    command -v git >/dev/null || die "git is needed to install ComfyUI"
    log "cloning ComfyUI $COMFYUI_VERSION into $COMFYUI_DIR"
    git clone --depth 1 --branch "$COMFYUI_VERSION" "$COMFYUI_REPO" "$COMFYUI_DIR"
  fi
  if [ ! -f "$COMFYUI_DIR/main.py" ]; then
    log "no ComfyUI in $COMFYUI_DIR (use --install-comfyui): running the demo engine"
    DEMO=1
    return
  fi
  ensure_comfyui_requirements
}

# ComfyUI's own requirements (PyTorch among them) in the venv, reinstalled when they change.
ensure_comfyui_requirements() {
  [ "$SKIP_INSTALL" = 1 ] || [ -n "${COMFYUI_PYTHON:-}" ] && return
  local stamp="$VENV_DIR/.comfyui-requirements" want
  want="$(sha256sum "$COMFYUI_DIR/requirements.txt" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing ComfyUI requirements into $VENV_DIR (output: $WORKSPACE/logs/install.log)"
  pip_quiet -r "$COMFYUI_DIR/requirements.txt"
  printf '%s\n' "$want" > "$stamp"
}

prepare() {
  local args=(--workspace "$WORKSPACE" prepare --python "$VENV_DIR/bin/python")
  if [ "$DEMO" = 1 ]; then args+=(--demo); else args+=(--comfyui-dir "$COMFYUI_DIR"); fi
  (cd "$REPO" && PY -m infra.pod "${args[@]}")
}

# Also with an external ComfyUI: models go to $WORKSPACE/models, where that ComfyUI must read them.
sync_models() {
  if [ -z "$SKIP_MODELS" ]; then SKIP_MODELS="$DEMO"; fi
  if [ "$SKIP_MODELS" = 1 ]; then log "model sync skipped"; return; fi
  local args=(--models-dir "$WORKSPACE/models")
  if [ -n "$MODELS_MANIFEST" ]; then args+=(--manifest "$MODELS_MANIFEST"); fi
  log "syncing models into $WORKSPACE/models"
  # A failed model is reported and start-up goes on: the worker reports what is missing.
  (cd "$REPO" && PY -m infra.models "${args[@]}" sync) \
    || log "warning: some models failed to sync; see above and run: python -m infra.models verify"
}

start_supervisor() {
  if supervisord_up; then
    log "supervisord already running: applying config changes"
    ctl reread
    ctl update
    if [ "$RESTART" = 1 ]; then ctl restart all; else ctl start all >/dev/null || true; fi
    return
  fi
  rm -f "$WORKSPACE/run/supervisor.sock" "$WORKSPACE/run/supervisord.pid"
  log "starting supervisord"
  (cd "$WORKSPACE" && PY -m supervisor.supervisord -c "$(CONF)")
}

stay_in_foreground() {
  local pidfile="$WORKSPACE/run/supervisord.pid"
  trap 'ctl shutdown >/dev/null 2>&1 || true; exit 0' TERM INT
  log "staying in the foreground (supervisord pid $(cat "$pidfile"))"
  while [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 5 & wait $!; done
  die "supervisord exited"
}

do_start() {
  mkdir -p "$WORKSPACE"
  WORKSPACE="$(cd "$WORKSPACE" && pwd)"
  export WORKSPACE
  ensure_venv
  resolve_engine
  ensure_comfyui
  prepare
  sync_models
  start_supervisor
  log "waiting for services to answer /health"
  (cd "$REPO" && PY -m infra.pod --workspace "$WORKSPACE" wait --timeout 180) \
    || log "warning: not every service is healthy yet; see $WORKSPACE/logs"
  if [ "$WARMUP" = 1 ]; then
    (cd "$REPO" && PY -m infra.pod --workspace "$WORKSPACE" warmup --style "$WARMUP_STYLE") || true
  fi
  (cd "$REPO" && PY -m infra.pod --workspace "$WORKSPACE" status) || true
  if [ "$FOREGROUND" = 1 ]; then stay_in_foreground; fi
}

main() {
  parse_args "$@"
  case "$ACTION" in
    status) PY -m infra.pod --workspace "$WORKSPACE" status ;;
    stop)
      if supervisord_up; then ctl shutdown; else log "supervisord is not running"; fi ;;
    start) do_start ;;
  esac
}

main "$@"
