# shellcheck shell=bash
# The configuration loader of the legacy side (config.md, decision 11): parses the backup.env Bash subset
# without ever sourcing it, refuses command substitution, types every key from config-keys.tsv (generated
# from the TypeScript table) and applies the cross-key rules. Same grammar and messages as
# native/core/config-parse.ts and config.ts; tests run both on the same files and compare.
# Results: CONFIG_VALUES[KEY] (normalised), CONFIG_ORIGIN[KEY], CONFIG_UNKNOWN (file order),
# CONFIG_WARNINGS, CONFIG_ERRORS. Needs log.sh (log_esc).

# the directory of this file without a subshell or dirname (every shim and tool sources it)
CONFIG_LIB_DIR="${BASH_SOURCE[0]%/*}"
[[ "$CONFIG_LIB_DIR" != "${BASH_SOURCE[0]}" ]] || CONFIG_LIB_DIR=.
[[ "$CONFIG_LIB_DIR" == /* ]] || CONFIG_LIB_DIR="${PWD}/${CONFIG_LIB_DIR}"
CONFIG_MAX_BYTES=1048576

declare -gA CFG_KIND=() CFG_DEFAULT=() CFG_MIN=() CFG_MAX=() CFG_VALUES=() CFG_SECRET=() CFG_EXPECTED=()
declare -ga CFG_ORDER=()
declare -gA CONFIG_VALUES=() CONFIG_ORIGIN=() CONFIG_ENV=()
declare -ga CONFIG_UNKNOWN=() CONFIG_WARNINGS=() CONFIG_ERRORS=()

# config_keys_load: read the key table once.
config_keys_load() {
  local name kind def min max values secret expected
  (( ${#CFG_ORDER[@]} == 0 )) || return 0
  while IFS=$'\t' read -r name kind def min max values secret expected; do
    [[ -z "$name" || "$name" == '#'* ]] && continue
    if [[ "$def" == - ]]; then def=''; fi
    CFG_ORDER+=("$name")
    CFG_KIND[$name]="$kind"
    # The TSV escapes only \\, \n and \t, so %b cannot meet any other escape.
    printf -v "CFG_DEFAULT[$name]" '%b' "$def"
    CFG_MIN[$name]="$min"
    CFG_MAX[$name]="$max"
    CFG_VALUES[$name]="$values"
    CFG_SECRET[$name]="$secret"
    CFG_EXPECTED[$name]="$expected"
  done < "${CONFIG_LIB_DIR}/config-keys.tsv"
}

# config_snapshot_env: the process environment, so that $VAR never reads this script's own variables.
config_snapshot_env() {
  local entry
  CONFIG_ENV=()
  while IFS= read -r -d '' entry; do
    CONFIG_ENV["${entry%%=*}"]="${entry#*=}"
  done < <(env -0)
}

# ---------------------------------------------------------------------------------------------------
# Parser: cursor over _P_S; on a syntax failure a function sets _P_ERR_LINE/_P_ERR_REASON/_P_ERR_FATAL
# and returns 1. Results: _P_KEYS, _P_VALS, _P_LINES (assignments in file order), _P_ERRORS.

_p_fail() {
  _P_ERR_LINE="$1"
  _P_ERR_REASON="$2"
  _P_ERR_FATAL="${3:-false}"
  return 1
}

# _p_advance N: move N bytes, counting newlines.
_p_advance() {
  local count="${1:-1}" chunk
  chunk="${_P_S:_P_I:count}"
  local only_newlines="${chunk//[!$'\n']/}"
  _P_LINE=$(( _P_LINE + ${#only_newlines} ))
  _P_I=$(( _P_I + count ))
}

_p_skip_to_line_end() {
  local rest="${_P_S:_P_I}"
  local line="${rest%%$'\n'*}"
  _P_I=$(( _P_I + ${#line} ))
}

# _p_lookup NAME: sets _P_FOUND (no command substitution: it would strip trailing newlines).
_p_lookup() {
  local name="$1"
  if [[ -v "_P_ASSIGNED[$name]" ]]; then
    _P_FOUND="${_P_ASSIGNED[$name]}"
  elif [[ "$name" == BASE_DIR ]]; then
    _P_FOUND="$_P_BASE_DIR"
  else
    _P_FOUND="${CONFIG_ENV[$name]-}"
  fi
}

_p_read_name() {
  _P_NAME=''
  local rest="${_P_S:_P_I}"
  if [[ "$rest" =~ ^[A-Za-z_][A-Za-z0-9_]* ]]; then
    _P_NAME="${BASH_REMATCH[0]}"
    _P_I=$(( _P_I + ${#_P_NAME} ))
  fi
}

# _p_expansion: at `$`; appends the expansion to _P_VAL.
_p_expansion() {
  local next="${_P_S:_P_I+1:1}" line="$_P_LINE" rest inner value
  if [[ "$next" == '(' ]]; then
    _p_fail "$_P_LINE" 'command substitution is not allowed'
    return 1
  fi
  if [[ "$next" == '{' ]]; then
    rest="${_P_S:_P_I+2}"
    if [[ "$rest" != *'}'* ]]; then
      _p_fail "$line" 'unsupported syntax'
      return 1
    fi
    inner="${rest%%\}*}"
    _p_advance $(( ${#inner} + 3 ))
    if [[ "$inner" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      _p_lookup "$inner"
      _P_VAL+="$_P_FOUND"
    elif [[ "$inner" =~ ^([A-Za-z_][A-Za-z0-9_]*):-(.*)$ ]]; then
      value="${BASH_REMATCH[2]}"
      # shellcheck disable=SC2016 # the literal characters are looked for
      if [[ "$value" == *'$('* || "$value" == *'`'* || "$value" == *'<('* ]]; then   # config.md §2: anywhere
        _p_fail "$line" 'command substitution is not allowed'
        return 1
      fi
      _p_lookup "${BASH_REMATCH[1]}"
      [[ -z "$_P_FOUND" ]] || value="$_P_FOUND"
      _P_VAL+="$value"
    else
      _p_fail "$line" 'unsupported syntax'
      return 1
    fi
    return 0
  fi
  if [[ "$next" =~ ^[A-Za-z_]$ ]]; then
    _p_advance 1
    _p_read_name
    _p_lookup "$_P_NAME"
    _P_VAL+="$_P_FOUND"
    return 0
  fi
  _p_advance 1
  _P_VAL+='$'
}

_p_single_quoted() {
  local open_line="$_P_LINE" rest inside
  rest="${_P_S:_P_I+1}"
  if [[ "$rest" != *"'"* ]]; then
    _p_fail "$open_line" 'unterminated quote' true
    return 1
  fi
  inside="${rest%%\'*}"
  _P_VAL+="$inside"
  _p_advance $(( ${#inside} + 2 ))
}

_p_double_quoted() {
  local open_line="$_P_LINE" c next
  _p_advance 1
  while true; do
    (( _P_I < _P_N )) || { _p_fail "$open_line" 'unterminated quote' true; return 1; }
    c="${_P_S:_P_I:1}"
    case "$c" in
      '"') _p_advance 1; return 0 ;;
      "\\")
        next="${_P_S:_P_I+1:1}"
        if [[ "$next" == '"' || "$next" == "\\" || "$next" == '$' || "$next" == '`' ]]; then
          _P_VAL+="$next"
          _p_advance 2
        else
          _P_VAL+="\\"
          _p_advance 1
        fi
        ;;
      '$') _p_expansion || return 1 ;;
      '`') _p_fail "$_P_LINE" 'command substitution is not allowed'; return 1 ;;
      *) _P_VAL+="$c"; _p_advance 1 ;;
    esac
  done
}

# _p_word STATEMENT_LINE: the value after `=`, into _P_VAL.
_p_word() {
  local line="$1" c next
  _P_VAL=''
  while (( _P_I < _P_N )); do
    c="${_P_S:_P_I:1}"
    case "$c" in
      ' ' | $'\t' | $'\n') return 0 ;;
      "'") _p_single_quoted || return 1 ;;
      '"') _p_double_quoted || return 1 ;;
      "\\")
        next="${_P_S:_P_I+1:1}"
        if [[ "$next" == $'\n' ]]; then
          _p_advance 2
        elif (( _P_I + 1 >= _P_N )); then
          _P_VAL+="\\"
          _p_advance 1
        else
          _P_VAL+="$next"
          _p_advance 2
        fi
        ;;
      '$') _p_expansion || return 1 ;;
      '`') _p_fail "$_P_LINE" 'command substitution is not allowed'; return 1 ;;
      '<')
        next="${_P_S:_P_I+1:1}"
        [[ "$next" == '(' ]] && { _p_fail "$_P_LINE" 'command substitution is not allowed'; return 1; }
        _p_fail "$line" 'unsupported syntax'
        return 1
        ;;
      ';' | '&' | '|' | '>' | '(' | ')') _p_fail "$line" 'unsupported syntax'; return 1 ;;
      *) _P_VAL+="$c"; _p_advance 1 ;;
    esac
  done
}

_p_assignment() {
  local line="$1" c
  if [[ "${_P_S:_P_I:6}" == export && ( "${_P_S:_P_I+6:1}" == ' ' || "${_P_S:_P_I+6:1}" == $'\t' ) ]]; then
    _p_advance 6
    while [[ "${_P_S:_P_I:1}" == ' ' || "${_P_S:_P_I:1}" == $'\t' ]]; do _p_advance 1; done
  fi
  _p_read_name
  if [[ -z "$_P_NAME" || "${_P_S:_P_I:1}" != '=' ]]; then
    _p_fail "$line" 'unsupported syntax'
    return 1
  fi
  _P_KEY="$_P_NAME"
  _p_advance 1
  [[ "${_P_S:_P_I:1}" == '(' ]] && { _p_fail "$line" 'unsupported syntax'; return 1; }
  _p_word "$line" || return 1
  while [[ "${_P_S:_P_I:1}" == ' ' || "${_P_S:_P_I:1}" == $'\t' ]]; do _p_advance 1; done
  c="${_P_S:_P_I:1}"
  if [[ "$c" == '#' ]]; then
    _p_skip_to_line_end
  elif [[ -n "$c" && "$c" != $'\n' ]]; then
    _p_fail "$line" 'unsupported syntax'
    return 1
  fi
}

# config_parse TEXT LABEL BASE_DIR
config_parse() {
  _P_S="$1"
  local label="$2" c line
  _P_BASE_DIR="$3"
  _P_I=0
  _P_N=${#_P_S}
  _P_LINE=1
  _P_KEYS=() _P_VALS=() _P_LINES=() _P_ERRORS=()
  declare -gA _P_ASSIGNED=()
  while true; do
    while [[ "${_P_S:_P_I:1}" == ' ' || "${_P_S:_P_I:1}" == $'\t' || "${_P_S:_P_I:1}" == $'\n' ]]; do
      _p_advance 1
    done
    (( _P_I < _P_N )) || break
    line="$_P_LINE"
    c="${_P_S:_P_I:1}"
    if [[ "$c" == '#' ]]; then
      _p_skip_to_line_end
      continue
    fi
    if _p_assignment "$line"; then
      # BASE_DIR is never read from the file (config.md §1).
      [[ "$_P_KEY" == BASE_DIR ]] || _P_ASSIGNED[$_P_KEY]="$_P_VAL"
      _P_KEYS+=("$_P_KEY")
      _P_VALS+=("$_P_VAL")
      _P_LINES+=("$line")
    else
      _P_ERRORS+=("${label}:${_P_ERR_LINE}: ${_P_ERR_REASON}")
      [[ "$_P_ERR_FATAL" == true ]] && break
      _p_skip_to_line_end
    fi
  done
}

# ---------------------------------------------------------------------------------------------------
# Typing (config.md §3).

_c_trim() {
  local text="$1"
  text="${text#"${text%%[!$' \t\n\r']*}"}"
  text="${text%"${text##*[!$' \t\n\r']}"}"
  _C_TRIMMED="$text"
}

# config_expand_item ITEM: ${VAR}, ${VAR:-default}, $VAR from the file's values, BASE_DIR, environment.
config_expand_item() {
  local rest="$1" out='' prefix value
  while true; do
    prefix="${rest%%\$*}"
    out+="$prefix"
    rest="${rest:${#prefix}}"
    [[ -n "$rest" ]] || break
    if [[ "$rest" =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^\}]*))?\} ]]; then
      _c_list_lookup "${BASH_REMATCH[1]}"
      value="$_P_FOUND"
      if [[ -z "$value" && -n "${BASH_REMATCH[2]}" ]]; then value="${BASH_REMATCH[3]}"; fi
      out+="$value"
      rest="${rest:${#BASH_REMATCH[0]}}"
    elif [[ "$rest" =~ ^\$([A-Za-z_][A-Za-z0-9_]*) ]]; then
      _c_list_lookup "${BASH_REMATCH[1]}"
      out+="$_P_FOUND"
      rest="${rest:${#BASH_REMATCH[0]}}"
    else
      out+='$'
      rest="${rest:1}"
    fi
  done
  _C_EXPANDED="$out"
}

_c_list_lookup() {
  local name="$1"
  if [[ "$name" != BASE_DIR && -v "_C_FILE_VALUE[$name]" ]]; then
    _P_FOUND="${_C_FILE_VALUE[$name]}"
  elif [[ "$name" == BASE_DIR ]]; then
    _P_FOUND="$_P_BASE_DIR"
  else
    _P_FOUND="${CONFIG_ENV[$name]-}"
  fi
}

# _c_list RAW: list items, one per line (trimmed, blank and # lines dropped, one quote pair removed).
_c_list() {
  local raw="$1" item out=() first
  local -a lines
  mapfile -t lines <<< "$raw"
  for item in "${lines[@]}"; do
    _c_trim "$item"
    item="$_C_TRIMMED"
    [[ -z "$item" || "$item" == '#'* ]] && continue
    first="${item:0:1}"
    if (( ${#item} >= 2 )) && [[ ( "$first" == '"' || "$first" == "'" ) && "${item: -1}" == "$first" ]]; then
      item="${item:1:${#item}-2}"
    fi
    config_expand_item "$item"
    out+=("$_C_EXPANDED")
  done
  local IFS=$'\n'
  _N_VALUE="${out[*]}"
}

_c_size() {
  local text="${1^^}" digits unit power=0 mult=1 max=9007199254740991
  [[ "$text" =~ ^([0-9]+)([KMGT])?(I|B|IB)?$ ]] || return 1
  digits="${BASH_REMATCH[1]}"
  unit="${BASH_REMATCH[2]}"
  [[ -z "$unit" && -n "${BASH_REMATCH[3]}" ]] && return 1
  case "$unit" in K) power=1 ;; M) power=2 ;; G) power=3 ;; T) power=4 ;; esac
  digits="${digits#"${digits%%[!0]*}"}"
  [[ -n "$digits" ]] || digits=0
  (( ${#digits} <= 16 )) || return 1
  while (( power > 0 )); do mult=$(( mult * 1024 )); power=$(( power - 1 )); done
  (( 10#$digits <= max / mult )) || return 1
  _N_VALUE=$(( 10#$digits * mult ))
}

# config_normalise KEY RAW: sets _N_VALUE; returns 1 when RAW is not of the key's type.
config_normalise() {
  local key="$1" raw="$2" kind="${CFG_KIND[$1]}" text lower
  text="$raw"
  if [[ "$kind" != string && "$kind" != secret && "$kind" != list ]]; then
    _c_trim "$raw"
    text="$_C_TRIMMED"
  fi
  case "$kind" in
    bool)
      lower="${text,,}"
      case "$lower" in
        true | 1 | yes) _N_VALUE=true ;;
        false | 0 | no) _N_VALUE=false ;;
        *) return 1 ;;
      esac
      ;;
    int)
      [[ "$text" =~ ^[0-9]+$ && ${#text} -le 15 ]] || return 1
      _N_VALUE=$(( 10#$text ))
      ;;
    size) _c_size "$text" || return 1 ;;
    path)
      if [[ -z "$text" ]]; then
        _N_VALUE=''
        return 0
      fi
      [[ "$text" == /* && "$text" != *$'\n'* ]] || return 1
      while [[ "$text" == */ ]]; do text="${text%/}"; done
      _N_VALUE="${text:-/}"
      ;;
    list) _c_list "$text" ;;
    csv)
      local -a items kept=()
      IFS=$', \t\n\r\f\v' read -r -d '' -a items <<< "$text" || true
      for lower in "${items[@]}"; do [[ -z "$lower" ]] || kept+=("$lower"); done
      local IFS=$'\n'
      _N_VALUE="${kept[*]}"
      ;;
    enum | string | secret) _N_VALUE="$text" ;;
    version)
      [[ "$text" =~ ^[0-9]+(\.[0-9]+)*$ ]] || return 1
      _N_VALUE="$text"
      ;;
    *) return 1 ;;
  esac
}

# config_schema_ok KEY VALUE: range and enum membership (the JSON Schema's job on the TS side).
config_schema_ok() {
  local key="$1" value="$2" kind="${CFG_KIND[$1]}" min="${CFG_MIN[$1]}" max="${CFG_MAX[$1]}"
  case "$kind" in
    int | size)
      if [[ "$min" == - ]]; then min=0; fi
      (( value >= min )) || return 1
      [[ "$max" == - ]] || (( value <= max )) || return 1
      ;;
    enum) [[ "|${CFG_VALUES[$key]}|" == *"|${value}|"* ]] || return 1 ;;
  esac
  return 0
}

_c_where() {
  local origin="$1"
  case "$origin" in
    file:*) printf 'at %s:%s' "$_C_LABEL" "${origin#file:}" ;;
    environment) printf '(environment)' ;;
    'command line') printf '(command line)' ;;
    *) printf '(default)' ;;
  esac
}

# config_invalid_message KEY RAW ORIGIN [EXPECTED]
config_invalid_message() {
  local key="$1" raw="$2" origin="$3" expected="${4:-${CFG_EXPECTED[$1]}}" shown
  if [[ "${CFG_SECRET[$key]}" == secret ]]; then
    shown='***'
  else
    shown="$(log_esc "$raw")"
  fi
  printf "Invalid value for %s: '%s' (expected %s) %s" "$key" "$shown" "$expected" "$(_c_where "$origin")"
}

# config_read_text PATH: the file's text into _C_TEXT, or an error into CONFIG_ERRORS (returns 1).
config_read_text() {
  local path="$1" size bad
  if [[ ! -e "$path" ]]; then
    CONFIG_ERRORS+=("Configuration file not found: $(log_esc "$path")")
    return 1
  fi
  size="$(stat -L -c %s -- "$path" 2>/dev/null || printf 'x')"
  # A FIFO or device is never opened (security.md §9).
  if [[ ! -f "$path" || ! -r "$path" || ! "$size" =~ ^[0-9]+$ ]]; then
    CONFIG_ERRORS+=("Configuration file not readable: $(log_esc "$path")")
    return 1
  fi
  if (( size > CONFIG_MAX_BYTES )); then
    CONFIG_ERRORS+=("Configuration file too large: $(log_esc "$path") (${size} bytes; the limit is ${CONFIG_MAX_BYTES})")
    return 1
  fi
  if [[ "$(head -c 3 -- "$path" | od -An -tx1 | tr -d ' \n')" == efbbbf ]]; then
    CONFIG_ERRORS+=("${_C_LABEL}:1: UTF-8 byte order mark (BOM) at the start of the file; save it without one")
    return 1
  fi
  bad="$(perl "${CONFIG_LIB_DIR}/bytes.pl" badline "$path")" || {
    CONFIG_ERRORS+=("Configuration file not readable: $(log_esc "$path")")
    return 1
  }
  if [[ -n "$bad" ]]; then
    CONFIG_ERRORS+=("${_C_LABEL}:${bad}: invalid character")
    return 1
  fi
  _C_TEXT=''
  IFS= read -r -d '' _C_TEXT < "$path" || true
}

# config_load PATH BASE_DIR [KEY=VALUE...]: the command-line overrides come last (config.md §4).
config_load() {
  local path="$1" base_dir="$2" i key raw origin effective_raw
  shift 2
  declare -gA _C_FILE_VALUE=() _C_RAW=()
  declare -A cli=() key_errors=()
  for i in "$@"; do cli["${i%%=*}"]="${i#*=}"; done
  CONFIG_VALUES=() CONFIG_ORIGIN=() CONFIG_UNKNOWN=() CONFIG_WARNINGS=() CONFIG_ERRORS=()
  _C_LABEL="${path##*/}"
  _P_BASE_DIR="$base_dir"
  config_keys_load
  config_snapshot_env
  config_read_text "$path" || return 0
  if [[ "$_C_TEXT" == *$'\r\n'* ]]; then
    CONFIG_WARNINGS+=("${_C_LABEL} uses CRLF line endings")
    _C_TEXT="${_C_TEXT//$'\r\n'/$'\n'}"
  fi
  _c_trim "$_C_TEXT"
  [[ -n "$_C_TRIMMED" ]] || CONFIG_WARNINGS+=("Configuration file is empty: $(log_esc "$path")")
  config_parse "$_C_TEXT" "$_C_LABEL" "$base_dir"
  CONFIG_ERRORS+=("${_P_ERRORS[@]}")
  _c_collect_file_values
  for key in "${CFG_ORDER[@]}"; do
    raw="${CFG_DEFAULT[$key]}"
    origin=default
    if [[ -v "_C_FILE_VALUE[$key]" ]]; then raw="${_C_FILE_VALUE[$key]}"; origin="file:${_C_FILE_LINE[$key]}"; fi
    if [[ -v "CONFIG_ENV[$key]" ]]; then raw="${CONFIG_ENV[$key]}"; origin=environment; fi
    if [[ -v "cli[$key]" ]]; then raw="${cli[$key]}"; origin='command line'; fi
    _C_RAW[$key]="$raw"
    CONFIG_ORIGIN[$key]="$origin"
    effective_raw="$raw"
    _c_trim "$raw"
    if [[ -z "$_C_TRIMMED" ]] && _c_empty_takes_default "$key"; then effective_raw="${CFG_DEFAULT[$key]}"; fi
    if [[ "$origin" == default && "${CFG_KIND[$key]}" != list ]]; then
      # shellcheck disable=SC2016 # the literal text ${BASE_DIR} of a default is what gets replaced
      effective_raw="${effective_raw//'${BASE_DIR}'/$base_dir}"
    fi
    if config_normalise "$key" "$effective_raw" && config_schema_ok "$key" "$_N_VALUE"; then
      CONFIG_VALUES[$key]="$_N_VALUE"
    else
      key_errors[$key]="$(config_invalid_message "$key" "$raw" "$origin")"
    fi
  done
  for key in "${CFG_ORDER[@]}"; do
    if [[ -v "key_errors[$key]" ]]; then CONFIG_ERRORS+=("${key_errors[$key]}"); fi
  done
  for key in "${CONFIG_UNKNOWN[@]}"; do CONFIG_VALUES[$key]="${_C_FILE_VALUE[$key]}"; done
  (( ${#key_errors[@]} > 0 )) || config_apply_cross_rules
}

_c_empty_takes_default() {
  case "${CFG_KIND[$1]}" in bool | int | size | enum | version) return 0 ;; *) return 1 ;; esac
}

_c_collect_file_values() {
  local i key known
  declare -gA _C_FILE_LINE=()
  for i in "${!_P_KEYS[@]}"; do
    key="${_P_KEYS[$i]}"
    known=false
    if [[ -v "CFG_KIND[$key]" ]]; then known=true; fi
    if [[ "$known" == false ]]; then
      CONFIG_WARNINGS+=("Unknown configuration key ${key} (${_C_LABEL}:${_P_LINES[$i]})")
      [[ " ${CONFIG_UNKNOWN[*]} " == *" ${key} "* ]] || CONFIG_UNKNOWN+=("$key")
    fi
    _C_FILE_VALUE[$key]="${_P_VALS[$i]}"
    _C_FILE_LINE[$key]="${_P_LINES[$i]}"
  done
}

# ---------------------------------------------------------------------------------------------------
# Cross-key rules (config.md §8, security.md §9); tier switches turned off here are what context.env records.

_c_fail() {
  local key="$1" expected="$2"
  CONFIG_ERRORS+=("$(config_invalid_message "$key" "${_C_RAW[$key]}" "${CONFIG_ORIGIN[$key]}" "$expected")")
}

_c_level_range() {
  local type="${CONFIG_VALUES[COMPRESSION_TYPE]}" mode="${CONFIG_VALUES[COMPRESSION_MODE]}"
  _C_LOW=1
  _C_HIGH=9
  if [[ "$type" == zstd ]]; then
    _C_HIGH=19
    if [[ "$mode" == ultra ]]; then _C_HIGH=22; fi
  elif [[ "$type" == none ]]; then
    _C_HIGH=22
  fi
}

_c_is_inside() {
  local child="$1" parent="$2"
  [[ "$child" == "$parent" ]] && return 0
  if [[ "$parent" == / ]]; then [[ "$child" == /* ]]; else [[ "$child" == "$parent"/* ]]; fi
}

_c_count_recipients() {
  local inline="$1" file="$2" text
  _C_RECIPIENTS=0
  [[ -z "$inline" ]] || _C_RECIPIENTS=$(( $(printf '%s\n' "$inline" | wc -l) ))
  [[ -n "$file" ]] || return 0
  if [[ ! -f "$file" || ! -r "$file" ]]; then
    CONFIG_ERRORS+=("Cannot read AGE_RECIPIENT_FILE: $(log_esc "$file")")
    return 1
  fi
  text=''
  IFS= read -r -d '' text < "$file" || true
  _c_list "$text"
  [[ -z "$_N_VALUE" ]] || _C_RECIPIENTS=$(( _C_RECIPIENTS + $(printf '%s\n' "$_N_VALUE" | wc -l) ))
}

config_apply_cross_rules() {
  local -n v=CONFIG_VALUES
  [[ -n "${v[LOCAL_BACKUP_PATH]}" ]] || _c_fail LOCAL_BACKUP_PATH 'absolute path'
  [[ -n "${v[LOCAL_LOG_PATH]}" ]] || _c_fail LOCAL_LOG_PATH 'absolute path'
  _c_level_range
  if (( v[COMPRESSION_LEVEL] < _C_LOW || v[COMPRESSION_LEVEL] > _C_HIGH )); then
    _c_fail COMPRESSION_LEVEL "int ${_C_LOW}..${_C_HIGH}"
  fi
  [[ -d "${v[SYSTEM_ROOT_PREFIX]}" ]] || _c_fail SYSTEM_ROOT_PREFIX 'existing directory'
  if [[ "${v[ENCRYPT_ARCHIVE]}" == true ]] && _c_count_recipients "${v[AGE_RECIPIENTS]}" "${v[AGE_RECIPIENT_FILE]}" \
    && (( _C_RECIPIENTS == 0 )); then
    CONFIG_ERRORS+=('ENCRYPT_ARCHIVE=true but no age recipient is configured (AGE_RECIPIENTS, AGE_RECIPIENT_FILE)')
  fi
  if [[ "${v[ENABLE_SECONDARY_BACKUP]}" == true ]]; then
    if [[ -z "${v[SECONDARY_BACKUP_PATH]}" || -z "${v[SECONDARY_LOG_PATH]}" ]]; then
      CONFIG_WARNINGS+=('Secondary backup enabled but SECONDARY_BACKUP_PATH or SECONDARY_LOG_PATH is empty; secondary tier disabled')
      v[ENABLE_SECONDARY_BACKUP]=false
    elif _c_is_inside "${v[SECONDARY_BACKUP_PATH]}" "${v[LOCAL_BACKUP_PATH]}"; then
      CONFIG_WARNINGS+=('SECONDARY_BACKUP_PATH is inside LOCAL_BACKUP_PATH; secondary tier disabled')
      v[ENABLE_SECONDARY_BACKUP]=false
    fi
  fi
  if [[ "${v[ENABLE_CLOUD_BACKUP]}" == true ]]; then _c_check_cloud_keys; fi
  if [[ "${v[TELEGRAM_ENABLED]}" == true && "${v[BOT_TELEGRAM_TYPE]}" == centralized && -z "${v[TELEGRAM_SERVER_API_HOST]}" ]]; then
    CONFIG_WARNINGS+=('BOT_TELEGRAM_TYPE=centralized but TELEGRAM_SERVER_API_HOST is empty; Telegram disabled')
    v[TELEGRAM_ENABLED]=false
  fi
  local method="${v[EMAIL_DELIVERY_METHOD]}" key
  if [[ "$method" == relay || "$method" == ses ]]; then
    CONFIG_WARNINGS+=("EMAIL_DELIVERY_METHOD=${method} is no longer supported; using sendmail")
    v[EMAIL_DELIVERY_METHOD]=sendmail
  fi
  if [[ "${v[EMAIL_ENABLED]}" == true ]]; then
    for key in EMAIL_RECIPIENT EMAIL_FROM EMAIL_SUBJECT_PREFIX; do
      if [[ "${v[$key]}" == *[$'\r\n']* ]]; then
        CONFIG_WARNINGS+=("Invalid ${key} '$(log_esc "${v[$key]}")' (line break); e-mail disabled")
        v[EMAIL_ENABLED]=false
        break
      fi
    done
  fi
  return 0
}

_c_check_cloud_keys() {
  local -n cv=CONFIG_VALUES
  local remote="${cv[RCLONE_REMOTE]}" bad='' key
  if [[ -z "$remote" || -z "${cv[CLOUD_BACKUP_PATH]}" || -z "${cv[CLOUD_LOG_PATH]}" ]]; then
    CONFIG_WARNINGS+=('Cloud backup enabled but RCLONE_REMOTE, CLOUD_BACKUP_PATH or CLOUD_LOG_PATH is empty; cloud tier disabled')
    cv[ENABLE_CLOUD_BACKUP]=false
    return 0
  fi
  _c_trim "$remote"
  if [[ "$remote" == [-:/]* || "$remote" == *:* || "$remote" == *[[:cntrl:]]* || "$remote" != "$_C_TRIMMED" ]]; then
    bad=RCLONE_REMOTE
  else
    for key in CLOUD_BACKUP_PATH CLOUD_LOG_PATH; do
      if [[ "${cv[$key]}" == *[[:cntrl:]]* || "/${cv[$key]}/" == */../* ]]; then
        bad="$key"
        break
      fi
    done
  fi
  if [[ -n "$bad" ]]; then
    CONFIG_WARNINGS+=("Invalid ${bad} '$(log_esc "${cv[$bad]}")'; cloud tier disabled")
    cv[ENABLE_CLOUD_BACKUP]=false
  fi
}

# config_quote VALUE: the state-env single-quoted form.
config_quote() {
  local value="$1"
  printf "'%s'" "${value//\'/\'\\\'\'}"
}

# config_format_resolved: KEY='value' for every known key (table order), then unknown keys in file order.
config_format_resolved() {
  local key
  for key in "${CFG_ORDER[@]}" "${CONFIG_UNKNOWN[@]}"; do
    [[ -v "CONFIG_VALUES[$key]" ]] || continue
    printf '%s=%s\n' "$key" "$(config_quote "${CONFIG_VALUES[$key]}")"
  done
}
