# shellcheck shell=bash
# shellcheck disable=SC2034 # CONTEXT_KEYS, LOG_FILE and the summary inputs are shared with the main script
# The legacy orchestrator (run.md §1): phase order, lock, run directory, log file, exit code, summary,
# cleanup on every exit path. Needs every other legacy/lib file.

# orchestrator_start (phase 0): run clock, umask, PATH hygiene, TZ.
orchestrator_start() {
  START_TIME="$(core_now)"
  umask 077
  local entry dir cleaned=''
  local IFS=:
  for entry in $PATH; do
    if [[ "$entry" != /* ]]; then
      PATH_WARNINGS+=("Ignoring relative PATH entry '$(log_esc "$entry")'")
      continue
    fi
    cleaned+="${cleaned:+:}${entry}"
  done
  for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    [[ ":${cleaned}:" == *":${dir}:"* ]] || cleaned+=":${dir}"
  done
  PATH="$cleaned"
  if [[ -z "${TZ:-}" ]]; then
    TZ="$(timeout 5 timedatectl show -p Timezone --value 2> /dev/null || true)"   # no systemd: next source
    [[ -n "$TZ" || ! -r /etc/timezone ]] || TZ="$(head -n 1 /etc/timezone)"
    export TZ="${TZ:-UTC}"
  fi
  RUN_TIMESTAMP="$(core_timestamp "$START_TIME")"
}

# orchestrator_unlock: empty the lock we hold (the descriptor's close releases the flock), so that the next run
# does not report this one as a stale holder.
orchestrator_unlock() {
  if [[ "${LOCK_HELD:-false}" == true ]]; then : > "${BASE_DIR}/lock/proxmox-backup.lock"; fi
}

# orchestrator_lock (phase 4, run.md §7): flock on BASE_DIR/lock/proxmox-backup.lock for the whole process.
orchestrator_lock() {
  local dir="${BASE_DIR}/lock" lock="${BASE_DIR}/lock/proxmox-backup.lock" holder pid start current
  if ! mkdir -p -- "$dir" || ! chmod 0700 -- "$dir"; then
    log_error "Cannot create lock directory ${dir}"
    return 2
  fi
  if [[ -L "$lock" ]] || { [[ -e "$lock" ]] && [[ ! -f "$lock" ]]; }; then
    log_error "Lock path is not a regular file: $(log_esc "$lock")"
    return 2
  fi
  local mask
  mask="$(umask)"
  umask 077   # created 0600 whatever the caller's umask (security-check, fix-permissions run without phase 0)
  exec {LOCK_FD}>> "$lock" || { umask "$mask"; log_error "Cannot open lock file ${lock}"; return 2; }
  umask "$mask"
  holder="$(head -c 200 -- "$lock" 2> /dev/null || true)"   # unreadable content counts as garbage below
  pid=unknown
  if [[ "$holder" =~ pid=([0-9]+) ]]; then pid="${BASH_REMATCH[1]}"; fi
  start=''
  if [[ "$holder" =~ start=([0-9]+) ]]; then start="${BASH_REMATCH[1]}"; fi
  if ! flock -n "$LOCK_FD"; then
    log_error "Another backup run is in progress (PID ${pid})"
    return 2
  fi
  if [[ -n "$holder" ]]; then
    if [[ "$pid" == unknown ]]; then
      log_warning 'Stale lock from PID unknown taken over'
    else
      current="$(core_process_start "$pid")"
      [[ -n "$current" && "$current" == "$start" ]] || log_info "Stale lock from PID ${pid} taken over"
    fi
  fi
  LOCK_HELD=true
  truncate -s 0 -- "$lock"
  printf 'pid=%s\nstart=%s\n' "$$" "$(core_process_start "$$")" >&"$LOCK_FD"
  orchestrator_leftover_runs
}

# ---------------------------------------------------------------------------------------------------
# Leftovers of a crashed run (run.md §7, decision 24), removed by the lock holder.

# orchestrator_leftover_remove PATH: one leftover removed with an INFO line (a WARNING when that fails); a dry
# run names it only.
orchestrator_leftover_remove() {
  local path="$1"
  if [[ "${DRY_RUN:-false}" == true || "${PERM_DRY_RUN:-false}" == true ]]; then
    log_info "Would remove leftover of an interrupted run: $(log_esc "$path")"
  elif rm -rf -- "$path" 2> /dev/null && [[ ! -e "$path" && ! -L "$path" ]]; then
    log_info "Removed leftover of an interrupted run: $(log_esc "$path")"
  else
    log_warning "Cannot remove leftover of an interrupted run: $(log_esc "$path")"
  fi
}

# orchestrator_dead_run_dir DIR: DIR is a run directory of this installation (its owner file names our
# BASE_DIR) whose process is gone (dead, or its PID now another process: a different start time).
orchestrator_dead_run_dir() {
  local dir="$1" owner="$1/owner" line base='' pid='' start='' current
  [[ -d "$dir" && ! -L "$dir" && -O "$dir" && -f "$owner" && ! -L "$owner" ]] || return 1
  while IFS= read -r line || [[ -n "$line" ]]; do
    case "$line" in
      base_dir=*) base="${line#base_dir=}" ;;
      pid=*) pid="${line#pid=}" ;;
      start=*) start="${line#start=}" ;;
    esac
  done < "$owner" 2> /dev/null || return 1
  [[ "$base" == "$BASE_DIR" && "$pid" =~ ^[0-9]+$ ]] || return 1
  current="$(core_process_start "$pid")"
  [[ -z "$current" ]] && return 0
  [[ -n "$start" && "$current" != "$start" ]]
}

# orchestrator_leftover_runs: run and shadow directories of this installation's dead runs, under TMPDIR.
orchestrator_leftover_runs() {
  local dir
  for dir in "${TMPDIR:-/tmp}"/proxmox-backup-run.* "${TMPDIR:-/tmp}"/proxmox-backup-shadow.*; do
    [[ "$dir" != "${RUN_DIR:-}" ]] || continue
    if orchestrator_dead_run_dir "$dir"; then orchestrator_leftover_remove "$dir"; fi
  done
}

# orchestrator_leftover_tiers: this host's <archive>.tmp, <sidecar>.tmp and <log>.tmp files in the local and
# secondary tiers (after detection, which names the host); a directory named twice is read once.
orchestrator_leftover_tiers() {
  local dir file
  local -a dirs=("${LOCAL_BACKUP_PATH:-}" "${LOCAL_LOG_PATH:-}")
  [[ "${ENABLE_SECONDARY_BACKUP:-false}" != true ]] || dirs+=("${SECONDARY_BACKUP_PATH:-}" "${SECONDARY_LOG_PATH:-}")
  local -A seen=()
  for dir in "${dirs[@]}"; do
    [[ -n "$dir" && -d "$dir" && -z "${seen[$dir]:-}" ]] || continue
    seen[$dir]=1
    for file in "$dir"/*-backup-"$HOSTNAME"-*.tmp; do
      [[ -f "$file" && ! -L "$file" && "${file##*/}" =~ ^(pve|pbs|dual|unknown)-backup- ]] || continue
      orchestrator_leftover_remove "$file"
    done
  done
}

# orchestrator_log_file (phase 6): LOCAL_LOG_PATH/<type>-backup-<fqdn>-<ts>.log, earlier lines at its top.
orchestrator_log_file() {
  LOG_FILE=''
  [[ "$ENABLE_LOG_MANAGEMENT" == true ]] || return 0
  local file="${LOCAL_LOG_PATH}/${PROXMOX_TYPE}-backup-${HOSTNAME}-${RUN_TIMESTAMP}.log"
  if mkdir -p -- "$LOCAL_LOG_PATH" 2> /dev/null && log_attach_file "$file" 2> /dev/null; then
    LOG_FILE="$file"
    return 0
  fi
  log_error "Cannot create log file $(log_esc "$file"); logging to the console only"
  return 2
}

# orchestrator_dependencies (phase 8): tools, tiers, compressor.
orchestrator_dependencies() {
  local tool
  log_step 'Checking dependencies'
  for tool in tar sha256sum; do
    core_has_program "$tool" || { log_error "Required tool not found: ${tool}"; return 2; }
  done
  if [[ "$ENCRYPT_ARCHIVE" == true ]] && ! core_has_program age; then
    log_error 'Required tool not found: age (ENCRYPT_ARCHIVE=true)'
    return 2
  fi
  if ! mkdir -p -- "$LOCAL_BACKUP_PATH" 2> /dev/null; then
    log_error "Cannot create backup directory $(log_esc "$LOCAL_BACKUP_PATH")"
    return 2
  fi
  backup_select_compressor || return 2
  storage_check_tiers
  return 0
}

# orchestrator_context_keys: what context.env holds (ARCHITECTURE: every resolved key and the run's facts).
orchestrator_context_keys() {
  CONTEXT_KEYS=("${CFG_ORDER[@]}" "${CONFIG_UNKNOWN[@]}" RUN_TIMESTAMP START_TIME HOSTNAME HOST_SHORT
    PROXMOX_TYPE PVE_VERSION PBS_VERSION SERVER_ID DRY_RUN CHECK_ONLY BASE_DIR CONFIG_FILE RUN_DIR LOG_FILE TZ)
  local key
  for key in "${CFG_ORDER[@]}" "${CONFIG_UNKNOWN[@]}"; do
    printf -v "$key" '%s' "${CONFIG_VALUES[$key]}"
  done
}

# orchestrator_migration_keys: which implementation produced each domain (metrics.md §2 #25-28): all legacy.
orchestrator_migration_keys() {
  local domain
  for domain in CLI ORCHESTRATOR SECURITY BACKUP STORAGE NOTIFY METRICS; do state_set "IMPL_${domain}" legacy; done
}

orchestrator_emoji() {
  case "$1" in ok) printf '✅' ;; warning) printf '⚠️' ;; error) printf '❌' ;; *) printf '➖' ;; esac
}

orchestrator_mac() {
  local file mac
  for file in /sys/class/net/*/address; do
    [[ "$file" == /sys/class/net/lo/address || ! -r "$file" ]] && continue
    mac="$(< "$file")"
    [[ -n "$mac" && ! "$mac" =~ ^(00:)+00$ ]] && { printf '%s' "$mac"; return 0; }
  done
  printf 'unknown'
}

# orchestrator_summary (phase 16, run.md §5.4)
orchestrator_summary() {
  local primary=error duration
  log_info 'Backup Summary:'
  log_info "Type: ${PROXMOX_TYPE:-unknown}"
  log_info "Host: ${HOSTNAME:-unknown}"
  if [[ -n "${BACKUP_FILE:-}" ]]; then
    log_info "Backup File: $(log_esc "$BACKUP_FILE")"
    log_info "Size: $(core_human_size "${ARCHIVE_SIZE:-0}")"
    log_info "Files: ${FILES_INCLUDED:-0} (excluding folders and .sha256 files)"
    [[ "${COMPRESSION_RATIO:-Unknown}" == Unknown ]] || log_info "Compression ratio: ${COMPRESSION_RATIO}"
    primary=ok
    if [[ "${STATUS_VERIFY:-0}" == 1 ]]; then primary=warning; fi
    if [[ "${STATUS_VERIFY:-0}" == 2 ]]; then primary=error; fi
  elif [[ "$DRY_RUN" == true ]]; then
    log_info 'Dry run: no archive created'
    primary=skipped
  elif [[ "$CHECK_ONLY" == true ]]; then
    primary=skipped
  else
    log_warning 'Backup file information not available'
  fi
  log_info "BACKUP = PRI $(orchestrator_emoji "$primary") - SEC $(orchestrator_emoji "${STATUS_SECONDARY:-disabled}") - CLO $(orchestrator_emoji "${STATUS_CLOUD:-disabled}")"
  local log_state=disabled
  [[ -z "${LOG_FILE:-}" ]] || log_state=ok
  log_info "LOG = PRI $(orchestrator_emoji "${LOG_PRIMARY:-$log_state}") - SEC $(orchestrator_emoji "${LOG_SECONDARY:-disabled}") - CLO $(orchestrator_emoji "${LOG_CLOUD:-disabled}")"
  duration=$(( $(core_now) - START_TIME ))
  log_info "Duration: $(core_format_duration "$duration")"
  log_info "Server MAC Address: $(orchestrator_mac)"
  log_info "Server Unique ID: ${SERVER_ID:-unknown}"
  local final=ok
  if (( EXIT_CODE == 1 )); then final=warning; fi
  if (( EXIT_CODE == 2 )); then final=error; fi
  log_info "Exit Status: ${EXIT_CODE} $(orchestrator_emoji "$final")"
  case "$EXIT_CODE" in
    0) log_success "Backup process completed with exit code: 0" ;;
    1) log_warning "Backup process completed with exit code: 1" ;;
    *) log_error "Backup process completed with exit code: ${EXIT_CODE}" ;;
  esac
}

# orchestrator_cleanup: every exit path (trap): the archive under construction, staging and RUN_DIR go; a
# lock we hold is emptied, so the next run does not report this one as a stale holder.
orchestrator_cleanup() {
  local file
  orchestrator_unlock
  if [[ -n "${RUN_DIR:-}" && -d "${RUN_DIR}" ]]; then
    for file in "${LOCAL_BACKUP_PATH:-/nonexistent}"/*.tmp; do
      if [[ -f "$file" && "$file" == "${LOCAL_BACKUP_PATH}/${PROXMOX_TYPE:-x}-backup-${HOSTNAME:-x}-${RUN_TIMESTAMP:-x}"* ]]; then rm -f -- "$file"; fi
    done
    if [[ "${PBK_KEEP_RUN_DIR:-}" == 1 ]]; then
      rm -rf -- "${RUN_DIR}/staging" "${RUN_DIR}/owner"   # kept on purpose: not a leftover for the next run
      printf 'Run directory kept (PBK_KEEP_RUN_DIR=1): %s\n' "$RUN_DIR" >&2
    else
      rm -rf -- "$RUN_DIR"
    fi
  fi
}

# orchestrator_interrupted SIGNAL: a clear line, then the EXIT trap cleans up; exit 2.
orchestrator_interrupted() {
  log_error "Backup interrupted by SIG$1; partial archive removed"
  exit 2
}
