# shellcheck shell=bash
# Collection primitives (collect.md §1, §7): copy a file or a tree from under SYSTEM_ROOT_PREFIX into
# RUN_DIR/staging with mode, owner and mtime kept, run a command into a file, honour the blacklist and
# the prohibited patterns, count items. Sections live in collect-pve.sh, collect-pbs.sh, collect-system.sh.
# Needs log.sh, core.sh; reads the context (SYSTEM_ROOT_PREFIX, BACKUP_BLACKLIST, START_TIME, RUN_DIR).

# shellcheck disable=SC2034 # C_DIR and F_DIR are the destinations of every section file
C_DIR='./var/lib/proxmox-backup-info/commands'
F_DIR='./var/lib/proxmox-backup-info/files'

collect_setup() {
  STAGING="${RUN_DIR}/staging"
  COLLECT_OK=0 COLLECT_FAILED=0 COLLECT_SKIPPED=0
  SRC_ROOT="${SYSTEM_ROOT_PREFIX%/}"
  declare -gA DIR_SOURCE=()
  BL_PREFIXES=() BL_GLOBS=()
  COLLECT_TIMEOUT="${PBK_COMMAND_TIMEOUT:-60}"
  CP_PRESERVE='mode,timestamps'
  [[ "$EUID" -ne 0 ]] || CP_PRESERVE='mode,ownership,timestamps'
  local entry
  while IFS= read -r entry; do
    [[ -n "$entry" ]] || continue
    if [[ "$entry" == *[*?[]* ]]; then
      BL_GLOBS+=("$entry")
    else
      while [[ "$entry" == */ && "$entry" != / ]]; do entry="${entry%/}"; done
      BL_PREFIXES+=("$entry")
    fi
  done <<< "${BACKUP_BLACKLIST:-}"
  log_info "Blacklist paths: $(( ${#BL_PREFIXES[@]} + ${#BL_GLOBS[@]} )) paths configured"
  mkdir -p -- "$STAGING" || { log_error "Failed to create staging directory ${STAGING}"; return 2; }
}

# collect_is_prohibited PATH (collect.md §1.4)
collect_is_prohibited() {
  [[ "$1" == *.cursor* || "$1" == *.vscode* || "$1" == *node_modules* ]]
}

# collect_is_blacklisted PATH (collect.md §7.2): prefix entries and globs where * also matches '/'.
collect_is_blacklisted() {
  local path="$1" entry
  for entry in "${BL_PREFIXES[@]}"; do
    [[ "$path" == "$entry" || "$path" == "${entry%/}/"* ]] && return 0
  done
  for entry in "${BL_GLOBS[@]}"; do
    # shellcheck disable=SC2053 # the entry is a glob on purpose
    [[ "$path" == ${entry}* ]] && return 0
  done
  return 1
}

# collect_excluded LOGICAL: true (with a DEBUG line) when the blacklist or a prohibited pattern drops it.
collect_excluded() {
  if collect_is_prohibited "$1"; then
    log_debug "Skipping path with prohibited pattern: $(log_esc "$1")"
    return 0
  fi
  if collect_is_blacklisted "$1"; then
    log_debug "Excluded by blacklist: $(log_esc "$1")"
    return 0
  fi
  return 1
}

# collect_missing OUTCOME WHAT PATH [MESSAGE]: skip|INFO|SKIP|WARNING (collect.md notation).
collect_missing() {
  local outcome="$1" what="$2" path="$3" message="${4:-}"
  COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 ))
  case "$outcome" in
    skip) log_debug "${message:-Not found: ${what} - $(log_esc "$path")}" ;;
    INFO) log_info "${message:-Not found: ${what} - $(log_esc "$path")}" ;;
    SKIP) log_skip "${message:-Not found: ${what} - $(log_esc "$path")}" ;;
    WARNING)
      COLLECT_SKIPPED=$(( COLLECT_SKIPPED - 1 ))
      COLLECT_FAILED=$(( COLLECT_FAILED + 1 ))
      log_warning "${message:-Failed to collect ${what} - $(log_esc "$path") - not found}"
      ;;
  esac
}

collect_fail() {
  COLLECT_FAILED=$(( COLLECT_FAILED + 1 ))
  log_warning "Failed to collect $1 - $(log_esc "$2")${3:+ - $3}"
}

# collect_make_parents DEST: create the parents of staging path DEST, remembering where each came from.
collect_make_parents() {
  local rel="${1%/*}" current=''
  local -a parts
  IFS=/ read -r -a parts <<< "${rel#./}"
  local part
  local -a absent=()
  for part in "${parts[@]}"; do
    [[ -n "$part" ]] || continue
    current+="/${part}"
    if [[ ${#absent[@]} -gt 0 || ! -d "${STAGING}${current}" ]]; then
      absent+=("${STAGING}${current}")
      if [[ -d "${SRC_ROOT}${current}" && ! -L "${SRC_ROOT}${current}" ]]; then
        DIR_SOURCE[".${current}"]="${SRC_ROOT}${current}"
      else
        DIR_SOURCE[".${current}"]=''
      fi
    fi
  done
  (( ${#absent[@]} == 0 )) || mkdir -- "${absent[@]}"   # one mkdir, parents first
}

# collect_file LOGICAL DEST WHAT MISSING [MISSING_MESSAGE]: one file (a symlink is stored as a link).
collect_file() {
  local logical="$1" dest="$2" what="$3" missing="$4" message="${5:-}" src="${SRC_ROOT}$1"
  if [[ ! -e "$src" && ! -L "$src" ]]; then
    collect_missing "$missing" "$what" "$logical" "$message"
    return 0
  fi
  if collect_excluded "$logical"; then COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 )); return 0; fi
  if [[ ! -L "$src" && ! -f "$src" ]]; then
    log_debug "Skipping special file: $(log_esc "$logical")"
    COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 ))
    return 0
  fi
  if [[ ! -L "$src" && ! -r "$src" ]]; then
    collect_fail "$what" "$logical"
    return 0
  fi
  collect_make_parents "$dest" || { log_error "Failed to create staging directory for ${dest}"; return 2; }
  if ! cp -P --preserve="$CP_PRESERVE" -- "$src" "${STAGING}/${dest#./}" 2> "${RUN_DIR}/cp.err"; then
    collect_fail "$what" "$logical" "$(log_esc "$(head -n 1 "${RUN_DIR}/cp.err")")"
    return 0
  fi
  COLLECT_OK=$(( COLLECT_OK + 1 ))
}

# collect_tree LOGICAL DEST WHAT MISSING [FILTER] [MISSING_MESSAGE]: a directory, recursively.
# FILTER: '' | regular (files only, no links) | no-private (no directory named private at any depth)
# | no-cache (without the top-level cache/, collect.md S58).
collect_tree() {
  local logical="$1" dest="$2" what="$3" missing="$4" filter="${5:-}" message="${6:-}" src="${SRC_ROOT}$1"
  if [[ ! -e "$src" && ! -L "$src" ]]; then
    collect_missing "$missing" "$what" "$logical" "$message"
    return 0
  fi
  if collect_excluded "$logical"; then COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 )); return 0; fi
  if [[ -L "$src" || ! -d "$src" ]]; then
    collect_file "$logical" "$dest" "$what" "$missing" "$message"
    return $?
  fi
  if [[ ! -r "$src" || ! -x "$src" ]]; then
    collect_fail "$what" "$logical"
    return 0
  fi
  local list="${RUN_DIR}/tree.list" type rel pruned='' entry_logical
  printf '.\0' > "$list"
  if ! collect_make_parents "${dest%/}/x" || ! mkdir -p -- "${STAGING}/${dest#./}"; then
    log_error "Failed to create staging directory for ${dest}"
    return 2
  fi
  DIR_SOURCE["${dest%/}"]="$src"
  while IFS= read -r -d '' entry; do
    type="${entry:0:1}"
    rel="${entry:2}"
    [[ -n "$pruned" && "$rel" == "$pruned"/* ]] && continue
    entry_logical="${logical%/}/${rel}"
    if collect_excluded "$entry_logical" || { [[ "$filter" == no-private && "/${rel}/" == */private/* ]]; } \
      || { [[ "$filter" == no-cache && ( "$rel" == cache || "$rel" == cache/* ) ]]; }; then
      if [[ "$type" == d ]]; then pruned="$rel"; fi
      continue
    fi
    case "$type" in
      d)
        if [[ ! -r "${src}/${rel}" || ! -x "${src}/${rel}" ]]; then
          collect_fail "$what" "$entry_logical"
          pruned="$rel"
          continue
        fi
        DIR_SOURCE["${dest%/}/${rel}"]="${src}/${rel}"
        ;;
      f)
        if [[ ! -r "${src}/${rel}" ]]; then
          collect_fail "$what" "$entry_logical"
          continue
        fi
        ;;
      l) [[ "$filter" != regular ]] || continue ;;
      *)
        log_debug "Skipping special file: $(log_esc "$entry_logical")"
        continue
        ;;
    esac
    printf './%s\0' "$rel" >> "$list"
  done < <(find "$src" -mindepth 1 -printf '%y %P\0' 2> /dev/null)
  if ! tar -C "$src" --null --verbatim-files-from --no-recursion -T "$list" -cf - 2> "${RUN_DIR}/tar.err" \
    | tar -C "${STAGING}/${dest#./}" --numeric-owner -xpf - 2>> "${RUN_DIR}/tar.err"; then
    collect_fail "$what" "$logical" "$(log_esc "$(head -n 1 "${RUN_DIR}/tar.err")")"
    return 0
  fi
  COLLECT_OK=$(( COLLECT_OK + 1 ))
}

# collect_generated DEST: stdin into a generated file (mode 0644, mtime = run start, archive.md §5.2). Mode and
# time are set by collect_finish_dirs, once for every generated file (one chmod and one touch per run instead of
# two per file); the list is a file in RUN_DIR because this often runs at the end of a pipeline, in a subshell.
collect_generated() {
  local dest="$1" file="${STAGING}/${1#./}"
  collect_make_parents "$dest" || return 1
  cat > "$file" || return 1
  printf '%s\0' "$file" >> "${RUN_DIR}/generated.list"
}

# collect_finish_generated: mode 0644 and the run start as mtime on every file collect_generated wrote.
collect_finish_generated() {
  local list="${RUN_DIR}/generated.list"
  [[ -s "$list" ]] || return 0
  # a listed file that is gone again (removed after a failure) is no longer staged: nothing to set on it
  xargs -0 chmod -f 0644 -- < "$list" || true
  xargs -0 touch -c -d "@${START_TIME}" -- < "$list" || true
  : > "$list"
}

# collect_command WHAT DEST SEVERITY ARGV...: stdout of a command (collect.md §1.3). SEVERITY WARNING|debug.
collect_command() {
  local what="$1" dest="$2" severity="$3" status=0 reason first
  shift 3
  if ! core_has_program "$1"; then
    log_debug "Command not available: $1 (skipping ${what})"
    COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 ))
    return 0
  fi
  core_host_run 5 "$COLLECT_TIMEOUT" "${RUN_DIR}/cmd.out" "${RUN_DIR}/cmd.err" "$@" || status=$?
  if (( status == 0 )); then
    collect_generated "$dest" < "${RUN_DIR}/cmd.out" || { collect_fail "$what" "$dest"; return 0; }
    COLLECT_OK=$(( COLLECT_OK + 1 ))
    return 0
  fi
  if (( status == 124 || status == 137 )); then
    reason='timed out'
  else
    first="$(head -n 1 "${RUN_DIR}/cmd.err")"
    reason="${first:-exit ${status}}"
  fi
  local line
  line="Failed to collect ${what} - command: $(log_esc "$*") - $(log_esc "$reason")"
  if [[ "$severity" == WARNING ]]; then
    COLLECT_FAILED=$(( COLLECT_FAILED + 1 ))
    log_warning "$line"
  else
    COLLECT_SKIPPED=$(( COLLECT_SKIPPED + 1 ))
    log_debug "$line"
  fi
  return 0   # counted and logged above; a failed item never stops collection (collect.md §1.8)
}

# collect_finish_dirs: every staged directory gets the mode/owner/mtime of its source, or 0755 and the
# run start when it was generated (collect.md §1.1: the staging tree is the same on both sides).
collect_finish_dirs() {
  local dir rel source mirrors="${RUN_DIR}/mirror-dirs.list"
  local -a generated=()
  collect_finish_generated
  : > "$mirrors"
  while IFS= read -r -d '' dir; do
    rel=".${dir#"$STAGING"}"
    source="${DIR_SOURCE[$rel]-}"
    if [[ "$rel" == . || -z "$source" ]]; then
      generated+=("$dir")
    elif [[ "$source" == "${SRC_ROOT}${rel#.}" ]]; then
      printf '%s\0' "${rel#./}" >> "$mirrors"
    else
      chmod --reference="$source" -- "$dir"
      [[ "$CP_PRESERVE" != *ownership* ]] || chown --reference="$source" -- "$dir"
      touch -r "$source" -- "$dir"
    fi
  done < <(find "$STAGING" -depth -type d -print0)
  # Generated directories, all at once (their metadata does not change a parent's mtime, so order is free).
  (( ${#generated[@]} == 0 )) || { chmod 0755 -- "${generated[@]}" && touch -d "@${START_TIME}" -- "${generated[@]}"; }
  collect_mirror_dirs "$mirrors"
}

# collect_mirror_dirs LIST: directories staged at their own path (the usual case) take mode, owner and mtime
# from their source in one tar pass instead of three programs each: GNU tar sets an existing directory's
# metadata when it extracts its entry, with -p as root, and pax keeps the nanoseconds `touch -r` copied.
collect_mirror_dirs() {
  [[ -s "$1" ]] || return 0
  local -a owner=(--no-same-owner)
  [[ "$CP_PRESERVE" != *ownership* ]] || owner=(--same-owner --numeric-owner)
  tar -C "${SRC_ROOT}/" --format=posix --no-recursion --null --verbatim-files-from -T "$1" -cf - 2> /dev/null \
    | tar -C "$STAGING" --no-recursion "${owner[@]}" -xpf - 2> /dev/null || true
}

# collect_switch KEY MESSAGE: true when KEY is on; otherwise logs MESSAGE at SKIP (collect.md §3.1).
collect_switch() {
  [[ "${!1:-false}" == true ]] && return 0
  log_skip "$2"
  return 1
}
