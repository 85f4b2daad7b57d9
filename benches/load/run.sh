#!/usr/bin/env bash
# Hello world over loopback: flame against axum with wrk, alternating rounds, same run.
#
#   benches/load/run.sh                      # 3 rounds x 5 s each side, 2 threads, 64 connections
#   ROUNDS=5 DURATION=10 benches/load/run.sh
#
# Needs wrk (Debian: apt-get install -y wrk); installs nothing itself. Builds the two servers of
# benches/load in release, starts them on 127.0.0.1 only, runs ROUNDS rounds against each (the
# order alternates every round, so a drift in machine load hits both sides alike), prints
# requests/s per round and the flame/axum ratio of the medians, and stops both servers on exit.
#
# Settings (environment): ROUNDS (3), DURATION seconds per wrk run (5), THREADS (2),
# CONNECTIONS (64), WARMUP seconds per side before the rounds (2), FLAME_PORT (38081),
# AXUM_PORT (38082), PIN=1 to pin the servers to CPU 0 and wrk to CPU 1 with taskset,
# TARGET (0.95): the ratio the design's budget asks for; below it the script exits 1.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-2}
FLAME_PORT=${FLAME_PORT:-38081}
AXUM_PORT=${AXUM_PORT:-38082}
PIN=${PIN:-0}
TARGET=${TARGET:-0.95}
HOST=127.0.0.1

if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk is not installed; on Debian/Ubuntu: apt-get install -y wrk" >&2
    exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

echo "building the servers (release)..."
cargo build --release --quiet -p flame-load --bins
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="${target_dir:-$root/target}/release"

server_pin=()
wrk_pin=()
if [[ "$PIN" == 1 ]]; then
    server_pin=(taskset -c 0)
    wrk_pin=(taskset -c 1)
fi

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${server_pin[@]}" "$bin/flame-hello" "$HOST:$FLAME_PORT" &
pids+=($!)
"${server_pin[@]}" "$bin/axum-hello" "$HOST:$AXUM_PORT" &
pids+=($!)

wait_for() {
    local port=$1
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing listens on $HOST:$port after 10 s" >&2
    exit 1
}
wait_for "$FLAME_PORT"
wait_for "$AXUM_PORT"

for port in "$FLAME_PORT" "$AXUM_PORT"; do
    body=$(exec 3<>"/dev/tcp/$HOST/$port"; printf 'GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$HOST" >&3; cat <&3)
    if [[ "$body" != *"Hello, World!"* ]]; then
        echo "unexpected answer on port $port:" >&2
        echo "$body" >&2
        exit 1
    fi
done

# One wrk run; prints its requests/s.
run_wrk() {
    local port=$1 seconds=$2
    timeout $((seconds + 15)) "${wrk_pin[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" \
        "http://$HOST:$port/" | awk '/^Requests\/sec:/ { print $2 }'
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION s per run, $ROUNDS rounds (pin: $PIN)"
if (( WARMUP > 0 )); then
    run_wrk "$FLAME_PORT" "$WARMUP" >/dev/null
    run_wrk "$AXUM_PORT" "$WARMUP" >/dev/null
fi

flame_rps=()
axum_rps=()
printf '%-6s %14s %14s %8s\n' round "flame req/s" "axum req/s" ratio
for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 )); then
        f=$(run_wrk "$FLAME_PORT" "$DURATION")
        a=$(run_wrk "$AXUM_PORT" "$DURATION")
    else
        a=$(run_wrk "$AXUM_PORT" "$DURATION")
        f=$(run_wrk "$FLAME_PORT" "$DURATION")
    fi
    flame_rps+=("$f")
    axum_rps+=("$a")
    printf '%-6s %14s %14s %8s\n' "$round" "$f" "$a" "$(awk -v f="$f" -v a="$a" 'BEGIN { printf "%.3f", f / a }')"
done

flame_median=$(printf '%s\n' "${flame_rps[@]}" | median)
axum_median=$(printf '%s\n' "${axum_rps[@]}" | median)
ratio=$(awk -v f="$flame_median" -v a="$axum_median" 'BEGIN { printf "%.3f", f / a }')
printf '%-6s %14s %14s %8s\n' median "$flame_median" "$axum_median" "$ratio"
echo "flame/axum requests/s (medians): $ratio (target >= $TARGET)"
if awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r < t) }'; then
    echo "below target" >&2
    exit 1
fi
