# shellcheck shell=bash
# The run log (run.md §5): `YYYY-MM-DD HH:MM:SS [LEVEL] message` on the console and in every attached
# file, each line redacted and flushed at once. WARNING raises the exit code to 1, ERROR to 2 (run.md §2).
# Needs exit.sh. Settings: LOG_DEBUG_LEVEL (standard|advanced|extreme), LOG_COLOURS (true|false).

# the directory of this file without a subshell or dirname (every shim and tool sources it)
LOG_LIB_DIR="${BASH_SOURCE[0]%/*}"
[[ "$LOG_LIB_DIR" != "${BASH_SOURCE[0]}" ]] || LOG_LIB_DIR=.
[[ "$LOG_LIB_DIR" == /* ]] || LOG_LIB_DIR="${PWD}/${LOG_LIB_DIR}"
LOG_DEBUG_LEVEL="${LOG_DEBUG_LEVEL:-standard}"
LOG_COLOURS="${LOG_COLOURS:-false}"
LOG_CONSOLE="${LOG_CONSOLE:-true}"
LOG_FILES=()
LOG_EARLY=()
LOG_REDACT_NEEDLES=()

declare -gA LOG_PRIORITY=([ERROR]=0 [WARNING]=1 [INFO]=2 [STEP]=2 [SUCCESS]=2 [SKIP]=2 [DEBUG]=3 [TRACE]=4)
declare -gA LOG_THRESHOLD=([standard]=2 [advanced]=3 [extreme]=4)
declare -gA LOG_COLOUR=([ERROR]=$'\e[0;31m' [WARNING]=$'\e[1;33m' [INFO]=$'\e[0;34m' [STEP]=$'\e[0;36m'
  [SUCCESS]=$'\e[0;32m' [SKIP]=$'\e[38;5;213m' [DEBUG]=$'\e[0;90m' [TRACE]=$'\e[0;90m')

# log_esc STRING: esc() of an outside string (security.md §1). Plain printable ASCII needs no helper.
log_esc() {
  local text="$1"
  # printable ASCII without a backslash (a glob: ranges are ASCII under globasciiranges, bash's default; the
  # regex this replaced never matched, so every call ran perl)
  if [[ "$text" != *[!\ -~]* && "$text" != *\\* ]]; then
    printf '%s' "$text"
  else
    perl "${LOG_LIB_DIR}/bytes.pl" esc "$text"
  fi
}

# log_add_secret VALUE: redact VALUE (raw, percent-encoded, esc()) from every later line; 6+ chars only.
log_add_secret() {
  local secret="$1" form
  (( ${#secret} >= 6 )) || return 0
  for form in "$secret" "$(perl "${LOG_LIB_DIR}/bytes.pl" urlencode "$secret")" "$(log_esc "$secret")"; do
    if [[ -n "$form" ]]; then LOG_REDACT_NEEDLES+=("$form"); fi
  done
  # Longest first, so a secret containing another is masked whole.
  local sorted
  mapfile -t sorted < <(for form in "${LOG_REDACT_NEEDLES[@]}"; do printf '%d\t%s\n' "${#form}" "$form"; done \
    | LC_ALL=C sort -t "$(printf '\t')" -k1,1nr -k2 -u | cut -f2-)
  LOG_REDACT_NEEDLES=("${sorted[@]}")
}

# log_redact VAR: every registered secret in VAR replaced by ***. (Callers pass a variable, never a command
# substitution: a subshell per log line costs milliseconds.)
log_redact() {
  local -n log_redact_text="$1"
  local needle
  for needle in "${LOG_REDACT_NEEDLES[@]}"; do
    log_redact_text="${log_redact_text//"$needle"/***}"
  done
}

# log_sanitise VAR: control characters left in VAR in their esc() form (backslashes untouched).
log_sanitise() {
  local -n log_sanitise_text="$1"
  if [[ "$log_sanitise_text" == *[[:cntrl:]]* ]]; then
    log_sanitise_text="$(perl -e '$_ = $ARGV[0]; s/\n/\\n/g; s/\t/\\t/g; s/\r/\\r/g; s/([\x00-\x1f\x7f])/sprintf("\\x%02x", ord($1))/ge; print' -- "$log_sanitise_text")"
  fi
}

log_enabled() {
  (( LOG_PRIORITY[$1] <= LOG_THRESHOLD[$LOG_DEBUG_LEVEL] ))
}

# log_line LEVEL MESSAGE
log_line() {
  local level="$1" message="$2" line file
  case "$level" in
    ERROR) exit_raise 2 ;;
    WARNING) [[ "$message" == 'parity: '* ]] || exit_raise 1 ;;
  esac
  log_enabled "$level" || return 0
  log_sanitise message
  (( ${#LOG_REDACT_NEEDLES[@]} == 0 )) || log_redact message
  printf -v line '%(%Y-%m-%d %H:%M:%S)T [%s] %s' -1 "$level" "$message"
  if [[ "$LOG_CONSOLE" == true ]]; then
    if [[ "$LOG_COLOURS" == true && -t 1 ]]; then
      printf '%s%s\e[0m\n' "${LOG_COLOUR[$level]}" "$line"
    else
      printf '%s\n' "$line"
    fi
  fi
  if (( ${#LOG_FILES[@]} == 0 )); then
    LOG_EARLY+=("$line")
    return 0
  fi
  for file in "${LOG_FILES[@]}"; do
    printf '%s\n' "$line" >> "$file"
  done
}

log_error() { log_line ERROR "$1"; }
log_warning() { log_line WARNING "$1"; }
log_info() { log_line INFO "$1"; }
log_step() { log_line STEP "$1"; }
log_success() { log_line SUCCESS "$1"; }
log_skip() { log_line SKIP "$1"; }
log_debug() { log_line DEBUG "$1"; }
log_trace() { log_line TRACE "$1"; }

# log_lines LEVEL FILE: the lines of that level in a log file, `parity:` diagnostics left out (run.md §2).
log_lines() {
  { grep "^[0-9-]* [0-9:]* \[$1\] " -- "$2" || true; } | { grep -v '\[WARNING\] parity: ' || true; }
}

# log_attach_file PATH: append to PATH (created 0600) from now on. Every line logged so far goes first,
# in order (run.md §5.1): the early buffer, or the content of the first attached file.
log_attach_file() {
  local file="$1" line
  ( umask 077 && : >> "$file" ) || return 1
  if (( ${#LOG_FILES[@]} > 0 )); then
    cat -- "${LOG_FILES[0]}" >> "$file" || return 1
  else
    for line in "${LOG_EARLY[@]}"; do
      printf '%s\n' "$line" >> "$file"
    done
    LOG_EARLY=()
  fi
  LOG_FILES+=("$file")
}
