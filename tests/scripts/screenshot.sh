#!/usr/bin/env bash
# A screenshot of the real `vitals` window under Xvfb, talking to a real
# server (embedded SQLite), after SECONDS of sampling (default 20). Saves
# tests/artifacts/window.png (git-ignored) — look at it: four charts drawn,
# labels readable, the consent panel beside them.
# Needs: xvfb imagemagick and the GL run-time libraries (installers/desktop-runtime.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
WAIT=${1:-20}
BIN=${BIN:-./target/debug}
out=tests/artifacts
mkdir -p "$out"
dir=$(mktemp -d)
disp=:$((90 + RANDOM % 100))
trap 'kill $app $server $xvfb 2>/dev/null || true; rm -rf "$dir"' EXIT

Xvfb "$disp" -screen 0 1280x860x24 >/dev/null 2>&1 &
xvfb=$!
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VITALS_LOG=warn "$BIN/vitals-server" --listen "127.0.0.1:$port" --store "sqlite:$dir/v.sqlite" \
    --secret-file "$dir/s" 2>"$dir/server.log" &
server=$!
mkdir -p "$dir/cfg"
printf 'server_url = "http://127.0.0.1:%s"\nuse_keyring = false\n' "$port" > "$dir/cfg/settings.toml"
sleep 1
DISPLAY=$disp VITALS_LOG=warn VITALS_CONFIG_DIR="$dir/cfg" VITALS_DATA_DIR="$dir/data" \
    "$BIN/vitals" 2>"$dir/app.log" &
app=$!
sleep "$WAIT"
kill -0 $app || { echo "the window died:"; cat "$dir/app.log"; exit 1; }
DISPLAY=$disp import -window root "$out/window.png"
echo "saved $out/window.png"
