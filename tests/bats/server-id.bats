#!/usr/bin/env bats
# server-id (run.md §8): show, validate, reset — through switch-mode, which needs no node for it.
# shellcheck disable=SC2154 # bats run sets $output and $status

load test_helper

setup() {
  BASE_DIR="$(make_base_dir)"
  export BASE_DIR
}

@test "validate says missing (1), show generates the file, then validate says valid (0)" {
  run -1 "$SWITCH_MODE" server-id validate
  [[ "$output" == "missing: ${BASE_DIR}/config/.server_identity" ]]
  run -0 "$SWITCH_MODE" server-id show
  [[ "$output" == *"[INFO] Server ID generated"* ]]
  [[ "$output" =~ Server\ ID:\ ([0-9]{16}) ]]
  local id="${BASH_REMATCH[1]}"
  [[ "$output" == *"File: ${BASE_DIR}/config/.server_identity"* ]]
  [[ "$(stat -c %a "${BASE_DIR}/config/.server_identity")" == 600 ]]
  [[ "$(stat -c %a "${BASE_DIR}/config")" == 700 ]]
  run -0 "$SWITCH_MODE" server-id validate
  [[ "$output" == "valid: ${id}" ]]
}

@test "a tampered file is corrupt (2); show regenerates it with a WARNING (1)" {
  run -0 "$SWITCH_MODE" server-id show
  printf 'SERVER_ID=1234567890123456\nCHECKSUM=0000000000000000\n' > "${BASE_DIR}/config/.server_identity"
  run -2 "$SWITCH_MODE" server-id validate
  [[ "$output" == "corrupt: ${BASE_DIR}/config/.server_identity" ]]
  run -1 "$SWITCH_MODE" server-id show
  [[ "$output" == *"[WARNING] Server identity file corrupt; regenerated"* ]]
  run -0 "$SWITCH_MODE" server-id validate
}

@test "reset needs --yes without a terminal, then prints the old and the new id" {
  run -0 "$SWITCH_MODE" server-id show
  [[ "$output" =~ Server\ ID:\ ([0-9]{16}) ]]
  local id="${BASH_REMATCH[1]}"
  run -2 --separate-stderr "$SWITCH_MODE" server-id reset < /dev/null
  [[ "$stderr" == "ERROR: reset needs --yes when not running on a terminal" ]]
  run -0 "$SWITCH_MODE" server-id reset --yes < /dev/null
  [[ "$output" == *"Old ID: ${id}"* ]]
  [[ "$output" =~ New\ ID:\ [0-9]{16} ]]
  run -0 "$SWITCH_MODE" server-id validate
}

@test "an unknown subcommand or argument is a usage error (2)" {
  run -2 "$SWITCH_MODE" server-id frobnicate
  run -2 "$SWITCH_MODE" server-id show --bogus
}
