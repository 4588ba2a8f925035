# Sourced by run.sh and .ci/run (bash): runs in a lane beside the others.
# The caller defines say() or gets this one.
type say >/dev/null 2>&1 || say() { echo "run.sh: $*" >&2; }

# start_lane FUNCTION ARGS...: FUNCTION in the background, in a process group of its own (a
# Ctrl-C or a CI timeout stops it too), its output in reports/lane-FUNCTION.log, shown by end_lane.
start_lane() {
    LANE_LOG="reports/lane-$1.log"
    mkdir -p reports
    set -m
    "$@" < /dev/null > "$LANE_LOG" 2>&1 &
    LANE_PID=$!
    set +m
    trap 'kill -TERM -- -"$LANE_PID" 2>/dev/null; wait "$LANE_PID" || true; exit 130' INT TERM
    say "$1 runs beside the next runs (its output: $LANE_LOG, shown when it ends)"
}

# end_lane: wait for the lane, show its output, return its status.
end_lane() {
    local rc=0
    wait "$LANE_PID" || rc=$?
    trap - INT TERM
    say "the output of the lane beside ($LANE_LOG), exit status $rc:"
    cat "$LANE_LOG"
    return $rc
}
