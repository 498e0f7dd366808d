#!/usr/bin/env bats
# The canary bucket pinned with literal values (docs/ARCHITECTURE.md "Domains and flags"): the formula as an
# operator computes it with sha256sum, and the bucket `switch-mode status` reports for a node whose identity file
# holds that server id. The same table is in tests/cli/canary-bucket.test.ts.
# shellcheck disable=SC2154 # bats run sets $output and $status

load test_helper

# server id, bucket
PINNED=(
  '0000000000000000 66'
  '1234567890123456 61'
  '9876543210987654 42'
  '4242424242424242 69'
  '0000000000000042 86'
)

# bucket_by_hand ID: first 32 bits of SHA-256("proxmox-backup-canary:ID"), mod 100, with coreutils and bash only.
bucket_by_hand() {
  local sum
  sum="$(printf 'proxmox-backup-canary:%s' "$1" | sha256sum)"
  printf '%s' "$(( 16#${sum:0:8} % 100 ))"
}

# pin_identity ID: BASE_DIR/config/.server_identity holding ID with a valid checksum (run.md §8).
pin_identity() {
  local sum
  sum="$(printf 'SERVER_ID=%s' "$1" | sha256sum)"
  mkdir -p "${BASE_DIR}/config"
  chmod 700 "${BASE_DIR}/config"
  printf 'SERVER_ID=%s\nCHECKSUM=%s\n' "$1" "${sum:0:16}" > "${BASE_DIR}/config/.server_identity"
  chmod 600 "${BASE_DIR}/config/.server_identity"
}

# canary_flags PERCENT: backup on ts for the canary cohort below PERCENT, bash otherwise.
canary_flags() {
  printf '{"version":1,"defaults":{"backup":"bash"},"canary":{"backup":{"value":"ts","percent":%s}}}\n' "$1" \
    > "${BASE_DIR}/flags.json"
}

setup() {
  BASE_DIR="${BATS_TEST_TMPDIR}/base"
  mkdir -p "$BASE_DIR"
  export BASE_DIR
}

@test "the formula by hand gives the pinned buckets" {
  local row id bucket
  for row in "${PINNED[@]}"; do
    read -r id bucket <<< "$row"
    [[ "$(bucket_by_hand "$id")" == "$bucket" ]]
  done
}

@test "switch-mode status reports the pinned bucket of the node's server id" {
  local row id bucket
  for row in "${PINNED[@]}"; do
    read -r id bucket <<< "$row"
    pin_identity "$id"
    canary_flags 100
    run -0 "$SWITCH_MODE" status
    [[ "$output" =~ backup\ +ts\ +canary\ 100%\ \(bucket\ ${bucket}\) ]]
  done
}

@test "the canary takes a node exactly when its bucket is below percent" {
  pin_identity 9876543210987654   # bucket 42
  canary_flags 43
  run -0 "$SWITCH_MODE" status
  [[ "$output" =~ backup\ +ts\ +canary\ 43%\ \(bucket\ 42\) ]]
  canary_flags 42
  run -0 "$SWITCH_MODE" status
  [[ "$output" =~ backup\ +bash\ +default ]]
}
