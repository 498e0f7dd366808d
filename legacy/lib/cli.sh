# shellcheck shell=bash
# shellcheck disable=SC2034 # CLI_* are this module's results, read by the caller
# Command line of the legacy pipeline (run.md §9): the same flags as `switch-mode run-backup`.
# Results: CLI_DRY_RUN, CLI_CHECK_ONLY, CLI_CONFIG, CLI_DEBUG_LEVEL, CLI_HELP. Needs log.sh.

cli_usage() {
  sed -n '2,/^# Exit codes/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[-1]}"
}

cli_usage_error() {
  printf '%s\n' "$1" >&2
  cli_usage >&2
  exit 2
}

cli_parse_args() {
  CLI_DRY_RUN=false CLI_CHECK_ONLY=false CLI_CONFIG='' CLI_DEBUG_LEVEL='' CLI_HELP=false
  while (( $# > 0 )); do
    case "$1" in
      -h | --help) CLI_HELP=true ;;
      -v | --verbose) CLI_DEBUG_LEVEL=advanced ;;
      -x | --extreme) CLI_DEBUG_LEVEL=extreme ;;
      --dry-run) CLI_DRY_RUN=true ;;
      --check-only | --check) CLI_CHECK_ONLY=true ;;
      --config | -e | --env)
        [[ $# -ge 2 ]] || cli_usage_error "Option $1 needs a file"
        CLI_CONFIG="$2"
        shift
        ;;
      --config=* | --env=*) CLI_CONFIG="${1#*=}" ;;
      --) shift; break ;;
      -*) cli_usage_error "Unknown option: $(log_esc "$1")" ;;
      *) cli_usage_error "Unexpected positional argument: $(log_esc "$1")" ;;
    esac
    shift
  done
  (( $# == 0 )) || cli_usage_error "Unexpected positional argument: $(log_esc "$1")"
  if [[ "$CLI_DRY_RUN" == true && "$CLI_CHECK_ONLY" == true ]]; then
    cli_usage_error '--dry-run and --check-only are mutually exclusive'
  fi
}

# cli_report_config: print every configuration error (exit 2 follows, no log file: run.md phase 2) or log
# the warnings. Returns 1 when the configuration is invalid.
cli_report_config() {
  local message
  if (( ${#CONFIG_ERRORS[@]} > 0 )); then
    for message in "${CONFIG_ERRORS[@]}"; do printf 'ERROR: %s\n' "$message" >&2; done
    return 1
  fi
  for message in "${CONFIG_WARNINGS[@]}"; do log_warning "$message"; done
}
