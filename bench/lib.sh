# Shared shell functions for bench/*.sh (sourced, not run).
# Every process a script starts in the background is recorded with bg and
# killed by its pid on exit; nothing is killed by name.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BENCH_MODE=${BENCH_MODE:-quick}
BENCH_WORK=${BENCH_WORK:-/tmp/podseed-bench}
BENCH_BIN=${BENCH_BIN:-$BENCH_WORK/bin}
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_WORK/results.md}
mkdir -p "$BENCH_WORK" "$BENCH_BIN"

BG_PIDS=()
cleanup_bg() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
}
trap cleanup_bg EXIT

# bg LOG CMD...: start CMD in the background, stdout+stderr to LOG; sets
# BG_PID.
bg() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# stop_pid PID: SIGTERM one process we started and wait for it.
stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${BG_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}

# now: seconds since the epoch with microseconds.
now() { echo "$EPOCHREALTIME"; }
# elapsed START: seconds since START, 3 decimals.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.3f", b-a}'; }
# calc EXPR: floating point arithmetic with awk.
calc() { awk "BEGIN{printf \"%.${2:-2}f\", $1}"; }

# free_port: a free TCP port on 127.0.0.1 (and, in practice, UDP).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# wait_first_line LOG SECONDS: the first line of LOG once it has one.
wait_first_line() {
	wait_until "$2" test -s "$1" || die "no output in $1"
	head -n1 "$1"
}

# build: podseed and benchtool from the tree.
build() {
	log "building podseed and benchtool into $BENCH_BIN"
	(cd "$REPO_DIR" && go build -o "$BENCH_BIN/podseed" ./cmd/podseed && go build -o "$BENCH_BIN/benchtool" ./bench/cmd/benchtool)
}

# need_pkgs PKG...: install missing Debian packages (root, apt-get).
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		[[ $(id -u) == 0 ]] || die "need root to apt-get install ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

# testfile SIZE: path of a pseudo-random file of SIZE bytes (made once).
testfile() {
	local f=$BENCH_WORK/src/episode-$1.bin
	mkdir -p "$BENCH_WORK/src"
	if [[ ! -f $f || $(stat -c %s "$f") != "$1" ]]; then
		log "generating $f"
		"$BENCH_BIN/benchtool" gen -size "$1" -out "$f"
	fi
	echo "$f"
}

# human SIZE: bytes as MiB or GiB.
human() {
	if (($1 >= 1 << 30)); then
		echo "$(calc "$1/1073741824" 0) GiB"
	elif (($1 >= 1 << 20)); then
		echo "$(calc "$1/1048576" 0) MiB"
	else
		echo "$(calc "$1/1024" 0) KiB"
	fi
}

# median N...: the median of the numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{if(NR%2)print a[(NR+1)/2]; else printf "%.3f\n",(a[NR/2]+a[NR/2+1])/2}'; }

# emit LINE...: print to stdout and append to the results file.
emit() {
	local l
	for l in "$@"; do
		printf '%s\n' "$l" | tee -a "$BENCH_RESULTS"
	done
}

# proc_rss_kb PID, proc_fds PID, proc_threads PID, proc_cpu_s PID
proc_rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
proc_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
proc_threads() { awk '/^Threads:/{print $2}' "/proc/$1/status"; }
proc_cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
