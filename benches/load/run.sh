#!/usr/bin/env bash
# Over loopback with wrk: a server against its baseline in alternating rounds, same run.
#
#   benches/load/run.sh                      # SCENARIO=hello: flame against axum
#   SCENARIO=metrics benches/load/run.sh     # flame with flame_metrics against flame without
#   SCENARIO=layers benches/load/run.sh      # flame against axum, both behind tower-http layers
#   ROUNDS=5 DURATION=10 PIN=1 benches/load/run.sh
#
# Needs wrk (Debian: apt-get install -y wrk); installs nothing itself. Builds the servers of
# benches/load in release, starts the two sides of the scenario on 127.0.0.1 only, runs ROUNDS
# rounds against each (the order alternates every round, so a drift in machine load hits both
# sides alike), and stops both servers on exit. Per round and as medians it prints each side's
# requests/s and its CPU time per request: the server process's utime + stime
# (/proc/PID/stat) over the wrk run divided by the requests wrk completed. CPU per request is
# the fairer figure on a small machine, where wrk and other work compete with the server for
# the cores and requests/s follows the competition as much as the server.
#
# Scenarios (SCENARIO):
#   hello    A = flame-hello, B = axum-hello; budget: A/B requests/s >= 0.95
#   metrics  A = flame-hello metrics (flame_metrics' middleware first, /metrics mounted),
#            B = flame-hello; budget: A/B CPU per request <= 1.03
#   layers   A = flame-hello layers, B = axum-hello layers (the same tower-http stack: request
#            id, trace, CORS, compression, timeout); wrk sends Origin and Accept-Encoding so
#            CORS and compression have work; budget: A/B CPU per request <= 1.00
#   noop     A = flame-hello noop (a middleware that only calls `c.next().await`), B =
#            flame-hello; no budget (diagnostic: what any middleware costs)
# A_CMD / B_CMD ("SERVER SCENARIO", e.g. A_CMD="flame-hello metrics" B_CMD="flame-hello noop")
# replace a side's server, to compare any two; the scenario still sets the budget and headers.
#
# Settings (environment): SCENARIO (hello), ROUNDS (3), DURATION seconds per wrk run (5),
# THREADS (2), CONNECTIONS (64), WARMUP seconds per side before the rounds (2), PORT_A (38081),
# PORT_B (38082), PIN=1 to pin the servers to CPU 0 and wrk to CPU 1 with taskset, TARGET: the
# scenario's budget (above); when it is missed the script exits 1.
set -euo pipefail

SCENARIO=${SCENARIO:-hello}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-2}
PORT_A=${PORT_A:-${FLAME_PORT:-38081}}
PORT_B=${PORT_B:-${AXUM_PORT:-38082}}
PIN=${PIN:-0}
HOST=127.0.0.1

headers=()
case "$SCENARIO" in
    hello)
        name_a=flame; cmd_a=(flame-hello hello)
        name_b=axum; cmd_b=(axum-hello hello)
        budget=rps; TARGET=${TARGET:-0.95}
        ;;
    metrics)
        name_a=flame+metrics; cmd_a=(flame-hello metrics)
        name_b=flame; cmd_b=(flame-hello hello)
        budget=cpu; TARGET=${TARGET:-1.03}
        ;;
    layers)
        name_a=flame+layers; cmd_a=(flame-hello layers)
        name_b=axum+layers; cmd_b=(axum-hello layers)
        budget=cpu; TARGET=${TARGET:-1.00}
        headers=(-H "Origin: http://$HOST" -H "Accept-Encoding: gzip, br")
        ;;
    noop)
        name_a=flame+noop; cmd_a=(flame-hello noop)
        name_b=flame; cmd_b=(flame-hello hello)
        budget=none; TARGET=${TARGET:-}
        ;;
    *)
        echo "unknown SCENARIO=$SCENARIO: hello, metrics, layers or noop" >&2
        exit 2
        ;;
esac

if [[ -n "${A_CMD:-}" ]]; then
    read -ra cmd_a <<<"$A_CMD"
    name_a="${cmd_a[*]}"
fi
if [[ -n "${B_CMD:-}" ]]; then
    read -ra cmd_b <<<"$B_CMD"
    name_b="${cmd_b[*]}"
fi

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
clk_tck=$(getconf CLK_TCK)

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

# taskset execs the server, so $! is the server's own pid either way.
"${server_pin[@]}" "$bin/${cmd_a[0]}" "$HOST:$PORT_A" "${cmd_a[1]}" &
pid_a=$!
pids+=("$pid_a")
"${server_pin[@]}" "$bin/${cmd_b[0]}" "$HOST:$PORT_B" "${cmd_b[1]}" &
pid_b=$!
pids+=("$pid_b")

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
wait_for "$PORT_A"
wait_for "$PORT_B"

# One GET over /dev/tcp with the scenario's headers; prints the whole answer.
http_get() {
    local port=$1 path=$2 request i
    request="GET $path HTTP/1.1"$'\r\n'"Host: $HOST"$'\r\n'
    for ((i = 1; i < ${#headers[@]}; i += 2)); do
        request+="${headers[i]}"$'\r\n'
    done
    request+="Connection: close"$'\r\n\r\n'
    (exec 3<>"/dev/tcp/$HOST/$port"; printf '%s' "$request" >&3; cat <&3)
}

for port in "$PORT_A" "$PORT_B"; do
    answer=$(http_get "$port" /)
    ok=1
    [[ "$answer" == *"Hello, World!"* ]] || ok=0
    if [[ "$SCENARIO" == layers ]]; then
        # The stack runs: a request id came back, CORS answered, nothing was compressed.
        shopt -s nocasematch
        [[ "$answer" == *"x-request-id:"* && "$answer" == *"access-control-allow-origin: *"* ]] || ok=0
        [[ "$answer" != *"content-encoding:"* ]] || ok=0
        shopt -u nocasematch
    fi
    if (( ! ok )); then
        echo "unexpected answer on port $port:" >&2
        echo "$answer" >&2
        exit 1
    fi
done

# The server's CPU time so far (utime + stime of all its threads), in clock ticks.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    # Fields after "pid (comm) ": state is $1, so utime (field 14) is $12, stime $13.
    set -- ${stat##*) }
    echo $(( ${12} + ${13} ))
}

# One wrk run against a side; prints "requests/s requests cpu_ticks".
run_wrk() {
    local port=$1 pid=$2 seconds=$3 before after out requests rps
    before=$(cpu_ticks "$pid")
    out=$(timeout $((seconds + 15)) "${wrk_pin[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" \
        -d"${seconds}s" "${headers[@]}" "http://$HOST:$port/")
    after=$(cpu_ticks "$pid")
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
        echo "port $port: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ')" >&2
    fi
    requests=$(awk '/ requests in / { print $1 }' <<<"$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    echo "$rps $requests $((after - before))"
}

# Microseconds of server CPU per request.
us_per_request() {
    awk -v t="$2" -v n="$1" -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }'
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

div() {
    awk -v x="$1" -v y="$2" 'BEGIN { printf "%.3f", x / y }'
}

echo "scenario $SCENARIO: A = $name_a (${cmd_a[*]}), B = $name_b (${cmd_b[*]})"
echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION s per run, $ROUNDS rounds (pin: $PIN)"
if (( WARMUP > 0 )); then
    run_wrk "$PORT_A" "$pid_a" "$WARMUP" >/dev/null
    run_wrk "$PORT_B" "$pid_b" "$WARMUP" >/dev/null
fi

rps_a=(); rps_b=(); cpu_a=(); cpu_b=(); rps_ratios=(); cpu_ratios=()
printf '%-6s %18s %18s %8s %12s %12s %8s\n' round "$name_a req/s" "$name_b req/s" ratio \
    "A us CPU/req" "B us CPU/req" ratio
for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 )); then
        read -r ra na ta < <(run_wrk "$PORT_A" "$pid_a" "$DURATION")
        read -r rb nb tb < <(run_wrk "$PORT_B" "$pid_b" "$DURATION")
    else
        read -r rb nb tb < <(run_wrk "$PORT_B" "$pid_b" "$DURATION")
        read -r ra na ta < <(run_wrk "$PORT_A" "$pid_a" "$DURATION")
    fi
    ca=$(us_per_request "$na" "$ta")
    cb=$(us_per_request "$nb" "$tb")
    rps_a+=("$ra"); rps_b+=("$rb"); cpu_a+=("$ca"); cpu_b+=("$cb")
    rps_ratios+=("$(div "$ra" "$rb")"); cpu_ratios+=("$(div "$ca" "$cb")")
    printf '%-6s %18s %18s %8s %12s %12s %8s\n' "$round" "$ra" "$rb" "$(div "$ra" "$rb")" \
        "$ca" "$cb" "$(div "$ca" "$cb")"
done

m_rps_a=$(printf '%s\n' "${rps_a[@]}" | median)
m_rps_b=$(printf '%s\n' "${rps_b[@]}" | median)
m_cpu_a=$(printf '%s\n' "${cpu_a[@]}" | median)
m_cpu_b=$(printf '%s\n' "${cpu_b[@]}" | median)
rps_ratio=$(div "$m_rps_a" "$m_rps_b")
cpu_ratio=$(div "$m_cpu_a" "$m_cpu_b")
printf '%-6s %18s %18s %8s %12s %12s %8s\n' median "$m_rps_a" "$m_rps_b" "$rps_ratio" \
    "$m_cpu_a" "$m_cpu_b" "$cpu_ratio"
echo "$name_a/$name_b requests/s (ratio of medians): $rps_ratio; median of the round ratios: $(printf '%s\n' "${rps_ratios[@]}" | median)"
echo "$name_a/$name_b CPU per request (ratio of medians): $cpu_ratio; median of the round ratios: $(printf '%s\n' "${cpu_ratios[@]}" | median)"

if [[ "${cmd_a[1]}" == metrics ]]; then
    # The middleware did count: the counter of GET / as /metrics renders it.
    echo "side A's $(http_get "$PORT_A" /metrics | grep -E '^flame_http_requests_total\{.*route="/".*status="200"' || echo 'flame_http_requests_total for GET /: missing')"
fi

if [[ "$budget" == none ]]; then
    exit 0
elif [[ "$budget" == rps ]]; then
    echo "budget: requests/s ratio >= $TARGET"
    missed=$(awk -v r="$rps_ratio" -v t="$TARGET" 'BEGIN { print (r < t) }')
else
    echo "budget: CPU per request ratio <= $TARGET"
    missed=$(awk -v r="$cpu_ratio" -v t="$TARGET" 'BEGIN { print (r > t) }')
fi
if (( missed )); then
    echo "budget missed" >&2
    exit 1
fi
