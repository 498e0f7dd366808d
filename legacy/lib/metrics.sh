# shellcheck shell=bash
# The metrics domain (metrics.md): one Prometheus textfile per run, written atomically in phase 14 from the
# run's state. Stage: metrics_write. Needs log.sh, core.sh.

METRICS_DOMAINS=(cli orchestrator security backup storage notify metrics)
METRICS_PHASES=(LOGFILE DEPENDENCIES COLLECT ARCHIVE VERIFY STORAGE NOTIFY)

# metrics_label VALUE: the escaped form inside "…" (\ → \\, " → \", newline → \n).
metrics_label() {
  local v="${1//\\/\\\\}"
  v="${v//\"/\\\"}"
  printf '%s' "${v//$'\n'/\\n}"
}

# metrics_family NAME TYPE HELP SAMPLE_LINE...: a family, or nothing when it has no sample (§3).
metrics_family() {
  local name="$1" type="$2" help="$3"
  shift 3
  (( $# > 0 )) || return 0
  [[ -z "$METRICS_TEXT" ]] || METRICS_TEXT+=$'\n'
  METRICS_TEXT+="# HELP ${name} ${help}"$'\n'"# TYPE ${name} ${type}"$'\n'
  local sample
  for sample in "$@"; do
    METRICS_TEXT+="${sample}"$'\n'
    METRICS_SERIES=$(( METRICS_SERIES + 1 ))
  done
}

# metrics_previous NAME LABELS: the value of that sample in the existing file, or nothing (§2 read-back).
metrics_previous() {
  local file="$1" name="$2" labels="$3" line n=0
  [[ -f "$file" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$(( n + 1 ))
    [[ -z "$line" || "$line" == '#'* ]] && continue
    if [[ ! "$line" =~ ^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?\ [0-9]+$ ]]; then
      # stderr: the caller captures stdout as the value (a console line there broke the arithmetic).
      log_debug "Ignoring unreadable line ${n} of the previous metrics file" >&2
      continue
    fi
    if [[ "$line" == "${name}${labels} "* ]]; then printf '%s' "${line##* }"; return 0; fi
  done < "$file"
}

# metrics_number TEXT: a decimal as JavaScript prints it (87.50 → 87.5, -12.00 → -12).
metrics_number() {
  perl -e 'my $v = $ARGV[0]; $v =~ s/%$//; printf "%s", 0 + $v' -- "$1"
}

metrics_success() {
  [[ "$RUN_EXIT_CODE" -le 1 && -n "${BACKUP_FILE:-}" && "${STATUS_VERIFY:-2}" != 2 && "$DRY_RUN" != true ]]
}

metrics_identity_families() {
  local info
  info="proxmox_backup_info{host=\"$(metrics_label "$HOSTNAME")\",type=\"$(metrics_label "$PROXMOX_TYPE")\""
  info+=",pve_version=\"$(metrics_label "${PVE_VERSION:-}")\",pbs_version=\"$(metrics_label "${PBS_VERSION:-}")\""
  info+=",server_id=\"$(metrics_label "$SERVER_ID")\",version=\"$(metrics_label "$(core_version)")\"} 1"
  metrics_family proxmox_backup_info gauge 'Host and tool identity' "$info"
  metrics_family proxmox_backup_dry_run gauge '1 when the last run was a dry run' "proxmox_backup_dry_run $([[ "$DRY_RUN" == true ]] && printf 1 || printf 0)"
  metrics_family proxmox_backup_exit_code gauge 'Exit code of the last run (0 ok, 1 warning, 2 error)' "proxmox_backup_exit_code ${RUN_EXIT_CODE}"
  metrics_family proxmox_backup_success gauge '1 when the last run produced a verified archive' \
    "proxmox_backup_success $(metrics_success && printf 1 || printf 0)"
}

metrics_time_families() {
  local now duration phase status_key duration_key last
  local -a durations=() statuses=()
  now="$(core_now)"
  duration="${BACKUP_DURATION:-$(( now - START_TIME ))}"
  metrics_family proxmox_backup_start_timestamp_seconds gauge 'Start of the last run, Unix time' "proxmox_backup_start_timestamp_seconds ${START_TIME}"
  metrics_family proxmox_backup_end_timestamp_seconds gauge 'End of the last run, Unix time' "proxmox_backup_end_timestamp_seconds ${now}"
  metrics_family proxmox_backup_duration_seconds gauge 'Duration of the last run' "proxmox_backup_duration_seconds ${duration}"
  for phase in "${METRICS_PHASES[@]}"; do
    status_key="STATUS_${phase}" duration_key="DURATION_${phase}"
    [[ -n "${!status_key:-}" ]] || continue
    durations+=("proxmox_backup_phase_duration_seconds{phase=\"${phase,,}\"} ${!duration_key:-0}")
    statuses+=("proxmox_backup_phase_status{phase=\"${phase,,}\"} ${!status_key}")
  done
  metrics_family proxmox_backup_phase_duration_seconds gauge 'Duration of each phase of the last run' "${durations[@]}"
  metrics_family proxmox_backup_phase_status gauge 'Status of each phase (0 ok, 1 warning, 2 error)' "${statuses[@]}"
  if metrics_success; then last="$START_TIME"; else last="$(metrics_previous "$METRICS_FILE" proxmox_backup_last_success_timestamp_seconds '')"; fi
  local -a samples=()
  [[ -z "$last" ]] || samples=("proxmox_backup_last_success_timestamp_seconds ${last}")
  metrics_family proxmox_backup_last_success_timestamp_seconds gauge 'Start of the last run that produced a verified archive' "${samples[@]}"
  local errors warnings
  errors="$(log_lines ERROR "${RUN_DIR}/run.log" | wc -l)"
  warnings="$(log_lines WARNING "${RUN_DIR}/run.log" | wc -l)"
  metrics_family proxmox_backup_log_messages gauge 'Error and warning lines logged by the last run' \
    "proxmox_backup_log_messages{level=\"error\"} ${errors}" "proxmox_backup_log_messages{level=\"warning\"} ${warnings}"
}

metrics_archive_families() {
  local -a size=() uncompressed=() ratio=()
  if [[ -n "${BACKUP_FILE:-}" ]]; then
    size=("proxmox_backup_size_bytes ${ARCHIVE_SIZE:-0}")
    uncompressed=("proxmox_backup_size_uncompressed_bytes ${UNCOMPRESSED_SIZE:-0}")
    [[ "${COMPRESSION_RATIO:-Unknown}" == Unknown ]] || ratio=("proxmox_backup_compression_ratio $(metrics_number "$COMPRESSION_RATIO")")
  fi
  metrics_family proxmox_backup_size_bytes gauge 'Size of the last archive' "${size[@]}"
  metrics_family proxmox_backup_size_uncompressed_bytes gauge 'Size of the staged files of the last archive' "${uncompressed[@]}"
  metrics_family proxmox_backup_compression_ratio gauge 'Space saved by compression in percent' "${ratio[@]}"
  local -a files=() dirs=() missing=()
  [[ -z "${FILES_INCLUDED:-}" ]] || files=("proxmox_backup_included_files ${FILES_INCLUDED}")
  [[ -z "${DIRS_INCLUDED:-}" ]] || dirs=("proxmox_backup_directories ${DIRS_INCLUDED}")
  [[ -z "${FILE_MISSING:-}" ]] || missing=("proxmox_backup_missing_files ${FILE_MISSING}")
  metrics_family proxmox_backup_included_files gauge 'Files in the last archive' "${files[@]}"
  metrics_family proxmox_backup_directories gauge 'Directories in the last archive' "${dirs[@]}"
  metrics_family proxmox_backup_missing_files gauge 'Critical files missing from the last archive' "${missing[@]}"
  metrics_family proxmox_backup_encrypted gauge '1 when the last archive is age-encrypted' \
    "proxmox_backup_encrypted $([[ "$ENCRYPT_ARCHIVE" == true ]] && printf 1 || printf 0)"
}

metrics_tier_families() {
  local tier upper status s value key
  local -a states=() counts=() deleted=() free=()
  for tier in primary secondary cloud; do
    upper="${tier^^}"
    key="STATUS_${upper}"
    status="${!key:-disabled}"
    for s in ok warning error disabled skipped; do
      value=0
      [[ "$s" != "$status" ]] || value=1
      states+=("proxmox_backup_tier_status{tier=\"${tier}\",status=\"${s}\"} ${value}")
    done
    key="${upper}_BACKUP_COUNT"
    [[ "$status" == disabled || -z "${!key:-}" ]] || counts+=("proxmox_backup_tier_backups{tier=\"${tier}\"} ${!key}")
    key="${upper}_BACKUPS_DELETED"
    [[ -z "${!key:-}" ]] || deleted+=("proxmox_backup_deleted{tier=\"${tier}\"} ${!key}")
  done
  metrics_family proxmox_backup_tier_status gauge 'Outcome of each storage tier in the last run' "${states[@]}"
  metrics_family proxmox_backup_tier_backups gauge 'Backups of this host kept in each tier' "${counts[@]}"
  metrics_family proxmox_backup_deleted gauge 'Backups deleted by retention in the last run' "${deleted[@]}"
  local -a uploaded=()
  [[ -z "${CLOUD_UPLOADED_BYTES:-}" ]] || uploaded=("proxmox_backup_cloud_uploaded_bytes ${CLOUD_UPLOADED_BYTES}")
  metrics_family proxmox_backup_cloud_uploaded_bytes gauge 'Bytes uploaded to the cloud tier in the last run' "${uploaded[@]}"
  local bytes
  bytes="$(core_free_bytes "$LOCAL_BACKUP_PATH")"
  [[ -z "$bytes" ]] || free+=("proxmox_backup_disk_free_bytes{tier=\"primary\"} ${bytes}")
  bytes=''
  [[ "${STATUS_SECONDARY:-disabled}" == disabled ]] || bytes="$(core_free_bytes "${SECONDARY_BACKUP_PATH:-}")"
  [[ -z "$bytes" ]] || free+=("proxmox_backup_disk_free_bytes{tier=\"secondary\"} ${bytes}")
  metrics_family proxmox_backup_disk_free_bytes gauge 'Free space where each local tier keeps backups' "${free[@]}"
}

metrics_notify_families() {
  local channel key
  local -a sent=()
  for channel in email telegram webhook; do
    key="NOTIFY_${channel^^}"
    case "${!key:-disabled}" in
      sent) sent+=("proxmox_backup_notification_sent{channel=\"${channel}\"} 1") ;;
      failed) sent+=("proxmox_backup_notification_sent{channel=\"${channel}\"} 0") ;;
    esac
  done
  metrics_family proxmox_backup_notification_sent gauge '1 when the channel delivered, 0 when it failed' "${sent[@]}"
}

# metrics_parity_errors UPPER DOMAIN: the shadow outcomes that are not a mismatch (native/switch/stages.ts), by kind.
metrics_parity_errors() {
  local key
  key="PARITY_CANDIDATE_FAILURES_${1}"
  errors+=("proxmox_backup_parity_errors{domain=\"${2}\",kind=\"candidate\"} ${!key:-0}")
  key="PARITY_COMPARISON_FAILURES_${1}"
  errors+=("proxmox_backup_parity_errors{domain=\"${2}\",kind=\"comparison\"} ${!key:-0}")
}

metrics_migration_families() {
  local domain upper key impl previous
  local -a impls=() shadows=() mismatches=() errors=() fallbacks=()
  for domain in "${METRICS_DOMAINS[@]}"; do
    upper="${domain^^}"
    key="IMPL_${upper}"
    impl="${!key:-legacy}"
    impls+=("proxmox_backup_domain_implementation{domain=\"${domain}\",impl=\"legacy\"} $([[ "$impl" == legacy ]] && printf 1 || printf 0)")
    impls+=("proxmox_backup_domain_implementation{domain=\"${domain}\",impl=\"native\"} $([[ "$impl" == native ]] && printf 1 || printf 0)")
    key="SHADOW_${upper}"
    shadows+=("proxmox_backup_shadow{domain=\"${domain}\"} ${!key:-0}")
    key="PARITY_MISMATCHES_${upper}"
    local shadow="SHADOW_${upper}"
    [[ "${!shadow:-0}" != 1 ]] || mismatches+=("proxmox_backup_parity_mismatches{domain=\"${domain}\"} ${!key:-0}")
    [[ "${!shadow:-0}" != 1 ]] || metrics_parity_errors "$upper" "$domain"
    key="FALLBACK_${upper}"
    previous="$(metrics_previous "$METRICS_FILE" proxmox_backup_fallbacks_total "{domain=\"${domain}\"}")"
    fallbacks+=("proxmox_backup_fallbacks_total{domain=\"${domain}\"} $(( ${previous:-0} + ${!key:-0} ))")
  done
  metrics_family proxmox_backup_domain_implementation gauge 'Implementation that ran each domain' "${impls[@]}"
  metrics_family proxmox_backup_shadow gauge '1 when the domain ran in shadow mode' "${shadows[@]}"
  metrics_family proxmox_backup_parity_mismatches gauge 'Shadow comparison mismatches in the last run' "${mismatches[@]}"
  metrics_family proxmox_backup_parity_errors gauge 'Shadow runs that ended without a verdict in the last run: the native candidate failed, or the comparison could not be made' "${errors[@]}"
  metrics_family proxmox_backup_fallbacks_total counter 'Native stages that failed and were rerun in Bash' "${fallbacks[@]}"
}

# metrics_write (phase 14): the textfile, atomically (temp name, fsync, 0644, rename).
metrics_write() {
  if [[ "$PROMETHEUS_ENABLED" != true ]]; then log_skip 'Prometheus metrics disabled'; return 0; fi
  [[ "$CHECK_ONLY" != true ]] || return 0
  log_step 'Writing Prometheus metrics'
  local dir="${PROMETHEUS_TEXTFILE_DIR%/}" tmp
  METRICS_FILE="${dir}/proxmox_backup.prom"
  : "${RUN_EXIT_CODE:=0}" "${BACKUP_FILE:=}"
  METRICS_TEXT='' METRICS_SERIES=0
  metrics_identity_families
  metrics_time_families
  metrics_archive_families
  metrics_tier_families
  metrics_notify_families
  metrics_migration_families
  tmp="${dir}/.proxmox_backup.prom.$$.tmp"
  # The directory (and any parent made here) 0755 whatever the umask: node_exporter reads it unprivileged.
  if ! { { [[ -d "$dir" ]] || ( umask 022 && mkdir -p -- "$dir" ); } && printf '%s' "$METRICS_TEXT" > "$tmp" \
    && sync -- "$tmp" && chmod 0644 -- "$tmp" && mv -fT -- "$tmp" "$METRICS_FILE"; } 2> "${RUN_DIR}/metrics.err"; then
    rm -f -- "$tmp"
    log_warning "Cannot write metrics to $(log_esc "$dir"): $(log_esc "$(head -n 1 "${RUN_DIR}/metrics.err")")"
    return 1
  fi
  log_success "Metrics written to $(log_esc "$METRICS_FILE") (${METRICS_SERIES} series)"
}
