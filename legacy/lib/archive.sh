# shellcheck shell=bash
# Archive (archive.md §1-5, §7): compressor choice and fallback, sorted pax tar of the staging tree,
# compression (and age encryption), temp name + rename, .sha256 and .metadata sidecars. Needs core.sh.

# archive_threads: COMPRESSION_THREADS, 0 = online CPUs, capped at 64 (archive.md §3.2).
archive_threads() {
  local t="${COMPRESSION_THREADS:-0}"
  (( t > 0 )) || t="$(nproc 2> /dev/null || printf 1)"
  (( t <= 64 )) || t=64
  printf '%s' "$t"
}

# archive_level TYPE MODE: the effective level (archive.md §3.1); ARCHIVE_EXTREME/ARCHIVE_ULTRA as flags.
archive_level() {
  local type="$1" mode="$2"
  ARCHIVE_EXTREME=false ARCHIVE_ULTRA=false
  case "$type" in none) ARCHIVE_LEVEL=''; return 0 ;; esac
  case "$mode" in
    fast) ARCHIVE_LEVEL=1 ;;
    standard) ARCHIVE_LEVEL="$COMPRESSION_LEVEL" ;;
    maximum | ultra)
      ARCHIVE_LEVEL=9
      case "$type" in
        xz | lzma) ARCHIVE_EXTREME=true ;;
        zstd) ARCHIVE_LEVEL=19; [[ "$mode" == ultra ]] && { ARCHIVE_LEVEL=22; ARCHIVE_ULTRA=true; } ;;
      esac
      ;;
  esac
}

# archive_needed_program TYPE: the program the Bash side needs for TYPE.
archive_needed_program() {
  case "$1" in
    xz) printf xz ;;
    zstd) printf zstd ;;
    gzip) printf gzip ;;
    pigz) printf pigz ;;
    bzip2) printf bzip2 ;;
    lzma) if core_has_program xz; then printf xz; else printf lzma; fi ;;
    none) printf '' ;;
  esac
}

# backup_select_compressor (phase 8): COMPRESSION_EFFECTIVE after the gzip fallback (archive.md §3.3).
backup_select_compressor() {
  local type="$COMPRESSION_TYPE" program
  program="$(archive_needed_program "$type")"
  if [[ -n "$program" ]] && ! core_has_program "$program"; then
    log_warning "Compression tool '${program}' not found, falling back to gzip"
    type=gzip
    if ! core_has_program gzip; then
      log_error 'No compression tools available (even gzip is missing)'
      return 2
    fi
  fi
  state_set COMPRESSION_EFFECTIVE "$type"
  return 0
}

# archive_extension TYPE
archive_extension() {
  case "$1" in
    xz) printf '.xz' ;; zstd) printf '.zst' ;; gzip | pigz) printf '.gz' ;; bzip2) printf '.bz2' ;;
    lzma) printf '.lzma' ;; none) printf '' ;;
  esac
}

# archive_compressor_argv TYPE: ARCHIVE_ARGV, the compressor command line (archive.md §3.2).
archive_compressor_argv() {
  local type="$1" t
  t="$(archive_threads)"
  archive_level "$type" "$COMPRESSION_MODE"
  # A fallback to gzip caps the level at 9 (archive.md §3.3).
  if [[ "$type" != "$COMPRESSION_TYPE" ]] && (( ARCHIVE_LEVEL > 9 )); then ARCHIVE_LEVEL=9; fi
  case "$type" in
    xz) ARCHIVE_ARGV=(xz "-${ARCHIVE_LEVEL}" "-T${t}" -c); [[ "$ARCHIVE_EXTREME" != true ]] || ARCHIVE_ARGV+=(--extreme) ;;
    zstd)
      if [[ "$ARCHIVE_ULTRA" == true ]]; then ARCHIVE_ARGV=(zstd --ultra -22 --long=27 "-T${t}" -c -q)
      else ARCHIVE_ARGV=(zstd "-${ARCHIVE_LEVEL}" "-T${t}" -c -q); fi ;;
    gzip) ARCHIVE_ARGV=(gzip "-${ARCHIVE_LEVEL}" -n -c) ;;
    pigz) ARCHIVE_ARGV=(pigz "-${ARCHIVE_LEVEL}" -n "-p${t}" -c) ;;
    bzip2)
      if core_has_program pbzip2 && (( t > 1 )); then ARCHIVE_ARGV=(pbzip2 "-${ARCHIVE_LEVEL}" "-p${t}" -c)
      else ARCHIVE_ARGV=(bzip2 "-${ARCHIVE_LEVEL}" -c); fi ;;
    lzma)
      if core_has_program xz; then
        ARCHIVE_ARGV=(xz --format=lzma "-${ARCHIVE_LEVEL}" -c)
        [[ "$ARCHIVE_EXTREME" != true ]] || ARCHIVE_ARGV+=(--extreme)
      else
        local flag="-${ARCHIVE_LEVEL}"
        [[ "$ARCHIVE_EXTREME" != true ]] || flag+=e
        ARCHIVE_ARGV=(lzma "$flag" -c)
      fi ;;
    none) ARCHIVE_ARGV=(cat) ;;
  esac
}

# archive_encryptor_argv: age to every recipient of AGE_RECIPIENTS and AGE_RECIPIENT_FILE (archive.md §3.4).
archive_encryptor_argv() {
  local recipient
  ARCHIVE_AGE=(age)
  while IFS= read -r recipient; do
    if [[ -n "$recipient" ]]; then ARCHIVE_AGE+=(-r "$recipient"); fi
  done <<< "${AGE_RECIPIENTS:-}"
  [[ -z "${AGE_RECIPIENT_FILE:-}" ]] || ARCHIVE_AGE+=(-R "$AGE_RECIPIENT_FILE")
}

# archive_ratio ARCHIVE UNCOMPRESSED: (1 - A/U) x 100, half-up to 2 decimals, or Unknown (archive.md §7).
archive_ratio() {
  local a="$1" u="$2" num den q sign=''
  if (( u == 0 )); then printf 'Unknown'; return 0; fi
  num=$(( 2 * (u - a) * 10000 + u ))
  den=$(( 2 * u ))
  q=$(( num / den ))
  (( num % den == 0 || num >= 0 )) || q=$(( q - 1 ))   # floor division for negatives
  if (( q < 0 )); then sign='-'; q=$(( -q )); fi
  printf '%s%d.%02d%%' "$sign" $(( q / 100 )) $(( q % 100 ))
}

# archive_prechecks: LOCAL_BACKUP_PATH creatable and writable (ERROR), 1 GiB free (WARNING).
archive_prechecks() {
  local dir="$LOCAL_BACKUP_PATH" free_kb
  if ! mkdir -p -- "$dir" 2> /dev/null || [[ ! -w "$dir" ]]; then
    log_error "Backup directory not writable: $(log_esc "$dir")"
    return 2
  fi
  free_kb="$(core_free_bytes "$dir")"
  [[ -z "$free_kb" ]] || free_kb=$(( free_kb / 1024 ))
  if [[ "$free_kb" =~ ^[0-9]+$ ]] && (( free_kb < 1048576 )); then
    log_warning "Low disk space available in backup directory: $(( free_kb / 1024 ))MB"
  fi
  return 0
}

# archive_failure_line PROGRAM ERR_FILE: PROGRAM's first stderr line, prefixed with its name unless the
# program already did (`cat: write error: …`), or its exit when it said nothing.
archive_failure_line() {
  local program="$1" first
  first="$(head -n 1 -- "$2")"
  if [[ -z "$first" ]]; then printf '%s: exited with an error' "$program"
  elif [[ "$first" == "${program}:"* ]]; then printf '%s' "$first"
  else printf '%s: %s' "$program" "$first"
  fi
}

# ARCHIVE_TAR_RULES: GNU tar options for archive.md §2 (pax, numeric owners, no atime/ctime/xattrs/ACLs), the
# entries named one by one in a NUL-separated list (-T follows). Also the restore safety backup's (restore.md §7).
ARCHIVE_TAR_RULES=(--format=pax --numeric-owner --no-recursion --no-xattrs --no-acls --no-selinux
  '--pax-option=delete=atime,delete=ctime' --null --verbatim-files-from)

# archive_write_tar ARCHIVE_TMP: sorted pax tar of staging | compressor [| age] > ARCHIVE_TMP.
archive_write_tar() {
  local out="$1" list="${RUN_DIR}/archive.list"
  ( cd "$STAGING" && find . -mindepth 1 -print0 | LC_ALL=C sort -z ) > "${list}.body" || return 1
  { printf '.\0'; cat "${list}.body"; } > "$list"
  local -a tar_argv=(tar -C "$STAGING" "${ARCHIVE_TAR_RULES[@]}" --hard-dereference -T "$list" -cf -)
  local -a statuses
  if [[ "$ENCRYPT_ARCHIVE" == true ]]; then
    "${tar_argv[@]}" 2> "${RUN_DIR}/tar.err" | "${ARCHIVE_ARGV[@]}" 2> "${RUN_DIR}/compress.err" \
      | "${ARCHIVE_AGE[@]}" > "$out" 2> "${RUN_DIR}/age.err"
    statuses=("${PIPESTATUS[@]}")
  else
    "${tar_argv[@]}" 2> "${RUN_DIR}/tar.err" | "${ARCHIVE_ARGV[@]}" > "$out" 2> "${RUN_DIR}/compress.err"
    statuses=("${PIPESTATUS[@]}")
  fi
  ARCHIVE_FAILURE=''
  # A dying compressor or encryptor makes tar fail with SIGPIPE: report the cause, not the symptom.
  if (( statuses[1] != 0 )); then ARCHIVE_FAILURE="$(archive_failure_line "${ARCHIVE_ARGV[0]}" "${RUN_DIR}/compress.err")"
  elif (( ${#statuses[@]} > 2 )) && (( statuses[2] != 0 )); then ARCHIVE_FAILURE="$(archive_failure_line age "${RUN_DIR}/age.err")"
  elif (( statuses[0] != 0 )); then ARCHIVE_FAILURE="$(archive_failure_line tar "${RUN_DIR}/tar.err")"
  elif [[ ! -s "$out" ]]; then ARCHIVE_FAILURE='empty output'
  fi
  [[ -z "$ARCHIVE_FAILURE" ]]
}

# archive_write_sidecar FINAL CONTENT: FINAL written through FINAL.tmp and a rename, mode 0600.
archive_write_sidecar() {
  local final="$1" content="$2"
  ( umask 077 && printf '%s' "$content" > "${final}.tmp" ) && mv -f -- "${final}.tmp" "$final" && return 0
  rm -f -- "${final}.tmp"
  return 1
}

# backup_archive: the archive stage (phase 10).
backup_archive() {
  local type="$COMPRESSION_EFFECTIVE" name archive tmp sha size duration ratio
  name="${PROXMOX_TYPE}-backup-${HOSTNAME}-${RUN_TIMESTAMP}.tar$(archive_extension "$type")"
  [[ "$ENCRYPT_ARCHIVE" != true ]] || name+='.age'
  archive="${LOCAL_BACKUP_PATH}/${name}"
  log_step 'Creating backup archive'
  if [[ "$DRY_RUN" == true ]]; then
    log_info "Dry run: would create archive ${name}"
    return 0
  fi
  archive_prechecks || { state_set STATUS_ARCHIVE 2; return 2; }
  archive_compressor_argv "$type"
  [[ "$ENCRYPT_ARCHIVE" != true ]] || archive_encryptor_argv
  tmp="${archive}.tmp"
  umask 077   # archives are 0600 from their first byte (archive.md §1)
  if ! archive_write_tar "$tmp"; then
    [[ -n "${ARCHIVE_FAILURE:-}" ]] || ARCHIVE_FAILURE='archive pipeline failed'
    rm -f -- "$tmp"
    log_error "Failed to create backup archive: $(log_esc "$ARCHIVE_FAILURE")"
    state_set STATUS_ARCHIVE 2
    return 2
  fi
  if ! chmod 0600 -- "$tmp" || ! mv -f -- "$tmp" "$archive"; then
    rm -f -- "$tmp"
    log_error 'Failed to create backup archive: rename failed'
    state_set STATUS_ARCHIVE 2
    return 2
  fi
  sha="$(sha256sum -- "$archive")"
  sha="${sha%% *}"
  if ! archive_write_sidecar "${archive}.sha256" "${sha}  ${name}"$'\n'; then
    log_error "Failed to write checksum file ${name}.sha256"
    state_set STATUS_ARCHIVE 2
    return 2
  fi
  size="$(stat -c %s -- "$archive")"
  duration=$(( $(core_now) - START_TIME ))
  ratio="$(archive_ratio "$size" "$UNCOMPRESSED_SIZE")"
  archive_level "$type" "$COMPRESSION_MODE"
  [[ "$type" == "$COMPRESSION_TYPE" ]] || (( ${ARCHIVE_LEVEL:-0} <= 9 )) || ARCHIVE_LEVEL=9
  local -a meta=("COMPRESSION_RATIO=${ratio}" "COMPRESSION_TYPE=${type}" "COMPRESSION_LEVEL=${ARCHIVE_LEVEL}"
    "BACKUP_DURATION=${duration}" "COMPRESSION_MODE=${COMPRESSION_MODE}" "HOST_TYPE=${PROXMOX_TYPE}"
    "HOSTNAME=${HOSTNAME}" "TIMESTAMP=${RUN_TIMESTAMP}" "VERSION=$(core_version)")
  [[ -z "${PVE_VERSION:-}" ]] || meta+=("PVE_VERSION=${PVE_VERSION}")
  [[ -z "${PBS_VERSION:-}" ]] || meta+=("PBS_VERSION=${PBS_VERSION}")
  meta+=("ARCHIVE_SIZE=${size}" "UNCOMPRESSED_SIZE=${UNCOMPRESSED_SIZE}" "FILES_INCLUDED=${FILES_INCLUDED}"
    "FILE_MISSING=${FILE_MISSING}" "ENCRYPTED=${ENCRYPT_ARCHIVE}" "SHA256=${sha}")
  if ! archive_write_sidecar "${archive}.metadata" "$(printf '%s\n' "${meta[@]}")"$'\n'; then
    log_warning "Failed to write metadata file ${name}.metadata"
  fi
  state_set BACKUP_FILE "$archive"
  state_set ARCHIVE_SIZE "$size"
  state_set COMPRESSION_RATIO "$ratio"
  state_set BACKUP_DURATION "$duration"
  state_set STATUS_ARCHIVE 0
  log_success "Backup archive created: ${name} ($(core_human_size "$size"), ratio ${ratio})"
  log_info "Archive contains ${DIRS_INCLUDED} directories and ${FILES_INCLUDED} files"
  return 0
}
