#!/usr/bin/env bash
# Before/after for an ingest change: `podseed create URL` of one file on
# loopback with podseed built at OLD_REV and from the tree, alternated run
# by run, plus BenchmarkIngest256MiB at both.
#
#   bench/ab-ingest.sh OLD_REV [RUNS]     (INGEST_SIZE, default 1 GiB)
source "$(dirname "$0")/lib.sh"

old_rev=${1:?usage: bench/ab-ingest.sh OLD_REV [RUNS]}
runs=${2:-3}
size=${INGEST_SIZE:-$((1 << 30))}
[[ ${BENCH_BUILT:-} == 1 ]] || build
work=$BENCH_WORK/ab-ingest
rm -rf "$work"
mkdir -p "$work/old-src"
git -C "$REPO_DIR" archive "$old_rev" | tar -x -C "$work/old-src"
(cd "$work/old-src" && go build -o "$work/podseed-old" ./cmd/podseed && go test -c -o "$work/seed-old.test" ./seed)
(cd "$REPO_DIR" && go test -c -o "$work/seed-new.test" ./seed)
cp "$BENCH_BIN/podseed" "$work/podseed-new"

src=$(testfile "$size")
bg "$work/origin.log" "$BENCH_BIN/benchtool" origin -addr 127.0.0.1:0 -dir "$(dirname "$src")"
origin=$(wait_first_line "$work/origin.log" 10)
url="http://$origin/files/$(basename "$src")"
cat "$src" >/dev/null
declare -A T
for ((r = 0; r < runs; r++)); do
	for v in old new; do
		rm -rf "$work/out" && mkdir -p "$work/out" && sync
		t0=$(now)
		PODSEED_ALLOW_PRIVATE_ADDRESSES=1 "$work/podseed-$v" --log-level warn --data-dir "$work/out/data" \
			create "$url" -o "$work/out/ep.torrent" >/dev/null
		T[$v]+="$(elapsed "$t0") "
	done
done
rm -rf "$work/out"
emit "" "### Ingest before/after: podseed create of $(human "$size") on loopback, $old_rev vs $(git -C "$REPO_DIR" rev-parse --short HEAD)" ""
emit "| build | median s | MB/s | runs (s) |" "|---|---|---|---|"
for v in old new; do
	m=$(median ${T[$v]})
	emit "| $v | $m | $(calc "$size/$m/1e6" 0) | ${T[$v]% } |"
done
for v in old new; do
	emit "" "BenchmarkIngest256MiB ($v): $(cd "$REPO_DIR/seed" && "$work/seed-$v.test" -test.run '^$' -test.bench 'Ingest256MiB' -test.benchtime 3x | awk '/^Benchmark/{print $3/1e6 " ms/op, " $5 " MB/s"}')"
done
