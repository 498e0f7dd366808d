#!/usr/bin/env bats
# Which orchestrator ran, proved by an artefact only that side writes: the TypeScript orchestrator keeps a
# structured pino twin of its log file, `<log file>.jsonl` (README "Decisions not in the spec"); the legacy
# pipeline never writes one. The console lines of the two sides are the same by design, so they cannot tell.
# shellcheck disable=SC2154 # bats run sets $output and $status

load test_helper

LOG_NAME=pve-backup-pve1.lab.example-2024-11-25_02-00-00.log

setup() {
  BASE_DIR="$(make_base_dir)"
  export BASE_DIR
}

@test "orchestrator on ts: the log file has its pino JSON twin, one object per line, from this run" {
  run -0 --separate-stderr "$SWITCH_MODE" run-backup --host "$PVE_SINGLE" --flag orchestrator=ts
  [[ "$output" == *"[SUCCESS] Backup process completed with exit code: 0"* ]]
  local log="${BASE_DIR}/log/${LOG_NAME}"
  [ -f "$log" ]
  [ -f "${log}.jsonl" ]
  # Every line is a JSON object with the level and the message (node is there: this side ran on it).
  run -0 node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l !== "");
    if (lines.length === 0) throw new Error("empty");
    for (const line of lines) { const o = JSON.parse(line); if (typeof o.msg !== "string" || typeof o.lvl !== "string") throw new Error(line); }
    process.stdout.write(JSON.parse(lines[0]).msg);' "${log}.jsonl"
  [[ "$output" == "Starting backup of pve1.lab.example (pve), run 2024-11-25_02-00-00" ]]
  grep -q '\[STEP\] Starting backup of pve1.lab.example (pve), run 2024-11-25_02-00-00$' "$log"
}

@test "orchestrator on bash: the same log file, and no JSON twin" {
  run -0 --separate-stderr "$SWITCH_MODE" run-backup --host "$PVE_SINGLE" --flag orchestrator=bash
  [[ "$output" == *"[SUCCESS] Backup process completed with exit code: 0"* ]]
  local log="${BASE_DIR}/log/${LOG_NAME}"
  [ -f "$log" ]
  grep -q '\[STEP\] Starting backup of pve1.lab.example (pve), run 2024-11-25_02-00-00$' "$log"
  [ ! -e "${log}.jsonl" ]
  run -0 find "${BASE_DIR}" -name '*.jsonl'
  [[ "$output" == "" ]]
}
