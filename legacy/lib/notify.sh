# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153 # NOTIFY_* results are shared between functions; config keys come from the context
# The notify domain (notify.md): phase 13. One frozen run summary rendered per channel; e-mail (sendmail),
# then Telegram (personal mode), then webhooks. Stage: notify_run. Needs log.sh, core.sh, storage.sh.
# Every channel: e-mail through sendmail or SMTP (curl), Telegram in personal and centralized mode, webhooks in
# the five formats. HTTP and SMTP go through curl with a config on stdin: no secret on a command line.

NOTIFY_WAITS=(1 2)   # seconds before attempts 2 and 3 (§6.1)

# notify_outcome: C from run.log (run.md §2), parity lines ignored; NOTIFY_C and NOTIFY_STATUS.
notify_outcome() {
  NOTIFY_C=0
  if [[ -n "$(log_lines ERROR "${RUN_DIR}/run.log")" ]]; then NOTIFY_C=2
  elif [[ -n "$(log_lines WARNING "${RUN_DIR}/run.log")" ]]; then NOTIFY_C=1; fi
  case "$NOTIFY_C" in 0) NOTIFY_STATUS=success ;; 1) NOTIFY_STATUS=warning ;; *) NOTIFY_STATUS=error ;; esac
}

notify_emoji() {
  case "$1" in ok | success | sent) printf '✅' ;; warning) printf '⚠️' ;; error | failed) printf '❌' ;; *) printf '➖' ;; esac
}

notify_title() {
  local tag='' type word
  [[ "$DRY_RUN" != true ]] || tag='[DRY RUN] '
  [[ "$CHECK_ONLY" != true ]] || tag='[CHECK] '
  case "$PROXMOX_TYPE" in pve) type=PVE ;; pbs) type=PBS ;; dual) type=PVE+PBS ;; *) type=UNKNOWN ;; esac
  case "$NOTIFY_STATUS" in success) word=OK ;; warning) word=WARNING ;; *) word=FAILED ;; esac
  printf '%s %s%s backup %s - %s' "$(notify_emoji "$NOTIFY_STATUS")" "$tag" "$type" "$word" "$HOSTNAME"
}

# notify_tier_status TIER: the tiers.<t>.status of §2.1.
notify_tier_status() {
  local key enabled
  if [[ "$1" == primary ]]; then storage_primary_status; return 0; fi
  key="STATUS_${1^^}"
  if [[ -n "${!key:-}" ]]; then printf '%s' "${!key}"; return 0; fi
  enabled="ENABLE_${1^^}_BACKUP"
  if [[ "${!enabled}" == true ]]; then printf skipped; else printf disabled; fi
}

# notify_tier_line LABEL TIER MAX_KEY
notify_tier_line() {
  local label="$1" tier="$2" status count_key max text
  status="$(notify_tier_status "$tier")"
  count_key="${tier^^}_BACKUP_COUNT"
  max="${!3}"
  if storage_gfs_on || (( max == 0 )); then max=''; fi
  case "$status" in
    ok | warning | error)
      if [[ -z "${!count_key:-}" ]]; then text="$status"
      elif [[ -z "$max" ]]; then text="${!count_key} backups"
      else text="${!count_key}/${max} backups"; fi
      ;;
    *) text="$status" ;;
  esac
  printf '%s %s: %s\n' "$(notify_emoji "$status")" "$label" "$text"
}

# notify_cut TEXT: at most 200 code points (199 and …).
notify_cut() {
  perl -CSA -e 'my $t = $ARGV[0]; print length($t) > 200 ? substr($t, 0, 199) . "\x{2026}" : $t' -- "$1"
}

notify_issues_block() {
  local errors warnings shown=0 line
  errors="$(log_lines ERROR "$NOTIFY_LOG" | wc -l)"
  warnings="$(log_lines WARNING "$NOTIFY_LOG" | wc -l)"
  (( errors + warnings > 0 )) || return 0
  printf '\n❗ Errors: %s · Warnings: %s\n' "$errors" "$warnings"
  while IFS= read -r line; do
    printf '❌ %s\n' "$(notify_cut "${line#*\[ERROR\] }")"
    shown=$(( shown + 1 ))
  done < <(log_lines ERROR "$NOTIFY_LOG" | head -n 5)
  while IFS= read -r line; do
    printf '⚠️ %s\n' "$(notify_cut "${line#*\[WARNING\] }")"
    shown=$(( shown + 1 ))
  done < <(log_lines WARNING "$NOTIFY_LOG" | head -n 5)
  (( errors + warnings == shown )) || printf '… and %s more\n' "$(( errors + warnings - shown ))"
}

# notify_body [email-line]: §2.4, lines joined by \n, no trailing newline. With an argument, Telegram's
# `Email:` line is added to the tiers block.
notify_body() {
  local free duration
  {
    notify_tier_line Local primary MAX_LOCAL_BACKUPS
    notify_tier_line Secondary secondary MAX_SECONDARY_BACKUPS
    notify_tier_line Cloud cloud MAX_CLOUD_BACKUPS
    [[ $# -eq 0 ]] || printf '%s Email: %s\n' "$(notify_emoji "$1")" "$1"
    if [[ "$CHECK_ONLY" != true ]]; then
      printf '\n'
      if [[ -n "${BACKUP_FILE:-}" && -f "${BACKUP_FILE:-}" ]]; then
        printf '📦 %s\n' "${BACKUP_FILE##*/}"
        if [[ "${COMPRESSION_RATIO:-Unknown}" == Unknown ]]; then printf '💾 Size: %s\n' "$(core_human_size "${ARCHIVE_SIZE:-0}")"
        else printf '💾 Size: %s · ratio %s\n' "$(core_human_size "${ARCHIVE_SIZE:-0}")" "$COMPRESSION_RATIO"; fi
      elif [[ "$DRY_RUN" == true ]]; then printf '📦 Dry run: no archive created\n'
      else printf '📦 No archive created\n'; fi
      [[ -z "${FILES_INCLUDED:-}" ]] || printf '📁 Files included: %s\n' "$FILES_INCLUDED"
      (( ${FILE_MISSING:-0} == 0 )) || printf '⚠️ Missing critical files: %s\n' "$FILE_MISSING"
    fi
    printf '\n💽 Free space\n'
    free="$(core_free_bytes "$LOCAL_BACKUP_PATH")"
    printf '🔹 Local: %s\n' "$([[ -n "$free" ]] && core_human_size "$free" || printf unknown)"
    if [[ "$(notify_tier_status secondary)" != disabled ]]; then
      free="$(core_free_bytes "${SECONDARY_BACKUP_PATH:-}")"
      [[ -z "$free" ]] || printf '🔹 Secondary: %s\n' "$(core_human_size "$free")"
    fi
    duration="${BACKUP_DURATION:-$(( $(core_now) - START_TIME ))}"
    printf '\n🕑 Started: %(%Y-%m-%d %H:%M:%S)T\n' "$START_TIME"
    printf '⏱️ Duration: %s\n🆔 Server ID: %s\n🔢 Exit code: %s\n' "$(core_format_duration "$duration")" "$SERVER_ID" "$NOTIFY_C"
    notify_issues_block
  }
}

# notify_truncate: stdin → at most 4096 UTF-16 code units, cut before a line end (§2.5).
notify_truncate() {
  perl -CSD -e '
    local $/; my $t = <STDIN>; my $units = sub { my $n = 0; $n += ord($_) > 0xFFFF ? 2 : 1 for split //, $_[0]; $n };
    if ($units->($t) <= 4096) { print $t; exit }
    my $marker = "\n[message truncated]"; my @lines = split /\n/, $t, -1; my $out = "";
    for my $l (@lines) { my $next = $out eq "" ? $l : "$out\n$l"; last if $units->($next . $marker) > 4096; $out = $next }
    print $out . $marker;'
}

# notify_keep NAME: stdin into RUN_DIR/notify/NAME (0600), the copy of what a channel sends (§7).
notify_keep() {
  mkdir -p -- "${RUN_DIR}/notify"
  ( umask 077 && cat > "${RUN_DIR}/notify/$1" )
}

# notify_run (phase 13)
notify_run() {
  if [[ "$CHECK_ONLY" == true && "$NOTIFY_DRY_RUN" != true ]]; then return 0; fi
  log_step 'Sending notifications'
  mkdir -p -- "${RUN_DIR}/notify"
  # The frozen snapshot (§1.2): every channel renders the log as it was when the phase began, so a channel's
  # failure never shows up in the messages of the channels after it.
  NOTIFY_LOG="${RUN_DIR}/notify/.run.log"
  ( umask 077 && cp -- "${RUN_DIR}/run.log" "$NOTIFY_LOG" )
  notify_outcome
  NOTIFY_TITLE="$(notify_title)"
  NOTIFY_BODY="$(notify_body)"
  local channel result any_sent=false any_failed=false
  NOTIFY_EMAIL=disabled NOTIFY_TELEGRAM=disabled NOTIFY_WEBHOOK=disabled NOTIFY_SAID_DRY='' NOTIFY_SAID_BELOW=''
  for channel in email telegram webhook; do
    notify_decide "$channel"
    result="$NOTIFY_DECISION"
    if [[ "$result" == deliver ]]; then
      "notify_send_${channel}"
      result="$NOTIFY_RESULT"
    fi
    printf -v "NOTIFY_${channel^^}" '%s' "$result"
    [[ "$result" != sent ]] || any_sent=true
    [[ "$result" != failed ]] || any_failed=true
  done
  # Transport scratch files: a central-server reply holds a bot token, and notify/ keeps no secret (§7).
  if [[ "$any_failed" == true && "$any_sent" == false ]]; then log_warning 'All notification channels failed'; fi
  local ping=success
  [[ "$NOTIFY_C" != 2 ]] || ping=fail
  notify_healthcheck "$ping" "$NOTIFY_C" || any_failed=true
  rm -f -- "${RUN_DIR}/notify/.body" "${RUN_DIR}/notify/.response" "${RUN_DIR}/notify/.headers" "${RUN_DIR}/notify/.ping" "$NOTIFY_LOG"
  state_set NOTIFY_EMAIL "$NOTIFY_EMAIL"
  state_set NOTIFY_TELEGRAM "$NOTIFY_TELEGRAM"
  state_set NOTIFY_WEBHOOK "$NOTIFY_WEBHOOK"
  [[ "$any_failed" == false ]] || return 1
}

# notify_decide CHANNEL: rows 1-3 of §1.2 into NOTIFY_DECISION (disabled, skipped or deliver); lines once per phase.
notify_decide() {
  local enabled label
  case "$1" in email) enabled="$EMAIL_ENABLED" label='E-mail' ;; telegram) enabled="$TELEGRAM_ENABLED" label=Telegram ;;
    *) enabled="$WEBHOOK_ENABLED" label=Webhook ;; esac
  NOTIFY_DECISION=deliver
  if [[ "$enabled" != true ]]; then
    log_skip "${label} notification disabled"
    NOTIFY_DECISION=disabled
  elif [[ ( "$DRY_RUN" == true || "$CHECK_ONLY" == true ) && "$NOTIFY_DRY_RUN" != true ]]; then
    [[ -n "$NOTIFY_SAID_DRY" ]] || log_info 'Dry run: would send notifications (NOTIFY_DRY_RUN=false)'
    NOTIFY_SAID_DRY=1 NOTIFY_DECISION=skipped
  elif [[ "$NOTIFY_ON" == warning && "$NOTIFY_C" -lt 1 ]] || [[ "$NOTIFY_ON" == error && "$NOTIFY_C" -lt 2 ]]; then
    [[ -n "$NOTIFY_SAID_BELOW" ]] || log_info "Notifications not sent: outcome ${NOTIFY_STATUS} is below NOTIFY_ON=${NOTIFY_ON}"
    NOTIFY_SAID_BELOW=1 NOTIFY_DECISION=skipped
  fi
}

# ---------------------------------------------------------------------------------------------------
# E-mail (§4)

NOTIFY_ADDRESS_RE='^[A-Za-z0-9._%+=-]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$'

# notify_root_pam_email: the e-mail of root@pam under SYSTEM_ROOT_PREFIX (§4.1), with the file it came from.
notify_root_pam_email() {
  local p="${SYSTEM_ROOT_PREFIX%/}" file mail
  NOTIFY_RECIPIENT_SOURCE=''
  if [[ "$PROXMOX_TYPE" == pve || "$PROXMOX_TYPE" == dual ]]; then
    file="${p}/etc/pve/user.cfg"
    mail="$(awk -F: '$1 == "user" && $2 == "root@pam" { print $7; exit }' "$file" 2> /dev/null || true)"
    if [[ -n "$mail" ]]; then NOTIFY_RECIPIENT_SOURCE="/etc/pve/user.cfg"; printf '%s' "$mail"; return 0; fi
  fi
  if [[ "$PROXMOX_TYPE" == pbs || "$PROXMOX_TYPE" == dual ]]; then
    file="${p}/etc/proxmox-backup/user.cfg"
    mail="$(awk '/^user: / { inside = ($2 == "root@pam") } inside && $1 == "email" { print $2; exit }' "$file" 2> /dev/null || true)"
    if [[ -n "$mail" ]]; then NOTIFY_RECIPIENT_SOURCE="/etc/proxmox-backup/user.cfg"; printf '%s' "$mail"; return 0; fi
  fi
}

# notify_recipients: NOTIFY_RCPT (valid addresses); returns 1 when none (the WARNING already logged).
notify_recipients() {
  local list="$EMAIL_RECIPIENT" item
  NOTIFY_RCPT=()
  if [[ -z "${list//[[:space:],]/}" ]]; then
    list="$(notify_root_pam_email)"
    if [[ -z "$list" ]]; then
      log_warning 'No e-mail recipient: EMAIL_RECIPIENT is empty and root@pam has no e-mail address'
      return 1
    fi
    notify_root_pam_email > /dev/null
    log_info "E-mail recipient taken from root@pam in ${NOTIFY_RECIPIENT_SOURCE}"
  fi
  local -a items
  IFS=, read -r -a items <<< "$list"
  for item in "${items[@]}"; do
    item="${item#"${item%%[![:space:]]*}"}"
    item="${item%"${item##*[![:space:]]}"}"
    [[ -n "$item" ]] || continue
    if [[ "$item" =~ $NOTIFY_ADDRESS_RE ]]; then NOTIFY_RCPT+=("$item")
    else log_warning "Invalid e-mail address ignored: $(log_esc "$item")"; fi
  done
  (( ${#NOTIFY_RCPT[@]} > 0 ))
}

# notify_subject TEXT: RFC 2047, UTF-8 chunks of at most 39 bytes never inside a code point, joined by LF + space.
notify_subject() {
  perl -MMIME::Base64 -MEncode -CA -e '
    my @words; my $chunk = "";
    for my $c (split //, $ARGV[0]) {
      my $b = Encode::encode("UTF-8", $c);
      if (length($chunk) + length($b) > 39) { push @words, $chunk; $chunk = "" }
      $chunk .= $b;
    }
    push @words, $chunk if length $chunk;
    print join("
 ", map { "=?UTF-8?B?" . encode_base64($_, "") . "?=" } @words);' -- "$1"
}

notify_phase_word() {
  local key="STATUS_$1"
  case "${!key:-}" in 0) printf ok ;; 1) printf warning ;; 2) printf error ;; *) printf 'not run' ;; esac
}

notify_details() {
  local versions='' level type="${COMPRESSION_EFFECTIVE:-$COMPRESSION_TYPE}"
  [[ -z "${PVE_VERSION:-}" ]] || versions="PVE ${PVE_VERSION}"
  [[ -z "${PBS_VERSION:-}" ]] || versions+="${versions:+ · }PBS ${PBS_VERSION}"
  printf 'Details\n'
  printf '  %-14s%s\n' 'Host type:' "$PROXMOX_TYPE" 'Versions:' "${versions:-none detected}"
  if [[ "$CHECK_ONLY" != true ]]; then
    level="$COMPRESSION_LEVEL"
    if [[ -n "${BACKUP_FILE:-}" && -f "${BACKUP_FILE}.metadata" ]]; then level="$(sed -n 's/^COMPRESSION_LEVEL=//p' "${BACKUP_FILE}.metadata")"; fi
    [[ "$type" != none ]] || level=none
    printf '  %-14s%s\n' 'Archive:' "$([[ -n "${BACKUP_FILE:-}" && -f "${BACKUP_FILE:-}" ]] && printf '%s' "$BACKUP_FILE" || printf none)"
    printf '  %-14s%s\n' 'Compression:' "${type}, level ${level:-none}, mode ${COMPRESSION_MODE}, encrypted $([[ "$ENCRYPT_ARCHIVE" == true ]] && printf yes || printf no)"
  fi
  printf '  %-14s%s\n' 'Phases:' "security $(notify_phase_word SECURITY), dependencies $(notify_phase_word DEPENDENCIES), collect $(notify_phase_word COLLECT), archive $(notify_phase_word ARCHIVE), verify $(notify_phase_word VERIFY), storage $(notify_phase_word STORAGE)"
  printf '  %-14s%s\n' 'Log file:' "${LOG_FILE:-none}"
}

# notify_email_message FROM: the whole message, LF line endings (§4.2).
notify_email_message() {
  local from="$1" to subject
  printf -v to '%s, ' "${NOTIFY_RCPT[@]}"
  to="${to%, }"
  subject="${EMAIL_SUBJECT_PREFIX}${EMAIL_SUBJECT_PREFIX:+ }${NOTIFY_TITLE} ($(printf '%(%Y-%m-%d %H:%M)T' "$START_TIME"))"
  printf 'From: %s\nTo: %s\nSubject: %s\n' "$from" "$to" "$(notify_subject "$subject")"
  printf 'Date: %s\n' "$(LC_ALL=C; printf '%(%a, %d %b %Y %H:%M:%S %z)T' -1)"
  printf 'Message-ID: <proxmox-backup.%s.%s@%s>\n' "$RUN_TIMESTAMP" "$SERVER_ID" "$HOSTNAME"
  printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n'
  printf 'Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\nList-Id: <backup-reports.%s>\n\n' "$HOSTNAME"
  printf '%s\n\n%s\n\n' "$NOTIFY_TITLE" "$NOTIFY_BODY"
  notify_details
  printf '\n-- \nproxmox-backup %s · server %s\n' "$(core_version)" "$SERVER_ID"
}

notify_send_email() {
  NOTIFY_RESULT=failed
  local key from
  for key in EMAIL_FROM EMAIL_RECIPIENT EMAIL_SUBJECT_PREFIX; do
    if [[ "${!key}" == *[$'\r\n']* ]]; then log_warning "E-mail not sent: ${key} contains a line break"; return 0; fi
  done
  from="${EMAIL_FROM:-root@${HOSTNAME}}"
  if [[ ! "$from" =~ ^[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+$ && ! "$from" =~ ^[\ -~]+\ \<[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+\>$ ]]; then
    log_warning 'E-mail not sent: EMAIL_FROM is not a valid address'
    return 0
  fi
  notify_recipients || return 0
  if [[ "$EMAIL_DELIVERY_METHOD" == smtp && -z "$SMTP_HOST" ]]; then log_warning 'E-mail not sent: SMTP_HOST is empty'; return 0; fi
  notify_email_message "$from" | notify_keep email.eml
  if [[ "$EMAIL_DELIVERY_METHOD" != smtp ]]; then notify_sendmail ''; return 0; fi
  notify_smtp "$from" && return 0
  [[ "$EMAIL_FALLBACK_SENDMAIL" == true ]] || return 0
  log_info 'Falling back to sendmail'
  notify_sendmail ' (fallback)'
}

# notify_smtp_reason CURL_EXIT: the §4.4 failure reason.
notify_smtp_reason() {
  case "$1" in 6) printf 'name resolution failed' ;; 7) printf 'connection failed' ;; 28) printf timeout ;;
    35 | 51 | 58 | 60 | 77 | 83) printf 'TLS error' ;; 64) printf 'STARTTLS not offered' ;; 67) printf 'authentication failed' ;;
    *) printf 'rejected by server' ;; esac
}

# notify_smtp FROM (§4.4) through curl, everything (credentials included) in a config on stdin; NOTIFY_RESULT.
notify_smtp() {
  local from="$1" rc scheme=smtp status=0 address
  printf -v rc '%s, ' "${NOTIFY_RCPT[@]}"
  rc="${rc%, }"
  address="$from"
  if [[ "$from" =~ \<([^\>]+)\>$ ]]; then address="${BASH_REMATCH[1]}"; fi
  [[ "$SMTP_TLS" != tls ]] || scheme=smtps
  log_info "Sending e-mail to ${rc} via SMTP ${SMTP_HOST}:${SMTP_PORT}"
  {
    printf 'url = %s\n' "$(notify_curl_quote "${scheme}://${SMTP_HOST}:${SMTP_PORT}/${HOSTNAME}")"
    printf 'mail-from = %s\n' "$(notify_curl_quote "$address")"
    local recipient
    for recipient in "${NOTIFY_RCPT[@]}"; do printf 'mail-rcpt = %s\n' "$(notify_curl_quote "$recipient")"; done
    printf 'upload-file = %s\ncrlf\n' "$(notify_curl_quote "${RUN_DIR}/notify/email.eml")"
    if [[ "$SMTP_TLS" == starttls && -n "$SMTP_USER" ]]; then printf 'ssl-reqd\n'   # a password never travels in clear
    elif [[ "$SMTP_TLS" == starttls ]]; then printf 'ssl\n'; fi
    [[ -z "$SMTP_USER" ]] || printf 'user = %s\n' "$(notify_curl_quote "${SMTP_USER}:${SMTP_PASSWORD}")"
  } | curl --config - --silent --connect-timeout 10 --max-time 60 > /dev/null 2>&1 || status=$?
  if (( status == 0 )); then
    log_success "E-mail sent to ${rc} via SMTP ${SMTP_HOST}:${SMTP_PORT}"
    NOTIFY_RESULT=sent
    return 0
  fi
  log_warning "E-mail via SMTP failed: $(notify_smtp_reason "$status")"
  return 1
}

# notify_sendmail SUFFIX: §4.3 with the kept message; NOTIFY_RESULT.
notify_sendmail() {
  local rc status=0
  printf -v rc '%s, ' "${NOTIFY_RCPT[@]}"
  rc="${rc%, }"
  log_info "Sending e-mail to ${rc} via sendmail"
  if [[ ! -f "$SENDMAIL_PATH" || ! -x "$SENDMAIL_PATH" ]]; then
    log_warning "E-mail via sendmail failed: $(log_esc "$SENDMAIL_PATH") not found or not executable"
    return 0
  fi
  timeout -k 5 60 "$SENDMAIL_PATH" -t -i < "${RUN_DIR}/notify/email.eml" > /dev/null 2>&1 || status=$?
  case "$status" in
    0) log_success "E-mail sent to ${rc} via sendmail$1"; NOTIFY_RESULT=sent ;;
    124) log_warning 'E-mail via sendmail failed: timeout after 60 s' ;;
    *) log_warning "E-mail via sendmail failed: exit code ${status}" ;;
  esac
}

# ---------------------------------------------------------------------------------------------------
# Telegram, personal mode (§3.1, §6)

notify_curl_reason() {
  case "$1" in 5 | 6) printf 'name resolution failed' ;; 7) printf 'connection failed' ;; 28) printf timeout ;;
    35 | 51 | 58 | 60) printf 'TLS error' ;; *) printf 'network error' ;; esac
}

# notify_proxy URL: the route of one request (§6.1; README "Decisions": proxies), the same rule as
# native/notify/proxy.ts: NOTIFY_PROXY is the http:// proxy to use, empty for a direct request; 1 when the
# variable names a proxy this tool cannot use (not http://, no host, a bad port). curl then gets the decision
# explicitly (`proxy` with an empty `noproxy`, or `noproxy = "*"`), so its own reading of the environment
# (all_proxy, CIDR entries) never differs from the TypeScript side.
notify_proxy() {
  local url="$1" scheme rest authority host port value list entry name entry_port authority_p
  NOTIFY_PROXY=''
  scheme="${url%%://*}"
  scheme="${scheme,,}"
  rest="${url#*://}"
  authority="${rest%%[/?#]*}"
  authority="${authority##*@}"
  if [[ "$authority" == \[* ]]; then
    host="${authority%%\]*}" host="${host#\[}" port="${authority#*\]}" port="${port#:}"
  else
    host="${authority%%:*}" port=''
    [[ "$authority" != *:* ]] || port="${authority#*:}"
  fi
  host="${host,,}"
  # curl's lookup: the lower-case variable when set and not empty, else the upper-case one.
  if [[ "$scheme" == https ]]; then value="${https_proxy:-${HTTPS_PROXY:-}}" port="${port:-443}"
  else value="${http_proxy:-${HTTP_PROXY:-}}" port="${port:-80}"; fi
  [[ -n "$value" ]] || return 0
  # Loopback is never proxied: localhost, *.localhost, 127.0.0.0/8, ::1.
  if [[ "$host" == localhost || "$host" == *.localhost || "$host" == ::1 || "$host" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then return 0; fi
  list="${no_proxy:-${NO_PROXY:-}}"
  local -a entries
  read -r -a entries <<< "${list//,/ }"
  for entry in "${entries[@]}"; do
    [[ "$entry" != '*' ]] || return 0
    name="$entry" entry_port=''
    if [[ "$entry" =~ ^\[([^]]*)\](:([0-9]+))?$ ]]; then name="${BASH_REMATCH[1]}" entry_port="${BASH_REMATCH[3]}"
    elif [[ "$entry" =~ ^([^:]*):([0-9]+)$ ]]; then name="${BASH_REMATCH[1]}" entry_port="${BASH_REMATCH[2]}"; fi
    name="${name,,}"
    name="${name#.}"
    [[ -n "$name" ]] || continue
    if [[ -n "$entry_port" ]] && (( 10#$entry_port != 10#$port )); then continue; fi
    if [[ "$host" == "$name" || "$host" == *".${name}" ]]; then return 0; fi
  done
  [[ "$value" =~ ^[A-Za-z][A-Za-z0-9+.-]*:// ]] || value="http://${value}"
  [[ "${value%%://*}" =~ ^[Hh][Tt][Tt][Pp]$ ]] || return 1
  authority_p="${value#*://}"
  authority_p="${authority_p%%[/?#]*}"
  authority_p="${authority_p##*@}"
  if [[ "$authority_p" =~ ^(\[[^]]+\]|[^]:[]+)(:([0-9]*))?$ ]]; then
    if [[ -n "${BASH_REMATCH[3]}" ]] && (( 10#${BASH_REMATCH[3]} > 65535 )); then return 1; fi
  else
    return 1
  fi
  NOTIFY_PROXY="$value"
}

# notify_curl_quote TEXT: a curl config string value.
notify_curl_quote() {
  local v="${1//\\/\\\\}"
  printf '"%s"' "${v//\"/\\\"}"
}

# notify_http URL BODY_FILE [HEADER...]: one attempt through curl (POST of BODY_FILE, or GET without one), the
# URL and headers (which may hold secrets) in a config on stdin, never on the command line (§6.4); no redirect
# is followed; the route (a proxy or none) is notify_proxy's. NOTIFY_HTTP (empty without an answer), NOTIFY_CURL
# (curl's exit), the reply in notify/.response.
notify_http() {
  local url="$1" body="$2" header
  shift 2
  NOTIFY_CURL=0 NOTIFY_HTTP=''
  if ! notify_proxy "$url"; then NOTIFY_CURL=1; return 0; fi   # a proxy that is not http://: `network error`
  NOTIFY_HTTP="$({
    printf 'url = %s\nuser-agent = "proxmox-backup/%s"\n' "$(notify_curl_quote "$url")" "$(core_version)"
    # The proxy (with its credentials) goes on stdin too; an empty noproxy keeps curl from applying no_proxy again.
    if [[ -n "$NOTIFY_PROXY" ]]; then printf 'proxy = %s\nnoproxy = ""\n' "$(notify_curl_quote "$NOTIFY_PROXY")"
    else printf 'noproxy = "*"\n'; fi
    for header in "$@"; do printf 'header = %s\n' "$(notify_curl_quote "$header")"; done
    [[ -z "$body" ]] || printf 'data-binary = %s\n' "$(notify_curl_quote "@${body}")"
  } | curl --config - --silent --connect-timeout 5 --max-time 20 --proto =http,https \
      --output "${RUN_DIR}/notify/.response" --dump-header "${RUN_DIR}/notify/.headers" --write-out '%{http_code}' 2> /dev/null)" \
    || NOTIFY_CURL=$?
  [[ "$NOTIFY_HTTP" != 000 ]] || NOTIFY_HTTP=''
}

# notify_json FIELD: a top-level (or a.b) field of the last response, empty when absent or not JSON.
notify_json() {
  perl -MJSON::PP -e 'local $/; my $d = eval { decode_json(<STDIN>) } or exit 0; for my $k (split /\./, $ARGV[0]) { ref $d eq "HASH" or exit 0; $d = $d->{$k} }
    print JSON::PP::is_bool($d) ? ($d ? "true" : "false") : ref $d ? "" : ($d // "")' -- "$1" < "${RUN_DIR}/notify/.response" 2> /dev/null || true
}

# notify_central_lookup (§3.2): TELEGRAM_TOKEN_IN_USE and TELEGRAM_CHAT_IN_USE from the central server; 1 with
# the one WARNING when that fails.
notify_central_lookup() {
  local base="${TELEGRAM_SERVER_API_HOST%/}" attempt wait reason='' retry chat token
  for attempt in 1 2 3; do
    log_debug "GET ${base}/api/get-chat-id (attempt ${attempt}/3)"
    notify_http "${base}/api/get-chat-id?server_id=${SERVER_ID}" '' 'Accept: application/json'
    retry=false wait="${NOTIFY_WAITS[$(( attempt - 1 ))]:-0}"
    if [[ -z "$NOTIFY_HTTP" ]]; then reason="$(notify_curl_reason "$NOTIFY_CURL")"; retry=true
    elif [[ "$NOTIFY_HTTP" == 429 || "$NOTIFY_HTTP" == 5?? ]]; then reason="HTTP ${NOTIFY_HTTP}"; retry=true
    else break; fi
    if [[ "$retry" != true || "$attempt" == 3 ]]; then break; fi
    log_info "Telegram central server attempt ${attempt}/3 failed (${reason}); retrying in ${wait} s"
    sleep "$wait"
  done
  case "$NOTIFY_HTTP" in
    '') log_warning "Telegram central server unreachable: ${reason}"; return 1 ;;
    200) ;;
    403) log_warning "Telegram central server: bot not started; start the bot and send it server ID ${SERVER_ID}"; return 1 ;;
    409) log_warning "Telegram central server: server ID ${SERVER_ID} is not registered"; return 1 ;;
    422) log_warning "Telegram central server rejected server ID ${SERVER_ID}"; return 1 ;;
    *) log_warning "Telegram central server returned HTTP ${NOTIFY_HTTP}"; return 1 ;;
  esac
  chat="$(notify_json chat_id)"
  token="$(notify_json bot_token)"
  if [[ ! "$token" =~ ^[0-9]+:[A-Za-z0-9_-]{35,}$ ]] || [[ ! "$chat" =~ ^-?[0-9]+$ && ! "$chat" =~ ^@[A-Za-z][A-Za-z0-9_]{4,}$ ]]; then
    log_warning 'Telegram central server returned an invalid response'
    return 1
  fi
  log_add_secret "$token"   # a secret from now on (§6.4)
  log_debug 'Telegram chat resolved by the central server'
  TELEGRAM_TOKEN_IN_USE="$token" TELEGRAM_CHAT_IN_USE="$chat"
}

notify_send_telegram() {
  NOTIFY_RESULT=failed
  if [[ "$BOT_TELEGRAM_TYPE" == centralized ]]; then
    [[ -n "$TELEGRAM_SERVER_API_HOST" ]] || return 0   # the load-time WARNING said it (config.md §8)
    notify_central_lookup || return 0
  else
    if [[ -z "$TELEGRAM_BOT_TOKEN" || -z "$TELEGRAM_CHAT_ID" ]]; then log_warning 'Telegram not sent: TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is empty'; return 0; fi
    if [[ ! "$TELEGRAM_BOT_TOKEN" =~ ^[0-9]+:[A-Za-z0-9_-]{35,}$ ]]; then log_warning 'Telegram not sent: TELEGRAM_BOT_TOKEN has an invalid format'; return 0; fi
    if [[ ! "$TELEGRAM_CHAT_ID" =~ ^-?[0-9]+$ && ! "$TELEGRAM_CHAT_ID" =~ ^@[A-Za-z][A-Za-z0-9_]{4,}$ ]]; then
      log_warning 'Telegram not sent: TELEGRAM_CHAT_ID has an invalid format'
      return 0
    fi
    TELEGRAM_TOKEN_IN_USE="$TELEGRAM_BOT_TOKEN" TELEGRAM_CHAT_IN_USE="$TELEGRAM_CHAT_ID"
  fi
  local text base="${TELEGRAM_API_BASE%/}"
  text="$(printf '%s\n\n%s' "$NOTIFY_TITLE" "$(notify_body "$NOTIFY_EMAIL")" | notify_truncate)"
  printf '%s' "$text" | notify_keep telegram.txt
  printf 'chat_id=%s&text=%s' "$(perl "${CORE_LIB_DIR}/bytes.pl" urlencode "$TELEGRAM_CHAT_IN_USE")" \
    "$(perl "${CORE_LIB_DIR}/bytes.pl" urlencode "$text")" > "${RUN_DIR}/notify/.body"
  local attempt wait reason retry
  for attempt in 1 2 3; do
    log_debug "POST ${base}/bot***/sendMessage (attempt ${attempt}/3)"
    notify_http "${base}/bot${TELEGRAM_TOKEN_IN_USE}/sendMessage" "${RUN_DIR}/notify/.body" \
      'Content-Type: application/x-www-form-urlencoded'
    retry=false wait="${NOTIFY_WAITS[$(( attempt - 1 ))]:-0}"
    if [[ -z "$NOTIFY_HTTP" ]]; then reason="$(notify_curl_reason "$NOTIFY_CURL")"; retry=true
    elif [[ "$NOTIFY_HTTP" == 2?? ]]; then
      if [[ "$(notify_json ok)" == true ]]; then log_success 'Telegram notification sent'; NOTIFY_RESULT=sent; return 0; fi
      reason='invalid response'
    else
      reason="HTTP ${NOTIFY_HTTP}"
      local description
      description="$(notify_json description)"
      [[ -z "$description" ]] || reason+=": $(notify_cut "${description%%$'\n'*}")"
      if [[ "$NOTIFY_HTTP" == 429 || "$NOTIFY_HTTP" == 5?? ]]; then retry=true; fi
      if [[ "$NOTIFY_HTTP" == 429 ]]; then
        local after
        after="$(notify_json parameters.retry_after)"
        [[ -n "$after" ]] || after="$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "${RUN_DIR}/notify/.headers" | head -n 1)"
        if [[ -n "$after" ]]; then wait="$after"; (( after <= 30 )) || retry=false; fi
      fi
    fi
    if [[ "$retry" != true || "$attempt" == 3 ]]; then break; fi
    log_info "Telegram attempt ${attempt}/3 failed (${reason}); retrying in ${wait} s"
    sleep "$wait"
  done
  log_warning "Telegram notification failed: ${reason}"
}

# ---------------------------------------------------------------------------------------------------
# Webhooks (§5)

# notify_js VALUE: a JSON string (UTF-8 written literally), `null` for the literal word null.
notify_js() {
  if [[ "$1" != *[!\ -~]* && "$1" != *[\"\\]* ]]; then   # printable ASCII without " and \: JSON::PP prints it as is
    printf '"%s"' "$1"
    return 0
  fi
  perl -CSA -MJSON::PP -e 'print JSON::PP->new->allow_nonref->encode($ARGV[0])' -- "$1"
}

# notify_jnum VALUE: a JSON number, or null when VALUE is empty.
notify_jnum() {
  if [[ "$1" =~ ^-?[0-9]+$ ]]; then printf '%s' "$1"; else printf null; fi
}

notify_jstr_or_null() {
  if [[ -n "$1" ]]; then notify_js "$1"; else printf null; fi
}

# notify_redact_url URL: <scheme>://<host>[:<port>]/*** (or / without path or query), user info dropped (§5.1).
notify_redact_url() {
  local url="$1" scheme rest authority path
  scheme="${url%%://*}"
  rest="${url#*://}"
  authority="${rest%%[/?#]*}"
  path="${rest:${#authority}}"
  authority="${authority##*@}"
  if [[ -z "$path" || "$path" == / ]]; then printf '%s://%s/' "$scheme" "$authority"
  else printf '%s://%s/***' "$scheme" "$authority"; fi
}

notify_phase_num() {
  local key="STATUS_$1"
  if [[ "${!key:-}" =~ ^[0-2]$ ]]; then printf '%s' "${!key}"; else printf null; fi
}

# notify_tier_json TIER MAX_KEY FREE_DIR
notify_tier_json() {
  local tier="$1" status count_key max free=''
  status="$(notify_tier_status "$tier")"
  count_key="${tier^^}_BACKUP_COUNT"
  max="${!2}"
  if storage_gfs_on || (( max == 0 )); then max=''; fi
  [[ -z "$3" || "$status" == disabled ]] || free="$(core_free_bytes "$3")"
  printf '{"status":%s,"count":%s,"max":%s,"free_bytes":%s}' "$(notify_js "$status")" "$(notify_jnum "${!count_key:-}")" \
    "$(notify_jnum "$max")" "$(notify_jnum "$free")"
}

notify_first_lines_json() {
  local level="$1" line first=true
  printf '['
  while IFS= read -r line; do
    [[ "$first" == true ]] || printf ','
    first=false
    notify_js "$(notify_cut "${line#*\["${level}"\] }")"
  done < <(log_lines "$level" "$NOTIFY_LOG" | head -n 5)
  printf ']'
}

# notify_generic_json: the generic payload, keys in §5.2 order.
notify_generic_json() {
  local mode=backup duration archive=null files=null started errors warnings level
  [[ "$DRY_RUN" != true ]] || mode=dry-run
  [[ "$CHECK_ONLY" != true ]] || mode=check
  duration="${BACKUP_DURATION:-$(( $(core_now) - START_TIME ))}"
  started="$(printf '%(%Y-%m-%dT%H:%M:%S%z)T' "$START_TIME")"
  started="${started:0:22}:${started:22}"
  if [[ -n "${BACKUP_FILE:-}" && -f "${BACKUP_FILE:-}" ]]; then
    level="$COMPRESSION_LEVEL"
    [[ ! -f "${BACKUP_FILE}.metadata" ]] || level="$(sed -n 's/^COMPRESSION_LEVEL=//p' "${BACKUP_FILE}.metadata")"
    [[ "${COMPRESSION_EFFECTIVE:-$COMPRESSION_TYPE}" != none ]] || level=''
    archive="{\"name\":$(notify_js "${BACKUP_FILE##*/}"),\"path\":$(notify_js "$BACKUP_FILE"),\"size_bytes\":$(notify_jnum "${ARCHIVE_SIZE:-}")"
    archive+=",\"size\":$(notify_js "$(core_human_size "${ARCHIVE_SIZE:-0}")"),\"compression_type\":$(notify_js "${COMPRESSION_EFFECTIVE:-$COMPRESSION_TYPE}")"
    archive+=",\"compression_level\":$(notify_jnum "$level"),\"compression_mode\":$(notify_js "$COMPRESSION_MODE")"
    archive+=",\"compression_ratio\":$(notify_jstr_or_null "${COMPRESSION_RATIO:-}"),\"encrypted\":$([[ "$ENCRYPT_ARCHIVE" == true ]] && printf true || printf false)}"
  fi
  [[ "$CHECK_ONLY" == true ]] || files="{\"included\":$(notify_jnum "${FILES_INCLUDED:-}"),\"missing\":$(notify_jnum "${FILE_MISSING:-}")}"
  errors="$(log_lines ERROR "$NOTIFY_LOG" | wc -l)"
  warnings="$(log_lines WARNING "$NOTIFY_LOG" | wc -l)"
  printf '{"schema":"proxmox-backup.notify/1","tool_version":%s,"mode":%s,"status":%s,"exit_code":%s,"title":%s,"text":%s,' \
    "$(notify_js "$(core_version)")" "$(notify_js "$mode")" "$(notify_js "$NOTIFY_STATUS")" "$NOTIFY_C" \
    "$(notify_js "$NOTIFY_TITLE")" "$(notify_js "$NOTIFY_BODY")"
  printf '"host":{"fqdn":%s,"type":%s,"pve_version":%s,"pbs_version":%s,"server_id":%s},' "$(notify_js "$HOSTNAME")" \
    "$(notify_js "$PROXMOX_TYPE")" "$(notify_jstr_or_null "${PVE_VERSION:-}")" "$(notify_jstr_or_null "${PBS_VERSION:-}")" "$(notify_js "$SERVER_ID")"
  printf '"run":{"timestamp":%s,"started_at":%s,"duration_seconds":%s,"duration":%s,"log_file":%s},' "$(notify_js "$RUN_TIMESTAMP")" \
    "$(notify_js "$started")" "$duration" "$(notify_js "$(core_format_duration "$duration")")" \
    "$(if [[ -n "${LOG_FILE:-}" && -f "${LOG_FILE:-}" ]]; then notify_js "$LOG_FILE"; else printf null; fi)"
  printf '"phases":{"security":%s,"dependencies":%s,"collect":%s,"archive":%s,"verify":%s,"storage":%s},' \
    "$(notify_phase_num SECURITY)" "$(notify_phase_num DEPENDENCIES)" "$(notify_phase_num COLLECT)" \
    "$(notify_phase_num ARCHIVE)" "$(notify_phase_num VERIFY)" "$(notify_phase_num STORAGE)"
  printf '"archive":%s,"files":%s,' "$archive" "$files"
  printf '"tiers":{"primary":%s,"secondary":%s,"cloud":%s},' "$(notify_tier_json primary MAX_LOCAL_BACKUPS "$LOCAL_BACKUP_PATH")" \
    "$(notify_tier_json secondary MAX_SECONDARY_BACKUPS "${SECONDARY_BACKUP_PATH:-}")" "$(notify_tier_json cloud MAX_CLOUD_BACKUPS '')"
  printf '"issues":{"errors":%s,"warnings":%s,"first_errors":%s,"first_warnings":%s}}' "$errors" "$warnings" \
    "$(notify_first_lines_json ERROR)" "$(notify_first_lines_json WARNING)"
}

# notify_webhook_payload URL: WEBHOOK_TARGET (where to POST) and WEBHOOK_BODY for the format; 1 when the
# URL cannot take this format (ntfy without a topic).
notify_webhook_payload() {
  local url="$1" title body color priority
  title="$(notify_js "$NOTIFY_TITLE")"
  WEBHOOK_TARGET="$url"
  case "$WEBHOOK_FORMAT" in
    generic) WEBHOOK_BODY="$(notify_generic_json)" ;;
    discord)
      case "$NOTIFY_STATUS" in success) color=3066993 ;; warning) color=15965202 ;; *) color=15158332 ;; esac
      body="$(notify_js "$(printf '%s' "$NOTIFY_BODY" | notify_truncate)")"
      title="$(notify_js "$(perl -CSA -e 'print substr($ARGV[0], 0, 256)' -- "$NOTIFY_TITLE")")"
      WEBHOOK_BODY="{\"username\":\"proxmox-backup\",\"embeds\":[{\"title\":${title},\"description\":${body},\"color\":${color}}]}"
      ;;
    slack)
      body="$(printf '%s\n\n%s' "$NOTIFY_TITLE" "$NOTIFY_BODY" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')"
      WEBHOOK_BODY="{\"text\":$(notify_js "$body")}"
      ;;
    ntfy)
      case "$NOTIFY_STATUS" in success) priority=3 ;; warning) priority=4 ;; *) priority=5 ;; esac
      local base="${url%%\?*}" query='' topic
      [[ "$url" != *\?* ]] || query="?${url#*\?}"
      topic="${base##*/}"
      if [[ -z "$topic" || "${base#*://}" != */* ]]; then return 1; fi
      WEBHOOK_TARGET="${base%/*}/${query}"
      WEBHOOK_BODY="{\"topic\":$(notify_js "$topic"),\"title\":${title},\"message\":$(notify_js "$NOTIFY_BODY"),\"priority\":${priority}}"
      ;;
    gotify)
      case "$NOTIFY_STATUS" in success) priority=2 ;; warning) priority=5 ;; *) priority=8 ;; esac
      WEBHOOK_BODY="{\"title\":${title},\"message\":$(notify_js "$NOTIFY_BODY"),\"priority\":${priority},\"extras\":{\"client::display\":{\"contentType\":\"text/plain\"}}}"
      ;;
  esac
}

# notify_webhook_send N URL: one target with the retries of §6; 0 when delivered.
notify_webhook_send() {
  local n="$1" url="$2" shown attempt wait reason retry first
  shown="$(notify_redact_url "$url")"
  if ! notify_webhook_payload "$url"; then log_warning "Webhook ${n} (${shown}) failed: ntfy URL has no topic"; return 1; fi
  printf '%s' "$WEBHOOK_BODY" | notify_keep "webhook-${n}.json"
  cp -- "${RUN_DIR}/notify/webhook-${n}.json" "${RUN_DIR}/notify/.body"
  for attempt in 1 2 3; do
    log_debug "POST ${shown} (attempt ${attempt}/3)"
    local -a headers=('Content-Type: application/json')
    [[ -z "$WEBHOOK_AUTH_HEADER" ]] || headers+=("$WEBHOOK_AUTH_HEADER")
    notify_http "$WEBHOOK_TARGET" "${RUN_DIR}/notify/.body" "${headers[@]}"
    retry=false wait="${NOTIFY_WAITS[$(( attempt - 1 ))]:-0}"
    if [[ -z "$NOTIFY_HTTP" ]]; then reason="$(notify_curl_reason "$NOTIFY_CURL")"; retry=true
    elif [[ "$NOTIFY_HTTP" == 2?? ]]; then
      log_success "Webhook ${n} (${shown}) delivered (HTTP ${NOTIFY_HTTP})"
      return 0
    else
      reason="HTTP ${NOTIFY_HTTP}"
      first="$(head -n 1 "${RUN_DIR}/notify/.response" 2> /dev/null || true)"
      [[ -z "$first" ]] || log_debug "Response body: $(notify_cut "$first")"
      if [[ "$NOTIFY_HTTP" == 429 || "$NOTIFY_HTTP" == 5?? ]]; then retry=true; fi
      if [[ "$NOTIFY_HTTP" == 429 ]]; then
        local after
        after="$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "${RUN_DIR}/notify/.headers" | head -n 1)"
        if [[ -n "$after" ]]; then wait="$after"; (( after <= 30 )) || retry=false; fi
      fi
    fi
    if [[ "$retry" != true || "$attempt" == 3 ]]; then break; fi
    log_info "Webhook ${n} (${shown}) attempt ${attempt}/3 failed (${reason}); retrying in ${wait} s"
    sleep "$wait"
  done
  log_warning "Webhook ${n} (${shown}) failed: ${reason}"
  return 1
}

notify_send_webhook() {
  NOTIFY_RESULT=failed
  local -a urls=()
  local url n=0 all=true
  while IFS= read -r url; do [[ -z "$url" ]] || urls+=("$url"); done <<< "${WEBHOOK_URLS:-}"
  if (( ${#urls[@]} == 0 )); then log_warning 'Webhook not sent: WEBHOOK_URLS is empty'; return 0; fi
  if [[ -n "$WEBHOOK_AUTH_HEADER" && ! "$WEBHOOK_AUTH_HEADER" =~ ^[A-Za-z0-9-]+:\ ?[^$'\r\n']+$ ]]; then
    log_warning 'Webhook not sent: WEBHOOK_AUTH_HEADER is not a valid header line'
    return 0
  fi
  for url in "${urls[@]}"; do
    n=$(( n + 1 ))
    if [[ ! "$url" =~ ^https?://[^/?#@]*@?[^/?#:@]+(:[0-9]+)?([/?#].*)?$ ]]; then
      log_warning "Webhook ${n} not sent: not a valid http(s) URL"
      all=false
      continue
    fi
    notify_webhook_send "$n" "$url" || all=false
  done
  [[ "$all" != true ]] || NOTIFY_RESULT=sent
}

# ---------------------------------------------------------------------------------------------------
# Healthcheck ping (README "Decisions": the dead-man's switch). HEALTHCHECK_URL is a secret: never logged.

# notify_healthcheck_url KIND: the URL for start, success or fail (the suffix goes before any query).
notify_healthcheck_url() {
  local url="$HEALTHCHECK_URL" query='' suffix=''
  case "$1" in start) suffix=/start ;; fail) suffix=/fail ;; esac
  if [[ "$url" == *\?* ]]; then query="?${url#*\?}"; url="${url%%\?*}"; fi
  printf '%s%s%s' "${url%/}" "$suffix" "$query"
}

# notify_healthcheck KIND BODY: one ping (POST, BODY = the exit code, empty for start) with the §6 limits and
# retries; only real backup runs ping (not --dry-run or --check-only). 1 when it failed (a WARNING).
notify_healthcheck() {
  local kind="$1" attempt wait reason='' retry
  [[ -n "${HEALTHCHECK_URL:-}" && "$DRY_RUN" != true && "$CHECK_ONLY" != true ]] || return 0
  if [[ ! "$HEALTHCHECK_URL" =~ ^https?://[^/?#@]*@?[^/?#:@]+(:[0-9]+)?([/?#].*)?$ ]]; then
    log_warning 'Healthcheck ping not sent: HEALTHCHECK_URL is not a valid http(s) URL'
    return 1
  fi
  mkdir -p -- "${RUN_DIR}/notify"
  ( umask 077 && printf '%s' "$2" > "${RUN_DIR}/notify/.ping" )
  for attempt in 1 2 3; do
    log_debug "Healthcheck ping ${kind} (attempt ${attempt}/3)"
    notify_http "$(notify_healthcheck_url "$kind")" "${RUN_DIR}/notify/.ping" 'Content-Type: text/plain'
    retry=false wait="${NOTIFY_WAITS[$(( attempt - 1 ))]:-0}"
    if [[ -z "$NOTIFY_HTTP" ]]; then reason="$(notify_curl_reason "$NOTIFY_CURL")"; retry=true
    elif [[ "$NOTIFY_HTTP" == 2?? ]]; then log_success "Healthcheck ping ${kind} sent"; return 0
    else
      reason="HTTP ${NOTIFY_HTTP}"
      if [[ "$NOTIFY_HTTP" == 429 || "$NOTIFY_HTTP" == 5?? ]]; then retry=true; fi
      if [[ "$NOTIFY_HTTP" == 429 ]]; then
        local after
        after="$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "${RUN_DIR}/notify/.headers" | head -n 1)"
        if [[ -n "$after" ]]; then wait="$after"; (( after <= 30 )) || retry=false; fi
      fi
    fi
    if [[ "$retry" != true || "$attempt" == 3 ]]; then break; fi
    log_info "Healthcheck ping ${kind} attempt ${attempt}/3 failed (${reason}); retrying in ${wait} s"
    sleep "$wait"
  done
  log_warning "Healthcheck ping ${kind} failed: ${reason}"
  return 1
}

# notify_start (run begin, both orchestrators): the /start ping; its transport files removed.
notify_start() {
  local status=0
  notify_healthcheck start '' || status=1
  rm -f -- "${RUN_DIR}/notify/.body" "${RUN_DIR}/notify/.response" "${RUN_DIR}/notify/.headers" "${RUN_DIR}/notify/.ping"
  return "$status"
}
