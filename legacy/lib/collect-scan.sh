# shellcheck shell=bash
# Storage scans: PVE storages and vzdump files (collect.md §3.3) and PBS datastores (§4.3).
# Listings hold `<bytes> <YYYY-MM-DD HH:MM:SS> <path>` lines, sorted, names esc()-ed. Needs collect.sh.

# scan_files DIR MAXDEPTH NAME_GLOB...: NUL-separated `<bytes> <epoch> <relative path>` of regular files.
scan_files() {
  local dir="$1" depth="$2" expr=() glob
  shift 2
  for glob in "$@"; do
    (( ${#expr[@]} == 0 )) || expr+=(-o)
    expr+=(-name "$glob")
  done
  local -a limit=()
  [[ "$depth" == - ]] || limit=(-maxdepth "$depth")
  if (( ${#expr[@]} > 0 )); then
    find "$dir" "${limit[@]}" -type f \( "${expr[@]}" \) -printf '%s %T@ %P\0' 2> /dev/null
  else
    find "$dir" "${limit[@]}" -type f -printf '%s %T@ %P\0' 2> /dev/null
  fi
}

# scan_listing_lines PREFIX: stdin NUL records → sorted `<bytes> <time> <PREFIX/path>` lines, then a last
# line `<count> <total bytes>` (it runs in a pipeline, so the totals travel in the output).
scan_listing_lines() {
  local prefix="$1" record size epoch rel
  SCAN_COUNT=0 SCAN_BYTES=0
  local -a lines=()
  while IFS= read -r -d '' record; do
    size="${record%% *}"
    record="${record#* }"
    epoch="${record%% *}"
    rel="${record#* }"
    epoch="${epoch%%.*}"
    lines+=("$(printf '%s %(%Y-%m-%d %H:%M:%S)T %s' "$size" "$epoch" "$(log_esc "${prefix}${rel}")")")
    SCAN_COUNT=$(( SCAN_COUNT + 1 ))
    SCAN_BYTES=$(( SCAN_BYTES + size ))
  done
  (( ${#lines[@]} == 0 )) || printf '%s\n' "${lines[@]}" | LC_ALL=C sort -k4
  printf '%s %s\n' "$SCAN_COUNT" "$SCAN_BYTES"
}

# scan_split LISTING: LISTING's data lines into SCAN_LIST, its totals into SCAN_COUNT and SCAN_BYTES.
scan_split() {
  local listing="$1" counts
  counts="${listing##*$'\n'}"
  if [[ "$listing" == *$'\n'* ]]; then SCAN_LIST="${listing%$'\n'*}"; else SCAN_LIST=''; fi
  SCAN_COUNT="${counts% *}"
  SCAN_BYTES="${counts#* }"
}

# ---------------------------------------------------------------------------------------------------
# PVE (V40-V45)

collect_pve_storages() {
  [[ "${AUTO_DETECT_DATASTORES}" == true ]] || { log_debug 'PVE storage analysis skipped (auto-detection disabled)'; return 0; }
  local i n=0 summary=''
  for i in "${!DS_TYPE[@]}"; do
    [[ "${DS_TYPE[$i]}" == PVE ]] || continue
    n=$(( n + 1 ))
    summary+="PVE|${DS_NAME[$i]}|${DS_PATH[$i]}|${DS_COMMENT[$i]}"$'\n'
  done
  (( n > 0 )) || return 0
  printf '# PVE Datastores detected\n# Format: TYPE|NAME|PATH|COMMENT\n\n%s\n# Total PVE datastores detected: %d\n' \
    "$summary" "$n" | collect_generated "${C_DIR}/pve/datastores/detected_datastores.txt"
  for i in "${!DS_TYPE[@]}"; do
    [[ "${DS_TYPE[$i]}" == PVE ]] || continue
    if [[ "${DS_PATH[$i]}" != /* || ! -d "${SRC_ROOT}${DS_PATH[$i]}" ]]; then
      log_debug "PVE datastore not accessible: ${DS_NAME[$i]} ($(log_esc "${DS_PATH[$i]}"))"
      continue
    fi
    collect_pve_storage "${DS_NAME[$i]}" "${DS_PATH[$i]}" "${DS_COMMENT[$i]}"
  done
}

collect_pve_storage() {
  local name="$1" path="$2" comment="$3" dir="${SRC_ROOT}$2" out="${C_DIR}/pve/datastores/$1"
  {
    printf '# Datastore: %s\n# Path: %s\n# Type: %s\n\n' "$name" "$path" "$comment"
    printf '## Directory Structure (max 2 levels):\n'
    find "$dir" -maxdepth 2 -type d -printf '%P\0' 2> /dev/null | while IFS= read -r -d '' rel; do
      log_esc "${path}${rel:+/${rel}}"
      printf '\n'
    done | LC_ALL=C sort | head -n 20
    printf '\n## Disk Usage:\n'
    local total
    total="$(find "$dir" -type f -printf '%s\n' 2> /dev/null | awk '{ s += $1 } END { printf "%d", s }')"
    printf '%s\t%s\n' "$total" "$path"
    printf '\n## File Types (sample):\n'
    local size day time file
    scan_files "$dir" 3 | scan_listing_lines "${path}/" | sed '$d' | head -n 10 \
      | while read -r size day time file; do printf '%s %s %s %s\n' "$day" "$time" "$size" "$file"; done
  } | collect_generated "${out}/metadata.txt"
  COLLECT_OK=$(( COLLECT_OK + 1 ))
  if collect_switch BACKUP_PVE_BACKUP_FILES 'PVE backup file analysis disabled'; then
    collect_pve_backup_analysis "$name" "$path"
  fi
}

collect_pve_backup_analysis() {
  local name="$1" path="$2" dir="${SRC_ROOT}$2" pattern ext out="${C_DIR}/pve/datastores/$1/backup_analysis"
  local summary='' total_files=0 total_bytes=0 listing
  for pattern in "${PVE_BACKUP_PATTERNS[@]}"; do
    ext="${pattern//\*/}"
    scan_split "$(scan_files "$dir" - "$pattern" | scan_listing_lines "${path}/")"
    local count="$SCAN_COUNT" bytes="$SCAN_BYTES"
    listing="$SCAN_LIST"
    {
      printf '# PVE backup files matching pattern: %s\n# Datastore: %s (%s)\n# Format: size mtime path\n\n' "$pattern" "$name" "$path"
      if (( count > 0 )); then
        printf '%s\n# Total files found: %d\n' "$listing" "$count"
      else
        printf '# No backup files found matching pattern: %s\n' "$pattern"
      fi
    } | collect_generated "${out}/${name}_${ext}_list.txt"
    summary+="## Files matching pattern: ${pattern}"$'\n'
    if (( count > 0 )); then
      summary+="  Files: ${count}"$'\n'"  Total size: $(core_iec "$bytes")"$'\n'
    else
      summary+='  No files found'$'\n'
    fi
    total_files=$(( total_files + count ))
    total_bytes=$(( total_bytes + bytes ))
  done
  printf '%s## Overall Summary\nTotal backup files: %d\nTotal backup size: %s\n' "$summary" "$total_files" \
    "$(core_iec "$total_bytes")" | collect_generated "${out}/${name}_backup_summary.txt"
  collect_pve_backup_copies "$name" "$path"
}

# V44, V45: copies of small and of selected vzdump files, relative paths kept.
collect_pve_backup_copies() {
  local name="$1" path="$2" dir="${SRC_ROOT}$2" record size rel small=0 item
  local -a patterns=() includes=()
  while IFS= read -r item; do [[ -n "$item" ]] && includes+=("$item"); done <<< "${PVE_BACKUP_INCLUDE_PATTERN:-}"
  [[ "${BACKUP_SMALL_PVE_BACKUPS}" == true || ${#includes[@]} -gt 0 ]] || return 0
  patterns=("${PVE_BACKUP_PATTERNS[@]}")
  while IFS= read -r -d '' record; do
    size="${record%% *}"
    rel="${record#* }"
    rel="${rel#* }"
    if [[ "${BACKUP_SMALL_PVE_BACKUPS}" == true ]] && (( size < MAX_PVE_BACKUP_SIZE )); then
      collect_file "${path}/${rel}" "${F_DIR}/pve/small_backups/${name}/${rel}" 'small PVE backup' skip
      small=$(( small + 1 ))
    fi
    for item in "${includes[@]}"; do
      if [[ "$rel" == *"$item"* ]]; then
        collect_file "${path}/${rel}" "${F_DIR}/pve/selected_backups/${name}/${rel}" 'selected PVE backup' skip
        break
      fi
    done
  done < <(scan_files "$dir" - "${patterns[@]}" | sort -z)
  (( small == 0 )) || log_info "Copied ${small} small PVE backup files from datastore ${name}"
}

# ---------------------------------------------------------------------------------------------------
# PBS (B20-B23)

collect_pbs_datastores() {
  if [[ "${BACKUP_PXAR_FILES}" != true ]]; then
    log_debug 'Backup of .pxar files is disabled'
    return 0
  fi
  local i found=0
  for i in "${!DS_TYPE[@]}"; do
    [[ "${DS_TYPE[$i]}" == PBS ]] || continue
    found=$(( found + 1 ))
    collect_pbs_datastore "${DS_NAME[$i]}" "${DS_PATH[$i]}" "${DS_COMMENT[$i]}"
  done
  (( found == 0 )) || return 0
  log_warning 'No PBS datastores auto-detected, checking manual configuration'
  if [[ -n "${PBS_DATASTORE_PATH:-}" ]]; then
    collect_pbs_datastore manual "$PBS_DATASTORE_PATH" 'Manual configuration'
  else
    collect_pbs_datastore fallback /var/lib/proxmox-backup/datastore 'Default fallback'
  fi
}

collect_pbs_datastore() {
  local ds="$1" path="$2" comment="$3" dir="${SRC_ROOT}$2" out="${C_DIR}/pbs/pxar_metadata" entry
  if [[ ! -d "$dir" ]]; then
    COLLECT_FAILED=$(( COLLECT_FAILED + 1 ))
    log_warning "Failed to collect datastore base directory - $(log_esc "$path") - directory not found for datastore: ${ds}"
    return 0
  fi
  local -a entries=()
  while IFS= read -r -d '' entry; do
    [[ "$entry" == .chunks || "$entry" == .lock ]] || entries+=("$entry")
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -printf '%P\0' 2> /dev/null | LC_ALL=C sort -z)
  {
    printf '# Datastore subdirectories in %s\n# Datastore: %s (%s)\n' "$(log_esc "$path")" "$ds" "$comment"
    for entry in "${entries[@]}"; do log_esc "$entry"; printf '\n'; done
  } | collect_generated "${out}/${ds}_subdirs.txt"
  COLLECT_OK=$(( COLLECT_OK + 1 ))
  for entry in "${entries[@]}"; do
    [[ -d "${dir}/${entry}" && ! -L "${dir}/${entry}" ]] || continue
    collect_pbs_group_listing "$ds" "$path" "$entry"
  done
}

collect_pbs_group_listing() {
  local ds="$1" path="$2" entry="$3" dir="${SRC_ROOT}$2" listing count small=0 record size rel item
  local -a globs=('*.pxar' '*.pxar.didx' '*.mpxar.didx' '*.ppxar.didx') includes=()
  scan_split "$(scan_files "${dir}/${entry}" - "${globs[@]}" | scan_listing_lines "${entry}/")"
  listing="$SCAN_LIST"
  count="$SCAN_COUNT"
  {
    printf '# List of .pxar files in %s/%s\n# Datastore: %s, Subdirectory: %s\n# Format: size mtime path\n' \
      "$(log_esc "$path")" "$(log_esc "$entry")" "$ds" "$(log_esc "$entry")"
    if (( count > 0 )); then printf '%s\n# Total: %d files\n' "$listing" "$count"; else printf '# No .pxar files found\n'; fi
  } | collect_generated "${C_DIR}/pbs/pxar_metadata/${ds}_${entry}_pxar_list.txt"
  (( count == 0 )) || log_info "Found ${count} .pxar files in datastore: ${ds}/$(log_esc "$entry")"
  while IFS= read -r item; do [[ -n "$item" ]] && includes+=("$item"); done <<< "${PXAR_INCLUDE_PATTERN:-}"
  while IFS= read -r -d '' record; do
    size="${record%% *}"
    rel="${record#* }"
    rel="${entry}/${rel#* }"
    if [[ "${BACKUP_SMALL_PXAR}" == true ]] && (( size < MAX_PXAR_SIZE )); then
      collect_file "${path}/${rel}" "${F_DIR}/pbs/small_pxar/${ds}/${rel}" 'small .pxar file' skip
      small=$(( small + 1 ))
    fi
    for item in "${includes[@]}"; do
      if [[ "$rel" == *"$item"* ]]; then
        collect_file "${path}/${rel}" "${F_DIR}/pbs/selected_pxar/${ds}/${rel}" 'selected .pxar file' skip
        break
      fi
    done
  done < <(scan_files "${dir}/${entry}" - "${globs[@]}" | sort -z)
  (( small == 0 )) || log_info "Copied ${small} small .pxar files from datastore ${ds}/$(log_esc "$entry")"
}
