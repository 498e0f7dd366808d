# shellcheck shell=bash
# PVE section (collect.md §3): configuration files, commands, storages and vzdump files.
# Needs collect.sh, detect.sh, datastores.sh.

# shellcheck disable=SC2034 # read by collect-scan.sh
PVE_BACKUP_PATTERNS=('*.vma' '*.vma.gz' '*.vma.lz4' '*.vma.zst' '*.tar' '*.tar.gz' '*.tar.lz4' '*.tar.zst' '*.log' '*.notes')

collect_pve_files() {
  local pve="${PVE_CONFIG_PATH%/}" cluster_dir="${PVE_CLUSTER_PATH%/}" coro="${COROSYNC_CONFIG_PATH%/}"
  if collect_switch BACKUP_CLUSTER_CONFIG 'PVE cluster configuration backup disabled'; then
    collect_tree "$pve" ".${pve}" 'PVE configuration' skip
    collect_config_db "${cluster_dir}/config.db" ".${cluster_dir}/config.db"
  fi
  if collect_switch BACKUP_COROSYNC_CONFIG 'Corosync configuration backup disabled'; then
    if detect_is_cluster "$SYSTEM_ROOT_PREFIX" "$coro" "$pve"; then
      collect_file "${coro}/corosync.conf" './etc/corosync/corosync.conf' 'Corosync configuration' INFO \
        'Corosync configuration file not found despite cluster detection - skipping'
      collect_file "${coro}/authkey" './etc/corosync/authkey' 'Corosync authkey' INFO \
        'Corosync authkey not found despite cluster detection - skipping'
    else
      log_info 'PVE cluster not configured (single node) - skipping Corosync configuration'
    fi
  fi
  if collect_switch BACKUP_PVE_FIREWALL 'PVE firewall configuration backup disabled'; then
    if [[ -e "${SRC_ROOT}${pve}/firewall" ]] && [[ ! -d "${SRC_ROOT}${pve}/firewall" \
      || -n "$(find "${SRC_ROOT}${pve}/firewall" -mindepth 1 -print -quit 2> /dev/null)" ]]; then
      collect_tree "${pve}/firewall" ".${pve}/firewall" 'PVE firewall configuration' skip
    else
      log_info 'PVE firewall configuration not found (no rules configured) - skipping'
    fi
  fi
  if collect_switch BACKUP_VM_CONFIGS 'VM and container configuration backup disabled'; then
    collect_guest_configs "$pve"
  fi
  if collect_switch BACKUP_VZDUMP_CONFIG 'vzdump configuration backup disabled'; then
    collect_file "${VZDUMP_CONFIG_PATH}" './etc/vzdump.conf' 'vzdump configuration' skip
  fi
  if collect_switch BACKUP_PVE_JOBS 'PVE backup jobs backup disabled'; then
    collect_file /etc/cron.d/vzdump ./etc/cron.d/vzdump 'vzdump cron schedule' skip
  fi
  if collect_switch BACKUP_PVE_SCHEDULES 'PVE schedules backup disabled'; then
    local file name
    for file in "${SRC_ROOT}"/etc/cron.d/*; do
      name="${file##*/}"
      [[ "$name" == *pve* || "$name" == *proxmox* || "$name" == *vzdump* ]] || continue
      collect_file "/etc/cron.d/${name}" "./etc/cron.d/${name}" 'PVE cron schedule' skip
    done
  fi
  if collect_switch BACKUP_CEPH_CONFIG 'Ceph configuration backup disabled'; then
    if detect_has_ceph "$SYSTEM_ROOT_PREFIX" "${CEPH_CONFIG_PATH%/}"; then
      PVE_HAS_CEPH=true
      collect_tree "${CEPH_CONFIG_PATH%/}" './etc/ceph' 'Ceph configuration' skip
    else
      log_info 'Ceph not configured in PVE system - skipping Ceph configuration collection'
    fi
  fi
}

# V2: pmxcfs keeps config.db open; sqlite3 .backup gives a consistent copy, and a plain copy when it cannot.
collect_config_db() {
  local logical="$1" dest="$2" src="${SRC_ROOT}$1" out
  [[ -e "$src" ]] || { collect_missing skip 'PVE cluster database' "$logical"; return 0; }
  if ! core_has_program sqlite3; then
    log_warning 'sqlite3 not found: config.db copied while in use'
    collect_file "$logical" "$dest" 'PVE cluster database' skip
    return 0
  fi
  collect_make_parents "$dest" || return 2
  out="${STAGING}/${dest#./}"
  if ! LC_ALL=C timeout -k 5 "$COLLECT_TIMEOUT" sqlite3 -readonly "$src" ".backup '${out//\'/\'\'}'" \
    < /dev/null > /dev/null 2> "${RUN_DIR}/cmd.err"; then
    # A damaged or non-SQLite file is still worth more to its owner than none (collect.md V2).
    rm -f -- "$out"
    log_warning "config.db could not be copied consistently ($(log_esc "$(head -n 1 "${RUN_DIR}/cmd.err")")); copied as-is"
    collect_file "$logical" "$dest" 'PVE cluster database' skip
    return $?
  fi
  chmod --reference="$src" -- "$out" && touch -r "$src" -- "$out"
  [[ "$CP_PRESERVE" != *ownership* ]] || chown --reference="$src" -- "$out"
  COLLECT_OK=$(( COLLECT_OK + 1 ))
}

# V5, V6: guest configs of every node (they overlap V1 and are still collected when V1 is off).
collect_guest_configs() {
  local pve="$1" file rel
  [[ -d "${SRC_ROOT}${pve}/nodes" ]] || { log_debug "Not found: guest configurations - ${pve}/nodes"; return 0; }
  for file in "${SRC_ROOT}${pve}"/nodes/*/qemu-server/*.conf "${SRC_ROOT}${pve}"/nodes/*/lxc/*.conf; do
    [[ -e "$file" || -L "$file" ]] || continue
    rel="${file#"${SRC_ROOT}"}"
    collect_file "$rel" ".${rel}" 'guest configuration' skip
  done
}

collect_pve_commands() {
  local c="${C_DIR}/pve"
  collect_command 'PVE version' "${c}/pve_version.txt" WARNING pveversion
  collect_pvesm_status "${c}/storage_status.json"
  collect_command 'PVE users' "${c}/user_list.json" WARNING pveum user list --output-format=json
  collect_command 'PVE groups' "${c}/group_list.json" WARNING pveum group list --output-format=json
  collect_command 'PVE roles' "${c}/role_list.json" WARNING pveum role list --output-format=json
  collect_command 'PVE nodes' "${c}/nodes_status.json" WARNING pvesh get /nodes --output-format=json
  if [[ "${BACKUP_PVE_JOBS}" == true ]]; then
    collect_command 'PVE backup jobs' "${c}/jobs/backup_jobs.json" WARNING pvesh get /cluster/backup --output-format=json
    collect_command 'PVE backup history' "${c}/jobs/backup_history.json" WARNING \
      pvesh get /nodes/localhost/tasks --output-format=json --typefilter=vzdump
  fi
  if [[ "${BACKUP_PVE_SCHEDULES}" == true ]]; then
    collect_command 'root crontab' "${c}/schedules/root_crontab.txt" debug crontab -l
    collect_pve_timers "${c}/schedules/systemd_timers.txt"
  fi
  if collect_switch BACKUP_PVE_REPLICATION 'PVE replication backup disabled'; then
    collect_command 'PVE replication jobs' "${c}/replication/replication_jobs.json" WARNING \
      pvesh get /cluster/replication --output-format=json
    collect_command 'PVE replication status' "${c}/replication/replication_status.json" WARNING \
      pvesh get /nodes/localhost/replication --output-format=json
  fi
  if [[ "${PVE_HAS_CEPH:-false}" == true ]]; then
    local cc="${C_DIR}/ceph"
    collect_command 'Ceph status' "${cc}/ceph_status.txt" WARNING ceph -s
    collect_command 'Ceph OSD usage' "${cc}/ceph_osd_df.txt" WARNING ceph osd df
    collect_command 'Ceph OSD tree' "${cc}/ceph_osd_tree.txt" WARNING ceph osd tree
    collect_command 'Ceph monitors' "${cc}/ceph_mon_stat.txt" WARNING ceph mon stat
    collect_command 'Ceph placement groups' "${cc}/ceph_pg_stat.txt" WARNING ceph pg stat
    collect_command 'Ceph health' "${cc}/ceph_health.txt" WARNING ceph health detail
  fi
}

# V21 with its fallback: the pvesm table converted to a JSON array of strings.
collect_pvesm_status() {
  local dest="$1"
  core_has_program pvesm || { collect_command 'PVE storage status' "$dest" WARNING pvesm status; return 0; }
  if core_host_run 5 "$COLLECT_TIMEOUT" "${RUN_DIR}/cmd.out" /dev/null pvesm status --noborder --output-format=json; then
    collect_generated "$dest" < "${RUN_DIR}/cmd.out" && COLLECT_OK=$(( COLLECT_OK + 1 ))
    return 0
  fi
  log_info 'Converting legacy pvesm status output to JSON format'
  local status=0
  core_host_run 5 "$COLLECT_TIMEOUT" "${RUN_DIR}/cmd.out" "${RUN_DIR}/cmd.err" pvesm status || status=$?
  if (( status != 0 )); then
    local first
    first="$(head -n 1 "${RUN_DIR}/cmd.err")"
    COLLECT_FAILED=$(( COLLECT_FAILED + 1 ))
    log_warning "Failed to collect PVE storage status - command: pvesm status - $(log_esc "${first:-exit ${status}}")"
    return 0
  fi
  perl -e '
    my @rows;
    while (my $line = <STDIN>) {
      chomp $line;
      next if $line =~ /^\s*$/;
      next if $line =~ /^Name\b/ && $line =~ /Type/ && $line =~ /Status/;
      my @c = split " ", $line;
      next if @c < 7;
      push @rows, sprintf(qq(  {\n    "storage": "%s",\n    "type": "%s",\n    "status": "%s",\n    "total": "%s",\n    "used": "%s",\n    "available": "%s",\n    "percent": "%s"\n  }),
        map { (my $v = $_) =~ s/(["\\])/\\$1/g; $v } @c[0..6]);
    }
    print @rows ? "[\n" . join(",\n", @rows) . "\n]\n" : "[]\n";
  ' < "${RUN_DIR}/cmd.out" | collect_generated "$dest" && COLLECT_OK=$(( COLLECT_OK + 1 ))
}

# V29: timers filtered by the implementation, never by a shell pipe of the command.
collect_pve_timers() {
  local dest="$1" status=0
  core_has_program systemctl || { log_debug 'Command not available: systemctl (skipping systemd timers)'; return 0; }
  core_host_run 5 "$COLLECT_TIMEOUT" "${RUN_DIR}/cmd.out" /dev/null systemctl list-timers --all --no-pager || status=$?
  if (( status != 0 )); then
    log_debug "Failed to collect systemd timers - command: systemctl list-timers --all --no-pager - exit ${status}"
    return 0
  fi
  # grep exits 1 when no line matches: an empty file is then kept (collect.md V29)
  { grep -E 'pve|proxmox|vzdump' "${RUN_DIR}/cmd.out" || true; } | collect_generated "$dest" && COLLECT_OK=$(( COLLECT_OK + 1 ))
}
