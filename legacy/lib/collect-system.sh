# shellcheck shell=bash
# System section (collect.md §5) and custom paths (§7.1), for every host type. Needs collect.sh.

collect_system_files() {
  if collect_switch BACKUP_NETWORK_CONFIG 'Network configuration backup disabled'; then
    collect_file /etc/network/interfaces ./etc/network/interfaces 'network interfaces' skip
  fi
  collect_file /etc/os-release "${C_DIR}/system/os-release.txt" 'OS release' skip
  if collect_switch BACKUP_CRITICAL_FILES 'APT configuration backup disabled'; then
    collect_tree /etc/apt ./etc/apt 'APT configuration' skip
  fi
  if collect_switch BACKUP_SCRIPT_DIR 'Script directory backup disabled'; then
    collect_script_dir
    collect_nonempty_tree /usr/local/bin ./usr/local/bin 'local scripts (/usr/local/bin)'
    collect_nonempty_tree /usr/local/sbin ./usr/local/sbin 'local scripts (/usr/local/sbin)'
  fi
  if collect_switch BACKUP_CRONTABS 'Crontab backup disabled'; then
    collect_file /etc/crontab ./etc/crontab 'system crontab' skip
    collect_user_crontabs
  fi
  collect_nonempty_tree /etc/cron.d ./etc/cron.d 'cron.d'
  collect_tree /etc/cron.daily ./etc/cron.daily 'cron.daily' skip
  collect_tree /etc/cron.weekly ./etc/cron.weekly 'cron.weekly' skip
  collect_tree /etc/logrotate.d ./etc/logrotate.d 'logrotate configuration' skip
  collect_tree /etc/systemd/system ./etc/systemd/system 'systemd units' skip
  local name
  for name in fstab resolv.conf timezone hostname hosts passwd; do
    collect_file "/etc/${name}" "./etc/${name}" "/etc/${name}" skip
  done
  collect_tree /etc/ssl ./etc/ssl 'SSL configuration' skip no-private
  collect_ssh_host_keys
  collect_nonempty_tree /root/.ssh ./root/.ssh 'root SSH keys' regular
  collect_home_ssh
}

# collect_nonempty_tree LOGICAL DEST WHAT [FILTER]: "absent or empty → skip".
collect_nonempty_tree() {
  local src="${SRC_ROOT}$1"
  if [[ -d "$src" && ! -L "$src" ]] && [[ -z "$(find "$src" -mindepth 1 -maxdepth 1 -print -quit 2> /dev/null)" ]]; then
    log_debug "Empty: $3 - $(log_esc "$1")"
    COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 ))
    return 0
  fi
  collect_tree "$1" "$2" "$3" skip "${4:-}"
}

# S4: this tool's own install dir, without its runtime trees (and the primary paths when inside it).
collect_script_dir() {
  local base="${BASE_DIR%/}" name exclude saved_prefixes=("${BL_PREFIXES[@]}")
  name="${base##*/}"
  for exclude in "${base}/log" "${base}/backup" "${base}/restore-safety" "${base}/lock" \
    "${LOCAL_BACKUP_PATH}" "${LOCAL_LOG_PATH}"; do
    BL_PREFIXES+=("$exclude")
  done
  collect_tree "$base" "./script-repository/${name:-root}" 'script directory' skip
  BL_PREFIXES=("${saved_prefixes[@]}")
}

# S8: regular files of /var/spool/cron/crontabs.
collect_user_crontabs() {
  local file user
  for file in "${SRC_ROOT}"/var/spool/cron/crontabs/*; do
    [[ -f "$file" && ! -L "$file" ]] || continue
    user="${file##*/}"
    collect_file "/var/spool/cron/crontabs/${user}" "./var/spool/cron/crontabs/${user}" 'user crontab' skip
  done
}

# S21: public host keys only, top level.
collect_ssh_host_keys() {
  local file name
  for file in "${SRC_ROOT}"/etc/ssh/ssh_host_*.pub; do
    [[ -e "$file" || -L "$file" ]] || continue
    name="${file##*/}"
    collect_file "/etc/ssh/${name}" "./etc/ssh/${name}" 'SSH host public key' skip
  done
}

# S23: /home/*/.ssh, regular files.
collect_home_ssh() {
  local dir user
  for dir in "${SRC_ROOT}"/home/*/.ssh; do
    [[ -d "$dir" && ! -L "$dir" ]] || continue
    user="${dir%/.ssh}"
    user="${user##*/}"
    collect_tree "/home/${user}/.ssh" "./home/${user}/.ssh" "SSH keys of ${user}" skip regular
  done
}

collect_system_commands() {
  if collect_switch BACKUP_NETWORK_CONFIG 'Network configuration backup disabled'; then
    collect_command 'IP addresses' "${C_DIR}/network/ip_addr.txt" WARNING ip addr
    collect_command 'IP routes' "${C_DIR}/network/ip_route.txt" WARNING ip route
    collect_command 'IP links' "${C_DIR}/network/ip_link.txt" WARNING ip -s link
    collect_command 'iptables rules' "${C_DIR}/network/iptables.txt" WARNING iptables-save
    collect_command 'ip6tables rules' "${C_DIR}/network/ip6tables.txt" WARNING ip6tables-save
  fi
  collect_command 'kernel information' "${C_DIR}/system/uname.txt" WARNING uname -a
  collect_command 'PCI devices' "${C_DIR}/system/lspci.txt" debug lspci -v
  collect_command 'block devices' "${C_DIR}/system/lsblk.txt" debug lsblk -f
  collect_command 'CPU information' "${C_DIR}/system/lscpu.txt" debug lscpu
  collect_command 'memory information' "${C_DIR}/system/memory.txt" debug free -h
  collect_command 'disk usage' "${C_DIR}/system/disk_space.txt" debug df -h
  collect_command 'services' "${C_DIR}/system/services.txt" debug systemctl list-units --type=service --all --no-pager
  if collect_switch BACKUP_INSTALLED_PACKAGES 'Installed packages backup disabled'; then
    collect_command 'installed packages' "${C_DIR}/packages/dpkg_list.txt" WARNING dpkg -l
  fi
  if collect_switch BACKUP_ZFS_CONFIG 'ZFS configuration backup disabled'; then
    collect_tree /etc/zfs ./etc/zfs 'ZFS configuration' skip
    if core_has_program zfs; then
      collect_command 'ZFS datasets' "${C_DIR}/zfs/zfs_list.txt" WARNING zfs list
      collect_command 'ZFS pools' "${C_DIR}/zfs/zpool_list.txt" WARNING zpool list
      collect_command 'ZFS pool status' "${C_DIR}/zfs/zpool_status.txt" WARNING zpool status
      collect_command 'ZFS properties' "${C_DIR}/zfs/zfs_get_all.txt" WARNING zfs get all
    else
      log_debug 'Command not available: zfs (skipping ZFS information)'
    fi
  fi
}

# collect_resolve_in_root LOGICAL: the path with symlinks resolved inside SYSTEM_ROOT_PREFIX (§7.1 step 2);
# sets RESOLVED, returns 1 on a loop (more than 40 links).
collect_resolve_in_root() {
  local rest="${1#/}" done_path='' part target hops=0
  while [[ -n "$rest" ]]; do
    part="${rest%%/*}"
    if [[ "$rest" == */* ]]; then rest="${rest#*/}"; else rest=''; fi
    case "$part" in
      '' | .) continue ;;
      ..) done_path="${done_path%/*}"; continue ;;
    esac
    if [[ -L "${SRC_ROOT}${done_path}/${part}" ]]; then
      hops=$(( hops + 1 ))
      (( hops <= 40 )) || return 1
      target="$(readlink -- "${SRC_ROOT}${done_path}/${part}")"
      # An absolute target is re-rooted at SYSTEM_ROOT_PREFIX, a relative one continues from here.
      if [[ "$target" == /* ]]; then done_path=''; fi
      rest="${target#/}${rest:+/${rest}}"
      continue
    fi
    done_path+="/${part}"
  done
  RESOLVED="${done_path:-/}"
}

collect_custom_paths() {
  local item count=0
  local -a items=()
  while IFS= read -r item; do [[ -n "$item" ]] && items+=("$item"); done <<< "${CUSTOM_BACKUP_PATHS:-}"
  count=${#items[@]}
  log_info "Custom paths to process: ${count} paths configured"
  for item in "${items[@]}"; do
    collect_custom_path "$item"
  done
  log_info 'Custom files collected successfully'
}

collect_custom_path() {
  local item="$1"
  if [[ "${ENABLE_CLOUD_BACKUP:-false}" != true && "$item" == *rclone* ]]; then
    log_debug 'Skipping rclone path (cloud backup disabled)'
    COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 ))
    return 0
  fi
  if ! collect_resolve_in_root "$item"; then
    collect_fail 'custom path' "$item" 'symlink loop'
    return 0
  fi
  local path="$RESOLVED"
  if collect_is_prohibited "$path"; then
    log_info "Skipping path with prohibited pattern: $(log_esc "$path")"
    COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 ))
    return 0
  fi
  if collect_is_blacklisted "$path"; then
    log_info "Skipping blacklisted file: $(log_esc "$path")"
    COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 ))
    return 0
  fi
  if [[ ! -e "${SRC_ROOT}${path}" ]]; then
    COLLECT_FAILED=$(( COLLECT_FAILED + 1 ))
    log_warning "File not found: $(log_esc "$path")"
    return 0
  fi
  if [[ -d "${SRC_ROOT}${path}" ]]; then
    collect_tree "$path" ".${path%/}" 'custom path' skip
  else
    collect_file "$path" ".${path}" 'custom path' skip
  fi
}

# What a rebuilt node needs beyond upstream (collect.md §5.3, decision 23): S50-S63, then S70-S75, after S46.
# The network and cluster switches already logged their SKIP line; the storage stack logs its own once.
collect_rebuild_files() {
  local network=false storage=false name
  [[ "${BACKUP_NETWORK_CONFIG:-false}" == true ]] && network=true
  if collect_switch BACKUP_STORAGE_STACK 'Storage stack backup disabled'; then storage=true; fi
  if [[ "$network" == true ]]; then
    collect_tree /etc/network/interfaces.d ./etc/network/interfaces.d 'network interfaces.d' skip
    collect_tree /etc/systemd/network ./etc/systemd/network 'systemd network configuration' skip
    collect_tree /etc/udev/rules.d ./etc/udev/rules.d 'udev rules' skip
  fi
  collect_tree /etc/modprobe.d ./etc/modprobe.d 'kernel module options' skip
  collect_file /etc/modules ./etc/modules 'kernel modules' skip
  collect_tree /etc/modules-load.d ./etc/modules-load.d 'kernel modules-load.d' skip
  collect_file /etc/kernel/cmdline ./etc/kernel/cmdline 'kernel command line' skip
  collect_file /etc/kernel/proxmox-boot-uuids ./etc/kernel/proxmox-boot-uuids 'boot partition UUIDs' skip
  collect_file /etc/default/grub ./etc/default/grub 'GRUB defaults' skip
  collect_tree /etc/default/grub.d ./etc/default/grub.d 'GRUB defaults (grub.d)' skip
  collect_file /etc/sysctl.conf ./etc/sysctl.conf 'sysctl configuration' skip
  collect_tree /etc/sysctl.d ./etc/sysctl.d 'sysctl.d' skip
  collect_file /etc/hostid ./etc/hostid 'host id' skip
  collect_tree /etc/cron.hourly ./etc/cron.hourly 'cron.hourly' skip
  collect_tree /etc/cron.monthly ./etc/cron.monthly 'cron.monthly' skip
  if [[ "$storage" == true ]]; then
    collect_tree /etc/lvm ./etc/lvm 'LVM configuration' skip no-cache
    collect_tree /etc/iscsi ./etc/iscsi 'iSCSI configuration' skip
    collect_tree /var/lib/iscsi ./var/lib/iscsi 'iSCSI node records' skip
    collect_file /etc/multipath.conf ./etc/multipath.conf 'multipath configuration' skip
    collect_tree /etc/multipath ./etc/multipath 'multipath bindings' skip
    collect_tree /etc/mdadm ./etc/mdadm 'mdadm configuration' skip
    collect_file /etc/crypttab ./etc/crypttab 'crypttab' skip
  fi
  collect_file /proc/cmdline "${C_DIR}/system/kernel_cmdline.txt" 'running kernel command line' skip
  if [[ "$network" == true ]]; then
    for name in "${SRC_ROOT}"/proc/net/bonding/*; do
      [[ -f "$name" && ! -L "$name" ]] || continue
      name="${name##*/}"
      collect_file "/proc/net/bonding/${name}" "${C_DIR}/network/bonding/${name}.txt" 'bonding status' skip
    done
  fi
}

collect_rebuild_commands() {
  if [[ "${BACKUP_NETWORK_CONFIG:-false}" == true ]]; then
    collect_command 'bridge VLANs' "${C_DIR}/network/bridge_vlan.json" debug bridge -j vlan show
  fi
  if [[ "${BACKUP_STORAGE_STACK:-false}" == true ]]; then
    collect_command 'block device attributes' "${C_DIR}/storage/blkid.txt" debug blkid
    collect_command 'block device tree' "${C_DIR}/storage/lsblk.json" debug lsblk -J -O
    if core_has_program pvs; then
      collect_command 'LVM physical volumes' "${C_DIR}/storage/pvs.txt" debug pvs --units b
      collect_command 'LVM volume groups' "${C_DIR}/storage/vgs.txt" debug vgs --units b
      collect_command 'LVM logical volumes' "${C_DIR}/storage/lvs.txt" debug lvs -a --units b
    else
      log_debug 'Command not available: pvs (skipping LVM information)'
    fi
  fi
  if [[ ( "$PROXMOX_TYPE" == pve || "$PROXMOX_TYPE" == dual ) && "${BACKUP_CLUSTER_CONFIG:-false}" == true ]] \
    && detect_is_cluster "$SYSTEM_ROOT_PREFIX" "${COROSYNC_CONFIG_PATH%/}" "${PVE_CONFIG_PATH%/}"; then
    collect_command 'PVE cluster status' "${C_DIR}/pve/cluster_status.txt" WARNING pvecm status
    collect_command 'PVE cluster nodes' "${C_DIR}/pve/cluster_nodes.txt" WARNING pvecm nodes
  fi
}
