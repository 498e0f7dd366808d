# shellcheck shell=bash
# shellcheck disable=SC2034 # R_* settings are shared between the steps below
# `proxmox-restore restore` (restore.md §3-§9): choose and open the archive, pick categories, check the guards,
# plan against the disk, save what will be replaced, write, report. The byte-exact work (tar stream, categories,
# hostile entries, per-entry temp + rename) is restore.pl's; this file decides, asks, logs and reports.
# Needs the helpers of legacy/bin/proxmox-restore (resolve_archive, sidecar_hash, STREAM_SCRIPT, list_*).

RESTORE_ENGINE="${LOG_LIB_DIR}/restore.pl"
GUARDED_CATEGORIES=(pve-cluster corosync storage-stack accounts)
CLUSTER_CATEGORIES=(pve-cluster corosync)

# restore_fail MESSAGE: ERROR, the completion line, exit 2 (stopped before writing).
restore_fail() {
  log_error "$1"
  restore_finish
}

# restore_finish: `Restore completed with exit code: <c>` at the level of the code, then exit with it.
restore_finish() {
  case "$EXIT_CODE" in
    0) log_success "Restore completed with exit code: 0" ;;
    1) log_warning "Restore completed with exit code: 1" ;;
    *) log_error "Restore completed with exit code: ${EXIT_CODE}" ;;
  esac
  exit "$EXIT_CODE"
}

restore_interactive() {
  [[ -t 0 ]]
}

# restore_table: stdin rows with tab-separated cells as the aligned table of restore.md §2.
restore_table() {
  perl -e '
    my @rows = map { chomp; [split /\t/, $_, -1] } <STDIN>;
    my @w;
    for my $r (@rows) { for my $i (0 .. $#$r - 1) { my $l = length($r->[$i]); $w[$i] = $l if !defined $w[$i] || $l > $w[$i]; } }
    for my $r (@rows) { print join("  ", (map { sprintf("%-*s", $w[$_], $r->[$_]) } 0 .. $#$r - 1), $r->[-1]), "\n"; }'
}

# restore_static_categories: --list-categories without an archive (§5.3).
restore_static_categories() {
  local kind name on covers
  {
    printf 'CATEGORY\tON /\tCOVERS\n'
    while IFS=$'\t' read -r kind name on covers; do printf '%s\t%s\t%s\n' "$name" "$on" "$covers"; done \
      < <(perl "$RESTORE_ENGINE" categories)
  } | restore_table
}

# restore_static_only ARG...: --list-categories without --archive (no configuration needed).
restore_static_only() {
  local arg listing=false
  for arg in "$@"; do
    case "$arg" in --list-categories) listing=true ;; --archive | --archive=*) return 1 ;; esac
  done
  [[ "$listing" == true ]]
}

# restore_counted_categories: the table with entry counts (after the listing pass).
restore_counted_categories() {
  local name
  {
    printf 'CATEGORY\tENTRIES\tON /\n'
    for name in "${R_CAT_ORDER[@]}"; do printf '%s\t%s\t%s\n' "$name" "${R_CAT_COUNT[$name]}" "${R_CAT_ON[$name]}"; done
  } | restore_table
}

# ---------------------------------------------------------------------------------------------------
# §3: the archive, from the arguments or picked on a terminal

restore_pick_archive() {
  if [[ -n "$R_ARCHIVE_ARG" ]]; then resolve_archive "$R_ARCHIVE_ARG"; return 0; fi
  restore_interactive || restore_fail '--archive is required when not running on a terminal'
  local rows answer
  list_tiers all false
  mapfile -t rows < <(list_sorted)
  if (( ${#rows[@]} == 0 )); then restore_fail 'No archives found'; fi
  list_table | awk '{ printf "%-4s%s\n", (NR == 1 ? "#" : NR - 1), $0 }'
  read -r -p "Select an archive [1-${#rows[@]}, 0 to cancel]: " answer || answer=0
  if [[ "$answer" == 0 ]]; then log_info 'Cancelled'; exit 0; fi
  if [[ ! "$answer" =~ ^[0-9]+$ ]] || (( answer < 1 || answer > ${#rows[@]} )); then restore_fail "Not a choice: $(log_esc "$answer")"; fi
  local ts order tier name location rest
  IFS=$'\t' read -r ts order tier name location rest <<< "${rows[answer - 1]}"
  if [[ "$tier" == cloud ]]; then cloud_fetch "$name" || restore_fail "Cannot download $(log_esc "$name"): not found on the remote"
  else ARCHIVE="$location"; fi
}

# restore_target: R_ROOT, the realpath of --to (restore.md §6.1).
restore_target() {
  local root
  if ! root="$(realpath -e -- "$R_TO" 2> /dev/null)" || [[ ! -d "$root" ]]; then restore_fail "Target is not a directory: $(log_esc "$R_TO")"; fi
  R_ROOT="$root"
}

# ---------------------------------------------------------------------------------------------------
# §4: checksum, decryption, listing pass

restore_checksum() {
  local name="$1" expected actual state
  state=missing
  if [[ -e "${ARCHIVE}.sha256" ]]; then
    state=invalid
    expected="$(sidecar_hash "${ARCHIVE}.sha256" "$name")" && state=ok
  fi
  if [[ "$state" != ok ]]; then
    if [[ "$R_FORCE" == true ]]; then log_warning "Checksum file ${state}: $(log_esc "$name").sha256"; return 0; fi
    restore_fail "Checksum file ${state}: $(log_esc "$name").sha256 (use --force to restore anyway)"
  fi
  if ! actual="$(sha256_within "$VERIFICATION_TIMEOUT" "$ARCHIVE")" || [[ "$actual" != "$expected" ]]; then
    restore_fail "Checksum mismatch for $(log_esc "$name")"
  fi
  log_success 'Checksum ok'
}

restore_identities() {
  local name="$1"
  AGE_ARGS=()
  [[ "$name" == *.age ]] || return 0
  (( ${#R_IDENTITIES[@]} > 0 )) || restore_fail 'Encrypted archive: --identity is required'
  age_identities restore_fail "$name" "${R_IDENTITIES[@]}"
}

# restore_stream_error NAME STATUS ERR_BASE OUT [MORE_ERR...]: the §4.2/§4.3 error of a failed read of the
# stream (age's stderr in ERR_BASE.age, the decompressor's in ERR_BASE.dec, then any MORE_ERR file), or nothing.
restore_stream_error() {
  local name="$1" status="$2" err="$3" out="$4" reason
  shift 4
  if [[ -s "${err}.age" ]]; then
    if grep -q 'no identity matched' -- "${err}.age"; then printf 'Cannot decrypt %s: no identity matches' "$(log_esc "$name")"
    else printf 'Cannot decrypt %s: archive is damaged' "$(log_esc "$name")"; fi
    return 0
  fi
  local corrupt
  corrupt="$(printf '%s\n' "$out" | sed -n 's/^CORRUPT\t//p' | head -n 1)"
  if [[ -n "$corrupt" ]]; then printf 'Archive is corrupt: %s' "$corrupt"; return 0; fi
  (( status != 0 )) || return 0
  reason="$(cat -- "${err}.dec" "$@" 2> /dev/null | grep -v '^$' | head -n 1 || true)"
  (( status != 124 )) || reason='timed out'
  printf 'Archive is corrupt: %s' "$(log_esc "${reason:-read failed}")"
}

# restore_scan NAME: the listing pass (§4.3): R_TABLE written, R_CAT_COUNT / R_CAT_ON / R_CAT_ORDER set.
restore_scan() {
  local name="$1" out status=0 message kind cat count on
  verify_decompress_argv "$(compression_of "$name")"
  DECOMP=("${VERIFY_ARGV[@]}")
  core_has_program "${DECOMP[0]}" || restore_fail "Cannot decompress $(log_esc "$name"): ${DECOMP[0]} not found"
  R_TABLE="${RUN_DIR}/entries"
  out="$(ENGINE="$RESTORE_ENGINE" TABLE="$R_TABLE" timeout -k 5 "$EXTRACTION_TIMEOUT" bash -o pipefail -c "${STREAM_SCRIPT}
stream \"\$@\" | perl \"\${ENGINE}\" scan \"\${TABLE}\"" \
    _ "$ARCHIVE" "${RUN_DIR}/scan" "${#AGE_ARGS[@]}" "${AGE_ARGS[@]}" "${DECOMP[@]}")" || status=$?
  message="$(restore_stream_error "$name" "$status" "${RUN_DIR}/scan" "$out")"
  [[ -z "$message" ]] || restore_fail "$message"
  declare -gA R_CAT_COUNT=() R_CAT_ON=()
  R_CAT_ORDER=()
  while IFS=$'\t' read -r kind cat count on; do
    [[ "$kind" == CAT ]] || continue
    R_CAT_ORDER+=("$cat")
    R_CAT_COUNT["$cat"]="$count"
    R_CAT_ON["$cat"]="$on"
  done <<< "$out"
  R_ENTRIES="$(printf '%s\n' "$out" | sed -n 's/^ENTRIES\t//p')"
  log_info "Archive read: ${R_ENTRIES} entries"
}

# ---------------------------------------------------------------------------------------------------
# §5: categories, guards, the /etc/pve mode, product and host

restore_in_list() {
  local needle="$1" item
  shift
  for item in "$@"; do [[ "$item" != "$needle" ]] || return 0; done
  return 1
}

# restore_ask_categories: the numbered counted table and the prompt (§5.4); R_REQUESTED set.
restore_ask_categories() {
  local answer item i
  local -a names=()
  for item in "${R_CAT_ORDER[@]}"; do [[ "$item" == '(reports)' ]] || names+=("$item"); done
  restore_counted_categories | awk '{ printf "%-4s%s\n", (NR == 1 ? "#" : NR - 1), $0 }'
  read -r -p 'Categories to restore (names or numbers, comma-separated, or all): ' answer || answer=''
  if [[ "$answer" == all ]]; then R_ALL=true; return 0; fi
  local -a picked=()
  IFS=',' read -r -a picked <<< "${answer// /}"
  R_REQUESTED=()
  for item in "${picked[@]}"; do
    if [[ "$item" =~ ^[0-9]+$ ]] && (( item >= 1 && item <= ${#names[@]} )); then R_REQUESTED+=("${names[item - 1]}")
    elif [[ -n "$item" ]]; then R_REQUESTED+=("$item"); fi
  done
  (( ${#R_REQUESTED[@]} > 0 )) || { log_info 'Cancelled'; exit 0; }
}

# restore_select: R_SELECTED from --categories / --all / the prompt (§5.4).
restore_select() {
  local item valid
  if [[ "$R_ALL" != true && ${#R_REQUESTED[@]} -eq 0 ]]; then
    restore_interactive || restore_fail '--categories or --all is required when not running on a terminal'
    restore_ask_categories
  fi
  R_SELECTED=()
  if [[ "$R_ALL" == true ]]; then
    for item in "${R_CAT_ORDER[@]}"; do
      [[ "$item" != '(reports)' ]] || continue
      if [[ "$R_ROOT" == / ]] && { [[ "$item" == tool ]] || restore_in_list "$item" "${GUARDED_CATEGORIES[@]}"; }; then
        (( R_CAT_COUNT[$item] == 0 )) || log_info "Not restored by --all on /: ${item} (name it with --categories)"
        continue
      fi
      R_SELECTED+=("$item")
    done
  else
    valid="$(IFS=,; printf '%s' "${R_CAT_ORDER[*]:0:${#R_CAT_ORDER[@]}-1}")"
    for item in "${R_REQUESTED[@]}"; do
      if [[ "$item" == '(reports)' ]] || ! restore_in_list "$item" "${R_CAT_ORDER[@]}"; then
        restore_fail "Unknown category: $(log_esc "$item") (valid: ${valid})"
      fi
      restore_in_list "$item" "${R_SELECTED[@]}" && continue
      if [[ "$item" == tool && "$R_ROOT" == / ]]; then log_warning 'Skipped tool: restored only to a root other than /'; continue; fi
      (( R_CAT_COUNT[$item] > 0 )) || log_warning "Category ${item} has no entries in this archive"
      R_SELECTED+=("$item")
    done
  fi
  log_info "Categories: $(IFS=,; printf '%s' "${R_SELECTED[*]}")"
}

# restore_pmxcfs_running: ROOT/etc/pve is a fuse mount point (mountinfo field 5, type after the '-').
restore_pmxcfs_running() {
  local mountinfo="${PBK_MOUNTINFO:-/proc/self/mountinfo}" point="${R_ROOT%/}/etc/pve"
  [[ -r "$mountinfo" ]] || return 1
  awk -v p="$point" '{ for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break }
    m = $5; gsub(/\\040/, " ", m); if (m == p && (t == "fuse" || t ~ /^fuse\./)) found = 1 } END { exit !found }' "$mountinfo"
}

restore_stop_commands() {
  log_info 'Stop the cluster stack on this node first:'
  log_info '  systemctl stop pve-ha-lrm pve-ha-crm'
  log_info '  systemctl stop pve-cluster corosync'
  log_info 'Then run the same restore command again with --yes.'
}

# restore_guards (§5.5): guarded categories on / need --yes; pve-cluster and corosync need pmxcfs stopped.
restore_guards() {
  local item stop=false shown="${R_ROOT%/}/etc/pve"
  R_PMXCFS=false
  ! restore_pmxcfs_running || R_PMXCFS=true
  for item in "${R_SELECTED[@]}"; do
    restore_in_list "$item" "${GUARDED_CATEGORIES[@]}" || continue
    if [[ "$R_ROOT" == / && "$R_YES" != true ]]; then
      if [[ "$R_DRY_RUN" == true ]]; then log_warning "Dry run: category ${item} would need --yes"
      else log_error "Category ${item} needs --yes when restoring to /"; ! restore_in_list "$item" "${CLUSTER_CATEGORIES[@]}" || stop=true; fi
    fi
    if [[ "$R_PMXCFS" == true ]] && restore_in_list "$item" "${CLUSTER_CATEGORIES[@]}"; then
      if [[ "$R_DRY_RUN" == true ]]; then log_warning "Dry run: category ${item} would need pmxcfs stopped"
      else log_error "Category ${item} cannot be restored while pmxcfs is running ($(log_esc "$shown") is mounted)"; stop=true; fi
    fi
  done
  [[ "$stop" != true ]] || restore_stop_commands
  (( EXIT_CODE < 2 )) || restore_finish
}

# restore_pve_mode (§5.6): pmxcfs | blocked | plain.
restore_pve_mode() {
  if [[ "$R_PMXCFS" == true ]]; then R_PVE_MODE=pmxcfs
  elif [[ "$R_ROOT" == / || -e "${R_ROOT%/}/var/lib/pve-cluster/config.db" ]]; then R_PVE_MODE=blocked
  else R_PVE_MODE=plain; fi
}

# restore_product NAME (§5.7, on / only): the archive's type against this host's; the host in the name.
restore_product() {
  local name="$1" type host host_type=''
  [[ "$R_ROOT" == / ]] || return 0
  [[ "$name" =~ $ARCHIVE_RE ]] && type="${BASH_REMATCH[1]}" host="${BASH_REMATCH[2]}"
  [[ -d /etc/pve || -d /var/lib/pve-cluster ]] && host_type=pve
  if [[ -d /etc/proxmox-backup ]]; then host_type="${host_type:+dual}"; host_type="${host_type:-pbs}"; fi
  if [[ -n "${type:-}" && -n "$host_type" && "$host_type" != dual && ( "$type" == pve || "$type" == pbs ) && "$type" != "$host_type" ]]; then
    if [[ "$R_FORCE" == true ]]; then log_warning "Archive is a ${type} backup but this host is ${host_type}"
    else restore_fail "Archive is a ${type} backup but this host is ${host_type}; use --force to restore anyway"; fi
  fi
  if [[ -n "${host:-}" && "$host" != "$HOSTNAME" ]]; then
    log_warning "Archive was made on $(log_esc "$host"); this host is $(log_esc "$HOSTNAME")"
  fi
}

# ---------------------------------------------------------------------------------------------------
# Plan, free space, confirmation, safety backup (§4.4, §5.4, §7)

restore_record() {
  local level="$1" message="$2"
  case "$level" in
    ERROR) log_error "$message" ;; WARNING) log_warning "$message" ;; INFO) log_info "$message" ;;
    DEBUG) log_debug "$message" ;; *) log_info "$message" ;;
  esac
}

restore_plan() {
  local kind a b c d e
  R_PLAN="${RUN_DIR}/plan" R_SAFETY_LIST="${RUN_DIR}/safety.list" R_HINTS=''
  R_SPACE=()
  while IFS=$'\t' read -r kind a b c d e; do
    case "$kind" in
      LOG) restore_record "$a" "$b" ;;
      SPACE) R_SPACE+=("$a"$'\t'"$b") ;;
      SAFETY) R_SAFETY_COUNT="$a" R_SAFETY_BYTES="$b" R_SAFETY_CATS="$c" ;;
      SKIPS) R_NOT_SELECTED="$a" R_REPORTS="$b" R_OTHER="$c" R_REFUSED="$d" R_PLAN_FAILED="$e" ;;
      WRITES) R_WRITES="$a" ;;
      HINTS) R_HINTS="$a" ;;
    esac
  done < <(RESTORE_ROOT="$R_ROOT" RESTORE_SELECTED="$(IFS=,; printf '%s' "${R_SELECTED[*]}")" RESTORE_PVE_MODE="$R_PVE_MODE" \
    RESTORE_DRY_RUN="$R_DRY_RUN" RESTORE_AS_ROOT="$R_AS_ROOT" perl "$RESTORE_ENGINE" plan "$R_TABLE" "$R_PLAN" "$R_SAFETY_LIST")
  wait "$!" || restore_fail 'Cannot plan the restore'
}

# restore_space_fits DIR NEED: NEED bytes fit on DIR's filesystem (§4.4), or exit 2.
restore_space_fits() {
  local dir="$1" need="$2" free
  free="$(core_free_bytes "$dir")"
  [[ -z "$free" ]] || (( need <= free )) \
    || restore_fail "Not enough free space in $(log_esc "$dir"): need $(core_human_size "$need"), available $(core_human_size "$free")"
}

# restore_space_check: the files to write on each receiving filesystem, what they replace where the safety
# backup goes (its nearest existing directory).
restore_space_check() {
  local row dir="${BASE_DIR}/restore-safety"
  for row in "${R_SPACE[@]}"; do restore_space_fits "${row%%$'\t'*}" "${row#*$'\t'}"; done
  [[ "$R_SAFETY_ENABLED" == true ]] || return 0
  while [[ ! -d "$dir" && "$dir" != / ]]; do dir="$(dirname -- "$dir")"; done
  restore_space_fits "$dir" "$R_SAFETY_BYTES"
}

# restore_confirm: to / without --yes, the prompt on a terminal (§5.4).
restore_confirm() {
  [[ "$R_ROOT" == / && "$R_DRY_RUN" != true && "$R_YES" != true ]] || return 0
  restore_interactive || restore_fail 'Restoring to / needs --yes when not running on a terminal'
  local answer
  read -r -p "Restore ${R_WRITES} entries ($(IFS=,; printf '%s' "${R_SELECTED[*]}")) to /? [y/N]: " answer || answer=''
  if [[ "$answer" != [yY] && "$answer" != [yY][eE][sS] ]]; then log_info 'Cancelled'; exit 0; fi
}

# restore_safety_backup (§7): what will be replaced, as a gzip'd pax tar under BASE_DIR/restore-safety.
restore_safety_backup() {
  R_SAFETY_FILE=''
  if [[ "$R_SAFETY_ENABLED" != true ]]; then log_info 'Safety backup disabled by --no-safety-backup'; return 0; fi
  if (( R_SAFETY_COUNT == 0 )); then log_info 'Safety backup: not needed (nothing is replaced)'; return 0; fi
  local dir="${BASE_DIR}/restore-safety" base file n=1 sha
  if ! mkdir -p -- "$dir" 2> /dev/null || ! chmod 0700 -- "$dir"; then restore_fail "Cannot write safety backup: cannot create $(log_esc "$dir")"; fi
  base="${dir}/restore-safety-${R_TIMESTAMP}"
  file="${base}.tar.gz"
  while [[ -e "$file" ]]; do n=$(( n + 1 )); file="${base}-${n}.tar.gz"; done
  # archive.md §2's rules; mtime in whole seconds (the disk's may have nanoseconds)
  if ! ( umask 077 && set -o pipefail && tar -C "$R_ROOT" "${ARCHIVE_TAR_RULES[@]}" '--pax-option=delete=mtime' \
      -T "$R_SAFETY_LIST" -cf - 2> "${RUN_DIR}/safety.err" | gzip -n > "${file}.tmp" ); then
    rm -f -- "${file}.tmp"
    restore_fail "Cannot write safety backup: $(log_esc "$(grep -v '^$' "${RUN_DIR}/safety.err" | head -n 1 || printf 'tar failed')")"
  fi
  sha="$(sha256sum -- "${file}.tmp")" && sha="${sha%% *}"
  if ! mv -f -- "${file}.tmp" "$file" || ! archive_write_sidecar "${file}.sha256" "${sha}  ${file##*/}"$'\n'; then
    rm -f -- "${file}.tmp" "$file"
    restore_fail "Cannot write safety backup: cannot write $(log_esc "$file")"
  fi
  R_SAFETY_FILE="$file"
  log_info "Safety backup: $(log_esc "$file") (${R_SAFETY_COUNT} entries)"
}

# ---------------------------------------------------------------------------------------------------
# §6: writing, §9: report

# restore_kill_tree PID: TERM to PID's descendants first, then PID (the writer cleans up its temp file on TERM).
# Only a fallback: a process spawned while the tree is walked escapes the walk.
restore_kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2> /dev/null || true); do restore_kill_tree "$child"; done
  kill -TERM "$1" 2> /dev/null || true
}

# restore_interrupt: SIGINT/SIGTERM while writing (§6.3): stop the writer; its records still come through. The
# writer is GNU timeout, which leads its own process group: TERM to the group reaches every process of the
# pipeline at once, including one started a moment ago. Before timeout made its group, the tree walk.
restore_interrupt() {
  R_INTERRUPTED=true
  [[ -n "${R_WRITER:-}" ]] || return 0
  kill -TERM -- "-${R_WRITER}" 2> /dev/null || restore_kill_tree "$R_WRITER"
}

restore_write_record() {
  local kind a b c d
  IFS=$'\t' read -r kind a b c d <<< "$1"
  case "$kind" in
    LOG) restore_record "$a" "$b" ;;
    RESULT) R_RESULT="${a} ${b} ${c} ${d}" ;;
    ABORT) R_ABORT="Restore aborted: ${a} (${b})" ;;
    CHANGED) R_ABORT='Archive changed while restoring' ;;
    INTERRUPTED) R_ABORT='Restore interrupted' ;;
    CORRUPT) R_ABORT="Archive is corrupt: ${a}" ;;
  esac
}

# restore_write NAME: the second pass, its records read through a FIFO so that a signal reaches the writer;
# R_RESULT set ("files links dirs failed"), R_ABORT on an abort.
restore_write() {
  local name="$1" status=0 fifo="${RUN_DIR}/write.fifo"
  R_RESULT='0 0 0 0' R_ABORT='' R_INTERRUPTED=false
  mkfifo -m 0600 -- "$fifo"
  ENGINE="$RESTORE_ENGINE" TABLE="$R_TABLE" PLAN="$R_PLAN" RESTORE_ROOT="$R_ROOT" RESTORE_AS_ROOT="$R_AS_ROOT" RESTORE_PVE_MODE="$R_PVE_MODE" \
    timeout -k 5 "$EXTRACTION_TIMEOUT" bash -o pipefail -c "${STREAM_SCRIPT}
stream \"\$@\" | perl \"\${ENGINE}\" write \"\${TABLE}\" \"\${PLAN}\"" \
    _ "$ARCHIVE" "${RUN_DIR}/write" "${#AGE_ARGS[@]}" "${AGE_ARGS[@]}" "${DECOMP[@]}" > "$fifo" &
  R_WRITER=$!
  trap restore_interrupt INT TERM
  local fd line rc
  exec {fd}< "$fifo"
  while :; do
    if IFS= read -r -u "$fd" line; then restore_write_record "$line"; continue; fi
    rc=$?
    (( rc > 128 )) || break   # a signal interrupted read: the writer's last records are still to come
  done
  exec {fd}<&-
  wait "$R_WRITER" || status=$?
  trap - INT TERM
  R_WRITER=''
  if [[ "$R_INTERRUPTED" == true ]]; then R_ABORT='Restore interrupted'; fi
  if [[ -z "$R_ABORT" && $status -ne 0 ]]; then
    R_ABORT="$(restore_stream_error "$name" "$status" "${RUN_DIR}/write" '')"
    [[ -n "$R_ABORT" ]] || R_ABORT='Restore aborted: the writer failed'
  fi
  [[ -z "$R_ABORT" ]] || log_error "$R_ABORT"
}

# restore_hints: the §5.5 / §5.7 lines after writing to / (R_HINTS from the plan: what was written).
restore_hints() {
  local hints=",${R_HINTS},"
  if [[ "$R_ROOT" == / && -z "$R_ABORT" && "$R_DRY_RUN" != true ]]; then
    if [[ "$hints" == *,cluster,* ]]; then
      log_info 'Start the cluster stack again:'
      log_info '  systemctl start corosync pve-cluster'
      log_info '  systemctl start pve-ha-crm pve-ha-lrm'
    fi
    [[ "$hints" != *,network,* ]] || log_info 'Review the network files, then apply them with: ifreload -a'
    [[ "$hints" != *,pbs,* ]] || log_info 'Reload PBS: systemctl reload-or-restart proxmox-backup proxmox-backup-proxy'
    [[ "$hints" != *,systemd,* ]] || log_info 'Reload systemd: systemctl daemon-reload'
  fi
  if restore_in_list corosync "${R_SELECTED[@]}" && (( R_CAT_COUNT[corosync] > 0 )) && [[ "$hints" != *,authkey,* ]]; then
    log_info 'The archive holds no /etc/corosync/authkey; copy it from a working cluster node'
  fi
}

restore_report() {
  local name="$1" files links dirs failed skipped
  read -r files links dirs failed <<< "$R_RESULT"
  skipped=$(( R_NOT_SELECTED + R_REPORTS + R_OTHER ))
  log_info 'Restore summary:'
  log_info "Archive: $(log_esc "$name")"
  log_info "Target: $(log_esc "$R_ROOT")"
  log_info "Categories: $(IFS=,; printf '%s' "${R_SELECTED[*]}")"
  log_info "Restored: ${files} files, ${links} symlinks, ${dirs} directories"
  log_info "Skipped: ${skipped} entries (${R_NOT_SELECTED} not selected, ${R_REPORTS} reports, ${R_OTHER} other)"
  log_info "Refused: ${R_REFUSED} entries"
  log_info "Failed: $(( failed + R_PLAN_FAILED )) entries"
  if [[ -n "${R_SAFETY_FILE:-}" ]]; then
    log_info "Safety backup: $(log_esc "$R_SAFETY_FILE") (${R_SAFETY_COUNT} entries)"
    log_info "Undo: bin/switch-mode restore --archive $(log_esc "$R_SAFETY_FILE") --categories ${R_SAFETY_CATS} --to $(log_esc "$R_ROOT") --yes"
  fi
  [[ -z "${R_LOG_FILE:-}" ]] || log_info "Log file: $(log_esc "$R_LOG_FILE")"
  restore_hints
}

# restore_log_file: LOCAL_LOG_PATH/restore-<fqdn>-<ts>.log (§9), every line so far at its top.
restore_log_file() {
  R_LOG_FILE=''
  [[ "$ENABLE_LOG_MANAGEMENT" == true ]] || return 0
  local file="${LOCAL_LOG_PATH}/restore-${HOSTNAME}-${R_TIMESTAMP}.log"
  if mkdir -p -- "$LOCAL_LOG_PATH" 2> /dev/null && log_attach_file "$file" 2> /dev/null; then R_LOG_FILE="$file"
  else log_warning "Cannot create log file $(log_esc "$file"); logging to the console only"; fi
}

# ---------------------------------------------------------------------------------------------------

restore_parse() {
  R_ARCHIVE_ARG='' R_TO=/ R_ALL=false R_LIST=false R_DRY_RUN=false R_YES=false R_FORCE=false R_SAFETY_ENABLED=true
  R_REQUESTED=() R_IDENTITIES=()
  local categories='' named=false
  while (( $# > 0 )); do
    case "$1" in
      --archive | --categories | --to | --identity)
        [[ $# -ge 2 ]] || usage_error "Option $1 needs a value"
        case "$1" in --archive) R_ARCHIVE_ARG="$2" ;; --categories) categories="$2"; named=true ;;
          --to) R_TO="$2" ;; --identity) R_IDENTITIES+=("$2") ;; esac
        shift ;;
      --archive=*) R_ARCHIVE_ARG="${1#*=}" ;;
      --categories=*) categories="${1#*=}"; named=true ;;
      --to=*) R_TO="${1#*=}" ;;
      --identity=*) R_IDENTITIES+=("${1#*=}") ;;
      --all) R_ALL=true ;;
      --list-categories) R_LIST=true ;;
      --dry-run) R_DRY_RUN=true ;;
      --yes) R_YES=true ;;
      --force) R_FORCE=true ;;
      --no-safety-backup) R_SAFETY_ENABLED=false ;;
      *) usage_error "Unknown option: $(log_esc "$1")" ;;
    esac
    shift
  done
  [[ "$named" != true || "$R_ALL" != true ]] || usage_error '--categories and --all are mutually exclusive'
  [[ "$named" != true ]] || IFS=',' read -r -a R_REQUESTED <<< "$categories"
  [[ "$named" != true || ${#R_REQUESTED[@]} -gt 0 ]] || usage_error '--categories needs at least one name'
}

cmd_restore() {
  restore_parse "$@"
  R_TIMESTAMP="$(core_timestamp "$(core_now)")"
  R_AS_ROOT=false
  (( EUID != 0 )) || R_AS_ROOT=true
  detect_names
  [[ "$R_LIST" == true ]] || restore_log_file
  restore_target
  restore_pick_archive
  local name="${ARCHIVE##*/}"
  log_step "Restore from $(log_esc "$name") to $(log_esc "$R_ROOT")"
  restore_checksum "$name"
  restore_identities "$name"
  restore_scan "$name"
  if [[ "$R_LIST" == true ]]; then restore_counted_categories >&3; return 0; fi
  restore_select
  restore_product "$name"
  restore_guards
  restore_pve_mode
  if [[ "$R_ROOT" == / && "$R_DRY_RUN" != true && "$R_AS_ROOT" != true ]]; then restore_fail 'Restoring to / needs root'; fi
  [[ "$R_AS_ROOT" == true ]] || log_info 'Not running as root: owners are not restored'
  if [[ "$R_DRY_RUN" != true ]]; then orchestrator_lock || restore_finish; fi
  restore_plan
  restore_space_check
  restore_confirm
  R_RESULT='0 0 0 0' R_ABORT=''
  if [[ "$R_DRY_RUN" != true ]]; then
    restore_safety_backup
    restore_write "$name"
  fi
  restore_report "$name"
  restore_finish
}
