# shellcheck shell=bash
# shellcheck disable=SC2034 # STORAGE_* results are read by the caller
# The storage domain (storage.md): tier checks (phase 8), secondary copy, cloud upload and verification,
# retention by count or GFS, cross-tier consistency, disk usage (phase 12), and log management (phase 15).
# Stages: storage_check_tiers, storage_run, storage_logs. Needs log.sh, core.sh.

STORAGE_WAITS=(5 15)   # seconds between the three attempts of an rclone upload (§3.2)

# storage_reason TEXT: the first line of a tool's stderr, rclone's own timestamp prefix removed, in esc() form.
storage_reason() {
  local line="${1%%$'\n'*}"
  if [[ "$line" =~ ^[0-9]{4}/[0-9]{2}/[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ (.*)$ ]]; then line="${BASH_REMATCH[1]}"; fi
  if [[ "$line" =~ ^(ERROR|NOTICE|INFO)\ *:\ *(:\ *)?(.*)$ ]]; then line="${BASH_REMATCH[3]}"; fi
  log_esc "${line:-unknown error}"
}

# storage_remote DIR_KEY: "$RCLONE_REMOTE:$path" without a doubled slash.
storage_remote() {
  local path="${!1}"
  printf '%s:%s' "$RCLONE_REMOTE" "${path%/}"
}

# storage_rclone TIMEOUT ARGS...: rclone with RCLONE_FLAGS and the step's timeouts; stderr in STORAGE_ERR and, for
# callers that ran it in a command substitution (where STORAGE_ERR is lost), in storage_last_error. With
# PBK_RCLONE_RECORD_DIR set (the control of a storage shadow run) each call is recorded there for the candidate.
storage_rclone() {
  storage_rclone_within "$1" "$@"
}

# storage_rclone_within WALL TIMEOUT ARGS...: storage_rclone whose process is ended after WALL seconds (+5 to
# kill) rather than TIMEOUT: an upload (CLOUD_PARALLEL_UPLOAD_TIMEOUT) that moves data for longer than the listing
# limit; rclone's own --timeout (idle) and --contimeout still end a stalled transfer after TIMEOUT.
storage_rclone_within() {
  local wall="$1" limit="$2" err status=0
  shift 2
  local -a flags=() argv=()
  read -r -a flags <<< "${RCLONE_FLAGS:-}"
  argv=(rclone "$@" "${flags[@]}" --timeout "${limit}s" --contimeout "${limit}s")
  err="$(mktemp "${RUN_DIR}/rclone.XXXXXX")"
  if [[ -n "${PBK_RCLONE_RECORD_DIR:-}" ]]; then
    storage_rclone_record "$wall" "$err" "${argv[@]}" || status=$?
  else
    timeout -k 5 "$(( wall + 5 ))" "${argv[@]}" < /dev/null 2> "$err" || status=$?
  fi
  storage_rclone_timed_out "$status" "$err" "$(( wall + 5 ))"
  STORAGE_ERR="$(< "$err")"
  mv -f -- "$err" "${RUN_DIR}/rclone.last.err"
  return "$status"
}

# storage_rclone_timed_out STATUS ERR SECONDS: an rclone ended by timeout (124, or 137 when it needed the KILL) that
# printed nothing gets a reason in ERR (storage.md §11) rather than "unknown error".
storage_rclone_timed_out() {
  if [[ ! -s "$2" ]] && { [[ "$1" == 124 ]] || [[ "$1" == 137 ]]; }; then
    printf 'rclone did not finish within %s s\n' "$3" > "$2"
  fi
}

# storage_rclone_key_args ARGV...: the argv as a shadow recording keys it, NUL-terminated: a local path (an
# argument starting with /) as <local>/NAME, since the candidate's tiers are a scratch copy of the real ones.
storage_rclone_key_args() {
  local arg
  for arg in "$@"; do
    if [[ "$arg" == /* ]]; then printf '%s\0' "<local>/${arg##*/}"; else printf '%s\0' "$arg"; fi
  done
}

# storage_rclone_record WALL ERR ARGV...: ARGV run as storage_rclone_within runs it, its stdout, stderr and status also
# kept in PBK_RCLONE_RECORD_DIR/KEY/N/ (the layout of core_host_run's recordings, native/core/host-record.ts).
storage_rclone_record() {
  local wall="$1" err="$2" key dir n=1 status=0
  shift 2
  key="$(storage_rclone_key_args "$@" | sha256sum)"
  dir="${PBK_RCLONE_RECORD_DIR}/${key%% *}"
  mkdir -p -- "$dir" || return 70
  [[ -e "${dir}/argv" ]] || storage_rclone_key_args "$@" > "${dir}/argv"
  while [[ -e "${dir}/${n}" ]]; do n=$(( n + 1 )); done
  mkdir -m 0700 -- "${dir}/${n}" || return 70
  timeout -k 5 "$(( wall + 5 ))" "$@" < /dev/null > "${dir}/${n}/stdout" 2> "${dir}/${n}/stderr" || status=$?
  printf '%s\n' "$status" > "${dir}/${n}/status"
  cat -- "${dir}/${n}/stdout"
  cat -- "${dir}/${n}/stderr" > "$err"
  return "$status"
}

# storage_last_error: the stderr of the last storage_rclone, even one run in a command substitution.
storage_last_error() {
  cat -- "${RUN_DIR}/rclone.last.err" 2> /dev/null || true
}

# storage_defaults: what a run that stopped early (or a dry-run) has not set.
storage_defaults() {
  : "${BACKUP_FILE:=}" "${LOG_FILE:=}" "${TIER_SECONDARY:=off}" "${TIER_CLOUD:=off}"
  : "${STATUS_SECONDARY:=disabled}" "${STATUS_CLOUD:=disabled}"
}

# storage_check_tiers (phase 8): which of the secondary and cloud tiers this run uses (state TIER_*).
storage_check_tiers() {
  state_set TIER_SECONDARY off
  state_set TIER_CLOUD off
  state_set STATUS_SECONDARY disabled
  state_set STATUS_CLOUD disabled
  if [[ "$ENABLE_SECONDARY_BACKUP" == true ]]; then storage_check_secondary; fi
  if [[ "$ENABLE_CLOUD_BACKUP" == true ]]; then storage_check_cloud; fi
  return 0
}

storage_check_secondary() {
  local dir="$SECONDARY_BACKUP_PATH"
  while [[ ! -e "$dir" && "$dir" == /*/* ]]; do dir="${dir%/*}"; done
  if [[ ! -d "$dir" || ! -w "$dir" ]]; then
    log_warning "Secondary storage not writable: $(log_esc "$dir"); secondary tier disabled for this run"
    state_set STATUS_SECONDARY error
    return 0
  fi
  state_set TIER_SECONDARY on
}

storage_check_cloud() {
  if ! core_has_program rclone; then
    log_warning 'Required tool not found: rclone (ENABLE_CLOUD_BACKUP=true); cloud tier disabled for this run'
    state_set STATUS_CLOUD error
    return 0
  fi
  local remote
  remote="$(storage_remote CLOUD_BACKUP_PATH)"
  if ! storage_rclone "$CLOUD_CONNECTIVITY_TIMEOUT" lsf --max-depth 1 --dirs-only "${RCLONE_REMOTE}:" > /dev/null \
    || ! storage_rclone "$CLOUD_CONNECTIVITY_TIMEOUT" mkdir "$remote"; then
    log_warning "Cloud remote $(log_esc "$RCLONE_REMOTE") unreachable: $(storage_reason "$STORAGE_ERR"); cloud tier disabled for this run"
    state_set STATUS_CLOUD error
    return 0
  fi
  state_set TIER_CLOUD on
}

# storage_primary_status: tiers.primary.status of notify.md §2.1.
storage_primary_status() {
  if [[ "$DRY_RUN" == true || "$CHECK_ONLY" == true ]]; then printf skipped
  elif [[ "${STATUS_ARCHIVE:-2}" == 2 || "${STATUS_VERIFY:-2}" == 2 ]]; then printf error
  elif [[ "$STATUS_VERIFY" == 1 ]]; then printf warning
  else printf ok; fi
}

# storage_run (phase 12): copies, uploads, rotation, consistency, disk usage. Returns 1 on any warning.
storage_run() {
  local primary
  storage_defaults
  primary="$(storage_primary_status)"
  state_set STATUS_PRIMARY "$primary"
  STORAGE_WARNED=false
  if [[ "$primary" == ok || "$primary" == warning ]]; then
    storage_secondary_copy
    storage_cloud_upload
    log_step 'Storage: retention'
    storage_rotate_local primary "$LOCAL_BACKUP_PATH" "$MAX_LOCAL_BACKUPS" backup
    [[ "$TIER_SECONDARY" != on || "$STATUS_SECONDARY" != ok ]] \
      || storage_rotate_local secondary "$SECONDARY_BACKUP_PATH" "$MAX_SECONDARY_BACKUPS" backup
    [[ "$TIER_CLOUD" != on || "$STATUS_CLOUD" != ok ]] \
      || storage_rotate_cloud "$(storage_remote CLOUD_BACKUP_PATH)" "$MAX_CLOUD_BACKUPS" backup
    storage_consistency
  else
    storage_not_run
  fi
  storage_disk_usage
  if [[ "$SET_BACKUP_PERMISSIONS" == true && "$DRY_RUN" != true ]]; then storage_permissions; fi
  [[ "$STORAGE_WARNED" == false ]] || return 1
  return 0
}

storage_warn() {
  log_warning "$1"
  STORAGE_WARNED=true
}

# storage_not_run: dry-run or a failed primary: nothing copied, uploaded or deleted; tiers that are on: skipped.
storage_not_run() {
  local tier
  for tier in SECONDARY CLOUD; do
    local on="TIER_${tier}"
    [[ "${!on}" != on ]] || state_set "STATUS_${tier}" skipped
  done
  if [[ "$DRY_RUN" == true ]]; then
    [[ "$TIER_SECONDARY" != on ]] || log_info "Dry run: would copy the archive to secondary storage: $(log_esc "$SECONDARY_BACKUP_PATH")"
    [[ "$TIER_CLOUD" != on ]] || log_info "Dry run: would upload the archive to cloud: $(log_esc "$(storage_remote CLOUD_BACKUP_PATH)")"
    storage_rotate_local primary "$LOCAL_BACKUP_PATH" "$MAX_LOCAL_BACKUPS" backup
  fi
}

# storage_set_names: the archive and its sidecars, in copy/upload order (sidecars first, archive last).
storage_set_names() {
  local name="${BACKUP_FILE##*/}"
  printf '%s\n' "${name}.sha256" "${name}.metadata" "$name"
}

# storage_copy_file SRC DIR: DIR/<name>.tmp, fsync, rename, 0600 (§2 step 2); on failure the temp file is removed
# (a full disk left a partial <name>.tmp in the secondary log dir on every run).
storage_copy_file() {
  local src="$1" dir="$2" name="${1##*/}"
  if cp -- "$src" "${dir}/${name}.tmp" 2> "${RUN_DIR}/copy.err" \
    && chmod 0600 -- "${dir}/${name}.tmp" 2>> "${RUN_DIR}/copy.err" \
    && sync -- "${dir}/${name}.tmp" 2>> "${RUN_DIR}/copy.err" \
    && mv -f -- "${dir}/${name}.tmp" "${dir}/${name}" 2>> "${RUN_DIR}/copy.err"; then
    return 0
  fi
  rm -f -- "${dir}/${name}.tmp"
  return 1
}

storage_secondary_copy() {
  if [[ "$ENABLE_SECONDARY_BACKUP" != true ]]; then log_skip 'Secondary backup disabled'; return 0; fi
  [[ "$TIER_SECONDARY" == on ]] || return 0
  log_step 'Storage: secondary copy'
  local dir="$SECONDARY_BACKUP_PATH" name file expected actual
  name="${BACKUP_FILE##*/}"
  if ! mkdir -p -- "$dir" 2> "${RUN_DIR}/copy.err" || ! chmod 0700 -- "$dir" 2>> "${RUN_DIR}/copy.err"; then
    storage_warn "Secondary copy failed for ${name}: $(storage_reason "$(< "${RUN_DIR}/copy.err")")"
    state_set STATUS_SECONDARY error
    return 0
  fi
  while IFS= read -r file; do
    if ! storage_copy_file "${LOCAL_BACKUP_PATH}/${file}" "$dir"; then
      storage_delete_local_set "$dir" "$name" quiet
      storage_warn "Secondary copy failed for ${name}: $(storage_reason "$(< "${RUN_DIR}/copy.err")")"
      state_set STATUS_SECONDARY error
      return 0
    fi
  done < <(storage_set_names)
  expected="$(cut -d ' ' -f 1 < "${BACKUP_FILE}.sha256")"
  actual="$(sha256sum -- "${dir}/${name}" | cut -d ' ' -f 1)"
  if [[ "$expected" != "$actual" ]]; then
    storage_delete_local_set "$dir" "$name" quiet
    storage_warn "Secondary copy failed for ${name}: checksum mismatch after copy"
    state_set STATUS_SECONDARY error
    return 0
  fi
  state_set STATUS_SECONDARY ok
  log_success "Backup copied to secondary storage: $(log_esc "${dir}/${name}")"
}

# storage_upload FILE REMOTE_DIR: rclone copyto with 3 attempts (§3.2), each ended after
# CLOUD_PARALLEL_UPLOAD_TIMEOUT seconds (the listing limit ended every upload that took over 20 s, README
# "Decisions"); STORAGE_ERR holds the last error.
storage_upload() {
  local file="$1" remote="$2" attempt=0
  local -a bw=()
  [[ -z "${RCLONE_BANDWIDTH_LIMIT:-}" ]] || bw=(--bwlimit "$RCLONE_BANDWIDTH_LIMIT")
  while :; do
    if storage_rclone_within "$CLOUD_PARALLEL_UPLOAD_TIMEOUT" "$CLOUD_LIST_TIMEOUT" copyto "$file" "${remote}/${file##*/}" "${bw[@]}"; then
      return 0
    fi
    (( attempt < ${#STORAGE_WAITS[@]} )) || return 1
    sleep "${STORAGE_WAITS[$attempt]}"
    attempt=$(( attempt + 1 ))
  done
}

storage_cloud_upload() {
  if [[ "$ENABLE_CLOUD_BACKUP" != true ]]; then log_skip 'Cloud backup disabled'; return 0; fi
  [[ "$TIER_CLOUD" == on ]] || return 0
  log_step 'Storage: cloud upload'
  local remote name file bytes=0
  remote="$(storage_remote CLOUD_BACKUP_PATH)"
  name="${BACKUP_FILE##*/}"
  while IFS= read -r file; do
    if ! storage_upload "${LOCAL_BACKUP_PATH}/${file}" "$remote"; then
      storage_warn "Cloud upload failed for ${file}: $(storage_reason "$STORAGE_ERR")"
      state_set STATUS_CLOUD error
      return 0
    fi
    bytes=$(( bytes + $(stat -c %s -- "${LOCAL_BACKUP_PATH}/${file}") ))
  done < <(storage_set_names)
  state_set CLOUD_UPLOADED_BYTES "$bytes"
  log_success "Backup uploaded to cloud: ${remote}/${name}"
  storage_cloud_verify "$remote" "$name" || return 0
  state_set STATUS_CLOUD ok
}

# storage_cloud_verify REMOTE NAME (§3.3): every file listed with the local size, and the local SHA-256 when
# the backend has one.
storage_cloud_verify() {
  local remote="$1" name="$2" listing file size hash local_hash
  if [[ "$SKIP_CLOUD_VERIFICATION" == true ]]; then log_skip 'Cloud verification skipped'; return 0; fi
  if ! listing="$(storage_rclone "$CLOUD_LIST_TIMEOUT" lsjson --files-only --hash "$remote" --include "${name}*")"; then
    storage_cloud_verify_failed "$remote" "$name" "$(storage_reason "$(storage_last_error)")"
    return 1
  fi
  local by_size=false
  while IFS= read -r file; do
    size="$(perl -MJSON::PP -e 'my $l = decode_json(join "", <STDIN>); for (@$l) { print $_->{Size} if $_->{Name} eq $ARGV[0] }' -- "$file" <<< "$listing")"
    hash="$(perl -MJSON::PP -e 'my $l = decode_json(join "", <STDIN>); for (@$l) { print lc($_->{Hashes}{sha256} // "") if $_->{Name} eq $ARGV[0] }' -- "$file" <<< "$listing")"
    if [[ "$size" != "$(stat -c %s -- "${LOCAL_BACKUP_PATH}/${file}")" ]]; then
      storage_cloud_verify_failed "$remote" "$name" "${file} listed with size ${size:-none}"
      return 1
    fi
    if [[ -z "$hash" ]]; then by_size=true; continue; fi
    local_hash="$(sha256sum -- "${LOCAL_BACKUP_PATH}/${file}" | cut -d ' ' -f 1)"
    if [[ "$hash" != "$local_hash" ]]; then
      storage_cloud_verify_failed "$remote" "$name" "${file} has a different SHA-256"
      return 1
    fi
  done < <(storage_set_names)
  [[ "$by_size" == false ]] || log_info 'Cloud backend has no SHA-256; verified by size'
  log_success 'Cloud upload verified (3 files)'
}

storage_cloud_verify_failed() {
  storage_warn "Cloud verification failed for $2: $3"
  storage_rclone "$CLOUD_LIST_TIMEOUT" delete "$1" --include "$2*" || true
  state_set STATUS_CLOUD error
}

# storage_candidates KIND: stdin names → "timestamp name" of this host's archives (KIND backup) or logs (KIND
# log), newest first; equal timestamps by name, descending (§4 steps 1-2).
storage_candidates() {
  local kind="$1" name prefix="${PROXMOX_TYPE}-backup-${HOSTNAME}-" ts re
  if [[ "$kind" == backup ]]; then re='^([0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2})\.tar(\.[a-z0-9]+)?(\.age)?$'
  else re='^([0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2})\.log$'; fi
  while IFS= read -r name; do
    [[ "$name" == "$prefix"* ]] || continue
    ts="${name#"$prefix"}"
    [[ "$ts" =~ $re ]] || continue
    ts="${BASH_REMATCH[1]}"
    # the sidecars of an uncompressed .tar fit (\.[a-z0-9]+)? but are parts of a set, not backups
    [[ "$kind" != backup || ! "$name" =~ \.tar\.(sha256|metadata)$ ]] || continue
    printf '%s %s\n' "$ts" "$name"
  done | LC_ALL=C sort -r
}

# storage_gfs_keep: stdin "timestamp name" newest first → the names GFS keeps (§5), with a DEBUG line each.
storage_gfs_keep() {
  local -a stamps=() names=() buckets=()
  local ts name day week month year i rule n kept last
  while read -r ts name; do
    day="${ts%%_*}"
    # A calendar day, read in UTC: in a zone whose DST starts at midnight (America/Santiago) local 00:00 of that
    # day does not exist and `date -d DAY` fails. A day that does not exist at all has no week ('').
    week="$(date -u -d "${day}" '+%G-W%V' 2> /dev/null)" || week=''
    month="${day%-*}"
    year="${day%%-*}"
    stamps+=("$ts"); names+=("$name"); buckets+=("${day} ${week} ${month} ${year}")
  done
  local -A reasons=()
  local -a rules=(daily weekly monthly yearly) counts=("$RETENTION_DAILY" "$RETENTION_WEEKLY" "$RETENTION_MONTHLY" "$RETENTION_YEARLY")
  for rule in 0 1 2 3; do
    n="${counts[$rule]}"
    (( n > 0 )) || continue
    kept=0 last=''
    for i in "${!names[@]}"; do
      (( kept < n )) || break
      local -a parts
      read -r -a parts <<< "${buckets[$i]}"
      [[ "${parts[$rule]}" != "$last" ]] || continue
      last="${parts[$rule]}"
      kept=$(( kept + 1 ))
      reasons[${names[$i]}]+="${reasons[${names[$i]}]:+, }${rules[$rule]}"
    done
  done
  for name in "${names[@]}"; do
    [[ -n "${reasons[$name]:-}" ]] || continue
    log_debug "Keep ${name}: ${reasons[$name]}"
    printf '%s\n' "$name"
  done
}

storage_gfs_on() {
  (( RETENTION_DAILY > 0 || RETENTION_WEEKLY > 0 || RETENTION_MONTHLY > 0 || RETENTION_YEARLY > 0 ))
}

# storage_deletions KIND MAX CURRENT: stdin names → the names to delete, oldest last; CURRENT never.
storage_deletions() {
  local kind="$1" max="$2" current="$3" candidates name ts i=0
  candidates="$(storage_candidates "$kind")"
  [[ -n "$candidates" ]] || return 0
  if [[ "$kind" == backup ]] && storage_gfs_on; then
    local keep
    keep="$(storage_gfs_keep <<< "$candidates")"
    while read -r ts name; do
      [[ "$name" == "$current" ]] || grep -qxF -- "$name" <<< "$keep" || printf '%s\n' "$name"
    done <<< "$candidates"
    return 0
  fi
  (( max > 0 )) || return 0
  while read -r ts name; do
    i=$(( i + 1 ))
    (( i > max )) && [[ "$name" != "$current" ]] && printf '%s\n' "$name"
  done <<< "$candidates"
  return 0
}

# storage_verified_only TIER CURRENT LISTING: sets STORAGE_LISTING to LISTING (names of a tier) without this host's
# archives whose .sha256 is not beside them (decision 22, §4 step 1): retention neither counts, keeps nor deletes
# such a set, and each gets one WARNING per run. CURRENT (the archive this run made) is never held back. Not run in
# a command substitution: the WARNINGs must raise this process's exit code.
storage_verified_only() {
  local tier="$1" current="$2" listing="$3" ts name
  local -A unverified=() present=()
  while IFS= read -r name; do [[ -z "$name" ]] || present[$name]=1; done <<< "$listing"
  while read -r ts name; do
    # an uncompressed set's sidecars (.tar.sha256, .tar.metadata) match the candidate pattern: they are no archive
    [[ "$name" != *.sha256 && "$name" != *.metadata ]] || continue
    [[ -n "$name" && "$name" != "$current" && -z "${present[${name}.sha256]:-}" ]] || continue
    unverified[$name]=1
    storage_warn "Unverified backup ${name} in ${tier} (no checksum): not counted by retention"
  done < <(storage_candidates backup <<< "$listing")
  STORAGE_LISTING=''
  while IFS= read -r name; do
    [[ -n "$name" && -z "${unverified[$name]:-}" ]] && STORAGE_LISTING+="${name}"$'\n'
  done <<< "$listing"
  return 0
}

# storage_rotation_header TIER COUNT MAX KIND
storage_rotation_header() {
  if [[ "$4" == backup ]] && storage_gfs_on; then
    log_info "Rotation $1: GFS d=${RETENTION_DAILY} w=${RETENTION_WEEKLY} m=${RETENTION_MONTHLY} y=${RETENTION_YEARLY}"
  elif [[ "$4" == backup ]]; then
    log_info "Rotation $1: $2 backups, keeping $3"
  else
    log_info "Rotation $1: $2 logs, keeping $3"
  fi
}

# storage_delete_local_set DIR NAME [quiet]: archive first, then its sidecars (and a log's .jsonl twin).
storage_delete_local_set() {
  local dir="$1" name="$2" part
  for part in "$name" "${name}.sha256" "${name}.metadata" "${name}.jsonl"; do
    if [[ -e "${dir}/${part}" || -L "${dir}/${part}" ]] && ! rm -f -- "${dir}/${part}" 2> "${RUN_DIR}/rm.err"; then
      [[ "${3:-}" == quiet ]] || storage_warn "Deletion failed for ${part}: $(storage_reason "$(< "${RUN_DIR}/rm.err")")"
      return 1
    fi
  done
  [[ "${3:-}" == quiet ]] || log_info "Deleted ${name}"
}

# storage_rotate_local TIER DIR MAX KIND (§4, §5; KIND backup or log): sets <TIER>_BACKUP_COUNT and _DELETED.
storage_rotate_local() {
  local tier="$1" dir="$2" max="$3" kind="$4" listing deletions name count deleted=0 current='' upper="${1^^}"
  if [[ "$kind" == backup ]]; then current="${BACKUP_FILE##*/}"; else current="${LOG_FILE##*/}"; fi
  listing="$(find "$dir" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' 2> /dev/null)" || true
  if [[ "$DRY_RUN" == true && "$kind" == backup ]]; then
    # The archive this run would make counts as the newest: the lines say what a real run would delete.
    current="${PROXMOX_TYPE}-backup-${HOSTNAME}-${RUN_TIMESTAMP}.tar"
    listing+=$'\n'"$current"
  fi
  if [[ "$kind" == backup ]]; then storage_verified_only "$tier" "$current" "$listing"; listing="$STORAGE_LISTING"; fi
  count="$(storage_candidates "$kind" <<< "$listing" | wc -l)"
  storage_rotation_header "$tier" "$count" "$max" "$kind"
  deletions="$(storage_deletions "$kind" "$max" "$current" <<< "$listing")"
  while IFS= read -r name; do
    [[ -n "$name" ]] || continue
    if [[ "$DRY_RUN" == true ]]; then log_info "Dry run: would delete ${name}"; continue; fi
    storage_delete_local_set "$dir" "$name" && deleted=$(( deleted + 1 ))
  done <<< "$deletions"
  [[ "$DRY_RUN" != true ]] || return 0
  if [[ "$kind" == backup ]]; then
    storage_remove_orphans "$dir"
    state_set "${upper}_BACKUP_COUNT" "$(( count - deleted ))"
    state_set "${upper}_BACKUPS_DELETED" "$deleted"
  else
    state_set "${upper}_LOG_COUNT" "$(( count - deleted ))"
  fi
}

# storage_remove_orphans DIR (§4 step 6): sidecars of this host without their archive, older than the oldest kept.
storage_remove_orphans() {
  local dir="$1" oldest file base ts prefix="${PROXMOX_TYPE}-backup-${HOSTNAME}-"
  oldest="$(find "$dir" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' | storage_candidates backup | tail -n 1 | cut -d ' ' -f 1)"
  [[ -n "$oldest" ]] || return 0
  while IFS= read -r file; do
    base="${file%.sha256}"
    base="${base%.metadata}"
    [[ ! -e "${dir}/${base}" ]] || continue
    ts="${base#"$prefix"}"
    ts="${ts%%.*}"
    [[ "$ts" < "$oldest" ]] || continue
    rm -f -- "${dir}/${file}" && log_info "Removed orphaned ${file}"
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -type f \( -name "${prefix}*.sha256" -o -name "${prefix}*.metadata" \) -printf '%f\n' | LC_ALL=C sort)
}

# storage_rotate_cloud REMOTE MAX KIND (§4 step 7, §9): like storage_rotate_local, one rclone delete per 50 sets.
storage_rotate_cloud() {
  local remote="$1" max="$2" kind="$3" listing deletions name count deleted=0 current
  local -a includes=() batch=()
  if [[ "$kind" == backup ]]; then current="${BACKUP_FILE##*/}"; else current="${LOG_FILE##*/}"; fi
  if ! listing="$(storage_rclone "$CLOUD_LIST_TIMEOUT" lsf --files-only "$remote")"; then
    storage_warn "Cloud listing failed: $(storage_reason "$(storage_last_error)")"
    return 0
  fi
  if [[ "$kind" == backup ]]; then storage_verified_only cloud "$current" "$listing"; listing="$STORAGE_LISTING"; fi
  count="$(storage_candidates "$kind" <<< "$listing" | wc -l)"
  storage_rotation_header cloud "$count" "$max" "$kind"
  deletions="$(storage_deletions "$kind" "$max" "$current" <<< "$listing")"
  while IFS= read -r name; do
    [[ -n "$name" ]] || continue
    includes+=(--include "${name}*")
    batch+=("$name")
    if (( ${#batch[@]} == 50 )); then
      storage_cloud_delete "$remote" includes batch
      deleted=$(( deleted + STORAGE_DELETED )); includes=(); batch=()
    fi
  done <<< "$deletions"
  if (( ${#batch[@]} > 0 )); then storage_cloud_delete "$remote" includes batch; deleted=$(( deleted + STORAGE_DELETED )); fi
  if [[ "$kind" == backup ]]; then
    state_set CLOUD_BACKUP_COUNT "$(( count - deleted ))"
    state_set CLOUD_BACKUPS_DELETED "$deleted"
  else
    state_set CLOUD_LOG_COUNT "$(( count - deleted ))"
  fi
}

storage_cloud_delete() {
  local remote="$1" name
  # shellcheck disable=SC2178 # namerefs to the caller's arrays
  local -n inc="$2" names="$3"
  STORAGE_DELETED=0
  if storage_rclone "$CLOUD_LIST_TIMEOUT" delete "$remote" "${inc[@]}"; then
    for name in "${names[@]}"; do log_info "Deleted ${name}"; done
    STORAGE_DELETED="${#names[@]}"
  else
    for name in "${names[@]}"; do storage_warn "Deletion failed for ${name}: $(storage_reason "$STORAGE_ERR")"; done
  fi
}

# storage_consistency (§6): the .sha256 of every tier that received this set equals the primary's.
storage_consistency() {
  local name="${BACKUP_FILE##*/}" primary tiers=1 remote copy
  primary="$(< "${BACKUP_FILE}.sha256")"
  if [[ "$STATUS_SECONDARY" == ok ]]; then
    copy="$(cat -- "${SECONDARY_BACKUP_PATH}/${name}.sha256" 2> /dev/null || true)"
    if [[ "$copy" != "$primary" ]] || [[ "$(sha256sum -- "${SECONDARY_BACKUP_PATH}/${name}" 2> /dev/null | cut -d ' ' -f 1)" != "${primary%% *}" ]]; then
      storage_warn "Checksum mismatch between primary and secondary for ${name}"
    fi
    tiers=$(( tiers + 1 ))
  fi
  if [[ "$STATUS_CLOUD" == ok ]]; then
    remote="$(storage_remote CLOUD_BACKUP_PATH)"
    copy="$(storage_rclone "$CONSISTENCY_TIMEOUT" cat "${remote}/${name}.sha256" || true)"
    [[ "$copy" == "$primary" ]] || storage_warn "Checksum mismatch between primary and cloud for ${name}"
    tiers=$(( tiers + 1 ))
  fi
  [[ "$STORAGE_WARNED" == true ]] || log_success "Backup consistent across ${tiers} tier(s)"
}

# storage_use_percent DIR: Use% as df computes it (§7).
storage_use_percent() {
  local blocks bfree bavail used
  read -r blocks bfree bavail < <(stat -f -c '%b %f %a' -- "$1") || return 1
  used=$(( blocks - bfree ))
  (( used + bavail > 0 )) || { printf 0; return 0; }
  printf '%d' $(( (100 * used + used + bavail - 1) / (used + bavail) ))
}

storage_disk_usage() {
  local p
  if [[ -d "$LOCAL_BACKUP_PATH" ]] && p="$(storage_use_percent "$LOCAL_BACKUP_PATH")" && (( p > STORAGE_WARNING_THRESHOLD_PRIMARY )); then
    storage_warn "Primary storage usage at ${p}% (threshold ${STORAGE_WARNING_THRESHOLD_PRIMARY}%)"
  fi
  if [[ "$TIER_SECONDARY" == on && -d "$SECONDARY_BACKUP_PATH" ]] && p="$(storage_use_percent "$SECONDARY_BACKUP_PATH")" \
    && (( p > STORAGE_WARNING_THRESHOLD_SECONDARY )); then
    storage_warn "Secondary storage usage at ${p}% (threshold ${STORAGE_WARNING_THRESHOLD_SECONDARY}%)"
  fi
}

# storage_permissions (§8, security.md §7.3 R2): this host's files in the backup and log dirs of the primary and
# secondary tiers get BACKUP_USER:BACKUP_GROUP, archives 0600, sidecars and logs 0640, the dirs 0750 — unless a
# dir is a protected system directory. Never recursive, never through a symlink. Owners only as root.
STORAGE_PROTECTED=(/ /bin /boot /dev /etc /home /lib /lib64 /media /mnt /mnt/pve /opt /proc /root /run /sbin /srv
  /sys /tmp /usr /var /var/backups /var/lib /var/lib/vz /var/lib/vz/dump /var/log /var/tmp)

storage_permissions() {
  if ! getent passwd "$BACKUP_USER" > /dev/null 2>&1 || ! getent group "$BACKUP_GROUP" > /dev/null 2>&1; then
    storage_warn "Backup user $(log_esc "$BACKUP_USER") or group $(log_esc "$BACKUP_GROUP") not found; permissions unchanged"
    return 0
  fi
  local dir
  storage_backup_owner
  local -a dirs=("$LOCAL_BACKUP_PATH" "$LOCAL_LOG_PATH")
  [[ "$TIER_SECONDARY" != on ]] || dirs+=("$SECONDARY_BACKUP_PATH" "$SECONDARY_LOG_PATH")
  for dir in "${dirs[@]}"; do
    [[ -d "$dir" && ! -L "$dir" ]] || continue
    storage_permissions_dir "$dir" "$PROXMOX_TYPE"
  done
}

# storage_backup_owner [quiet]: PERM_OWNER, the uid:gid of BACKUP_USER:BACKUP_GROUP, or empty when not root (F3).
storage_backup_owner() {
  PERM_OWNER=''
  if [[ "$EUID" -ne 0 ]]; then
    [[ "${1:-}" == quiet ]] || log_info 'Not running as root: ownership left unchanged'
    return 0
  fi
  PERM_OWNER="$(id -u -- "$BACKUP_USER"):$(getent group "$BACKUP_GROUP" | cut -d: -f3)"
}

# storage_permissions_dir DIR TYPE...: R2 on one directory: itself unless protected (F4), then this host's files;
# a change the filesystem does not support ends the directory (F5).
storage_permissions_dir() {
  local dir="$1"
  shift
  if storage_is_protected "$dir"; then log_info "Protected system directory left unchanged: $(log_esc "$dir")"
  else storage_set_mode "$dir" 750 "$PERM_OWNER" "$dir" || return 0; fi
  local type
  for type in "$@"; do storage_permissions_in "$dir" "$type" || return 0; done
}

storage_is_protected() {
  local real protected
  real="$(readlink -f -- "$1")"
  for protected in "${STORAGE_PROTECTED[@]}"; do [[ "$real" != "$protected" ]] || return 0; done
  return 1
}

# storage_permissions_in DIR TYPE: the files of this host (of that type) directly in DIR; status 3 after F5.
storage_permissions_in() {
  local dir="$1" type="$2" name mode
  while IFS= read -r -d '' name; do
    mode="$(storage_r2_mode "$name" "${type}-backup-${HOSTNAME}-")"
    [[ -n "$mode" ]] || continue
    storage_set_mode "${dir}/${name}" "$mode" "$PERM_OWNER" "$dir" || return 3
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -type f -name "${type}-backup-${HOSTNAME}-*" -printf '%f\0')
}

# storage_r2_mode NAME PREFIX: the mode R2 wants for NAME (security.md §7.3): 600 for an archive
# (PREFIX<ts>.tar[.<ext>][.age]), 640 for its .sha256/.metadata and for PREFIX<ts>.log/.json/.log.json/.log.jsonl;
# nothing for any other name (a .tmp, an unparsable name), which R2 leaves alone.
storage_r2_mode() {
  local rest archive='\.tar(\.[a-z0-9]+)?(\.age)?'
  [[ "$1" == "$2"* ]] || return 0
  rest="${1#"$2"}"
  [[ "$rest" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}(.*)$ ]] || return 0
  rest="${BASH_REMATCH[1]}"
  if [[ "$rest" =~ ^${archive}\.(sha256|metadata)$ || "$rest" =~ ^\.(log|json|log\.json|log\.jsonl)$ ]]; then printf 640
  elif [[ "$rest" =~ ^${archive}$ ]]; then printf 600; fi
}

# storage_set_mode PATH MODE OWNER [DIR]: what differs, changed and logged (security.md F1/F2); OWNER uid:gid or
# empty (left as is). Regular files and directories only (lstat), so a symlink is never followed. With
# PERM_DRY_RUN=true only `Dry run: would change …`. PERM_CHANGES and PERM_PROBLEMS count. The mode is given with
# two leading zeros: GNU chmod keeps a directory's setuid/setgid bits for a shorter numeric mode, so a 2775 backup
# dir stayed 2750 and was "changed" again on every run. With DIR (R2, security.md §7.3), a change the filesystem
# refuses (EPERM, EINVAL, EOPNOTSUPP, EROFS: vfat, CIFS, root-squashed NFS, read-only) is F5 and status 3: the
# caller leaves DIR alone from there.
storage_set_mode() {
  local path="$1" current uid gid
  read -r current uid gid < <(stat -c '%a %u %g' -- "$path") || return 0
  [[ -f "$path" || -d "$path" ]] && [[ ! -L "$path" ]] || return 0
  storage_apply_mode "$path" "$2" "$3" "${4:-}" "$current" "$uid" "$gid"
}

# storage_apply_mode PATH MODE OWNER DIR CURRENT UID GID: storage_set_mode for a regular file or directory whose
# mode and owner the caller read already (one `find -printf` pass for a whole tree: no process per entry).
storage_apply_mode() {
  local path="$1" mode="$2" owner="$3" dir="$4" current="$5" uid="$6" gid="$7" reason err="${PERM_ERR:-${RUN_DIR}/chown.err}"
  if [[ -n "$owner" && "$uid:$gid" != "$owner" ]]; then
    if [[ "${PERM_DRY_RUN:-false}" == true ]]; then
      log_info "Dry run: would change owner of $(log_esc "$path"): ${uid}:${gid} -> ${owner}"
      PERM_CHANGES=$(( ${PERM_CHANGES:-0} + 1 ))
    elif LC_ALL=C chown -h -- "$owner" "$path" 2> "$err"; then
      log_info "Changed owner of $(log_esc "$path"): ${uid}:${gid} -> ${owner}"
      PERM_CHANGES=$(( ${PERM_CHANGES:-0} + 1 ))
    else
      reason="$(storage_perm_reason "$err")"
      storage_perm_unsupported "$dir" "$reason" || return 3
      storage_warn "Cannot change owner of $(log_esc "$path"): ${reason}"
      PERM_PROBLEMS=$(( ${PERM_PROBLEMS:-0} + 1 ))
    fi
  fi
  [[ "$current" != "$mode" ]] || return 0
  local old new
  old="$(printf '%04o' "0${current}")" new="$(printf '%04o' "0${mode}")"
  if [[ "${PERM_DRY_RUN:-false}" == true ]]; then
    log_info "Dry run: would change mode of $(log_esc "$path"): ${old} -> ${new}"
    PERM_CHANGES=$(( ${PERM_CHANGES:-0} + 1 ))
  elif LC_ALL=C chmod "00${mode}" -- "$path" 2> "$err"; then
    log_info "Changed mode of $(log_esc "$path"): ${old} -> ${new}"
    PERM_CHANGES=$(( ${PERM_CHANGES:-0} + 1 ))
  else
    reason="$(storage_perm_reason "$err")"
    storage_perm_unsupported "$dir" "$reason" || return 3
    storage_warn "Cannot change mode of $(log_esc "$path"): ${reason}"
    PERM_PROBLEMS=$(( ${PERM_PROBLEMS:-0} + 1 ))
  fi
}

# storage_perm_reason FILE: the strerror text that ends chown's or chmod's first line of stderr
# (`chmod: changing permissions of '<path>': Read-only file system`), esc()-ed.
storage_perm_reason() {
  local line=''
  IFS= read -r line < "$1" || true
  line="${line##*: }"
  log_esc "${line:-unknown error}"
}

# storage_perm_unsupported DIR REASON: status 1 (after F5) when DIR is set and REASON is one of the errors that
# say the filesystem does not take owners or modes (security.md §7.3).
storage_perm_unsupported() {
  [[ -n "$1" ]] || return 0
  case "$2" in
    'Operation not permitted' | 'Invalid argument' | 'Operation not supported' | 'Read-only file system')
      log_info "Ownership not supported on $(log_esc "$1"); left unchanged"
      return 1 ;;
  esac
  return 0
}

# storage_logs (phase 15): this run's log to the secondary and cloud tiers, then log rotation per tier.
storage_logs() {
  STORAGE_WARNED=false
  storage_defaults
  state_set LOG_PRIMARY "$([[ -n "${LOG_FILE:-}" ]] && printf ok || printf disabled)"
  state_set LOG_SECONDARY "$([[ "$TIER_SECONDARY" == on ]] && printf skipped || printf disabled)"
  state_set LOG_CLOUD "$([[ "$TIER_CLOUD" == on ]] && printf skipped || printf disabled)"
  [[ -n "${LOG_FILE:-}" && "$DRY_RUN" != true ]] || return 0
  log_step 'Log management'
  local name="${LOG_FILE##*/}" remote
  if [[ "$TIER_SECONDARY" == on ]]; then
    if mkdir -p -- "$SECONDARY_LOG_PATH" 2> "${RUN_DIR}/copy.err" && storage_copy_file "$LOG_FILE" "$SECONDARY_LOG_PATH"; then
      state_set LOG_SECONDARY ok
      storage_rotate_local secondary "$SECONDARY_LOG_PATH" "$MAX_SECONDARY_LOGS" log
      if [[ "$SET_BACKUP_PERMISSIONS" == true ]] && getent passwd "$BACKUP_USER" > /dev/null 2>&1 \
        && getent group "$BACKUP_GROUP" > /dev/null 2>&1; then   # the copy made after the permission step
        storage_backup_owner quiet
        storage_permissions_in "$SECONDARY_LOG_PATH" "$PROXMOX_TYPE" || :
      fi
    else
      storage_warn "Secondary log copy failed for ${name}: $(storage_reason "$(< "${RUN_DIR}/copy.err")")"
      state_set LOG_SECONDARY error
    fi
  fi
  if [[ "$TIER_CLOUD" == on ]]; then
    remote="$(storage_remote CLOUD_LOG_PATH)"
    if storage_upload "$LOG_FILE" "$remote"; then
      state_set LOG_CLOUD ok
      storage_rotate_cloud "$remote" "$MAX_CLOUD_LOGS" log
    else
      storage_warn "Cloud log upload failed for ${name}: $(storage_reason "$STORAGE_ERR")"
      state_set LOG_CLOUD error
    fi
  fi
  storage_rotate_local primary "$LOCAL_LOG_PATH" "$MAX_LOCAL_LOGS" log
  [[ "$STORAGE_WARNED" == false ]] || return 1
}
