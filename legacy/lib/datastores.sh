# shellcheck shell=bash
# Datastore discovery (collect.md §6), run once per run: PBS datastores and PVE storages as
# DS_TYPE/DS_NAME/DS_PATH/DS_COMMENT arrays, sorted by type then name. Needs collect.sh.

# the directory of this file without a subshell or dirname (every shim and tool sources it)
DATASTORES_LIB_DIR="${BASH_SOURCE[0]%/*}"
[[ "$DATASTORES_LIB_DIR" != "${BASH_SOURCE[0]}" ]] || DATASTORES_LIB_DIR=.
[[ "$DATASTORES_LIB_DIR" == /* ]] || DATASTORES_LIB_DIR="${PWD}/${DATASTORES_LIB_DIR}"

_ds_add() {
  DS_LINES+=("$1|$2|$3|$4")
}

# _ds_pbs_from_cfg: datastore.cfg sections `datastore: NAME` with `path`/`comment` until a blank line.
_ds_pbs_from_cfg() {
  local cfg="${SRC_ROOT}/etc/proxmox-backup/datastore.cfg" line name='' path='' comment=''
  [[ -f "$cfg" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" =~ ^datastore:[[:space:]]*([^[:space:]]+) ]]; then
      [[ -z "$name" || -z "$path" ]] || _ds_add PBS "$name" "$path" "${comment:-No comment}"
      name="${BASH_REMATCH[1]}" path='' comment=''
    elif [[ -z "${line//[[:space:]]/}" ]]; then
      [[ -z "$name" || -z "$path" ]] || _ds_add PBS "$name" "$path" "${comment:-No comment}"
      name='' path='' comment=''
    elif [[ -n "$name" && "$line" =~ ^[[:space:]]+path[[:space:]]+(.*)$ ]]; then
      path="${BASH_REMATCH[1]}"
    elif [[ -n "$name" && "$line" =~ ^[[:space:]]+comment[[:space:]]+(.*)$ ]]; then
      comment="${BASH_REMATCH[1]}"
    fi
  done < "$cfg"
  [[ -z "$name" || -z "$path" ]] || _ds_add PBS "$name" "$path" "${comment:-No comment}"
}

_ds_pbs() {
  core_has_program proxmox-backup-manager || return 0
  local out name path comment
  out="$(core_host_run 5 "$COLLECT_TIMEOUT" - /dev/null proxmox-backup-manager datastore list --output-format=json \
    | perl "${DATASTORES_LIB_DIR}/json-fields.pl" name path comment)" || out=''
  if [[ -z "$out" ]]; then
    _ds_pbs_from_cfg
    return 0
  fi
  while IFS=$'\t' read -r name path comment; do
    if [[ -n "$path" ]]; then _ds_add PBS "$name" "$path" "${comment:-No comment}"; fi
  done <<< "$out"
}

# _ds_storage_key TYPE NAME KEY: the first KEY line of section `TYPE: NAME` in storage.cfg.
_ds_storage_key() {
  local cfg="${SRC_ROOT}${PVE_CONFIG_PATH%/}/storage.cfg" type="$1" name="$2" key="$3" line inside=false
  [[ -f "$cfg" ]] || return 1
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" =~ ^([a-z0-9]+):[[:space:]]*([^[:space:]]+) ]]; then
      inside=false
      if [[ "${BASH_REMATCH[1]}" == "$type" && "${BASH_REMATCH[2]}" == "$name" ]]; then inside=true; fi
    elif [[ "$inside" == true && "$line" =~ ^[[:space:]]+${key}[[:space:]]+(.*)$ ]]; then
      printf '%s' "${BASH_REMATCH[1]}"
      return 0
    fi
  done < "$cfg"
  return 1
}

_ds_pve_row() {
  local name="$1" type="$2" path comment
  case "$type" in
    dir)
      path="$(_ds_storage_key dir "$name" path)" || { [[ "$name" == local ]] && path=/var/lib/vz || path="/mnt/pve/${name}"; }
      comment='dir (mixed)' ;;
    nfs | cifs | glusterfs)
      path="$(_ds_storage_key "$type" "$name" path)" || path="/mnt/pve/${name}"
      comment="${type} (mixed)" ;;
    btrfs) path="$(_ds_storage_key btrfs "$name" path)" || path="/mnt/btrfs/${name}"; comment='btrfs (btrfs)' ;;
    zfspool) path="$(_ds_storage_key zfspool "$name" pool)" || path="$name"; comment='zfspool (zfspool)' ;;
    lvm | lvmthin) path="$(_ds_storage_key "$type" "$name" vgname)" || path="$name"; comment="${type} (${type})" ;;
    iscsi | iscsidirect) path="$(_ds_storage_key "$type" "$name" target)" || path="$name"; comment="${type} (iscsi-remote)" ;;
    pbs) path="$(_ds_storage_key pbs "$name" datastore)" || path="$name"; comment='pbs (pbs-remote)' ;;
    rbd | cephfs)
      path="$(_ds_storage_key "$type" "$name" pool)" || path="$(_ds_storage_key "$type" "$name" fs-name)" || path="$name"
      comment="${type} (ceph)" ;;
    *) log_debug "Skipping PVE storage of unsupported type: ${name} (${type})"; return 0 ;;
  esac
  _ds_add PVE "$name" "$path" "$comment"
}

_ds_pve() {
  core_has_program pvesm || return 0
  local out line name type status rest
  if ! out="$(core_host_run 5 "$COLLECT_TIMEOUT" - /dev/null pvesm status)"; then
    log_warning 'Failed to get PVE storage information'
    return 0
  fi
  while IFS= read -r line; do
    read -r name type status rest <<< "$line"
    [[ -n "$name" && "$name" != Name && "$status" == active ]] || continue
    _ds_pve_row "$name" "$type"
  done <<< "$out"
}

_ds_fallbacks() {
  local manual_name="$1" candidate
  [[ -z "${PBS_DATASTORE_PATH:-}" ]] || _ds_add MANUAL "$manual_name" "$PBS_DATASTORE_PATH" 'Manual configuration'
  if [[ "$manual_name" == pbs_manual && "${AUTO_DETECT_DATASTORES:-true}" != true ]]; then
    [[ ! -d "${SRC_ROOT}/var/lib/proxmox-backup/datastore" ]] \
      || _ds_add MANUAL pbs_standard /var/lib/proxmox-backup/datastore 'Standard PBS location'
  fi
  for candidate in /var/lib/vz/dump /mnt/pve; do
    [[ ! -d "${SRC_ROOT}${candidate}" ]] || _ds_add MANUAL pve_standard "$candidate" 'Standard PVE location'
  done
}

# datastores_discover: fills DS_TYPE, DS_NAME, DS_PATH, DS_COMMENT (collect.md §6).
datastores_discover() {
  DS_LINES=()
  if [[ "${AUTO_DETECT_DATASTORES:-true}" == true ]]; then
    _ds_pbs
    _ds_pve
    if (( ${#DS_LINES[@]} == 0 )); then
      case "$PROXMOX_TYPE" in
        pbs) log_warning 'No datastores found on PBS system' ;;
        pve | dual) log_warning 'No storages found on PVE system' ;;
        *) log_warning 'No PBS or PVE system detected' ;;
      esac
      _ds_fallbacks pbs_manual
      if (( ${#DS_LINES[@]} == 0 )); then
        log_warning 'No backup locations found - no datastore or storage detected and no manual path set. Using default fallback.'
        _ds_add FALLBACK default /var/lib/proxmox-backup/datastore 'Default fallback'
      fi
    fi
  else
    log_info 'Auto-detection disabled, using manual configuration only'
    _ds_fallbacks pbs_manual
    if (( ${#DS_LINES[@]} == 0 )); then
      log_warning 'No backup locations found - auto-detection disabled and no manual path set. Using default fallback.'
      _ds_add FALLBACK default /var/lib/proxmox-backup/datastore 'Default fallback'
    fi
  fi
  DS_TYPE=() DS_NAME=() DS_PATH=() DS_COMMENT=()
  local line type name path comment
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    IFS='|' read -r type name path comment <<< "$line"
    DS_TYPE+=("$type") DS_NAME+=("$name") DS_PATH+=("$path") DS_COMMENT+=("$comment")
    log_info "[${type}] ${name}: $(log_esc "$path") (${comment})"
  done < <(printf '%s\n' "${DS_LINES[@]}" | LC_ALL=C sort -t '|' -k1,1 -k2,2)
}
