#!/usr/bin/env bats
# fix-permissions (security.md §7): R1 on the installation, R2 on this host's backups and logs; dry-run first.
# shellcheck disable=SC2154 # bats run sets $output and $status

load test_helper

setup() {
  BASE_DIR="$(make_base_dir)"
  export BASE_DIR
  printf '%s\n' "SYSTEM_ROOT_PREFIX=${REPO}/parity/hosts/pve-single/root" >> "${BASE_DIR}/env/backup.env"
  mkdir -p "${BASE_DIR}/legacy/lib" "${BASE_DIR}/backup" "${BASE_DIR}/log"
  printf 'x\n' > "${BASE_DIR}/legacy/lib/a.sh"
  printf '#!/bin/sh\n' > "${BASE_DIR}/legacy/run"
  chmod 0666 "${BASE_DIR}/legacy/lib/a.sh"
  chmod 0777 "${BASE_DIR}/legacy/run"
  chmod 0644 "${BASE_DIR}/env/backup.env"
  ln -s /etc/passwd "${BASE_DIR}/legacy/link"
  HOST="$(hostname -f 2> /dev/null || hostname)"
  printf 'a' > "${BASE_DIR}/backup/pve-backup-${HOST}-2024-11-25_02-00-00.tar.zst"
  printf 'b' > "${BASE_DIR}/backup/pve-backup-other.example-2024-11-25_02-00-00.tar.zst"
  chmod 0644 "${BASE_DIR}/backup/"*.tar.zst
}

@test "dry-run says what would change and changes nothing" {
  run -0 "$SWITCH_MODE" fix-permissions --dry-run
  [[ "$output" == *"[INFO] Dry run: would change mode of ${BASE_DIR}/legacy/lib/a.sh: 0666 -> 0640"* ]]
  [[ "$output" == *"[INFO] Dry run: would change mode of ${BASE_DIR}/env/backup.env: 0644 -> 0600"* ]]
  [[ "$(stat -c %a "${BASE_DIR}/legacy/lib/a.sh")" == 666 ]]
}

@test "fixes the installation and this host's archive; leaves links, other hosts' files and other content alone" {
  run -0 "$SWITCH_MODE" fix-permissions
  [[ "$(stat -c %a "${BASE_DIR}/legacy/lib/a.sh")" == 640 ]]
  [[ "$(stat -c %a "${BASE_DIR}/legacy/run")" == 750 ]]
  [[ "$(stat -c %a "${BASE_DIR}/legacy")" == 750 ]]
  [[ "$(stat -c %a "${BASE_DIR}/env/backup.env")" == 600 ]]
  [[ "$(stat -c %a "${BASE_DIR}/env")" == 700 ]]
  [[ "$(stat -c %a /etc/passwd)" == 644 ]]
  [[ "$(stat -c %a "${BASE_DIR}/backup/pve-backup-${HOST}-2024-11-25_02-00-00.tar.zst")" == 600 ]]
  [[ "$(stat -c %a "${BASE_DIR}/backup/pve-backup-other.example-2024-11-25_02-00-00.tar.zst")" == 644 ]]
  [[ "$output" =~ \[SUCCESS\]\ Permissions\ fixed:\ [0-9]+\ change\(s\) ]]
  run -0 "$SWITCH_MODE" fix-permissions
  [[ "$output" == *"[SUCCESS] Permissions fixed: 0 change(s)"* ]]
}

@test "an unknown backup user is a WARNING (exit 1) and the backup paths stay as they are" {
  printf '%s\n' 'BACKUP_USER=pbk-no-such-user' >> "${BASE_DIR}/env/backup.env"
  run -1 "$SWITCH_MODE" fix-permissions
  [[ "$output" == *"[WARNING] Backup user 'pbk-no-such-user' or group 'backup' not found; backup and log paths left unchanged"* ]]
  [[ "$(stat -c %a "${BASE_DIR}/backup/pve-backup-${HOST}-2024-11-25_02-00-00.tar.zst")" == 644 ]]
}
