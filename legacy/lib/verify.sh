# shellcheck shell=bash
# Verification (archive.md §6): checksum, full decompression test, full listing, entry count,
# critical directories and files. The first ERROR stops it. Needs core.sh, archive.sh, backup.sh.

# verify_decompress_argv TYPE: VERIFY_ARGV, the command that writes the tar stream of the archive on stdout.
verify_decompress_argv() {
  case "$1" in
    xz) VERIFY_ARGV=(xz -dc) ;;
    zstd) VERIFY_ARGV=(zstd -dc -q --long=27) ;;
    gzip | pigz) VERIFY_ARGV=(gzip -dc) ;;
    bzip2) VERIFY_ARGV=(bzip2 -dc) ;;
    lzma) VERIFY_ARGV=(xz --format=lzma -dc) ;;
    none) VERIFY_ARGV=(cat) ;;
  esac
}

verify_fail() {
  log_error "$1"
  log_error 'Backup verification failed'
  state_set STATUS_VERIFY 2
  return 2
}

verify_checksum() {
  local archive="$1" expected actual line
  line="$(< "${archive}.sha256")"
  expected="${line%%  *}"
  [[ "${line#*  }" == "${archive##*/}" ]] || return 1
  actual="$(timeout -k 5 "$VERIFICATION_TIMEOUT" sha256sum -- "$archive")" || return 1
  [[ "${actual%% *}" == "$expected" ]]
}

# backup_verify: the verify stage (phase 11); skipped in dry-run.
backup_verify() {
  local archive="${BACKUP_FILE:-}" type="$COMPRESSION_EFFECTIVE" listed warnings=0
  [[ "$DRY_RUN" != true ]] || return 0
  log_step 'Verifying backup archive'
  [[ -n "$archive" && -r "$archive" ]] || { verify_fail 'Backup file not found'; return 2; }
  [[ -r "${archive}.sha256" ]] || { verify_fail 'Checksum file not found'; return 2; }
  [[ -s "$archive" ]] || { verify_fail 'Backup file is empty'; return 2; }
  verify_checksum "$archive" || { verify_fail 'Checksum verification failed or timed out'; return 2; }
  if [[ "$ENCRYPT_ARCHIVE" == true ]]; then
    [[ "$(head -c 22 -- "$archive")" == 'age-encryption.org/v1' ]] || { verify_fail 'Encrypted archive header invalid'; return 2; }
    log_info 'Content verification skipped: archive is encrypted'
    log_success 'Archive verification completed successfully'
    state_set STATUS_VERIFY 0
    return 0
  fi
  verify_decompress_argv "$type"
  if [[ "$type" != none ]] && ! timeout -k 5 "$EXTRACTION_TIMEOUT" "${VERIFY_ARGV[@]}" -- "$archive" > /dev/null 2>&1; then
    verify_fail 'Archive header test failed'
    return 2
  fi
  if ! timeout -k 5 "$EXTRACTION_TIMEOUT" "${VERIFY_ARGV[@]}" -- "$archive" 2> /dev/null \
    | tar --quoting-style=escape -tf - > "${RUN_DIR}/listing.txt" 2> /dev/null; then
    verify_fail 'Failed to list archive contents'
    return 2
  fi
  listed="$(wc -l < "${RUN_DIR}/listing.txt")"
  (( listed > 0 )) || { verify_fail 'Archive content list is empty'; return 2; }
  (( listed == STAGED_ENTRIES )) || { verify_fail "Archive incomplete: ${listed} entries, ${STAGED_ENTRIES} staged"; return 2; }
  verify_critical_dirs || warnings=1
  verify_critical_files "$archive" || warnings=1
  if (( warnings > 0 )); then
    log_warning 'Archive verification completed with warnings'
    state_set STATUS_VERIFY 1
    return 1
  fi
  log_success 'Archive verification completed successfully'
  state_set STATUS_VERIFY 0
  return 0
}

verify_critical_dirs() {
  local dir ok=0
  local -a dirs=(./etc/)
  [[ "$PROXMOX_TYPE" == pve || "$PROXMOX_TYPE" == dual ]] && dirs+=(./etc/pve/ ./var/lib/pve-cluster/)
  [[ "$PROXMOX_TYPE" == pbs || "$PROXMOX_TYPE" == dual ]] && dirs+=(./etc/proxmox-backup/)
  for dir in "${dirs[@]}"; do
    if ! grep -qxF -- "$dir" "${RUN_DIR}/listing.txt"; then
      log_warning "Critical directory missing - Directory: ${dir}"
      ok=1
    fi
  done
  return "$ok"
}

verify_critical_files() {
  local archive="$1" rel ok=0 size
  while IFS= read -r rel; do
    [[ -n "$rel" && -f "${STAGING}/${rel#./}" ]] || continue
    if ! grep -qxF -- "$rel" "${RUN_DIR}/listing.txt"; then
      log_warning "Critical file not found - File: ${rel}"
      ok=1
      continue
    fi
    size="$("${VERIFY_ARGV[@]}" -- "$archive" 2> /dev/null | tar -xOf - -- "$rel" 2> /dev/null | wc -c)"
    if (( size == 0 )); then
      log_warning "Extracted file is empty or missing - File: ${rel}"
      ok=1
    fi
  done < <(backup_critical_list)
  return "$ok"
}
