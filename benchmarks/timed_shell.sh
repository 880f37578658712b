#!/bin/bash
# `make SHELL=benchmarks/timed_shell.sh ...` (benchmarks/fresh_clone.py): runs each recipe line under bash, as the
# Makefile's own SHELL does, and appends "start<TAB>end<TAB>status<TAB>command" to $BENCH_STEPS_LOG, so a real
# `make synth` / `make test` is attributed line by line without changing what it runs.
# A recursive make line (`$(MAKE) ...` expands to a command starting with "make ") keeps the timing, so its own
# lines are attributed too; any other line runs as it would without this shell: the SHELL override is taken out
# of MAKEFLAGS and the log variable unset, so a make that the tests start is neither timed nor changed.
start=$(date +%s.%N)
command=${*: -1}
if [[ $command == make\ * ]]; then
    /bin/bash "$@"
else
    MAKEFLAGS=${MAKEFLAGS//SHELL=$0/} BENCH_STEPS_LOG= /bin/bash "$@"
fi
status=$?
end=$(date +%s.%N)
printf '%s\t%s\t%s\t%s\n' "$start" "$end" "$status" "${command//$'\n'/ }" >>"${BENCH_STEPS_LOG:-/dev/null}"
exit $status
