#!/usr/bin/env bats
# bin/switch-mode: rollback without node, flag rewrites, argument errors.
# shellcheck disable=SC2154 # bats run sets $output, $stderr and $status

load test_helper

setup() {
  BASE_DIR="$(make_base_dir)"
  export BASE_DIR
}

# archive_made: exactly one verified archive in the sandbox's backup dir.
archive_made() {
  local archives=("${BASE_DIR}"/backup/pve-backup-pve1.lab.example-2024-11-25_02-00-00.tar.gz)
  [ -f "${archives[0]}" ]
  (cd "${BASE_DIR}/backup" && sha256sum -c --status ./*.sha256)
}

@test "run-backup without node on PATH runs the legacy pipeline itself" {
  PATH="$(path_without_node)" run -0 --separate-stderr "$SWITCH_MODE" run-backup --host "$PVE_SINGLE"
  [[ "$stderr" == *"node not found; running the legacy pipeline"* ]]
  [[ "$output" == *"[SUCCESS] Backup process completed with exit code: 0"* ]]
  archive_made
}

@test "run-backup with the orchestrator on bash runs the legacy pipeline" {
  run -0 --separate-stderr "$SWITCH_MODE" run-backup --host "$PVE_SINGLE"
  [[ "$stderr" != *"node not found"* ]]
  [[ "$output" == *"[SUCCESS] Backup process completed with exit code: 0"* ]]
  archive_made
}

@test "a broken flags.json is reported, treated as all-bash, and flagged by the integrity manifest" {
  printf '{ not json' > "${BASE_DIR}/flags.json"
  run -1 --separate-stderr "$SWITCH_MODE" run-backup --host "$PVE_SINGLE"
  [[ "$stderr" == *"flags.json is invalid (not valid JSON"*"running every domain in bash"* ]]
  [[ "$output" == *"[WARNING] Integrity: file changed: flags.json"* ]]   # edited by hand, not by set/--target
  archive_made
}

@test "a front end that cannot start falls back to the legacy pipeline" {
  mkdir -p "${BATS_TEST_TMPDIR}/fakebin"
  printf '#!/bin/sh\nexit 70\n' > "${BATS_TEST_TMPDIR}/fakebin/node"
  chmod +x "${BATS_TEST_TMPDIR}/fakebin/node"
  PATH="${BATS_TEST_TMPDIR}/fakebin:${PATH}" run -0 --separate-stderr "$SWITCH_MODE" run-backup --host "$PVE_SINGLE"
  [[ "$stderr" == *"TypeScript front end failed to start; running the legacy pipeline"* ]]
  archive_made
}

# counting_node DIR: a `node` first on PATH that counts its starts in DIR/starts, runs the real one and appends
# its exit code to DIR/exits (a side tool's own code there proves node ran the tool, 0 that it handed it back).
counting_node() {
  local dir="$1" real
  real="$(command -v node)"
  mkdir -p "${dir}/bin"
  # shellcheck disable=SC2016 # $@ and $rc belong to the wrapper
  printf '#!/bin/sh\necho start >> "%s/starts"\n"%s" "$@"\nrc=$?\necho "$rc" >> "%s/exits"\nexit "$rc"\n' \
    "$dir" "$real" "$dir" > "${dir}/bin/node"
  chmod +x "${dir}/bin/node"
}

@test "one run-backup starts node exactly once, whichever side runs it" {
  counting_node "${BATS_TEST_TMPDIR}/count"
  mkdir -p "${BATS_TEST_TMPDIR}/tmp"
  export TMPDIR="${BATS_TEST_TMPDIR}/tmp"
  # what a launcher killed with -9 left: swept once a day old, a recent one (maybe a running launcher's) kept
  touch -d '2 days ago' "${TMPDIR}/switch-mode-handoff.killed"
  touch "${TMPDIR}/switch-mode-handoff.recent"
  PATH="${BATS_TEST_TMPDIR}/count/bin:${PATH}" run -0 --separate-stderr "$SWITCH_MODE" run-backup --dry-run --host "$PVE_SINGLE"
  [[ "$output" == *"[SUCCESS] Backup process completed with exit code: 0"* ]]
  [ "$(wc -l < "${BATS_TEST_TMPDIR}/count/starts")" -eq 1 ]
  [ ! -e "${TMPDIR}/switch-mode-handoff.killed" ]
  rm "${TMPDIR}/switch-mode-handoff.recent"
  rm -f "${BATS_TEST_TMPDIR}/count/starts"
  PATH="${BATS_TEST_TMPDIR}/count/bin:${PATH}" run -0 --separate-stderr "$SWITCH_MODE" run-backup --dry-run --host "$PVE_SINGLE" \
    --flag orchestrator=ts
  [[ "$output" == *"[SUCCESS] Backup process completed with exit code: 0"* ]]
  [ "$(wc -l < "${BATS_TEST_TMPDIR}/count/starts")" -eq 1 ]
  [ -z "$(find "$TMPDIR" -maxdepth 1 -name 'switch-mode-handoff.*')" ]   # the hand-off file is removed
}

@test "a side tool starts node once: cli=ts runs it in that node, cli=bash hands the legacy tool back" {
  counting_node "${BATS_TEST_TMPDIR}/count"
  mkdir -p "${BATS_TEST_TMPDIR}/tmp" "${BASE_DIR}/config"
  printf 'garbage\n' > "${BASE_DIR}/config/.server_identity"   # validate: exit 2, corrupt
  PATH="${BATS_TEST_TMPDIR}/count/bin:${PATH}" TMPDIR="${BATS_TEST_TMPDIR}/tmp" run -2 --separate-stderr "$SWITCH_MODE" server-id validate
  [[ "$output" == "corrupt: ${BASE_DIR}/config/.server_identity" ]]
  [ "$(cat "${BATS_TEST_TMPDIR}/count/starts")" = start ]
  [ "$(cat "${BATS_TEST_TMPDIR}/count/exits")" = 0 ]   # one start, which exited at once: the legacy tool answered
  run -0 "$SWITCH_MODE" set cli ts
  rm -f "${BATS_TEST_TMPDIR}/count/starts" "${BATS_TEST_TMPDIR}/count/exits"
  PATH="${BATS_TEST_TMPDIR}/count/bin:${PATH}" TMPDIR="${BATS_TEST_TMPDIR}/tmp" run -2 --separate-stderr "$SWITCH_MODE" server-id validate
  [[ "$output" == "corrupt: ${BASE_DIR}/config/.server_identity" ]]
  [ "$(cat "${BATS_TEST_TMPDIR}/count/exits")" = 2 ]   # one start, and the tool's exit code is that node's
  rm -f "${BATS_TEST_TMPDIR}/count/starts" "${BATS_TEST_TMPDIR}/count/exits"
  # shadow runs a side tool in bash: still one start, handed back
  run -0 "$SWITCH_MODE" set cli shadow
  rm -f "${BATS_TEST_TMPDIR}/count/starts" "${BATS_TEST_TMPDIR}/count/exits"
  PATH="${BATS_TEST_TMPDIR}/count/bin:${PATH}" TMPDIR="${BATS_TEST_TMPDIR}/tmp" run -2 --separate-stderr "$SWITCH_MODE" server-id validate
  [ "$(cat "${BATS_TEST_TMPDIR}/count/exits")" = 0 ]
  [ -z "$(find "${BATS_TEST_TMPDIR}/tmp" -maxdepth 1 -name 'switch-mode-handoff.*')" ]
  # a node rule for cli is this node's (the only case where the decision asks for the node's names)
  printf '{"version":1,"defaults":{"cli":"bash"},"nodes":{"%s":{"cli":"ts"}}}\n' "$(hostname | cut -d. -f1)" \
    > "${BASE_DIR}/flags.json"
  run -0 "$SWITCH_MODE" resolve-tool server-id
  [ "$output" = ts ]
  rm -f "${BATS_TEST_TMPDIR}/count/starts" "${BATS_TEST_TMPDIR}/count/exits"
  PATH="${BATS_TEST_TMPDIR}/count/bin:${PATH}" run -2 --separate-stderr "$SWITCH_MODE" server-id validate
  [ "$(cat "${BATS_TEST_TMPDIR}/count/exits")" = 2 ]
}

@test "a side tool without node, or with a front end that cannot start, runs the legacy tool" {
  run -0 "$SWITCH_MODE" set cli ts
  PATH="$(path_without_node)" run -0 --separate-stderr "$SWITCH_MODE" server-id show
  [[ "$output" == *"[INFO] Server ID generated"* ]]
  [ -z "$stderr" ]   # silent: a bash install never notices node
  mkdir -p "${BATS_TEST_TMPDIR}/fakebin"
  printf '#!/bin/sh\nexit 70\n' > "${BATS_TEST_TMPDIR}/fakebin/node"
  chmod +x "${BATS_TEST_TMPDIR}/fakebin/node"
  printf 'garbage\n' > "${BASE_DIR}/config/.server_identity"
  PATH="${BATS_TEST_TMPDIR}/fakebin:${PATH}" run -2 --separate-stderr "$SWITCH_MODE" server-id validate
  [[ "$stderr" == "switch-mode: TypeScript front end failed to start; running the legacy tool" ]]
  [[ "$output" == "corrupt: ${BASE_DIR}/config/.server_identity" ]]
}

@test "cli=bash hands a side tool its arguments, stdin, terminal and exit code; cli=ts the terminal" {
  run -2 --separate-stderr "$SWITCH_MODE" server-id reset 'two  words' --yes
  [[ "$stderr" == "Unknown argument: two  words"$'\n'"Usage: server-id show | validate | reset [--yes]"* ]]
  run -2 --separate-stderr "$SWITCH_MODE" server-id reset < /dev/null   # not a terminal: needs --yes
  [[ "$stderr" == *"reset needs --yes when not running on a terminal"* ]]
  run -1 --separate-stderr "$SWITCH_MODE" server-id validate   # missing: exit 1
  run -0 "$SWITCH_MODE" server-id show
  # on a terminal the legacy tool asks, and reads the answer from it
  run -0 script -qec "'${SWITCH_MODE}' server-id reset" /dev/null <<< 'n'
  [[ "$output" == *"Regenerate the server ID?"*"Cancelled"* ]]
  # and with cli=ts the native tool, run by the backgrounded front end, has the terminal too
  run -0 "$SWITCH_MODE" set cli ts
  run -0 script -qec "'${SWITCH_MODE}' server-id reset" /dev/null <<< 'n'
  [[ "$output" == *"Regenerate the server ID?"*"Cancelled"* ]]
}

@test "dry-run through switch-mode writes no archive" {
  run -0 --separate-stderr "$SWITCH_MODE" run-backup --dry-run --host "$PVE_SINGLE"
  [[ "$output" == *"[INFO] Dry run: would create archive pve-backup-pve1.lab.example-2024-11-25_02-00-00.tar.gz"* ]]
  [ -z "$(ls -A "${BASE_DIR}/backup" 2> /dev/null)" ]
}

@test "--target=bash without node rewrites flags.json and keeps the previous file" {
  printf '{"version":1,"defaults":{"backup":"ts"}}\n' > "${BASE_DIR}/flags.json"
  PATH="$(path_without_node)" run -0 "$SWITCH_MODE" --target=bash
  [[ "$output" == *"Integrity manifest updated for flags.json"* ]]   # a sanctioned change (security.md T5)
  (cd "$BASE_DIR" && sha256sum -c --status config/integrity.sha256)
  [[ "$(cat "${BASE_DIR}/flags.json.prev")" == '{"version":1,"defaults":{"backup":"ts"}}' ]]
  run -0 "$SWITCH_MODE" status
  [[ "$output" == *"flags.json: ${BASE_DIR}/flags.json (valid)"* ]]
  [[ "$output" == *"backup       bash    default"* ]]
}

@test "set changes one domain atomically and status names the rule" {
  run -0 "$SWITCH_MODE" set storage shadow
  [[ "$output" == *"Integrity manifest updated for flags.json"* ]]
  (cd "$BASE_DIR" && sha256sum -c --status config/integrity.sha256)
  run -0 "$SWITCH_MODE" status --flag notify=ts
  [[ "$output" == *"storage      shadow  default"* ]]
  [[ "$output" == *"notify       ts      command line"* ]]
  [ -f "${BASE_DIR}/flags.json.prev" ]
}

@test "set refuses an unknown domain with exit 2" {
  run -2 --separate-stderr "$SWITCH_MODE" set backups ts
  [[ "$stderr" == *"Unknown domain: 'backups'"* ]]
}

@test "check prints the resolved config with secrets masked" {
  printf 'TELEGRAM_BOT_TOKEN=123456:SECRETVALUE\nMAX_LOCAL_BACKUPS=7\n' > "${BASE_DIR}/env/backup.env"
  run -0 --separate-stderr "$SWITCH_MODE" check
  [[ "$output" == *"TELEGRAM_BOT_TOKEN=***  # backup.env:1"* ]]
  [[ "$output" == *"MAX_LOCAL_BACKUPS='7'  # backup.env:2"* ]]
  [[ "$output" != *SECRETVALUE* ]]
}

@test "check refuses command substitution naming file and line" {
  # shellcheck disable=SC2016 # the $(…) must reach the file unexpanded: that is the test
  printf 'A=1\nLOCAL_BACKUP_PATH=$(touch %s/pwned)\n' "$BATS_TEST_TMPDIR" > "${BASE_DIR}/env/backup.env"
  run -2 --separate-stderr "$SWITCH_MODE" check
  [[ "$stderr" == *"ERROR: backup.env:2: command substitution is not allowed"* ]]
  [ ! -e "${BATS_TEST_TMPDIR}/pwned" ]
}

@test "the legacy pipeline refuses a bad config before any work, exit 2, no log file" {
  printf 'MAX_LOCAL_BACKUPS=abc\n' > "${BASE_DIR}/env/backup.env"
  run -2 --separate-stderr "${REPO}/legacy/bin/proxmox-backup"
  [[ "$stderr" == *"ERROR: Invalid value for MAX_LOCAL_BACKUPS: 'abc' (expected int) at backup.env:1"* ]]
  [ ! -e "${BASE_DIR}/log" ]
  [ ! -s "${BASE_DIR}/lock/proxmox-backup.lock" ]   # never taken (the install step left it empty)
}

@test "the legacy pipeline rejects --dry-run with --check-only" {
  run -2 --separate-stderr "${REPO}/legacy/bin/proxmox-backup" --dry-run --check-only
  [[ "$stderr" == *"mutually exclusive"* ]]
}
setup_file() { "${REPO}/parity/hosts/prepare" "${REPO}/parity/hosts/pve-single"; }
