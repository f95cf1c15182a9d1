#!/usr/bin/env bash
# Ingest benchmark: one enclosure served on loopback → torrent ready.
# Compares `podseed create URL` with `curl -o`, `curl -o` + fsync, and
# `curl -o` + `mktorrent`, alternated run by run; then the SHA-1 limit
# (`openssl speed -evp sha1`, one core) against podseed's piece hasher.
#
# Environment: INGEST_SIZE (bytes; quick 256 MiB, full 1 GiB), INGEST_RUNS.
source "$(dirname "$0")/lib.sh"

if [[ $BENCH_MODE == full ]]; then
	size=${INGEST_SIZE:-$((1 << 30))}
	runs=${INGEST_RUNS:-3}
else
	size=${INGEST_SIZE:-$((256 << 20))}
	runs=${INGEST_RUNS:-2}
fi
need_pkgs curl mktorrent openssl
[[ ${BENCH_BUILT:-} == 1 ]] || build

src=$(testfile "$size")
work=$BENCH_WORK/ingest
rm -rf "$work"
mkdir -p "$work"
bg "$work/origin.log" "$BENCH_BIN/benchtool" origin -addr 127.0.0.1:0 -dir "$(dirname "$src")"
origin=$(wait_first_line "$work/origin.log" 10)
url="http://$origin/files/$(basename "$src")"
cat "$src" >/dev/null # page cache: the origin serves from memory, as a CDN would

# Piece length as podseed picks it (seed.PieceLengthFor), as 2^n for mktorrent.
pl=16384
while (((size + pl - 1) / pl > 2048)); do pl=$((pl * 2)); done
plexp=0
while (((1 << plexp) < pl)); do plexp=$((plexp + 1)); done

declare -A T
methods=(curl curl_fsync curl_mktorrent podseed)
run_one() {
	local m=$1 out=$work/out
	rm -rf "$out" && mkdir -p "$out"
	sync
	local t0
	t0=$(now)
	case $m in
	curl) curl -sf -o "$out/ep.bin" "$url" ;;
	curl_fsync) curl -sf -o "$out/ep.bin" "$url" && sync "$out/ep.bin" ;;
	curl_mktorrent)
		curl -sf -o "$out/ep.bin" "$url" &&
			mktorrent -l "$plexp" -a http://127.0.0.1:1/announce -w "$url" -o "$out/ep.torrent" "$out/ep.bin" >/dev/null
		;;
	podseed)
		PODSEED_ALLOW_PRIVATE_ADDRESSES=1 "$BENCH_BIN/podseed" --log-level warn --data-dir "$out/data" \
			create "$url" -o "$out/ep.torrent" >/dev/null
		;;
	esac
	T[$m]+="$(elapsed "$t0") "
}
log "ingest: $(human "$size"), piece length $pl, $runs runs of: ${methods[*]}"
for ((r = 0; r < runs; r++)); do
	# Rotate the order each run so no method always goes first.
	for ((k = 0; k < ${#methods[@]}; k++)); do
		run_one "${methods[(k + r) % ${#methods[@]}]}"
	done
done
rm -rf "$work/out"

curl_med=$(median ${T[curl]})
emit "" "### Ingest: $(human "$size") enclosure on loopback → file on disk (+ torrent)" ""
emit "| method | median s | MB/s | ratio to curl -o | runs (s) |" "|---|---|---|---|---|"
for m in "${methods[@]}"; do
	med=$(median ${T[$m]})
	label=${m//_/ + }
	label=${label/curl/curl -o}
	label=${label/podseed/podseed create URL}
	emit "| $label | $med | $(calc "$size/$med/1e6" 0) | $(calc "$med/$curl_med")× | ${T[$m]% } |"
done
pmed=$(median ${T[podseed]})
emit "" "podseed create / (curl -o + mktorrent): $(calc "$pmed/$(median ${T[curl_mktorrent]})")×; podseed create / (curl -o + fsync): $(calc "$pmed/$(median ${T[curl_fsync]})")×"

# The disk's durable write rate, which bounds every method with an fsync.
sync
ddline=$(dd if="$src" of="$work/dd.bin" bs=1M conv=fsync 2>&1 | tail -n1)
rm -f "$work/dd.bin"
emit "" "Disk: \`dd if=episode of=$work/dd.bin bs=1M conv=fsync\`: ${ddline##*, } (the durable write rate of the data directory's disk)."

# SHA-1: openssl's single-core rate against podseed's piece hasher.
log "ingest: openssl speed -evp sha1 (one core) and go test -bench PieceHasher"
ossl=$(openssl speed -evp sha1 -bytes 16384 -seconds 3 2>/dev/null | awk '$1=="sha1"{sub(/k$/,"",$2); printf "%.0f", $2*1000/1e6}')
gobench=$(cd "$REPO_DIR" && go test -run '^$' -bench 'SHA1Raw|PieceHasher|IngestHashes' -benchtime 20x -cpu 1 ./seed)
goline() { awk -v n="$1" '$1 ~ "^Benchmark"n"$" {for(i=1;i<=NF;i++) if($(i+1)=="MB/s") print int($i)}' <<<"$gobench"; }
sha1_go=$(goline SHA1Raw)
ph512=$(goline "PieceHasher/piece=512KiB")
ph32=$(goline "PieceHasher/piece=32KiB")
hashes=$(goline IngestHashes)
emit "" "### Piece hashing (one core)" ""
emit "| what | MB/s | share of openssl SHA-1 |" "|---|---|---|"
emit "| openssl speed -evp sha1 (16 KiB blocks) | $ossl | 100 % |"
emit "| Go crypto/sha1 (BenchmarkSHA1Raw) | $sha1_go | $(calc "100*$sha1_go/$ossl" 0) % |"
emit "| podseed piece hasher, 512 KiB pieces (BenchmarkPieceHasher) | $ph512 | $(calc "100*$ph512/$ossl" 0) % |"
emit "| podseed piece hasher, 32 KiB pieces | $ph32 | $(calc "100*$ph32/$ossl" 0) % |"
emit "| ingest per byte: write + SHA-1 pieces + SHA-256 (BenchmarkIngestHashes) | $hashes | — |"
