# shellcheck shell=bash
# shellcheck disable=SC2034 # PROXMOX_TYPE, *_VERSION, HOSTNAME, SERVER_ID are this module's results
# Detection (collect.md §2, §3.4, §3.5) and server identity (run.md §8): what kind of host this is,
# its names and versions, and its stable 16-digit id. Needs log.sh, core.sh.

# detect_run PROGRAM ARGS...: run a probe command (10 s, no stdin, LC_ALL=C); stdout into DETECT_OUT.
# Through a file, not a command substitution: a grandchild left holding a pipe would hang it.
detect_run() {
  local out status=0
  out="$(mktemp "${TMPDIR:-/tmp}/proxmox-backup-detect.XXXXXX")" || return 1
  core_host_run 2 10 "$out" /dev/null "$@" || status=$?
  DETECT_OUT="$(< "$out")"
  rm -f -- "$out"
  return "$status"
}

detect_has_command() {
  core_has_program "$1"
}

# detect_names: HOSTNAME (fqdn: hostname -f, else hostname, else localhost) and HOST_SHORT.
detect_names() {
  HOST_SHORT=''
  HOSTNAME=''
  if detect_run hostname && [[ -n "$DETECT_OUT" ]]; then HOST_SHORT="${DETECT_OUT%%.*}"; fi
  if detect_run hostname -f && [[ -n "$DETECT_OUT" ]]; then HOSTNAME="$DETECT_OUT"; fi
  [[ -n "$HOSTNAME" ]] || HOSTNAME="${HOST_SHORT:-localhost}"
  [[ -n "$HOST_SHORT" ]] || HOST_SHORT="${HOSTNAME%%.*}"
}

_detect_pve_present() {
  local p="$1"
  detect_has_command pveversion && return 0
  [[ -x "${p}/usr/bin/pveversion" ]] && return 0
  [[ -d "${p}/etc/pve" && -d "${p}/var/lib/pve-cluster" ]]
}

_detect_pbs_present() {
  local p="$1"
  detect_has_command proxmox-backup-manager && return 0
  [[ -x "${p}/usr/sbin/proxmox-backup-manager" || -x "${p}/usr/bin/proxmox-backup-manager" ]] && return 0
  [[ -d "${p}/etc/proxmox-backup" ]]
}

# _detect_version_older VERSION MAJOR: true when VERSION is below MAJOR.0.
_detect_version_older() {
  local major="${1%%.*}"
  [[ "$major" =~ ^[0-9]+$ ]] && (( major < $2 ))
}

_detect_pve_version() {
  local p="$1" regex='pve-manager/([0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+)?)' first
  PVE_VERSION=unknown
  if detect_has_command pveversion && detect_run pveversion; then
    first="${DETECT_OUT%%$'\n'*}"
    if [[ "$first" =~ $regex ]]; then PVE_VERSION="${BASH_REMATCH[1]}"; fi
  fi
  if [[ "$PVE_VERSION" == unknown && -f "${p}/etc/pve/.version" ]]; then
    first="$(< "${p}/etc/pve/.version")"
    if [[ "$first" =~ ([0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+)?) ]]; then PVE_VERSION="${BASH_REMATCH[1]}"; fi
  fi
  if [[ "$PVE_VERSION" != unknown ]] && _detect_version_older "$PVE_VERSION" 6; then
    log_warning "Running on an older version of PVE (${PVE_VERSION})"
  fi
}

_detect_pbs_version() {
  PBS_VERSION=unknown
  if detect_has_command proxmox-backup-manager && detect_run proxmox-backup-manager version; then
    if [[ "$DETECT_OUT" =~ version:[[:space:]]*([^[:space:]]+) ]]; then PBS_VERSION="${BASH_REMATCH[1]}"; fi
  fi
  if [[ "$PBS_VERSION" != unknown ]] && _detect_version_older "$PBS_VERSION" 2; then
    log_warning "Running on an older version of PBS (${PBS_VERSION})"
  fi
}

# detect_host_type P: PROXMOX_TYPE (pve|pbs|dual|unknown), PVE_VERSION, PBS_VERSION (collect.md §2).
detect_host_type() {
  local p="$1" has_pve=false has_pbs=false parts=()
  _detect_pve_present "$p" && has_pve=true
  _detect_pbs_present "$p" && has_pbs=true
  PVE_VERSION=''
  PBS_VERSION=''
  if [[ "$has_pve" == true && "$has_pbs" == true ]]; then PROXMOX_TYPE=dual
  elif [[ "$has_pve" == true ]]; then PROXMOX_TYPE=pve
  elif [[ "$has_pbs" == true ]]; then PROXMOX_TYPE=pbs
  else PROXMOX_TYPE=unknown; fi
  if [[ "$has_pve" == true ]]; then
    _detect_pve_version "$p"
    parts+=("PVE ${PVE_VERSION}")
  fi
  if [[ "$has_pbs" == true ]]; then
    _detect_pbs_version
    parts+=("PBS ${PBS_VERSION}")
  fi
  if [[ "$PROXMOX_TYPE" == unknown ]]; then
    log_warning 'No Proxmox installation detected; collecting system information only'
    log_info 'Detected: unknown'
    return 0
  fi
  local joined
  printf -v joined '%s, ' "${parts[@]}"
  log_info "Detected: ${PROXMOX_TYPE} (${joined%, })"
}

# detect_is_cluster P COROSYNC_PATH PVE_PATH (collect.md §3.4); probes 2 and 4 only when P is /.
detect_is_cluster() {
  local p="$1" conf="${1%/}$2/corosync.conf" nodes_dir="${1%/}$3/nodes" count=0 entry
  if [[ -f "$conf" ]] && grep -qE 'cluster_name|nodelist|ring0_addr' -- "$conf" 2> /dev/null; then return 0; fi
  if [[ "$p" == / ]] && detect_has_command pvecm && detect_run pvecm status; then return 0; fi
  if [[ -d "$nodes_dir" ]]; then
    for entry in "$nodes_dir"/*/; do [[ -d "$entry" ]] && count=$(( count + 1 )); done
    (( count > 1 )) && return 0
  fi
  [[ "$p" == / ]] && detect_has_command systemctl && detect_run systemctl is-active corosync.service
}

# detect_has_ceph P CEPH_PATH (collect.md §3.5); probes 3-6 only when P is /.
detect_has_ceph() {
  local p="$1" dir="${1%/}$2" unit keyring
  if [[ -f "${dir}/ceph.conf" ]] && grep -qE 'fsid|mon_host|mon_initial_members' -- "${dir}/ceph.conf" 2> /dev/null; then
    return 0
  fi
  for keyring in "$dir"/*.keyring; do [[ -e "$keyring" ]] && return 0; done
  [[ "$p" == / ]] || return 1
  for unit in ceph-mon ceph-osd ceph-mds ceph-mgr; do
    detect_has_command systemctl && detect_run systemctl is-active "${unit}.target" && return 0
  done
  if detect_has_command pvesm && detect_run pvesm status && [[ "$DETECT_OUT" == *cephfs* || "$DETECT_OUT" == *rbd* ]]; then
    return 0
  fi
  if detect_has_command ceph && core_host_run 1 5 /dev/null /dev/null ceph status; then return 0; fi
  core_host_run 5 10 /dev/null /dev/null pgrep -f 'ceph-'
}

# ---------------------------------------------------------------------------------------------------
# Server identity (run.md §8): read on the running host, never under SYSTEM_ROOT_PREFIX.

# identity_derive [ROOT]: the 16-digit id from the identity inputs under ROOT (default: the running host's
# own /, never SYSTEM_ROOT_PREFIX; tests pass a directory). The machine id is the first of /etc/machine-id and
# /var/lib/dbus/machine-id whose trimmed contents are not empty (an image template ships an empty
# /etc/machine-id), as native/core/identity.ts reads it.
identity_derive() {
  local root="${1:-}" machine_id='' macs=() mac file uuid='' material hash
  for file in "${root}/etc/machine-id" "${root}/var/lib/dbus/machine-id"; do
    [[ -r "$file" ]] || continue
    _c_trim "$(< "$file")"
    if [[ -n "$_C_TRIMMED" ]]; then machine_id="$_C_TRIMMED"; break; fi
  done
  for file in "${root}"/sys/class/net/*/address; do
    [[ -r "$file" && "$file" != "${root}/sys/class/net/lo/address" ]] || continue
    mac="$(< "$file")"
    mac="${mac,,}"
    if [[ -n "$mac" && ! "$mac" =~ ^(00:)+00$ ]]; then macs+=("$mac"); fi
  done
  if [[ -r "${root}/sys/class/dmi/id/product_uuid" ]]; then uuid="$(< "${root}/sys/class/dmi/id/product_uuid")"; fi
  local joined=''
  if (( ${#macs[@]} > 0 )); then
    joined="$(printf '%s\n' "${macs[@]}" | LC_ALL=C sort | paste -sd, -)"
  fi
  _c_trim "$uuid"
  material="${machine_id}|${joined}|${HOST_SHORT}|${_C_TRIMMED}"
  hash="$(printf '%s' "$material" | sha256sum)"
  perl -e 'no warnings; printf "%016s", hex($ARGV[0]) % 10000000000000000' "${hash:0:16}" | tr ' ' 0
}

identity_checksum() {
  local sum
  sum="$(printf 'SERVER_ID=%s' "$1" | sha256sum)"
  printf '%s' "${sum:0:16}"
}

# identity_load BASE_DIR: SERVER_ID from the identity file, or generated and written (run.md §8).
identity_load() {
  local dir="$1/config" file="$1/config/.server_identity" text id='' was_missing=true
  if [[ -e "$file" ]]; then
    was_missing=false
    text=''
    if [[ -f "$file" && -r "$file" ]]; then text="$(< "$file")"; fi
    local pattern=$'^SERVER_ID=([0-9]{16})\nCHECKSUM=([0-9a-f]{16})$'
    if [[ "$text" =~ $pattern ]] \
      && [[ "$(identity_checksum "${BASH_REMATCH[1]}")" == "${BASH_REMATCH[2]}" ]]; then
      SERVER_ID="${BASH_REMATCH[1]}"
      return 0
    fi
    log_warning 'Server identity file corrupt; regenerated'
  fi
  id="$(identity_derive "")"   # "": the running host's own identity inputs
  SERVER_ID="$id"
  if ( umask 077 && mkdir -p -- "$dir" && chmod 0700 -- "$dir" \
    && printf 'SERVER_ID=%s\nCHECKSUM=%s\n' "$id" "$(identity_checksum "$id")" > "${file}.tmp" \
    && mv -fT -- "${file}.tmp" "$file" ) 2> /dev/null; then   # -T: never into a directory at the path
    [[ "$was_missing" == false ]] || log_info 'Server ID generated'
  else
    rm -f -- "${file}.tmp"
    log_warning "Cannot write server identity file ${file}; using the computed id for this run"
  fi
}
