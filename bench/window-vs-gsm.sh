#!/usr/bin/env bash
# The `vitals` window at 1 Hz under Xvfb against Debian's
# `gnome-system-monitor --show-resources-tab` (it also redraws once a
# second), side by side for the same SECONDS (default 120), each on its own
# Xvfb display. Prints CPU time and peak RSS of each as a Markdown table.
# Needs: release `vitals`, xvfb, gnome-system-monitor, dbus (for gsm).
set -euo pipefail
SECONDS_TO_RUN=${1:-120}
BIN=${BIN:-./target/release}
dir=$(mktemp -d)
trap 'kill $app $gsm $x1 $x2 2>/dev/null || true; rm -rf "$dir"' EXIT
d1=:$((200 + RANDOM % 100)); d2=:$((300 + RANDOM % 100))
Xvfb "$d1" -screen 0 1280x860x24 >/dev/null 2>&1 & x1=$!
Xvfb "$d2" -screen 0 1280x860x24 >/dev/null 2>&1 & x2=$!
sleep 1
mkdir -p "$dir/cfg"
# Local only (no server): the window's own cost, as gsm has no uploads.
printf 'server_url = "http://127.0.0.1:9"\nuse_keyring = false\n' > "$dir/cfg/settings.toml"
DISPLAY=$d1 VITALS_LOG=warn VITALS_CONFIG_DIR="$dir/cfg" VITALS_DATA_DIR="$dir/data" \
    "$BIN/vitals" 2>"$dir/app.log" & app=$!
DISPLAY=$d2 HOME="$dir" dbus-run-session -- gnome-system-monitor --show-resources-tab \
    >/dev/null 2>&1 & gsm_wrap=$!
sleep 3
gsm=$(pgrep -n -x gnome-system-mo || true)
[ -n "$gsm" ] || { echo "gnome-system-monitor did not start"; exit 1; }
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
hwm() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
a0=$(cpu $app); g0=$(cpu $gsm)
sleep "$SECONDS_TO_RUN"
a1=$(cpu $app); g1=$(cpu $gsm)
a_cpu=$(python3 -c "print(round($a1 - $a0, 2))"); g_cpu=$(python3 -c "print(round($g1 - $g0, 2))")
echo "| process (under Xvfb, 1 s refresh) | seconds | CPU s | CPU s per minute | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
echo "| vitals window | $SECONDS_TO_RUN | $a_cpu | $(python3 -c "print(round($a_cpu*60/$SECONDS_TO_RUN,2))") | $(hwm $app) |"
echo "| gnome-system-monitor --show-resources-tab | $SECONDS_TO_RUN | $g_cpu | $(python3 -c "print(round($g_cpu*60/$SECONDS_TO_RUN,2))") | $(hwm $gsm) |"
python3 -c "print(f'\nvitals CPU / gnome-system-monitor CPU = {$a_cpu / max($g_cpu, 0.01):.2f} (target ≤ 1); vitals peak RSS target < 120 MiB')"
kill $gsm_wrap 2>/dev/null || true
