# shellcheck shell=bash
# The backup domain's stages (ARCHITECTURE: detection, collection, archive, verification):
# backup_detect, backup_collect, backup_archive, backup_verify. Each reads the context and state, writes state.env,
# staging/ or the artefacts, and returns 0/1/2. Needs every collect*.sh, datastores.sh, archive.sh, verify.sh.

# backup_detect (phase 5): host type, versions, names (collect.md §2) and the server id (run.md §8),
# recorded in state.env so that an orchestrator running this stage through its shim learns them.
backup_detect() {
  detect_names
  detect_host_type "$SYSTEM_ROOT_PREFIX"
  identity_load "$BASE_DIR"
  local key
  for key in HOSTNAME HOST_SHORT PROXMOX_TYPE PVE_VERSION PBS_VERSION SERVER_ID; do
    state_set "$key" "${!key}"
  done
}

# backup_collect: collect.md, in table order: PVE, PBS, system, custom paths, then the metadata file.
backup_collect() {
  local status=0
  log_step 'Collecting configuration files'
  collect_setup || return 2
  datastores_discover
  if [[ "$PROXMOX_TYPE" == pve || "$PROXMOX_TYPE" == dual ]]; then
    collect_pve_files || status=2
    collect_pve_commands
    collect_pve_storages
  fi
  if [[ "$PROXMOX_TYPE" == pbs || "$PROXMOX_TYPE" == dual ]]; then
    collect_pbs_files || status=2
    collect_pbs_commands
    collect_pbs_datastores
  fi
  collect_system_files || status=2
  collect_system_commands
  collect_rebuild_files || status=2
  collect_rebuild_commands
  collect_custom_paths
  (( status < 2 )) || return 2
  log_info "Collection finished: ${COLLECT_OK} collected, ${COLLECT_FAILED} failed, ${COLLECT_SKIPPED} skipped"
  backup_check_critical_files
  backup_write_metadata || { log_error 'Failed to write backup metadata'; return 2; }
  collect_finish_dirs
  backup_count_staged
  state_set COLLECT_ITEMS_OK "$COLLECT_OK"
  state_set COLLECT_ITEMS_FAILED "$COLLECT_FAILED"
  state_set COLLECT_ITEMS_SKIPPED "$COLLECT_SKIPPED"
  state_set FILE_MISSING "$FILE_MISSING"
  state_set FILES_INCLUDED "$FILES_INCLUDED"
  state_set DIRS_INCLUDED "$DIRS_INCLUDED"
  state_set UNCOMPRESSED_SIZE "$UNCOMPRESSED_SIZE"
  state_set STAGED_ENTRIES "$STAGED_ENTRIES"
  (( COLLECT_FAILED == 0 && FILE_MISSING == 0 )) || return 1
  return 0
}

# backup_critical_list: critical files of this host type (collect.md §9) that the configuration asked for.
backup_critical_list() {
  local pve=false pbs=false
  [[ "$PROXMOX_TYPE" == pve || "$PROXMOX_TYPE" == dual ]] && pve=true
  [[ "$PROXMOX_TYPE" == pbs || "$PROXMOX_TYPE" == dual ]] && pbs=true
  if [[ "$pve" == true && "${BACKUP_CLUSTER_CONFIG}" == true ]]; then
    local p="${PVE_CONFIG_PATH%/}"
    printf '%s\n' ".${p}/storage.cfg" ".${p}/user.cfg" ".${p}/datacenter.cfg" ".${PVE_CLUSTER_PATH%/}/config.db"
  fi
  if [[ "$pve" == true && "${BACKUP_COROSYNC_CONFIG}" == true && -e "${STAGING}/etc/corosync" ]]; then
    printf '%s\n' ./etc/corosync/corosync.conf
  fi
  if [[ "$pbs" == true ]]; then
    printf '%s\n' ./etc/proxmox-backup/user.cfg ./etc/proxmox-backup/datastore.cfg \
      "${C_DIR}/pbs/datastore_list.json" "${C_DIR}/pbs/user_list.json"
  fi
}

# backup_critical_ok FILE: present, non-empty, and shaped like its kind (collect.md §9).
backup_critical_ok() {
  local file="$1"
  [[ -f "$file" && -s "$file" ]] || return 1
  case "$file" in
    *.cfg) grep -qE '^[A-Za-z0-9_-]+[[:space:]]*[:=]|^\[.*\]' -- "$file" ;;
    *.json) perl -MJSON::PP -e 'local $/; JSON::PP->new->decode(<STDIN>)' < "$file" 2> /dev/null ;;
    *) return 0 ;;
  esac
}

backup_check_critical_files() {
  local rel
  FILE_MISSING=0
  while IFS= read -r rel; do
    [[ -n "$rel" ]] || continue
    collect_is_blacklisted "${rel#.}" && continue
    if ! backup_critical_ok "${STAGING}/${rel#./}"; then
      FILE_MISSING=$(( FILE_MISSING + 1 ))
      log_warning "Missing critical file: ${rel}"
    fi
  done < <(backup_critical_list)
}

# backup_count_staged: FILES_INCLUDED (non-directories, no *.sha256 names), DIRS_INCLUDED (with ./),
# UNCOMPRESSED_SIZE (regular files), STAGED_ENTRIES (everything tar will list). archive.md §7.
backup_count_staged() {
  FILES_INCLUDED="$(find "$STAGING" ! -type d ! -name '*.sha256' -printf x | wc -c)"
  DIRS_INCLUDED="$(find "$STAGING" -type d -printf x | wc -c)"
  STAGED_ENTRIES="$(find "$STAGING" -printf x | wc -c)"
  UNCOMPRESSED_SIZE="$(find "$STAGING" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')"
}

# backup_write_metadata: ./var/lib/proxmox-backup-info/backup_metadata.txt (archive.md §5.2), written last.
backup_write_metadata() {
  local rel='./var/lib/proxmox-backup-info/backup_metadata.txt' count
  backup_count_staged
  count=$(( FILES_INCLUDED + 1 ))
  [[ ! -e "${STAGING}/${rel#./}" ]] || count="$FILES_INCLUDED"
  printf '%s\n' "VERSION=$(core_version)" "BACKUP_TYPE=${PROXMOX_TYPE}" "TIMESTAMP=${RUN_TIMESTAMP}" \
    "HOSTNAME=${HOSTNAME}" 'SUPPORTS_SELECTIVE_RESTORE=true' \
    'BACKUP_FEATURES=selective_restore,category_mapping,version_detection,auto_directory_creation' \
    "HOST_TYPE=${PROXMOX_TYPE}" "COMPRESSION=${COMPRESSION_EFFECTIVE}" "ENCRYPTED=${ENCRYPT_ARCHIVE}" \
    "FILES_INCLUDED=${count}" | collect_generated "$rel"
}
