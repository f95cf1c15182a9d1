#!/usr/bin/env bash
# Go testing.B benchmarks (the *_bench_test.go files) as tables: feed
# parsing against gofeed, republishing a 3,000-item feed, store statements,
# and one poll cycle over many feeds (BenchmarkPollCycle).
#
# Environment: POLL_FEEDS (quick 100, full 1000), GOBENCH_TIME (quick 5x,
# full 20x), POLL_TIME (quick 2x, full 3x).
source "$(dirname "$0")/lib.sh"

if [[ $BENCH_MODE == full ]]; then
	feeds=${POLL_FEEDS:-1000}
	benchtime=${GOBENCH_TIME:-20x}
	polltime=${POLL_TIME:-3x}
else
	feeds=${POLL_FEEDS:-100}
	benchtime=${GOBENCH_TIME:-5x}
	polltime=${POLL_TIME:-2x}
fi
section=${1:-all}
out=$BENCH_WORK/gobench.txt

# table: markdown rows from `go test -bench` lines on stdin: name, time per
# op, extra metrics, bytes and allocations per op.
table() {
	awk '$1 ~ /^Benchmark/ {
		name=$1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
		t=""; extra=""; bop=""; aop=""
		for (i=3; i<=NF; i+=2) {
			v=$i; u=$(i+1)
			if (u=="ns/op") { if (v>=1e9) t=sprintf("%.2f s", v/1e9); else if (v>=1e6) t=sprintf("%.2f ms", v/1e6); else t=sprintf("%.1f µs", v/1e3) }
			else if (u=="B/op") bop=sprintf("%.1f MB", v/1e6)
			else if (u=="allocs/op") aop=v
			else extra=extra (extra==""?"":", ") v " " u
		}
		printf "| %s | %s | %s | %s | %s |\n", name, t, extra, bop, aop
	}'
}
header() { emit "" "### $1" "" "| benchmark | time/op | other | alloc/op | allocs/op |" "|---|---|---|---|---|"; }

cd "$REPO_DIR"
if [[ $section == all || $section == go ]]; then
	log "go benchmarks: feed, publish, store ($benchtime)"
	go test -run '^$' -bench 'Parse300' -benchmem -benchtime "$benchtime" ./feed | tee "$out.feed" >/dev/null
	header "Feed parsing: 300-item feed (feed.Parse vs gofeed's own parse)"
	emit "$(table <"$out.feed")"
	p=$(awk '$1 ~ /^BenchmarkParse300-/ {print $3}' "$out.feed")
	g=$(awk '$1 ~ /^BenchmarkParse300Gofeed-/ {print $3}' "$out.feed")
	emit "" "feed.Parse ÷ gofeed: $(calc "$p/$g")×"
	go test -run '^$' -bench '3000' -benchmem -benchtime "$benchtime" ./publish | tee "$out.publish" >/dev/null
	header "Republishing a 3,000-item feed (publish package, no HTTP)"
	emit "$(table <"$out.publish")"
	go test -run '^$' -bench . -benchmem -benchtime "$benchtime" ./store | tee "$out.store" >/dev/null
	header "Store (SQLite file, WAL)"
	emit "$(table <"$out.store")"
fi
if [[ $section == all || $section == polling ]]; then
	log "polling: $feeds feeds ($polltime cycles each)"
	PODSEED_BENCH_FEEDS=$feeds go test -run '^$' -bench 'PollCycle' -benchtime "$polltime" -timeout 60m ./cmd/podseed |
		tee "$out.poll" >/dev/null
	header "Polling: one cycle over $feeds feeds on a loopback origin (App.pollFeeds; time/op is wall time per cycle)"
	emit "$(table <"$out.poll")"
	emit "" "cpu-s/op is the process's user+system CPU per cycle (the in-process origin's share included)."
fi
