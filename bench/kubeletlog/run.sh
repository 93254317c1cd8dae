#!/usr/bin/env bash
# Kubelet log benchmark: one run, side by side, on a generated realistic kubelet JSON log.
#
#   bench/kubeletlog/run.sh [WORKDIR]        (default WORKDIR: /tmp/spdoc-bench; needs ~3.5 GB there)
#
# Rows: spdoc diagnose full pass (when cmd/spdoc builds with a diagnose command), the
# kubeletlog.ScanFile pass it runs (bench/kubeletlog/scan), grep -c -F, the jq one-liner that
# selects the same records, and --since 10m on a 2 GiB log. Each row is the best of $RUNS runs
# (default 3) with a warm page cache; peak RSS from /usr/bin/time. Env: SIZE (1GiB), BIG (2GiB),
# PODS (50), RUNS (3), JQ_LIMIT_S (120: above this projected time jq runs on a 100 MiB slice and
# is scaled).
set -euo pipefail

cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/spdoc-bench}
SIZE=${SIZE:-1GiB}
BIG=${BIG:-2GiB}
PODS=${PODS:-50}
RUNS=${RUNS:-3}
JQ_LIMIT_S=${JQ_LIMIT_S:-120}
mkdir -p "$WORK"
LOG=$WORK/kubelet-$SIZE.log
BIGLOG=$WORK/kubelet-$BIG.log
SLICE=$WORK/kubelet-100MiB.log

command -v jq >/dev/null || { echo "run.sh: jq is missing (apt-get install jq)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

echo "## building" >&2
go build -o "$WORK/gen" ./bench/kubeletlog/gen
go build -o "$WORK/scan" ./bench/kubeletlog/scan
SPDOC=""
if go build -o "$WORK/spdoc" ./cmd/spdoc 2>"$WORK/spdoc-build.err" && "$WORK/spdoc" diagnose --help >/dev/null 2>&1; then
	SPDOC=$WORK/spdoc
else
	echo "run.sh: spdoc diagnose not available (see $WORK/spdoc-build.err); its rows are skipped" >&2
fi

# The log ends now, so --since 10m selects its last ten minutes.
echo "## generating logs" >&2
[ -s "$LOG" ] && [ "$(find "$LOG" -mmin -60)" ] || "$WORK/gen" -size "$SIZE" -pods "$PODS" -out "$LOG"
[ -s "$BIGLOG" ] && [ "$(find "$BIGLOG" -mmin -60)" ] || "$WORK/gen" -size "$BIG" -pods "$PODS" -seed 2 -out "$BIGLOG"
head -c $((100 << 20)) "$LOG" | sed '$d' >"$SLICE" # whole lines only
# A node layout for spdoc diagnose --root: the manifests the log talks about are absent, which is
# realistic for a copied bundle and makes diagnose attribute records by path and pod name.
ROOT=$WORK/root
mkdir -p "$ROOT/etc/kubernetes/manifests" "$ROOT/var/log/pods"

for f in "$LOG" "$BIGLOG" "$SLICE"; do cat "$f" >/dev/null; done # warm the page cache

# measure NAME CMD...: best wall time of $RUNS runs, and the peak RSS of that run; stdout of the
# command goes to $WORK/NAME.out.
declare -A WALL RSS OUT
measure() {
	local name=$1
	shift
	local best="" rss="" i
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
		read -r w m < <(tail -n 1 "$WORK/time.txt") || true
		if [ -z "$best" ] || awk "BEGIN{exit !($w < $best)}"; then best=$w rss=$m; fi
	done
	WALL[$name]=$best
	RSS[$name]=$rss
	case $name in
	*diagnose) OUT[$name]="$(grep -c '"kind"' "$WORK/$name.out" || true) findings" ;;
	*) OUT[$name]=$(head -c 200 "$WORK/$name.out" | tr '\n' ' ') ;;
	esac
	echo "$name: ${best}s, $((rss / 1024)) MB: ${OUT[$name]}" >&2
}

echo "## measuring (best of $RUNS)" >&2
if [ -n "$SPDOC" ]; then
	measure diagnose "$SPDOC" diagnose --root "$ROOT" --kubelet-log "$LOG" -o json
fi
measure scan "$WORK/scan" "$LOG"
measure grep grep -c -F 'Could not process manifest file' "$LOG"
JQ='select(.msg=="Could not process manifest file" or (.err != null))'
measure jq_slice sh -c "jq -c '$JQ' '$SLICE' | wc -l"
SCALE=$(awk "BEGIN{print $(stat -c %s "$LOG") / $(stat -c %s "$SLICE")}")
JQ_PROJECTED=$(awk "BEGIN{print ${WALL[jq_slice]} * $SCALE}")
if awk "BEGIN{exit !($JQ_PROJECTED <= $JQ_LIMIT_S)}"; then
	RUNS_SAVED=$RUNS RUNS=1
	measure jq sh -c "jq -c '$JQ' '$LOG' | wc -l"
	RUNS=$RUNS_SAVED
	JQ_NOTE="full file, 1 run"
else
	WALL[jq]=$JQ_PROJECTED
	RSS[jq]=${RSS[jq_slice]}
	OUT[jq]="(scaled)"
	JQ_NOTE="100 MiB slice x $SCALE (projected: full run over ${JQ_LIMIT_S}s)"
fi
measure scan_big "$WORK/scan" "$BIGLOG"
measure since_scan "$WORK/scan" -since 10m "$BIGLOG"
if [ -n "$SPDOC" ] && "$SPDOC" diagnose --help 2>&1 | grep -q -- '--since'; then
	measure since_diagnose "$SPDOC" diagnose --root "$ROOT" --kubelet-log "$BIGLOG" --since 10m -o json
fi

ratio() { awk "BEGIN{printf \"%.1f\", $1 / $2}"; }
mb() { echo $(($1 / 1024)); }
{
	echo "Machine: $(nproc) CPUs, $(awk '/model name/{$1=$2=$3="";print;exit}' /proc/cpuinfo | sed 's/^ *//'), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "Log: $SIZE ($(stat -c %s "$LOG") bytes, $(wc -l <"$LOG") lines), since log: $BIG; warm page cache; best of $RUNS runs"
	echo
	echo "| what | wall s | peak RSS MB | vs grep | jq / this | output |"
	echo "|---|---:|---:|---:|---:|---|"
	for name in diagnose scan grep jq scan_big since_scan since_diagnose; do
		[ -n "${WALL[$name]:-}" ] || continue
		case $name in
		diagnose) label="spdoc diagnose --root … --kubelet-log $SIZE -o json" ;;
		scan) label="kubeletlog.ScanFile + Interesting ($SIZE, bench/kubeletlog/scan)" ;;
		grep) label="grep -c -F 'Could not process manifest file' ($SIZE)" ;;
		jq) label="jq -c '$JQ' \\| wc -l ($JQ_NOTE)" ;;
		scan_big) label="kubeletlog.ScanFile + Interesting ($BIG, full pass)" ;;
		since_scan) label="ScanFile --since 10m on $BIG (binary-search seek)" ;;
		since_diagnose) label="spdoc diagnose --since 10m on $BIG" ;;
		esac
		echo "| $label | ${WALL[$name]} | $(mb "${RSS[$name]}") | $(ratio "${WALL[$name]}" "${WALL[grep]}") | $(ratio "${WALL[jq]}" "${WALL[$name]}") | ${OUT[$name]:0:60} |"
	done
} | tee "$WORK/results.md"
