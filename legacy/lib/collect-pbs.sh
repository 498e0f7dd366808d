# shellcheck shell=bash
# PBS section (collect.md §4.1, §4.2); the datastore scan is in collect-scan.sh. Needs collect.sh.

collect_pbs_files() {
  collect_tree /etc/proxmox-backup ./etc/proxmox-backup 'PBS configuration directory' WARNING '' \
    'Failed to collect PBS configuration directory - /etc/proxmox-backup - directory not found'
  if [[ "${BACKUP_REMOTE_CFG}" != true && -e "${STAGING}/etc/proxmox-backup/remote.cfg" ]]; then
    log_info 'Removing remote.cfg from backup as per configuration'
    rm -f -- "${STAGING}/etc/proxmox-backup/remote.cfg"
  fi
}

collect_pbs_commands() {
  local c="${C_DIR}/pbs" what
  collect_command 'PBS version' "${c}/version.txt" WARNING proxmox-backup-manager version
  for what in datastore user acl remote; do
    collect_command "PBS ${what} list" "${c}/${what}_list.json" WARNING \
      proxmox-backup-manager "$what" list --output-format=json
  done
  for what in sync verify prune; do
    collect_command "PBS ${what} jobs" "${c}/${what}_jobs.json" WARNING \
      proxmox-backup-manager "${what}-job" list --output-format=json
  done
  collect_command 'PBS certificate' "${c}/cert_info.txt" WARNING proxmox-backup-manager cert info
}
