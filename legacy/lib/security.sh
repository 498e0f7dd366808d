# shellcheck shell=bash
# shellcheck disable=SC2034 # SEC_* results are read by the caller
# The security checks (security.md §2-§5): A configuration file, B installation tree, C integrity manifest,
# D sensitive files and backups, E processes, F firewall, G listening ports. Findings are WARNING lines and
# counted; nothing here writes except security_write_manifest. The gate of a run is security_gate (phase 7,
# the security flag domain: shims/security_gate; native twin native/security/); legacy/bin/security-check
# runs the checks on demand.
# Needs log.sh, core.sh; reads the loaded configuration and BASE_DIR, CONFIG_FILE, RUN_DIR.

SEC_ROOTS=(bin legacy shims native dist)
SEC_FILES=(VERSION flags.json package.json package-lock.json env/backup.env)
SEC_CAP=20

# security_init: counters, E (the effective uid).
security_init() {
  SEC_FINDINGS=0 SEC_PERMISSION_ISSUES=0 SEC_PROCESS_ISSUES='' SEC_FIREWALL_RULES='' SEC_PORT_ISSUES=''
  SEC_UID="$EUID"
  SEC_CHANGED=() SEC_ADDED=() SEC_MISSING=() SEC_UNREADABLE=() SEC_MALFORMED=0
  SEC_MANIFEST_STATE=absent SEC_INTEGRITY_FILES=0 SEC_MANIFEST_RESULT=missing
}

sec_finding() {
  SEC_FINDINGS=$(( SEC_FINDINGS + 1 ))
  log_warning "$1"
}

sec_good_owner() {
  [[ "$1" == 0 || "$1" == "$SEC_UID" ]]
}

# sec_capped KIND: print the queued "<path>\0<message>\0" issues of stdin in bytewise path order, 20 at most,
# then one M6 line; every issue is a finding and a permission issue.
sec_capped() {
  local path message shown=0 total=0
  while IFS= read -r -d '' path && IFS= read -r -d '' message; do
    total=$(( total + 1 ))
    SEC_FINDINGS=$(( SEC_FINDINGS + 1 ))
    SEC_PERMISSION_ISSUES=$(( SEC_PERMISSION_ISSUES + 1 ))
    if (( shown < SEC_CAP )); then
      log_warning "$message"
      shown=$(( shown + 1 ))
    fi
  done < <(perl -0 -e 'my @r; while (defined(my $p = <STDIN>)) { my $m = <STDIN>; push @r, [$p, $m]; }
    print map { $_->[0] . $_->[1] } sort { $a->[0] cmp $b->[0] } @r')
  (( total <= shown )) || log_warning "… and $(( total - shown )) more permission issue(s)"
}

# sec_issue PATH MESSAGE: queue one issue for sec_capped (NUL-separated on stdout).
sec_issue() {
  printf '%s\0%s\0' "$1" "$2"
}

# sec_mode_issue PATH MODE UID [STICKY_OK]: M5 and M4 for one entry whose octal MODE and UID find printed.
sec_mode_issue() {
  local path="$1" mode=$(( 8#$2 )) uid="$3" sticky_ok="${4:-false}"
  if (( mode & 8#022 )) && ! { [[ "$sticky_ok" == true ]] && (( mode & 8#1000 )); }; then
    sec_issue "$path" "Writable by group or others: $(log_esc "$path") (mode $(printf '%04o' "$mode"))"
  fi
  sec_good_owner "$uid" || sec_issue "$path" "Wrong owner on $(log_esc "$path"): uid ${uid} (expected uid 0)"
}

# sec_find_issues STICKY_OK FIND-ARGS...: M5/M4 for what find selects (symlinks skipped), modes and owners read
# by find itself in one pass: no process per file.
sec_find_issues() {
  local sticky_ok="$1" mode uid path
  shift
  while IFS= read -r -d '' mode && IFS= read -r -d '' uid && IFS= read -r -d '' path; do
    sec_mode_issue "$path" "$mode" "$uid" "$sticky_ok"
  done < <(find "$@" -printf '%m\0%U\0%p\0' 2> /dev/null || true)
}

# security_check_config (A): the configuration file actually loaded and its directory.
security_check_config() {
  local file="$CONFIG_FILE" mode uid dir
  [[ -e "$file" ]] || return 0
  read -r mode uid < <(stat -L -c '%a %u' -- "$file")
  mode="$(printf '%04o' "$(( 8#$mode & 8#7777 ))")"
  if [[ "$mode" != 0600 && "$mode" != 0400 ]]; then
    sec_finding "Insecure permissions on configuration file $(log_esc "$file"): ${mode} (expected 0600 or 0400)"
    SEC_PERMISSION_ISSUES=$(( SEC_PERMISSION_ISSUES + 1 ))
  fi
  if ! sec_good_owner "$uid"; then
    sec_finding "Wrong owner on $(log_esc "$file"): uid ${uid} (expected uid 0)"
    SEC_PERMISSION_ISSUES=$(( SEC_PERMISSION_ISSUES + 1 ))
  fi
  dir="$(readlink -f -- "$file")"
  dir="${dir%/*}"
  dir="${dir:-/}"
  read -r mode uid < <(stat -c '%a %u' -- "$dir")
  if (( 8#$mode & 8#022 )); then
    sec_finding "Writable by group or others: $(log_esc "$dir") (mode $(printf '%04o' "$(( 8#$mode ))"))"
    SEC_PERMISSION_ISSUES=$(( SEC_PERMISSION_ISSUES + 1 ))
  fi
  if ! sec_good_owner "$uid"; then
    sec_finding "Wrong owner on $(log_esc "$dir"): uid ${uid} (expected uid 0)"
    SEC_PERMISSION_ISSUES=$(( SEC_PERMISSION_ISSUES + 1 ))
  fi
}

# security_check_tree (B): BASE_DIR, the covered roots, the covered files but backup.env, node_modules, ancestors.
security_check_tree() {
  security_tree_issues > "${RUN_DIR}/sec.issues"
  sec_capped < "${RUN_DIR}/sec.issues"
}

security_tree_issues() {
  local root file ancestor
  local -a roots=() top=("$BASE_DIR") ancestors=()
  for root in "${SEC_ROOTS[@]}" node_modules; do
    if [[ -d "${BASE_DIR}/${root}" && ! -L "${BASE_DIR}/${root}" ]]; then roots+=("${BASE_DIR}/${root}"); fi
  done
  for file in "${SEC_FILES[@]}"; do
    [[ "$file" == env/backup.env || ! -e "${BASE_DIR}/${file}" ]] || top+=("${BASE_DIR}/${file}")
  done
  ancestor="$(readlink -f -- "$BASE_DIR")"
  while [[ "$ancestor" != / ]]; do
    ancestor="${ancestor%/*}"
    ancestor="${ancestor:-/}"
    ancestors+=("$ancestor")
  done
  sec_find_issues false "${top[@]}" -maxdepth 0 ! -type l
  # The trees (node_modules holds thousands of entries): find keeps only the offenders itself.
  (( ${#roots[@]} == 0 )) || sec_find_issues false "${roots[@]}" ! -type l \( -perm /022 -o ! -uid 0 ! -uid "$SEC_UID" \)
  (( ${#ancestors[@]} == 0 )) || sec_find_issues true "${ancestors[@]}" -maxdepth 0 ! -type l
}

# security_check_sensitive (D): config/, lock/, the identity and manifest files, the backup paths, this host's archives.
security_check_sensitive() {
  security_sensitive_issues > "${RUN_DIR}/sec.issues"
  sec_capped < "${RUN_DIR}/sec.issues"
}

security_sensitive_issues() {
  local path mode uid type expected dir
  local -a present=() dirs=()
  for path in config lock config/.server_identity config/integrity.sha256; do
    if [[ -e "${BASE_DIR}/${path}" && ! -L "${BASE_DIR}/${path}" ]]; then present+=("${BASE_DIR}/${path}"); fi
  done
  if (( ${#present[@]} > 0 )); then
    while IFS= read -r -d '' type && IFS= read -r -d '' mode && IFS= read -r -d '' uid && IFS= read -r -d '' path; do
      expected=0600
      [[ "$type" != d ]] || expected=0700
      if (( 8#$mode & 8#077 )); then
        sec_issue "$path" "Insecure permissions on $(log_esc "$path"): $(printf '%04o' "$(( 8#$mode ))") (expected ${expected})"
      fi
      sec_good_owner "$uid" || sec_issue "$path" "Wrong owner on $(log_esc "$path"): uid ${uid} (expected uid 0)"
    done < <(find "${present[@]}" -maxdepth 0 -printf '%y\0%m\0%U\0%p\0' 2> /dev/null || true)
  fi
  for dir in "$LOCAL_BACKUP_PATH" "$LOCAL_LOG_PATH"; do
    if [[ -d "$dir" && ! -L "$dir" ]]; then dirs+=("$dir"); fi
  done
  if (( ${#dirs[@]} > 0 )); then
    while IFS= read -r -d '' mode && IFS= read -r -d '' path; do
      sec_issue "$path" "Writable by group or others: $(log_esc "$path") (mode $(printf '%04o' "$(( 8#$mode ))"))"
    done < <(find "${dirs[@]}" -maxdepth 0 -perm /022 -printf '%m\0%p\0' 2> /dev/null || true)
  fi
  [[ -d "$LOCAL_BACKUP_PATH" ]] || return 0
  while IFS= read -r -d '' mode && IFS= read -r -d '' path; do
    sec_issue "$path" "Backup file readable by others: $(log_esc "$path") (mode $(printf '%04o' "$(( 8#$mode ))"))"
  done < <(find "$LOCAL_BACKUP_PATH" -mindepth 1 -maxdepth 1 -type f -perm /007 -regextype posix-extended \
    -regex ".*/(pve|pbs|dual|unknown)-backup-$(security_host_re)-[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}\.(tar(\.(xz|zst|gz|bz2|lzma))?(\.age)?(\.sha256|\.metadata)?|log|json|log\.json)" \
    -printf '%m\0%p\0' 2> /dev/null || true)
}

# security_host_re: this host's fqdn as an ERE.
security_host_re() {
  printf '%s' "${HOSTNAME:-localhost}" | sed 's/[][\.*^$+?(){}|/]/\\&/g'
}

# ---------------------------------------------------------------------------------------------------
# C: the integrity manifest (§3)

# security_current_set: "<sha256>  <relpath>" lines of the covered set, sorted bytewise, in SEC_CURRENT (a file);
# M12/M13 for what is not listed; unreadable files in SEC_UNREADABLE_NOW.
security_current_set() {
  local list="${RUN_DIR}/sec.files" type rel
  : > "$list"
  SEC_UNREADABLE_NOW=()
  while IFS= read -r -d '' type && IFS= read -r -d '' rel; do
    case "$type" in
      f) if [[ -r "${BASE_DIR}/${rel}" ]]; then printf '%s\0' "$rel" >> "$list"; else SEC_UNREADABLE_NOW+=("$rel"); fi ;;
      l) sec_finding "Integrity: unexpected symlink: $(log_esc "$rel") -> $(log_esc "$(readlink -- "${BASE_DIR}/${rel}")")" ;;
      d) ;;
      *) sec_finding "Integrity: unsupported entry skipped: $(log_esc "$rel")" ;;
    esac
  done < <(security_walk)
  SEC_CURRENT="${RUN_DIR}/sec.current"
  if [[ -s "$list" ]]; then
    (cd "$BASE_DIR" && xargs -0 sha256sum -- < "$list") | LC_ALL=C sort -k2 > "$SEC_CURRENT"
  else
    : > "$SEC_CURRENT"
  fi
}

# security_walk: "<type>\0<relpath>\0" for every entry of the covered set (no node_modules, links not followed).
security_walk() {
  local root file
  local -a roots=()
  for root in "${SEC_ROOTS[@]}"; do
    [[ -d "${BASE_DIR}/${root}" && ! -L "${BASE_DIR}/${root}" ]] && roots+=("$root")
  done
  if (( ${#roots[@]} > 0 )); then
    (cd "$BASE_DIR" && find "${roots[@]}" -name node_modules -type d -prune -o ! -type d -printf '%y\0%p\0' | security_sort_pairs)
  fi
  for file in "${SEC_FILES[@]}"; do
    if [[ -L "${BASE_DIR}/${file}" ]]; then printf 'l\0%s\0' "$file"
    elif [[ -f "${BASE_DIR}/${file}" ]]; then printf 'f\0%s\0' "$file"
    elif [[ -e "${BASE_DIR}/${file}" ]]; then printf 'x\0%s\0' "$file"
    fi
  done
}

# security_sort_pairs: "<type>\0<path>\0" pairs of stdin, sorted bytewise by path (M12/M13 come out in order);
# a name with a byte < 0x20, a backslash or invalid UTF-8 gets type u (M13), all in this one process.
security_sort_pairs() {
  perl -0 -e 'require $ARGV[0]; my @r;
    while (defined(my $t = <STDIN>)) { my $p = <STDIN>; chop $p;
      $t = "u\0" if $p =~ /[\x01-\x1f\\]/ || !valid_utf8($p); push @r, [$t, $p]; }
    print map { $_->[0] . $_->[1] . "\0" } sort { $a->[1] cmp $b->[1] } @r' -- "${LOG_LIB_DIR}/bytes.pl"
}

# security_relpath_ok REL: the form of a covered-set member (§3.4 step 2).
security_relpath_ok() {
  local rel="$1" root file
  [[ "$rel" != /* && "$rel" != *//* && "/${rel}/" != */./* && "/${rel}/" != */../* ]] || return 1
  for file in "${SEC_FILES[@]}"; do [[ "$rel" != "$file" ]] || return 0; done
  for root in "${SEC_ROOTS[@]}"; do [[ "$rel" != "${root}/"* ]] || return 0; done
  return 1
}

# security_read_manifest [quiet-absent]: SEC_RECORDED (a file of "<sha>  <rel>" lines, valid ones only),
# M14/M15/M16; SEC_MANIFEST_STATE present|absent|irregular.
security_read_manifest() {
  local manifest="${BASE_DIR}/config/integrity.sha256" line n=0 bad=0 rel quiet="${1:-}"
  SEC_RECORDED="${RUN_DIR}/sec.recorded"
  : > "$SEC_RECORDED"
  if [[ -L "$manifest" ]] || { [[ -e "$manifest" ]] && [[ ! -f "$manifest" ]]; }; then
    SEC_MANIFEST_STATE=irregular
    sec_finding "Integrity manifest is not a regular file: $(log_esc "$manifest")"
    return 0
  fi
  if [[ ! -e "$manifest" ]]; then
    SEC_MANIFEST_STATE=absent
    [[ "$quiet" == quiet-absent ]] || sec_finding "Integrity manifest not found: $(log_esc "$manifest")"
    return 0
  fi
  SEC_MANIFEST_STATE=present
  local -A seen=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$(( n + 1 ))
    if [[ "$line" =~ ^([0-9a-f]{64})\ \ (.+)$ ]] && rel="${BASH_REMATCH[2]}" && security_relpath_ok "$rel" && [[ -z "${seen["$rel"]:-}" ]]; then
      seen["$rel"]=1
      printf '%s\n' "$line" >> "$SEC_RECORDED"
      continue
    fi
    bad=$(( bad + 1 ))
    SEC_MALFORMED=$(( SEC_MALFORMED + 1 ))
    SEC_FINDINGS=$(( SEC_FINDINGS + 1 ))
    (( bad > SEC_CAP )) || log_warning "Integrity manifest line ${n} is malformed"
  done < "$manifest"
  (( bad <= SEC_CAP )) || log_warning "Integrity manifest has $(( bad - SEC_CAP )) more malformed line(s)"
}

# security_check_integrity (C) [quiet-absent]: compare; SEC_CHANGED, SEC_ADDED, SEC_MISSING, SEC_UNREADABLE;
# M8-M11, M18 (security-check --update-hashes lists the differences itself: T3 instead of M8-M11).
security_check_integrity() {
  local before="$SEC_FINDINGS" kind rel mode="${1:-check}"
  security_read_manifest "$([[ "$mode" == record ]] && printf quiet-absent)"
  security_current_set
  SEC_INTEGRITY_FILES="$(wc -l < "$SEC_CURRENT")"
  [[ "$SEC_MANIFEST_STATE" == present ]] || return 0
  while IFS=$'\t' read -r kind rel; do
    if [[ "$mode" == record ]]; then
      case "$kind" in
        changed) log_info "Integrity: recording changed file: ${rel}" ;;
        added) log_info "Integrity: recording added file: ${rel}" ;;
        missing) log_info "Integrity: dropping missing file: ${rel}" ;;
        unreadable) SEC_UNREADABLE+=("$rel"); sec_finding "Integrity: cannot read ${rel}: Permission denied" ;;
      esac
      continue
    fi
    case "$kind" in
      changed) SEC_CHANGED+=("$rel"); sec_finding "Integrity: file changed: ${rel}" ;;
      added) SEC_ADDED+=("$rel"); sec_finding "Integrity: file added: ${rel}" ;;
      missing) SEC_MISSING+=("$rel"); sec_finding "Integrity: file missing: ${rel}" ;;
      unreadable) SEC_UNREADABLE+=("$rel"); sec_finding "Integrity: cannot read ${rel}: Permission denied" ;;
    esac
  done < <(security_compare)
  [[ "$mode" != record ]] || return 0
  (( SEC_FINDINGS != before )) || log_info "Integrity manifest verified: ${SEC_INTEGRITY_FILES} files"
}

# security_compare: "<kind>\t<relpath>" lines in bytewise relpath order.
security_compare() {
  local rel
  {
    perl -e '
      my (%old, %new);
      open(my $o, "<", $ARGV[0]) or die; while (<$o>) { chomp; /^(\S+)  (.*)$/ and $old{$2} = $1; }
      open(my $n, "<", $ARGV[1]) or die; while (<$n>) { chomp; /^(\S+)  (.*)$/ and $new{$2} = $1; }
      my %unreadable = map { $_ => 1 } @ARGV[2 .. $#ARGV];
      for my $rel (keys %new) { print "$rel\0", (exists $old{$rel} ? ($old{$rel} eq $new{$rel} ? "" : "changed") : "added"), "\0"; }
      for my $rel (keys %old) { next if exists $new{$rel}; print "$rel\0", ($unreadable{$rel} ? "unreadable" : "missing"), "\0"; }
      for my $rel (keys %unreadable) { print "$rel\0unreadable\0" unless exists $old{$rel}; }
    ' -- "$SEC_RECORDED" "$SEC_CURRENT" "${SEC_UNREADABLE_NOW[@]}" \
      | perl -0 -e 'my @r; while (defined(my $p = <STDIN>)) { my $k = <STDIN>; chop $p; chop $k; push @r, [$p, $k] if $k ne ""; }
          print map { "$_->[1]\t$_->[0]\n" } sort { $a->[0] cmp $b->[0] } @r'
  }
}

# security_write_manifest: the current set (unreadable files keep their old line) to config/integrity.sha256
# through a 0600 temp file and a rename (§3.2). Fails with the reason on stdout.
security_write_manifest() {
  local dir="${BASE_DIR}/config" manifest="${BASE_DIR}/config/integrity.sha256" tmp rel
  tmp="${manifest}.tmp"
  if ! mkdir -p -- "$dir" 2> /dev/null || ! chmod 0700 -- "$dir" 2> /dev/null; then printf 'cannot create %s' "$dir"; return 1; fi
  rm -f -- "$tmp"
  {
    cat -- "$SEC_CURRENT"
    for rel in "${SEC_UNREADABLE[@]}"; do grep -F -- "  ${rel}" "$SEC_RECORDED" | awk -v r="$rel" 'substr($0, 67) == r' || true; done
  } | LC_ALL=C sort -k2 | ( set -o noclobber; umask 077; cat > "$tmp" ) 2> /dev/null || { rm -f -- "$tmp"; printf 'cannot write %s' "$tmp"; return 1; }
  mv -f -- "$tmp" "$manifest" || { rm -f -- "$tmp"; printf 'cannot rename %s' "$tmp"; return 1; }
}

# ---------------------------------------------------------------------------------------------------
# E, F, G: processes and network (§5)

# security_run PROGRAM ARGS...: stdout in SEC_OUT; M31 and failure when it fails or times out.
security_run() {
  local err="${RUN_DIR}/sec.err" out="${RUN_DIR}/sec.out" status=0 first
  core_host_run 2 10 "$out" "$err" "$@" || status=$?
  SEC_OUT="$(< "$out")"
  (( status != 0 )) || return 0
  first="$(head -n 1 -- "$err")"
  (( status != 124 )) || first='timed out'
  sec_finding "Security check command failed: $(log_esc "$*") - $(log_esc "${first:-exit ${status}}")"
  return 1
}

security_check_processes() {
  # Bytes, not characters: in a UTF-8 locale `read` lets an invalid byte swallow the newline after it, which
  # would hide the next process (a miner listed after a crafted name) from the check.
  local LC_ALL=C
  local line pid uid name count=0 ignored=0 found=0
  if ! core_has_program ps; then sec_finding 'Process check skipped: ps not found'; return 0; fi
  security_run ps -eo pid=,uid=,comm= || return 0
  local -a suspicious=()
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    if [[ ! "$line" =~ ^[[:space:]]*([0-9]+)[[:space:]]+([0-9]+)[[:space:]]+(.+[^[:space:]])[[:space:]]*$ ]]; then ignored=$(( ignored + 1 )); continue; fi
    pid="${BASH_REMATCH[1]}" uid="${BASH_REMATCH[2]}" name="${BASH_REMATCH[3]}"
    count=$(( count + 1 ))
    if [[ "$name" =~ ^(cpuminer|cryptominer|kdevtmpfsi|kinsing|minerd|ncat|xmr-stak|xmrig)([-_.].*)?$ ]]; then
      suspicious+=("${pid}"$'\t'"${uid}"$'\t'"${name}")
    fi
  done <<< "$SEC_OUT"
  (( ignored == 0 )) || log_debug "Ignored ${ignored} unparsable line(s) from ps"
  while IFS=$'\t' read -r pid uid name; do
    [[ -n "$pid" ]] || continue
    found=$(( found + 1 ))
    sec_finding "Suspicious process: $(log_esc "$name") (PID ${pid}, UID ${uid})"
  done < <((( ${#suspicious[@]} == 0 )) || printf '%s\n' "${suspicious[@]}" | sort -n -k1,1)
  SEC_PROCESS_ISSUES="$found"
  (( found > 0 )) || log_info "Process check: ${count} processes, none suspicious"
}

security_check_firewall() {
  local ipt=n/a nft=n/a any=false
  if core_has_program iptables-save; then
    any=true
    if security_run iptables-save; then ipt="$(grep -c '^-A ' <<< "$SEC_OUT" || true)"; fi
  fi
  if core_has_program nft; then
    any=true
    if security_run nft list ruleset; then
      nft="$(awk '/^[[:space:]]*chain [^[:space:]]+ \{[[:space:]]*$/ { inside = 1; next }
        inside && $0 ~ /^[[:space:]]*\}[[:space:]]*$/ { inside = 0; next }
        inside && NF > 0 && $1 != "type" && $1 != "policy" && $1 != "comment" && $1 != "devices" { n++ }
        END { print n + 0 }' <<< "$SEC_OUT")"
    fi
  fi
  if [[ "$any" != true ]]; then sec_finding 'Firewall check skipped: neither iptables-save nor nft found'; return 0; fi
  local total=0 results=0
  [[ "$ipt" == n/a ]] || { total=$(( total + ipt )); results=1; }
  [[ "$nft" == n/a ]] || { total=$(( total + nft )); results=1; }
  SEC_FIREWALL_RULES="$total"
  if (( results == 1 && total == 0 )); then sec_finding "No firewall rules loaded (iptables ${ipt}, nftables ${nft})"
  else log_info "Firewall rules loaded: iptables ${ipt}, nftables ${nft}"; fi
}

# security_port_allowed PROTO PORT
security_port_allowed() {
  local proto="$1" port="$2" item from to
  if [[ "$proto" == tcp ]]; then
    case "$port" in 22 | 85 | 111 | 3128 | 3300 | 6789 | 8006 | 8007 | 9100) return 0 ;; esac
    (( (port >= 5900 && port <= 5999) || (port >= 6800 && port <= 7300) || (port >= 60000 && port <= 60050) )) && return 0
  else
    (( port == 111 || (port >= 5405 && port <= 5412) )) && return 0
  fi
  for item in ${SECURITY_ALLOWED_PORTS//,/ }; do
    [[ "$item" =~ ^(tcp|udp)/([0-9]+)(-([0-9]+))?$ && "${BASH_REMATCH[1]}" == "$proto" ]] || continue
    from="${BASH_REMATCH[2]}" to="${BASH_REMATCH[4]:-${BASH_REMATCH[2]}}"
    (( port >= from && port <= to )) && return 0
  done
  return 1
}

security_check_ports() {
  local LC_ALL=C   # bytes, as in security_check_processes
  local proto state recv send local_addr rest addr port listeners=0 outside=0 ignored=0
  if ! core_has_program ss; then sec_finding 'Open ports check skipped: ss not found'; return 0; fi
  security_run ss -H -tuln || return 0
  local -a found=()
  local -A seen=()
  while read -r proto state recv send local_addr rest; do
    [[ -n "$proto" ]] || continue
    if [[ -z "$local_addr" || "$local_addr" != *:* ]]; then ignored=$(( ignored + 1 )); continue; fi
    port="${local_addr##*:}" addr="${local_addr%:*}"
    [[ "$port" != '*' ]] || continue
    [[ "$port" =~ ^[0-9]+$ ]] || { ignored=$(( ignored + 1 )); continue; }
    addr="${addr%%\%*}" addr="${addr#[}" addr="${addr%]}"
    case "$addr" in
      127.* | ::1 | ::ffff:127.* | fe[89ab]?:* | 169.254.*) continue ;;
    esac
    proto="${proto,,}"
    listeners=$(( listeners + 1 ))
    security_port_allowed "$proto" "$port" && continue
    [[ -z "${seen["${proto}/${port}/${addr}"]:-}" ]] || continue
    seen["${proto}/${port}/${addr}"]=1
    found+=("${proto}"$'\t'"${port}"$'\t'"${addr}")
  done <<< "$SEC_OUT"
  (( ignored == 0 )) || log_debug "Ignored ${ignored} unparsable line(s) from ss"
  while IFS=$'\t' read -r proto port addr; do
    [[ -n "$proto" ]] || continue
    outside=$(( outside + 1 ))
    sec_finding "Listening port not in allowed set: ${proto}/${port} on $(log_esc "$addr")"
  done < <((( ${#found[@]} == 0 )) || printf '%s\n' "${found[@]}" | LC_ALL=C sort -t $'\t' -k1,1 -k2,2n -k3,3)
  SEC_PORT_ISSUES="$outside"
  log_info "Open ports: ${listeners} non-loopback listener(s), ${outside} outside the allowed set"
}

# security_checks FULL: checks A-G in order (§2.1), with the M33 lines of the switched-off ones.
security_checks() {
  local full="$1"
  security_check_config
  security_check_tree
  security_check_integrity check
  if [[ "$full" != true ]]; then
    log_skip 'Process and network checks skipped (FULL_SECURITY_CHECK=false)'
    return 0
  fi
  security_check_sensitive
  security_check_processes
  if [[ "$CHECK_NETWORK_SECURITY" != true ]]; then
    log_skip 'Network checks disabled (CHECK_NETWORK_SECURITY=false)'
    return 0
  fi
  if [[ "$CHECK_FIREWALL" == true ]]; then security_check_firewall; else log_skip 'Firewall check disabled (CHECK_FIREWALL=false)'; fi
  if [[ "$CHECK_OPEN_PORTS" == true ]]; then security_check_ports; else log_skip 'Open ports check disabled (CHECK_OPEN_PORTS=false)'; fi
}

# ---------------------------------------------------------------------------------------------------
# The gate (phase 7, §2) and the recording of the manifest (§3.5)

# security_differences: how many §3.4 findings the integrity check made (absent or irregular manifest included).
security_differences() {
  local n=$(( ${#SEC_CHANGED[@]} + ${#SEC_ADDED[@]} + ${#SEC_MISSING[@]} + ${#SEC_UNREADABLE[@]} + SEC_MALFORMED ))
  [[ "$SEC_MANIFEST_STATE" == present ]] || n=$(( n + 1 ))
  printf '%s' "$n"
}

# security_record ABORTING: the first matching row of §3.5; SEC_MANIFEST_RESULT.
security_record() {
  local aborting="$1" manifest="${BASE_DIR}/config/integrity.sha256" reason unchanged=stale
  [[ "$SEC_MANIFEST_STATE" == present ]] || unchanged=missing
  if (( $(security_differences) == 0 )); then
    SEC_MANIFEST_RESULT=verified
  elif [[ "$AUTO_UPDATE_HASHES" != true ]]; then
    log_info 'Integrity manifest not updated (AUTO_UPDATE_HASHES=false); review the changes, then run security-check --update-hashes'
    SEC_MANIFEST_RESULT="$unchanged"
  elif [[ "${DRY_RUN:-false}" == true ]]; then
    log_info 'Dry run: would update integrity manifest'
    SEC_MANIFEST_RESULT="$unchanged"
  elif [[ "$aborting" == true ]]; then
    log_info 'Integrity manifest not updated: run aborted (ABORT_ON_SECURITY_ISSUES=true)'
    SEC_MANIFEST_RESULT="$unchanged"
  elif [[ "$SEC_MANIFEST_STATE" == irregular ]]; then
    sec_finding "Cannot write integrity manifest $(log_esc "$manifest"): not a regular file"
    SEC_MANIFEST_RESULT="$unchanged"
  elif ! reason="$(security_write_manifest)"; then
    sec_finding "Cannot write integrity manifest $(log_esc "$manifest"): ${reason}"
    SEC_MANIFEST_RESULT="$unchanged"
  elif [[ "$SEC_MANIFEST_STATE" == absent ]]; then
    log_info "Integrity manifest created: ${SEC_INTEGRITY_FILES} files"
    SEC_MANIFEST_RESULT=created
  else
    log_info "Integrity manifest updated (AUTO_UPDATE_HASHES=true): ${#SEC_CHANGED[@]} changed, ${#SEC_ADDED[@]} added, ${#SEC_MISSING[@]} missing"
    SEC_MANIFEST_RESULT=updated
  fi
}

# security_gate (phase 7): checks A-G, the manifest recorded, the outcome line and the state keys (§2.2).
security_gate() {
  local full="$FULL_SECURITY_CHECK" mode=basic aborting=false status=0
  [[ "$full" != true ]] || mode=full
  security_init
  log_step "Security checks (${mode})"
  [[ "$REMOVE_UNAUTHORIZED_FILES" != true ]] || log_info 'REMOVE_UNAUTHORIZED_FILES is ignored: unexpected files are reported, never deleted'
  security_checks "$full"
  (( SEC_FINDINGS == 0 )) || [[ "$ABORT_ON_SECURITY_ISSUES" != true ]] || aborting=true
  security_record "$aborting"
  if (( SEC_FINDINGS == 0 )); then
    log_success 'Security checks passed'
  elif [[ "$ABORT_ON_SECURITY_ISSUES" == true ]]; then
    log_error "Security checks found ${SEC_FINDINGS} issue(s); aborting (ABORT_ON_SECURITY_ISSUES=true)"
    status=2
  else
    log_warning "Security checks found ${SEC_FINDINGS} issue(s); continuing (ABORT_ON_SECURITY_ISSUES=false)"
    status=1
  fi
  state_set STATUS_SECURITY "$status"
  state_set SECURITY_MODE "$mode"
  state_set SECURITY_FINDINGS "$SEC_FINDINGS"
  state_set SECURITY_INTEGRITY_FILES "$SEC_INTEGRITY_FILES"
  state_set SECURITY_INTEGRITY_CHANGED "${#SEC_CHANGED[@]}"
  state_set SECURITY_INTEGRITY_ADDED "${#SEC_ADDED[@]}"
  state_set SECURITY_INTEGRITY_MISSING "${#SEC_MISSING[@]}"
  state_set SECURITY_MANIFEST "$SEC_MANIFEST_RESULT"
  state_set SECURITY_PERMISSION_ISSUES "$SEC_PERMISSION_ISSUES"
  state_set SECURITY_PROCESS_ISSUES "$SEC_PROCESS_ISSUES"
  state_set SECURITY_FIREWALL_RULES "$SEC_FIREWALL_RULES"
  state_set SECURITY_PORT_ISSUES "$SEC_PORT_ISSUES"
  return "$status"
}
