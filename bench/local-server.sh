# Sourced by the benchmark scripts: starts the release vitals-server on a free
# loopback port with a SQLite file in $dir, waits until it answers, and sets
# $port, $server (its pid) and $version (the current policy version).
# Needs $BIN and $dir.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VITALS_LOG=warn "$BIN/vitals-server" --listen "127.0.0.1:$port" --store "sqlite:$dir/v.sqlite" \
    --secret-file "$dir/s" 2>"$dir/server.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
version=$(curl -sf "http://127.0.0.1:$port/api/v1/policy" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
