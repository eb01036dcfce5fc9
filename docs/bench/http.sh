#!/usr/bin/env bash
# HTTP benchmark: /api/v2/candles?limit=500 served by `stc serve` from its
# encoded-answer cache, against a bare net/http handler writing the same
# bytes, both under `wrk -t2 -c64`, in one run on one machine. Prints the
# requests/s of each and their ratio. Needs wrk (apt-get install wrk) and
# `make build`. Usage: docs/bench/http.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
url='/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m&limit=500'

STC_DATA_DIR="$tmp/data" STC_HTTP_ADDR=127.0.0.1:18090 STC_TRACK=paper:EURUSD-OTC:1m \
	STC_LOG_LEVEL=warn bin/stc serve >"$tmp/stc.log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:18090$url" -o "$tmp/body.json" && break; sleep 0.2; done
# Wait until the feed holds 500 candles, so answers come from memory.
for _ in $(seq 1 100); do
	n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["candles"]))' "$tmp/body.json")
	[ "$n" = 500 ] && break; sleep 0.2; curl -sf "http://127.0.0.1:18090$url" -o "$tmp/body.json"
done
go build -o "$tmp/bareserver" ./host/internal/httpapi/testdata/bareserver
"$tmp/bareserver" 127.0.0.1:18091 "$tmp/body.json" &
"$tmp/bareserver" 127.0.0.1:18092 "$tmp/body.json" content-length &
for p in 18091 18092; do
	for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/" -o /dev/null && break; sleep 0.2; done
done

rps() { wrk -t2 -c64 -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
bare=$(rps "http://127.0.0.1:18091$url")
barecl=$(rps "http://127.0.0.1:18092$url")
stc=$(rps "http://127.0.0.1:18090$url")
echo "body: $(wc -c <"$tmp/body.json") bytes"
echo "bare net/http (w.Write):               $bare req/s"
echo "bare net/http (w.Write + Content-Length): $barecl req/s"
echo "stc serve:                              $stc req/s"
python3 -c "import sys; b,c,s=map(float,sys.argv[1:]); print('ratio vs bare: %.2f   ratio vs bare+Content-Length: %.2f' % (s/b, s/c))" "$bare" "$barecl" "$stc"
