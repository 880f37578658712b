#!/bin/bash
# `make SHELL=benchmarks/timed_shell.sh ...` (benchmarks/fresh_clone.py): runs each recipe line under bash, as the
# Makefile's own SHELL does, and appends "start<TAB>end<TAB>status<TAB>command" to $BENCH_STEPS_LOG, so a real
# `make synth` / `make test` is attributed line by line without changing what it runs.
start=$(date +%s.%N)
/bin/bash "$@"
status=$?
end=$(date +%s.%N)
command=${*: -1}
printf '%s\t%s\t%s\t%s\n' "$start" "$end" "$status" "${command//$'\n'/ }" >>"${BENCH_STEPS_LOG:-/dev/null}"
exit $status
