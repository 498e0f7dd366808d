# shellcheck shell=bash
# shellcheck disable=SC2034 # LOG_* settings are read by log.sh
# The stage contract on the legacy side (ARCHITECTURE "The stage contract"): the run clock, RUN_DIR,
# context.env (immutable inputs) and state.env (outputs, later lines win), and loading both in a shim.
# Needs exit.sh, log.sh.

# the directory of this file without a subshell or dirname (every shim and tool sources it)
CORE_LIB_DIR="${BASH_SOURCE[0]%/*}"
[[ "$CORE_LIB_DIR" != "${BASH_SOURCE[0]}" ]] || CORE_LIB_DIR=.
[[ "$CORE_LIB_DIR" == /* ]] || CORE_LIB_DIR="${PWD}/${CORE_LIB_DIR}"

# core_now: epoch seconds of the run clock; PBK_NOW pins it (config.md §7).
core_now() {
  if [[ -n "${PBK_NOW:-}" ]]; then
    printf '%s' "$PBK_NOW"
  else
    printf '%(%s)T' -1
  fi
}

# core_timestamp EPOCH: YYYY-MM-DD_HH-MM-SS in local time (archive and log names).
core_timestamp() {
  printf '%(%Y-%m-%d_%H-%M-%S)T' "$1"
}

# core_quote VAR VALUE: VAR set to the single-quoted form of VALUE (state.env / context.env). No command
# substitution: a subshell costs milliseconds, and state_set runs hundreds of times a run.
core_quote() {
  local value="$2"
  printf -v "$1" "'%s'" "${value//\'/\'\\\'\'}"
}

# core_make_run_dir: a fresh RUN_DIR (0700) with an empty state.env and run.log, and its owner file: this
# installation's BASE_DIR and this process (pid, start time), so that a later run removes it only once this
# process is gone, and only if it is this installation's (run.md §7, decision 24).
core_make_run_dir() {
  RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/proxmox-backup-run.XXXXXX")" || return 1
  STAGING="${RUN_DIR}/staging"
  chmod 0700 "$RUN_DIR" || return 1
  ( umask 077 && : > "${RUN_DIR}/state.env" && : > "${RUN_DIR}/run.log" \
    && printf 'base_dir=%s\npid=%s\nstart=%s\n' "$BASE_DIR" "$$" "$(core_process_start "$$")" > "${RUN_DIR}/owner" ) || return 1
}

# core_process_start PID: field 22 of /proc/PID/stat (clock ticks since boot), empty when gone. A zombie (state Z
# or X: killed, not yet reaped by its new parent) is gone: a run killed with -9 leaves its node child in that state
# for a moment, and the next run must not take it for a live owner of the lock or of a run directory.
core_process_start() {
  local stat
  stat="$(cat "/proc/$1/stat" 2> /dev/null)" || return 0
  stat="${stat##*) }"
  local -a fields
  read -r -a fields <<< "$stat"
  [[ "${fields[0]:-}" != [ZX] ]] || return 0
  printf '%s' "${fields[19]:-}"
}

# core_write_context KEY... : context.env (0600) holding the named variables of this shell.
core_write_context() {
  local key quoted file="${RUN_DIR}/context.env" text=''
  for key in "$@"; do
    core_quote quoted "${!key-}"
    text+="${key}=${quoted}"$'\n'
  done
  ( umask 077 && printf '%s' "$text" > "$file" ) || return 1
}

# state_set KEY VALUE: record an output of this stage and set it in this shell too.
state_set() {
  local key="$1" value="$2" quoted
  core_quote quoted "$value"
  printf '%s=%s\n' "$key" "$quoted" >> "${RUN_DIR}/state.env"
  printf -v "$key" '%s' "$value"
}

# core_load_context RUN_DIR: what a shim does first. The files are ours (written by core_quote), so
# sourcing them cannot run code; the user's backup.env is never sourced (decision 11).
core_load_context() {
  RUN_DIR="$1"
  STAGING="${RUN_DIR}/staging"
  local owner
  owner="$(stat -c '%u %a' -- "$RUN_DIR" 2> /dev/null)" || return 70
  # security.md §9: a RUN_DIR that is not ours and 0700 is an internal failure, not an outcome.
  [[ -d "$RUN_DIR" && "$owner" == "$(id -u) 700" ]] || return 70
  # shellcheck source=/dev/null
  source "${RUN_DIR}/context.env" || return 70
  # shellcheck source=/dev/null
  source "${RUN_DIR}/state.env" || return 70
  LOG_DEBUG_LEVEL="${DEBUG_LEVEL:-standard}"
  LOG_COLOURS=false
  [[ "${DISABLE_COLORS:-false}" == true ]] || LOG_COLOURS=true
  LOG_FILES=("${RUN_DIR}/run.log")
  [[ -z "${LOG_FILE:-}" ]] || LOG_FILES+=("$LOG_FILE")
  core_register_secrets
}

# core_register_secrets: every secret of the configuration is redacted from the log (security.md §8).
core_register_secrets() {
  local url header
  [[ -z "${TELEGRAM_BOT_TOKEN:-}" ]] || log_add_secret "$TELEGRAM_BOT_TOKEN"
  [[ -z "${SMTP_PASSWORD:-}" ]] || log_add_secret "$SMTP_PASSWORD"
  header="${WEBHOOK_AUTH_HEADER:-}"
  if [[ -n "$header" ]]; then
    log_add_secret "$header"
    if [[ "$header" == *:* ]]; then
      header="${header#*:}"
      header="${header#"${header%%[! ]*}"}"
      log_add_secret "${header%"${header##*[! ]}"}"
    fi
  fi
  while IFS= read -r url; do
    [[ -z "$url" ]] || log_add_secret "$url"
  done <<< "${WEBHOOK_URLS:-}"
}

# core_human_size BYTES: binary units with one decimal (archive.md §7), e.g. 12.4 MiB.
core_human_size() {
  local bytes="$1"
  if (( bytes < 1024 )); then
    printf '%d B' "$bytes"
    return 0
  fi
  awk -v b="$bytes" 'BEGIN { split("KiB MiB GiB TiB", u, " "); i = 0; v = b;
    while (v >= 1024 && i < 4) { v /= 1024; i++ } printf "%.1f %s", v, u[i] }'
}

# core_iec BYTES: `numfmt --to=iec` form (collect.md §3.3): 1.5K, 100M; below 1024 bare.
core_iec() {
  numfmt --to=iec -- "$1"
}

# core_format_duration SECONDS: HH:MM:SS.
core_format_duration() {
  local s="$1"
  printf '%02d:%02d:%02d' $(( s / 3600 )) $(( s % 3600 / 60 )) $(( s % 60 ))
}

# core_free_bytes DIR: bytes available to us on DIR's filesystem (f_bavail x f_frsize, as df -B1
# --output=avail), or nothing when DIR is not a directory.
core_free_bytes() {
  local bavail frsize
  [[ -d "$1" ]] || return 0
  read -r bavail frsize < <(stat -f -c '%a %S' -- "$1") || return 0
  printf '%s' "$(( bavail * frsize ))"
}

# core_version: the tool's version, the same file for both implementations (archive.md §5.1).
core_version() {
  local file="${CORE_LIB_DIR}/../../VERSION"
  if [[ -r "$file" ]]; then
    tr -d '\n' < "$file"
  else
    printf 'unknown'
  fi
}

# core_has_program NAME: NAME is an executable file on PATH. (`command -v` alone also reports a
# non-executable file when nothing better is found.)
core_has_program() {
  local dir
  if [[ "$1" == */* ]]; then
    [[ -f "$1" && -x "$1" ]]
    return
  fi
  local -a dirs
  IFS=: read -r -a dirs <<< "${PATH-}"
  for dir in "${dirs[@]}"; do   # a lookup without a subshell (this runs for every host command)
    [[ -f "${dir:-.}/$1" && -x "${dir:-.}/$1" ]] && return 0
  done
  return 1
}

# core_bounded SECONDS KILL_AFTER OUT ERR ARGV...: ARGV with no stdin, LC_ALL=C, stdout into file OUT and stderr
# into file ERR (never a pipe: a grandchild that keeps one open cannot hold the caller), in its own process
# group (GNU timeout makes one and ends it all on timeout: TERM, then KILL after KILL_AFTER s); what is left of
# the group when the command has returned is ended too (run.md §7). Returns the command's (or timeout's) status.
core_bounded() {
  local seconds="$1" kill_after="$2" out="$3" err="$4" pid status=0
  shift 4
  LC_ALL=C timeout -k "$kill_after" "$seconds" "$@" < /dev/null > "$out" 2> "$err" &
  pid=$!
  wait "$pid" || status=$?
  kill -TERM -- "-${pid}" 2> /dev/null || true
  return "$status"
}

# ---------------------------------------------------------------------------------------------------
# Host commands, recorded and replayed (parity/README.md "Same inputs on both sides"): every command that reads
# the host (collection, detection probes, the security gate's probes) runs through core_host_run. With
# PBK_RECORD_DIR set, the run is recorded there (argv, stdout, stderr, status: DIR/KEY/argv, DIR/KEY/N/…);
# with PBK_REPLAY_DIR set, the Nth call of an argv gets the Nth recorded result instead of running the command,
# and DIR/.replay/ counts what was asked for (KEY.argv, KEY.count) — a command the control run did not run is
# answered with status 127 and shows in the comparison. KEY is the sha256 of the argv, each argument
# NUL-terminated (native/core/host-record.ts reads and writes the same layout).

# core_host_run KILL LIMIT OUT ERR PROGRAM ARGS...: no stdin, LC_ALL=C, `timeout -k KILL LIMIT`; stdout into
# OUT (`-`: this function's stdout, through a temp file), stderr into ERR (never a pipe a grandchild could
# hold: core_bounded); returns the command's status.
core_host_run() {
  local kill="$1" limit="$2" out="$3" err="$4" status=0
  shift 4
  if [[ -n "${PBK_REPLAY_DIR:-}" ]]; then
    _core_host_replay "$out" "$err" "$@" || status=$?
  elif [[ -n "${PBK_RECORD_DIR:-}" ]]; then
    _core_host_record "$kill" "$limit" "$out" "$err" "$@" || status=$?
  elif [[ "$out" == - ]]; then
    _core_host_to_stdout "$kill" "$limit" "$err" "$@" || status=$?
  else
    core_bounded "$limit" "$kill" "$out" "$err" "$@" || status=$?
  fi
  return "$status"
}

# _core_host_to_stdout KILL LIMIT ERR ARGV...: core_bounded through a temp file, then the file on stdout.
_core_host_to_stdout() {
  local kill="$1" limit="$2" err="$3" tmp status=0
  shift 3
  tmp="$(mktemp "${TMPDIR:-/tmp}/proxmox-backup-host.XXXXXX")" || return 70
  core_bounded "$limit" "$kill" "$tmp" "$err" "$@" || status=$?
  cat -- "$tmp"
  rm -f -- "$tmp"
  return "$status"
}

core_host_key() {
  local sum
  sum="$(printf '%s\0' "$@" | sha256sum)"
  printf '%s' "${sum%% *}"
}

# _core_host_give OUT ERR DIR: a recorded result's stdout and stderr where the caller wants them.
_core_host_give() {
  if [[ "$1" == - ]]; then cat -- "${3}/stdout"; else cat -- "${3}/stdout" > "$1"; fi
  cat -- "${3}/stderr" > "$2"
}

_core_host_record() {
  local kill="$1" limit="$2" out="$3" err="$4" key dir n=1 status=0
  shift 4
  key="$(core_host_key "$@")"
  dir="${PBK_RECORD_DIR}/${key}"
  mkdir -p -- "$dir" || return 70
  [[ -e "${dir}/argv" ]] || printf '%s\0' "$@" > "${dir}/argv"
  while [[ -e "${dir}/${n}" ]]; do n=$(( n + 1 )); done
  mkdir -m 0700 -- "${dir}/${n}" || return 70
  core_bounded "$limit" "$kill" "${dir}/${n}/stdout" "${dir}/${n}/stderr" "$@" || status=$?
  printf '%s\n' "$status" > "${dir}/${n}/status"
  _core_host_give "$out" "$err" "${dir}/${n}"
  return "$status"
}

_core_host_replay() {
  local out="$1" err="$2" key state="${PBK_REPLAY_DIR}/.replay" n=0 entry
  shift 2
  key="$(core_host_key "$@")"
  mkdir -p -- "$state" || return 70
  [[ -e "${state}/${key}.argv" ]] || printf '%s\0' "$@" > "${state}/${key}.argv"
  [[ ! -r "${state}/${key}.count" ]] || n="$(< "${state}/${key}.count")"
  n=$(( n + 1 ))
  printf '%s\n' "$n" > "${state}/${key}.count"
  entry="${PBK_REPLAY_DIR}/${key}/${n}"
  if [[ ! -r "${entry}/status" ]]; then
    printf 'not recorded by the control run: %s\n' "$*" > "$err"
    return 127
  fi
  _core_host_give "$out" "$err" "$entry"
  return "$(< "${entry}/status")"
}
