#!/usr/bin/env bash
# `vitals agent` at 1 Hz uploading to a local server, against `top -b -d 1`,
# side by side for the same SECONDS (default 600). Prints CPU time and peak
# RSS of each as a Markdown table. Needs release builds of vitals and
# vitals-server (make bench builds them).
set -euo pipefail
SECONDS_TO_RUN=${1:-600}
BIN=${BIN:-./target/release}
dir=$(mktemp -d)
trap 'kill $server $agent $top 2>/dev/null || true; rm -rf "$dir"' EXIT

. "$(dirname "$0")/local-server.sh"

VITALS_LOG=warn "$BIN/vitals" agent --server "http://127.0.0.1:$port" --accept-policy "$version" \
    --interval-ms 1000 --data-dir "$dir/agent" 2>"$dir/agent.log" &
agent=$!
top -b -d 1 >/dev/null &
top=$!
sleep "$SECONDS_TO_RUN"

cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
# The scheduler's own count, in nanoseconds, over every thread: finer than
# the 10 ms ticks above (both are printed).
sched() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%.3f", s / 1e9}'; }
hwm() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
a_cpu=$(cpu $agent); t_cpu=$(cpu $top); a_hwm=$(hwm $agent); t_hwm=$(hwm $top)
a_ns=$(sched $agent); t_ns=$(sched $top)
rows=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^vitals_ingest_rows_total\{table="cpu"\}/ {print $2}')
echo "| process | seconds | CPU s | CPU s (schedstat) | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
echo "| vitals agent (1 Hz, uploading; $rows samples stored) | $SECONDS_TO_RUN | $a_cpu | $a_ns | $a_hwm |"
echo "| top -b -d 1 | $SECONDS_TO_RUN | $t_cpu | $t_ns | $t_hwm |"
python3 -c "print(f'\nagent CPU / top CPU = {float(\"$a_cpu\") / max(float(\"$t_cpu\"), 0.01):.2f} (schedstat: {float(\"$a_ns\") / max(float(\"$t_ns\"), 1e-6):.2f}; target ≤ 0.25); peak RSS {float(\"$a_hwm\")} MiB (target < 15)')"
