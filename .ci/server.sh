# Sourced by the CI steps: starts the release server with the demo workspace, rate
# limit off, on the given database URL (default: a fresh SQLite file in the work
# folder), and sets ADDRESS and TOKEN (the demo admin's). The server is stopped when
# the calling script exits or stop_demo_server is called.
start_demo_server() {
  local work=$1
  SERVER_DB=${2:-"sqlite://$work/switchboard.db?mode=rwc"}
  target/release/switchboard --log-format json serve --demo --bind 127.0.0.1:0 --rate-limit-per-minute 0 \
    --database-url "$SERVER_DB" 2> "$work/server.log" &
  SERVER_PID=$!
  trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do grep -q '"switchboard listening"' "$work/server.log" && break; sleep 0.1; done
  ADDRESS=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("message") == "switchboard listening": print(e["address"])
' "$work/server.log")
  TOKEN=$(grep -ao 'sbo_[0-9a-f]*' "$work/server.log" | head -n1)
  [ -n "$ADDRESS" ] && [ -n "$TOKEN" ] || { cat "$work/server.log"; echo "the server did not start" >&2; return 1; }
}

stop_demo_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}
