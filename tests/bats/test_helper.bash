# shellcheck shell=bash
bats_require_minimum_version 1.5.0
# Shared set-up of the bats suites: the repository paths and a throwaway BASE_DIR per test.
REPO="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)"
export REPO
SWITCH_MODE="${REPO}/bin/switch-mode"
export SWITCH_MODE

# make_base_dir: an install-like BASE_DIR whose backup.env (0600) keeps every output inside it, with
# all-bash flags and the integrity manifest recorded. Runs use a fixture host (--host), never the machine itself.
make_base_dir() {
  local dir="${BATS_TEST_TMPDIR}/base"
  mkdir -p "${dir}/env"
  printf '%s\n' "LOCAL_BACKUP_PATH=${dir}/backup" "LOCAL_LOG_PATH=${dir}/log" PROMETHEUS_ENABLED=false \
    COMPRESSION_TYPE=gzip COMPRESSION_MODE=fast > "${dir}/env/backup.env"
  chmod 600 "${dir}/env/backup.env"
  cp "${REPO}/flags.json" "${dir}/flags.json"
  BASE_DIR="$dir" "${REPO}/legacy/bin/security-check" --update-hashes > /dev/null   # the install step (RUNBOOK)
  printf '%s' "$dir"
}

# path_without_node: PATH where every directory holding `node` is replaced by a shadow directory with
# links to all its other programs (node lives in /usr/bin beside everything else).
path_without_node() {
  local dir out='' shadow n=0
  local IFS=:
  for dir in $PATH; do
    if [[ -x "${dir}/node" ]]; then
      n=$(( n + 1 ))
      shadow="${BATS_TEST_TMPDIR}/no-node-${n}"
      mkdir -p "$shadow"
      ln -s "$dir"/* "$shadow"/ 2> /dev/null || true   # dangling or duplicate names are irrelevant here
      rm -f "${shadow}/node"
      dir="$shadow"
    fi
    out+="${out:+:}${dir}"
  done
  printf '%s' "$out"
}

PVE_SINGLE="${REPO}/parity/hosts/pve-single"
export PVE_SINGLE
export PBK_NOW=1732500000
