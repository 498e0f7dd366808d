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

# counting_node DIR: a `node` first on PATH that counts its starts in DIR/starts, then runs the real one.
counting_node() {
  local dir="$1" real
  real="$(command -v node)"
  mkdir -p "${dir}/bin"
  printf '#!/bin/sh\necho start >> "%s/starts"\nexec "%s" "$@"\n' "$dir" "$real" > "${dir}/bin/node"
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
