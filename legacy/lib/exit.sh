# shellcheck shell=bash
# Exit codes (decision 1): 0 success, 1 warning, 2 error; the run's code only escalates.
# EXIT_CODE is the process-wide code of this shell; stages report theirs as their exit status.

EXIT_CODE="${EXIT_CODE:-0}"

# exit_raise N: raise EXIT_CODE to N when N is higher; never lowers it.
exit_raise() {
  local next="$1"
  if (( next > EXIT_CODE )); then
    EXIT_CODE="$next"
  fi
}

# exit_is_status N: true when N is a legitimate stage outcome (0, 1 or 2).
exit_is_status() {
  [[ "$1" == 0 || "$1" == 1 || "$1" == 2 ]]
}
