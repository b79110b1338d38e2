#!/usr/bin/env bash
# The README's minitalk speed table, measured side by side in one hyperfine
# run: ./client against its own ./server, the classic C client against its own
# C server (cserver.c, cclient.c: one acknowledged exchange a bit), and the
# signal round-trip floor (floor.c) for as many round trips as ./client makes
# exchanges. Prints a markdown table of the medians with the ratios and the
# load average before and after.
#
# usage: cmd/minitalk/cbench/bench.sh [runs]     (default 100; needs hyperfine, jq, gcc, make)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
make -s >/dev/null
make -s -C cbench >/dev/null
./server >/dev/null & ours=$!
./cbench/cserver >/dev/null & theirs=$!
trap 'kill $ours $theirs 2>/dev/null' EXIT
sleep 0.2
msg() { head -c "$1" /dev/zero | tr '\0' a; }
exchanges() { echo $((16 * ($1 + 4) + 2)); } # the seed's framing: flag + bit a bit, CRC-32, knock, end
load0=$(cut -d' ' -f1-3 /proc/loadavg)
json=$(mktemp)
hyperfine -N --warmup 10 --runs "$runs" --export-json "$json" \
	-n ours100 "./client $ours $(msg 100)" \
	-n c100 "./cbench/cclient $theirs $(msg 100)" \
	-n floor100 "./cbench/floor $(exchanges 100)" \
	-n ours1000 "./client $ours $(msg 1000)" \
	-n c1000 "./cbench/cclient $theirs $(msg 1000)" \
	-n floor1000 "./cbench/floor $(exchanges 1000)" >&2
load1=$(cut -d' ' -f1-3 /proc/loadavg)
med() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$json"; }
echo "load average before: $load0, after: $load1 ($(nproc) processors); $runs runs each, hyperfine $(hyperfine --version | cut -d' ' -f2)"
echo
echo "| message | ours | C baseline | floor | ours / C | ours / floor |"
echo "|---|---|---|---|---|---|"
for n in 100 1000; do
	o=$(med ours$n); c=$(med c$n); f=$(med floor$n)
	awk -v n=$n -v o="$o" -v c="$c" -v f="$f" -v e="$(exchanges $n)" 'BEGIN {
		printf "| %s characters (%d exchanges) | %.1f ms | %.1f ms | %.1f ms | %.2f | %.2f |\n", n, e, o, c, f, o/c, o/f }'
done
rm -f "$json"
