#!/usr/bin/env bash
# Scale benchmark: many small episodes seeded by one `podseed serve`.
# A loopback origin serves one big feed (republish measurements) and
# several smaller ones; podseed ingests every episode through its real
# pipeline, then we read resident memory, goroutines, threads and open
# files; restart it (SIGTERM, start again on the same data directory) and
# time how long until it serves HTTP and until a leecher (aria2c, no web
# seed) has an episode, and how many bytes it read meanwhile (a full
# re-hash reads every seeded byte). The restart is measured with
# anacrolix's default mmap file storage and with
# TORRENT_STORAGE_DEFAULT_FILE_IO=classic (README).
#
# Environment: SCALE_EPISODES (quick 1000, full 10000), SCALE_BIG_ITEMS
# (items in feed 1; quick 1000, full 3000), SCALE_MEDIA_SIZE (bytes, 16 KiB),
# SCALE_INGEST_WORKERS (--ingest-workers; 2, the default on 2 cores, so runs
# on different machines compare).
source "$(dirname "$0")/lib.sh"

if [[ $BENCH_MODE == full ]]; then
	total=${SCALE_EPISODES:-10000}
	big=${SCALE_BIG_ITEMS:-3000}
else
	total=${SCALE_EPISODES:-1000}
	big=${SCALE_BIG_ITEMS:-1000}
fi
media=${SCALE_MEDIA_SIZE:-16384}
workers=${SCALE_INGEST_WORKERS:-2}
need_pkgs aria2 curl jq
[[ ${BENCH_BUILT:-} == 1 ]] || build
small=1000
((total > big)) && nsmall=$(((total - big + small - 1) / small)) || nsmall=0
if ((nsmall > 0)); then small=$(((total - big) / nsmall)); fi
nfeeds=$((1 + nsmall))
total=$((big + nsmall * small))

work=$BENCH_WORK/scale
rm -rf "$work"
mkdir -p "$work"
bg "$work/origin.log" "$BENCH_BIN/benchtool" origin -addr 127.0.0.1:0 -feeds "$nfeeds" -items "$small" \
	-big-feeds 1 -big-items "$big" -media-size "$media"
origin=$(wait_first_line "$work/origin.log" 10)
feeds=()
for ((i = 1; i <= nfeeds; i++)); do feeds+=("http://$origin/feed/$i.rss"); done

data=$work/data
http=$(free_port)
bt=$(free_port)
base=http://127.0.0.1:$http
start_podseed() { # env assignments may precede
	bg "$work/podseed-$1.log" env "${@:2}" "$BENCH_BIN/podseed" --log-level info --data-dir "$data" serve \
		--listen "127.0.0.1:$http" --bt-port "$bt" --no-dht --udp-tracker off --allow-private-addresses \
		--poll-interval 24h --ingest-workers "$workers" "${feeds[@]}"
	PS_PID=$BG_PID
}
metric() { curl -sf "$base/metrics" | awk -v m="$1" 'index($0, m" ")==1 || index($0, m"{")==1 {s+=$NF} END{printf "%d", s}'; }
ingested() { curl -sf "$base/metrics" | awk '/^podseed_ingests_total\{result="ok"\}/{print $NF}'; }
snapshot() { # prints "rss_MiB goroutines threads fds cpu_s"
	echo "$(calc "$(proc_rss_kb "$PS_PID")/1024" 0) $(metric go_goroutines) $(proc_threads "$PS_PID") $(proc_fds "$PS_PID") $(calc "$(proc_cpu_s "$PS_PID")" 1)"
}

log "scale: $total episodes of $(human "$media") in $nfeeds feed(s) ($big + $nsmall × $small)"
t0=$(now)
start_podseed first
wait_until 30 curl -sf "$base/healthz" || die "podseed did not start (see $work/podseed-first.log)"
last=0
while :; do
	n=$(ingested || echo 0)
	n=${n:-0}
	((n >= total)) && break
	if ((n != last)); then last=$n; fi
	kill -0 "$PS_PID" 2>/dev/null || die "podseed exited (see $work/podseed-first.log)"
	sleep 2
done
t_ingest=$(elapsed "$t0")
log "scale: ingested $total in $t_ingest s"
sleep 5
read -r rss1 gor1 thr1 fds1 cpu1 < <(snapshot)

# The republished feed of the big feed, as a client asks for it.
fu=$base/feeds/1.rss
times=()
for ((k = 0; k < 10; k++)); do times+=("$(curl -sf -o /dev/null -w '%{time_total}' "$fu")"); done
feed_s=$(median "${times[@]}")
feed_bytes=$(curl -sf "$fu" | wc -c)
hdrs=$(curl -sf -D - -o /dev/null -H 'Accept-Encoding: gzip' "$fu" | tr -d '\r')
etag=$(awk -F': ' 'tolower($1)=="etag"{print $2}' <<<"$hdrs")
cenc=$(awk -F': ' 'tolower($1)=="content-encoding"{print $2}' <<<"$hdrs")
gz_bytes=$(curl -sf -H 'Accept-Encoding: gzip' "$fu" | wc -c)
cond=none
if [[ -n $etag ]]; then cond=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$fu"); fi
ttimes=()
for ((k = 0; k < 10; k++)); do ttimes+=("$(curl -sf -o /dev/null -w '%{time_total}' "$base/feeds/1/torrents.rss")"); done
tfeed_s=$(median "${ttimes[@]}")
# A torrent to leech after restarts: the newest episode of the last feed.
ih=$(curl -sf "$base/api/v1/feeds/$nfeeds" | jq -r '.episodes[0].infohash')
curl -sf -o "$work/ep-orig.torrent" "$base/torrents/$ih.torrent"
"$BENCH_BIN/benchtool" torrent -in "$work/ep-orig.torrent" -out "$work/ep.torrent" -strip-web-seeds

# Baseline: the same leecher against the running podseed, before any
# restart (aria2c's own start, announce and connect are in every figure).
leech_once() {
	rm -rf "$work/leech"
	aria2c --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --seed-time=0 --listen-port="$(free_port)" \
		--dir="$work/leech" --summary-interval=0 --console-log-level=error --bt-stop-timeout=120 \
		"$work/ep.torrent" >"$work/leech-$1.log" 2>&1 || die "leecher failed (see $work/leech-$1.log)"
}
t=$(now)
leech_once running
l1=$(elapsed "$t")

stop_podseed() {
	local t
	t=$(now)
	stop_pid "$PS_PID"
	STOP_S=$(elapsed "$t")
}
stop_podseed
t_stop1=$STOP_S
data_bytes=$(du -sb "$data/files" | cut -f1)

# restart LABEL ENV...: sets RS to "http_s leech_s read_MiB rss goroutines
# threads fds cpu_s" (no subshell: PS_PID must reach stop_podseed).
restart() {
	local label=$1 t h l rb
	shift
	t=$(now)
	start_podseed "$label" "$@"
	wait_until 120 curl -sf "$base/healthz" || die "podseed did not restart (see $work/podseed-$label.log)"
	h=$(elapsed "$t")
	leech_once "$label"
	l=$(elapsed "$t")
	rb=$(awk '/^rchar:/{print $2}' "/proc/$PS_PID/io")
	sleep 10
	RS="$h $l $(calc "$rb/1048576" 1) $(snapshot)"
}
log "scale: restart (default mmap storage)"
restart mmap
read -r h2 l2 rb2 rss2 gor2 thr2 fds2 cpu2 <<<"$RS"
stop_podseed
t_stop2=$STOP_S
log "scale: restart (TORRENT_STORAGE_DEFAULT_FILE_IO=classic)"
restart classic TORRENT_STORAGE_DEFAULT_FILE_IO=classic
read -r h3 l3 rb3 rss3 gor3 thr3 fds3 cpu3 <<<"$RS"
stop_podseed
t_stop3=$STOP_S

emit "" "### Scale: $total seeded episodes of $(human "$media") in one process ($nfeeds feed(s))" ""
emit "| phase | time s | resident MiB | goroutines | threads | open files | CPU s so far |" "|---|---|---|---|---|---|---|"
emit "| first start: poll + ingest all ($workers ingest workers) | $t_ingest | $rss1 | $gor1 | $thr1 | $fds1 | $cpu1 |"
emit "| restart, default (mmap) storage: HTTP up / first leecher done | $h2 / $l2 | $rss2 | $gor2 | $thr2 | $fds2 | $cpu2 |"
emit "| restart, TORRENT_STORAGE_DEFAULT_FILE_IO=classic: HTTP up / first leecher done | $h3 / $l3 | $rss3 | $gor3 | $thr3 | $fds3 | $cpu3 |"
emit "" "Ingest rate: $(calc "$total/$t_ingest" 1) episodes/s. One aria2c leecher fetching one episode from the running podseed, before any restart: $l1 s (its own start, announce and connect: the floor of the \"first leecher done\" figures). Bytes read during restart until the first leecher was done (rchar): $rb2 MiB (mmap), $rb3 MiB (classic), of $(calc "$data_bytes/1048576" 0) MiB seeded — a full re-hash would read all of it. Shutdown (SIGTERM to exit): $t_stop1 s, $t_stop2 s, $t_stop3 s."
emit "" "### Republished feed of a $big-item feed (GET /feeds/1.rss on loopback)" ""
emit "| what | value |" "|---|---|"
emit "| median response time, 10 GETs | $(calc "$feed_s*1000" 1) ms |"
emit "| size | $feed_bytes bytes |"
emit "| ETag | ${etag:-none} |"
emit "| If-None-Match with that ETag | ${cond} |"
emit "| Content-Encoding with Accept-Encoding: gzip | ${cenc:-none} ($gz_bytes bytes) |"
emit "| torrent feed /feeds/1/torrents.rss, median of 10 | $(calc "$tfeed_s*1000" 1) ms |"
