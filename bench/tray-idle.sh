#!/usr/bin/env bash
# `vitals --tray` hidden in a real tray and uploading to a local server, for
# SECONDS (default 120): CPU time (% of one core) and peak RSS. The tray is
# Debian's status-notifier-watcher and gtk-sni-tray-standalone on a private
# session bus, under Xvfb (installers/bench-packages.txt; `make bench`). Target:
# under 0.2 % of one core.
set -euo pipefail
SECONDS_TO_RUN=${1:-120}
BIN=$(realpath "${BIN:-./target/release}")
dir=$(mktemp -d)
display=:$((70 + RANDOM % 20))
trap 'kill $server $xvfb 2>/dev/null || true; rm -rf "$dir"' EXIT

. "$(dirname "$0")/local-server.sh"
token=$(curl -sf -H 'content-type: application/json' \
    -d "{\"consent\":{\"accepted\":true,\"policy_version\":\"$version\"}}" \
    "http://127.0.0.1:$port/api/v1/instances" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# A person who consented earlier: settings and token file in a fresh home.
export HOME=$dir/home XDG_CONFIG_HOME=$dir/home/.config XDG_DATA_HOME=$dir/home/.local/share
mkdir -p "$XDG_CONFIG_HOME/vitals" "$XDG_DATA_HOME/vitals"
printf 'server_url = "http://127.0.0.1:%s"\nuse_keyring = false\n' "$port" >"$XDG_CONFIG_HOME/vitals/settings.toml"
(umask 077; printf '%s' "$token" >"$XDG_DATA_HOME/vitals/agent.token")

Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
sleep 1
export DISPLAY=$display SECONDS_TO_RUN BIN dir
dbus-run-session -- bash -c '
  status-notifier-watcher >/dev/null 2>&1 &
  sleep 1
  gtk-sni-tray-standalone >/dev/null 2>&1 &
  sleep 1
  VITALS_LOG=info "$BIN/vitals" --tray 2>"$dir/vitals.log" &
  app=$!
  sleep 5
  visible=$(xdotool search --onlyvisible --name "^Vitals" 2>/dev/null | wc -l)
  c0=$(awk "{print \$14 + \$15}" /proc/$app/stat)
  sleep "$SECONDS_TO_RUN"
  c1=$(awk "{print \$14 + \$15}" /proc/$app/stat)
  hwm=$(awk "/VmHWM/ {printf \"%.1f\", \$2 / 1024}" /proc/$app/status)
  kill $app
  echo "| run | seconds | CPU s | % of one core | peak RSS MiB | visible windows |"
  echo "|---|---:|---:|---:|---:|---:|"
  python3 -c "s=$SECONDS_TO_RUN; c=($c1-$c0)/100; print(f\"| vitals --tray, uploading | {s} | {c:.2f} | {c/s*100:.3f} | $hwm | $visible |\")"
  grep -i "tray" "$dir/vitals.log" | head -3 || true
'
rows=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^vitals_ingest_rows_total\{table="cpu"\}/ {print $2}')
echo "samples stored meanwhile: $rows (target: under 0.2 % of one core)"
