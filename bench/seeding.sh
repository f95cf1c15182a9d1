#!/usr/bin/env bash
# Seeding benchmark: one episode seeded on loopback to 1, 4 and 16
# concurrent aria2c leechers and to one libtorrent leecher, with podseed,
# libtorrent, qbittorrent-nox, aria2c and transmission-daemon as the seeder,
# the seeder alternated run by run. Every seeder seeds the same file under
# the same infohash (podseed's torrent, web seed removed so that only the
# seeder and the other leechers supply data); podseed uses its own tracker,
# the others a fresh benchtool tracker (the same tracker code) per run.
#
# Environment: SEED_SIZE (bytes; quick 64 MiB, full 1 GiB), SEED_ROUNDS,
# SEED_SCENARIOS (e.g. "aria2c:1 aria2c:4 aria2c:16 libtorrent:1"),
# SEED_SEEDERS (e.g. "podseed libtorrent qbittorrent aria2c transmission";
# podseed-classic is podseed with TORRENT_STORAGE_DEFAULT_FILE_IO=classic,
# podseed-ondemand podseed seeding the evicted episode on demand from the
# origin: --on-demand-seeding),
# SEED_CAP (seconds a run may last; quick 20, full 40).
source "$(dirname "$0")/lib.sh"

if [[ $BENCH_MODE == full ]]; then
	size=${SEED_SIZE:-$((1 << 30))}
	rounds=${SEED_ROUNDS:-1}
	run_cap=${SEED_CAP:-40}
else
	run_cap=${SEED_CAP:-20}
	size=${SEED_SIZE:-$((64 << 20))}
	rounds=${SEED_ROUNDS:-1}
fi
read -ra scenarios <<<"${SEED_SCENARIOS:-aria2c:1 aria2c:4 aria2c:16 libtorrent:1}"
read -ra seeders <<<"${SEED_SEEDERS:-podseed podseed-ondemand libtorrent qbittorrent aria2c transmission}"
need_pkgs aria2 python3-libtorrent qbittorrent-nox transmission-daemon transmission-cli curl jq
[[ ${BENCH_BUILT:-} == 1 ]] || build
PY=/usr/bin/python3 # Debian's, which has python3-libtorrent

src=$(testfile "$size")
work=$BENCH_WORK/seeding
rm -rf "$work"
logs=$work/logs
mkdir -p "$work" "$logs"
bg "$work/origin.log" "$BENCH_BIN/benchtool" origin -addr 127.0.0.1:0 -dir "$(dirname "$src")"
origin=$(wait_first_line "$work/origin.log" 10)
cat "$src" >/dev/null

# podseed ingests the episode once; later podseed runs restart on the same
# data directory (resume without re-hash).
ps_data=$work/podseed-data
ps_http=$(free_port)
ps_bt=$(free_port)
# start_podseed [DATA_DIR [SERVE_FLAG...]]: env assignments go in PS_ENV.
start_podseed() {
	local data=${1:-$ps_data}
	shift || true
	bg "$work/podseed.log" env "${PS_ENV[@]}" "$BENCH_BIN/podseed" --log-level warn --data-dir "$data" serve \
		--listen "127.0.0.1:$ps_http" --bt-port "$ps_bt" --no-dht --udp-tracker off \
		--allow-private-addresses --poll-interval 24h "$@" "http://$origin/feed/file/$(basename "$src").rss"
	PS_PID=$BG_PID
}
PS_ENV=()
log "seeding: podseed ingests $(human "$size")"
start_podseed
ready() { [[ $(curl -sf "http://127.0.0.1:$ps_http/api/v1/feeds/1" | jq -r '.episodes[0].state') == ready ]]; }
wait_until 600 ready || die "podseed did not ingest the episode (see $work/podseed.log)"
ih=$(curl -sf "http://127.0.0.1:$ps_http/api/v1/feeds/1" | jq -r '.episodes[0].infohash')
curl -sf -o "$work/podseed-original.torrent" "http://127.0.0.1:$ps_http/torrents/$ih.torrent"
stop_pid "$PS_PID"
data_path=$(find "$ps_data/files/$ih" -type f | head -n1)
name=$(basename "$data_path")
"$BENCH_BIN/benchtool" torrent -in "$work/podseed-original.torrent" -out "$work/podseed.torrent" -strip-web-seeds
read -r ih2 tname < <("$BENCH_BIN/benchtool" info "$work/podseed.torrent")
[[ $ih2 == "$ih" && $tname == "$name" ]] || die "torrent $ih2 $tname does not match $ih $name"
# Other seeders read the same bytes through a hard link named as the torrent.
mkdir -p "$work/seed-dir"
ln -f "$data_path" "$work/seed-dir/$name"

# podseed-ondemand: podseed with a data directory of its own whose episode
# retention has evicted (--disk-budget 1), seeded with --on-demand-seeding:
# every piece a leecher asks for is fetched from the origin with a Range
# request and verified, into the default 64 MiB piece cache. It ingests the
# episode itself (same bytes, same piece length: same infohash).
ps_od_data=$work/podseed-ondemand-data
od_flags=(--disk-budget 1 --on-demand-seeding)
if [[ " ${seeders[*]} " == *" podseed-ondemand "* ]]; then
	log "seeding: podseed-ondemand ingests the episode and waits for retention to evict it (runs each minute)"
	start_podseed "$ps_od_data" "${od_flags[@]}"
	on_demand() { [[ $(curl -sf "http://127.0.0.1:$ps_http/api/v1/episodes/1" | jq -r '.torrent.on_demand') == true ]]; }
	wait_until 180 on_demand || die "podseed did not evict the episode into on-demand seeding (see $work/podseed.log)"
	[[ $(curl -sf "http://127.0.0.1:$ps_http/api/v1/feeds/1" | jq -r '.episodes[0].infohash') == "$ih" ]] ||
		die "podseed-ondemand made a torrent other than $ih"
	stop_pid "$PS_PID"
	[[ -z $(find "$ps_od_data/files" -type f) ]] || die "podseed-ondemand still has episode data in $ps_od_data/files"
fi

# start_seeder NAME: starts it, sets SEEDER_PID, TORRENT (what leechers
# load) and SCRAPE (where to see it announced).
start_seeder() {
	local s=$1 port tr
	port=$(free_port)
	if [[ $s == podseed* ]]; then
		# podseed-classic: with TORRENT_STORAGE_DEFAULT_FILE_IO=classic (README).
		case $s in
		podseed-classic)
			PS_ENV=(TORRENT_STORAGE_DEFAULT_FILE_IO=classic)
			start_podseed
			PS_ENV=()
			;;
		podseed-ondemand) start_podseed "$ps_od_data" "${od_flags[@]}" ;;
		*) start_podseed ;;
		esac
		SEEDER_PID=$PS_PID TORRENT=$work/podseed.torrent
		SCRAPE=http://127.0.0.1:$ps_http/scrape
		return
	fi
	tr=$(free_port)
	bg "$work/tracker.log" "$BENCH_BIN/benchtool" tracker -addr "127.0.0.1:$tr"
	TRACKER_PID=$BG_PID
	SCRAPE=http://127.0.0.1:$tr/scrape
	TORRENT=$work/bench-tracker.torrent
	"$BENCH_BIN/benchtool" torrent -in "$work/podseed.torrent" -out "$TORRENT" -announce "http://127.0.0.1:$tr/announce"
	local d=$work/$s-state
	rm -rf "$d" && mkdir -p "$d"
	case $s in
	libtorrent)
		bg "$work/$s.log" "$PY" "$BENCH_DIR/lt.py" seed "$TORRENT" "$work/seed-dir" "$port"
		;;
	aria2c)
		bg "$work/$s.log" aria2c --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
			--bt-seed-unverified=true --check-integrity=false --seed-ratio=0.0 \
			--listen-port="$port" --dir="$work/seed-dir" --summary-interval=0 --console-log-level=warn \
			--allow-overwrite=true --auto-file-renaming=false "$TORRENT"
		;;
	qbittorrent)
		local web
		web=$(free_port)
		mkdir -p "$d/qBittorrent/config"
		cat >"$d/qBittorrent/config/qBittorrent.conf" <<-EOF
			[LegalNotice]
			Accepted=true
			[BitTorrent]
			Session\Port=$port
			Session\Interface=lo
			Session\InterfaceName=lo
			Session\DHTEnabled=false
			Session\LSDEnabled=false
			Session\PeXEnabled=false
			Session\MultiConnectionsPerIp=true
			Session\BTProtocol=TCP
			Session\AddTorrentPaused=false
			[Preferences]
			Connection\UPnP=false
			WebUI\Port=$web
			WebUI\Address=127.0.0.1
			WebUI\LocalHostAuth=false
		EOF
		bg "$work/$s.log" qbittorrent-nox --profile="$d" --webui-port="$web" \
			--save-path="$work/seed-dir" --skip-hash-check --add-paused=false "$TORRENT"
		;;
	transmission)
		local rpc
		rpc=$(free_port)
		echo '{"utp-enabled": false}' >"$d/settings.json"
		bg "$work/$s.log" transmission-daemon -f -g "$d" -p "$rpc" -P "$port" -T -M -O -Y \
			-a 127.0.0.1 -w "$work/seed-dir" --no-incomplete-dir
		wait_until 30 transmission-remote "127.0.0.1:$rpc" -l || die "transmission-daemon did not start"
		transmission-remote "127.0.0.1:$rpc" -a "$TORRENT" -w "$work/seed-dir" >/dev/null
		# It hash-checks the file first (it has no seed mode) and may
		# announce before that ends: wait until it is 100 % and Idle or Seeding.
		tr_seeding() { transmission-remote "127.0.0.1:$rpc" -l | grep -qE ' 100% .* (Idle|Seeding) '; }
		wait_until 300 tr_seeding || die "transmission-daemon did not start seeding"
		;;
	*) die "unknown seeder $s" ;;
	esac
	SEEDER_PID=$BG_PID
}

stop_seeder() {
	stop_pid "$SEEDER_PID"
	if [[ $1 != podseed* ]]; then stop_pid "$TRACKER_PID"; fi
}

# leech KIND N: N concurrent leechers, for at most run_cap seconds. Prints
# "SECONDS BYTES DONE": the wall time until every leecher had the file (or
# the cap), the bytes they had written by then (allocated blocks: the
# leechers write sparse files), and whether all completed (1) or not (0).
leech() {
	local kind=$1 n=$2 i pids=() d=$work/leech t0 left
	rm -rf "$d" && mkdir -p "$d"
	sync
	t0=$(now)
	for ((i = 0; i < n; i++)); do
		mkdir -p "$d/$i"
		case $kind in
		aria2c)
			aria2c --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --seed-time=0 \
				--file-allocation=none --check-integrity=false --listen-port="$(free_port)" \
				--dir="$d/$i" --summary-interval=0 --console-log-level=warn --bt-stop-timeout="$run_cap" \
				"$TORRENT" >"$logs/$run-$i.log" 2>&1 &
			;;
		libtorrent)
			"$PY" "$BENCH_DIR/lt.py" leech "$TORRENT" "$d/$i" "$(free_port)" "$run_cap" >"$logs/$run-$i.log" 2>&1 &
			;;
		esac
		pids+=($!)
	done
	local deadline=$((SECONDS + run_cap))
	while :; do
		left=0
		for i in "${pids[@]}"; do kill -0 "$i" 2>/dev/null && left=$((left + 1)); done
		((left == 0 || SECONDS >= deadline)) && break
		sleep 0.2
	done
	local t bytes complete=1
	t=$(elapsed "$t0")
	bytes=$(du -sB1 "$d" | cut -f1)
	for i in "${pids[@]}"; do kill "$i" 2>/dev/null || true; done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" 2>/dev/null || complete=0
		[[ $(stat -c %s "$d/$i/$name" 2>/dev/null) == "$size" ]] || complete=0
	done
	((complete)) && bytes=$((n * size))
	rm -rf "$d"
	echo "$t $bytes $complete"
}

declare -A R # R[scenario,seeder] = "seconds ..."
log "seeding: $(human "$size"), $rounds round(s), scenarios ${scenarios[*]}, seeders ${seeders[*]}"
run=0 # runs so far (names leecher logs)
rot=0 # rotates which seeder goes first, scenario by scenario
for ((r = 0; r < rounds; r++)); do
	for sc in "${scenarios[@]}"; do
		for ((k = 0; k < ${#seeders[@]}; k++)); do
			s=${seeders[(k + rot) % ${#seeders[@]}]}
			start_seeder "$s"
			if ! "$BENCH_BIN/benchtool" wait-seeder -scrape "$SCRAPE" -infohash "$ih" -timeout 120s 2>>"$work/errors.log"; then
				log "$s never announced itself as a seeder (see $work/$s.log)"
				rate=fail
			else
				read -r t bytes complete < <(leech "${sc%%:*}" "${sc##*:}")
				rate=$(calc "$bytes/$t/1e6" 1)
				((complete)) || rate="$rate*"
				log "  $sc from $s: $t s, $bytes bytes, ${rate} MB/s"
			fi
			stop_seeder "$s"
			R[$sc,$s]+="$rate "
			run=$((run + 1))
		done
		rot=$((rot + 1))
	done
done

# rate SCENARIO SEEDER: median aggregate MB/s of its runs ("*": some run
# hit the cap; "fail": none ran).
rate() {
	local rs=${R[$1,$2]:-} good=() v star=
	for v in $rs; do
		[[ $v == fail ]] && continue
		[[ $v == *'*' ]] && star='*'
		good+=("${v%'*'}")
	done
	((${#good[@]})) || {
		echo fail
		return
	}
	echo "$(calc "$(median "${good[@]}")" 1)$star"
}
emit "" "### Seeding: $(human "$size") episode on loopback, aggregate MB/s delivered to all leechers (median of $rounds; * = a run hit the ${run_cap} s cap and counts the bytes written by then)" ""
hdr="| leechers |"
sep="|---|"
for s in "${seeders[@]}"; do
	hdr+=" $s |"
	sep+="---|"
done
emit "$hdr podseed ÷ best other |" "$sep---|"
for sc in "${scenarios[@]}"; do
	row="| ${sc%%:*} × ${sc##*:} |"
	best=0
	for s in "${seeders[@]}"; do
		v=$(rate "$sc" "$s")
		row+=" $v |"
		v=${v%'*'}
		if [[ $s != podseed* && $v != fail ]] && awk -v a="$v" -v b="$best" 'BEGIN{exit !(a>b)}'; then best=$v; fi
	done
	p=$(rate "$sc" podseed)
	p=${p%'*'}
	if [[ $p != fail ]] && awk -v b="$best" 'BEGIN{exit !(b>0)}'; then row+=" $(calc "$p/$best")× |"; else row+=" — |"; fi
	emit "$row"
done
emit "" "Runs (aggregate MB/s, in the order run):"
for sc in "${scenarios[@]}"; do
	for s in "${seeders[@]}"; do emit "- ${sc} from $s: ${R[$sc,$s]:-}"; done
done
