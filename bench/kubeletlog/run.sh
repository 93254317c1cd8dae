#!/usr/bin/env bash
# Kubelet log benchmark: one run, side by side, on generated kubelet logs.
#
#   bench/kubeletlog/run.sh [WORKDIR]        (default WORKDIR: /tmp/spdoc-bench; needs ~7 GB there)
#
# Two workloads, each at SIZE and BIG: quiet (mostly v=1..4 noise, 400 relevant records over 50
# static pods) and dense (gen -workload dense: a broken node, most lines error records about a
# dozen pods, from the captured node's own lines). Rows: spdoc diagnose full pass (when cmd/spdoc
# builds with a diagnose command), the kubeletlog.ScanFile pass it runs (bench/kubeletlog/scan),
# grep -c -F, the jq one-liner that selects the same records, --since 10m on the quiet BIG log,
# and the quiet SIZE log as journald short-precise lines. Each row is the median wall time of
# $RUNS interleaved rounds with a warm page cache; CPU time (user+sys) of that run and the highest
# peak RSS of all runs from /usr/bin/time. The CPU column matters on a busy machine, where wall
# times swing with other load.
# Env: SIZE (1GiB), BIG (2GiB), PODS (50), RUNS (5), JQ_LIMIT_S (120: above this projected time jq
# runs on a 100 MiB slice and the time is scaled), DENSE=0 skips the dense rows, BASELINE=PATH adds
# rows for another spdoc binary (e.g. main before a change) on the 1 GiB logs, in the same rounds.
set -euo pipefail

cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/spdoc-bench}
SIZE=${SIZE:-1GiB}
BIG=${BIG:-2GiB}
PODS=${PODS:-50}
RUNS=${RUNS:-5}
JQ_LIMIT_S=${JQ_LIMIT_S:-120}
mkdir -p "$WORK"
LOG=$WORK/kubelet-$SIZE.log
BIGLOG=$WORK/kubelet-$BIG.log
SLICE=$WORK/kubelet-100MiB.log
# The same records as klog text in journalctl -o short-precise lines (JOURNAL=0 skips its rows).
JOURNAL=${JOURNAL:-1}
JLOG=$WORK/kubelet-$SIZE-short-precise.log
DENSE=${DENSE:-1}
BASELINE=${BASELINE:-}
DLOG=$WORK/kubelet-$SIZE-dense.log
DBIGLOG=$WORK/kubelet-$BIG-dense.log
DSLICE=$WORK/kubelet-100MiB-dense.log
DROOT=$WORK/root-dense

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

# The logs end when generated; the 2 GiB one is regenerated when older than 5 minutes so that
# --since 10m selects (most of) its last ten minutes.
echo "## generating logs" >&2
[ -s "$LOG" ] && [ "$(find "$LOG" -mmin -60)" ] || "$WORK/gen" -size "$SIZE" -pods "$PODS" -out "$LOG"
[ -s "$BIGLOG" ] && [ "$(find "$BIGLOG" -mmin -5)" ] || "$WORK/gen" -size "$BIG" -pods "$PODS" -seed 2 -out "$BIGLOG"
if [ "$JOURNAL" = 1 ]; then
	[ -s "$JLOG" ] && [ "$(find "$JLOG" -mmin -60)" ] || "$WORK/gen" -size "$SIZE" -pods "$PODS" -format journal-short-precise -out "$JLOG"
fi
if [ "$DENSE" = 1 ]; then
	[ -s "$DLOG" ] && [ "$(find "$DLOG" -mmin -60)" ] || "$WORK/gen" -workload dense -size "$SIZE" -manifests "$DROOT/etc/kubernetes/manifests" -out "$DLOG"
	[ -s "$DBIGLOG" ] && [ "$(find "$DBIGLOG" -mmin -60)" ] || "$WORK/gen" -workload dense -size "$BIG" -seed 2 -out "$DBIGLOG"
	head -c $((100 << 20)) "$DLOG" | sed '$d' >"$DSLICE"
	mkdir -p "$DROOT/var/log/pods"
fi
head -c $((100 << 20)) "$LOG" | sed '$d' >"$SLICE" # whole lines only
# A node layout for spdoc diagnose --root: the manifests the log talks about are absent, which is
# realistic for a copied bundle and makes diagnose attribute records by path and pod name.
ROOT=$WORK/root
mkdir -p "$ROOT/etc/kubernetes/manifests" "$ROOT/var/log/pods"

for f in "$LOG" "$BIGLOG" "$SLICE" ${JOURNAL/#1/$JLOG} ${DENSE/#1/$DLOG $DBIGLOG $DSLICE}; do [ -f "$f" ] && cat "$f" >/dev/null; done # warm the page cache

# run_once NAME CMD...: one timed run, appended to NAME's runs (wall, CPU = user+sys, peak RSS);
# stdout of the command goes to $WORK/NAME.out (a file, never /dev/null: GNU grep stops at the
# first match when its output is /dev/null).
declare -A RUNS_OF WALL CPU RSS OUT LOADS
run_once() {
	local name=$1
	shift
	/usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
	local w m u s
	read -r w m u s < <(tail -n 1 "$WORK/time.txt") || true
	RUNS_OF[$name]+="$w $(awk "BEGIN{print $u + $s}") $m;"
	case $name in
	*diagnose*) OUT[$name]="$(grep -c '"kind"' "$WORK/$name.out" || true) findings" ;;
	*) OUT[$name]=$(head -c 200 "$WORK/$name.out" | tr '\n' ' ') ;;
	esac
}

# median NAME: WALL and CPU of the median-wall run, RSS the highest of all runs.
median() {
	local name=$1
	read -r WALL[$name] CPU[$name] < <(tr ';' '\n' <<<"${RUNS_OF[$name]}" | awk 'NF' | sort -n -k1,1 | awk '{w[NR]=$1; c[NR]=$2} END{m=int((NR+1)/2); print w[m], c[m]}')
	RSS[$name]=$(tr ';' '\n' <<<"${RUNS_OF[$name]}" | awk 'NF{if ($3 > m) m = $3} END{print m}')
}

# Rounds interleave the tools, so that load from other processes on the machine hits them alike.
JQ='select(.msg=="Could not process manifest file" or (.err != null))'
echo "## measuring (median of $RUNS interleaved rounds)" >&2
for ((round = 0; round < RUNS; round++)); do
	LOADS[$round]=$(cut -d' ' -f1 /proc/loadavg)
	if [ "$DENSE" = 1 ]; then
		if [ -n "$SPDOC" ]; then
			run_once dense_diagnose "$SPDOC" diagnose --root "$DROOT" --kubelet-log "$DLOG" -o json
			[ -z "$BASELINE" ] || run_once dense_diagnose_baseline "$BASELINE" diagnose --root "$DROOT" --kubelet-log "$DLOG" -o json
			run_once dense_big_diagnose "$SPDOC" diagnose --root "$DROOT" --kubelet-log "$DBIGLOG" -o json
		fi
		run_once dense_scan "$WORK/scan" "$DLOG"
		run_once dense_grep grep -c -F 'Could not process manifest file' "$DLOG"
		run_once dense_big_grep grep -c -F 'Could not process manifest file' "$DBIGLOG"
		run_once dense_jq_slice sh -c "jq -c '$JQ' '$DSLICE' | wc -l"
	fi
	if [ -n "$SPDOC" ]; then
		run_once diagnose "$SPDOC" diagnose --root "$ROOT" --kubelet-log "$LOG" -o json
		[ -z "$BASELINE" ] || run_once diagnose_baseline "$BASELINE" diagnose --root "$ROOT" --kubelet-log "$LOG" -o json
	fi
	run_once scan "$WORK/scan" "$LOG"
	run_once grep grep -c -F 'Could not process manifest file' "$LOG"
	run_once jq_slice sh -c "jq -c '$JQ' '$SLICE' | wc -l"
	if [ "$JOURNAL" = 1 ]; then
		run_once scan_journal "$WORK/scan" "$JLOG"
		run_once grep_journal grep -c -F 'Could not process manifest file' "$JLOG"
		if [ -n "$SPDOC" ]; then
			run_once diagnose_journal "$SPDOC" diagnose --root "$ROOT" --kubelet-log "$JLOG" -o json
		fi
	fi
	run_once scan_big "$WORK/scan" "$BIGLOG"
	run_once grep_big grep -c -F 'Could not process manifest file' "$BIGLOG"
	if [ -n "$SPDOC" ]; then
		run_once big_diagnose "$SPDOC" diagnose --root "$ROOT" --kubelet-log "$BIGLOG" -o json
	fi
	run_once since_scan "$WORK/scan" -since 10m "$BIGLOG"
	if [ -n "$SPDOC" ] && "$SPDOC" diagnose --help 2>&1 | grep -q -- '--since'; then
		run_once since_diagnose "$SPDOC" diagnose --root "$ROOT" --kubelet-log "$BIGLOG" --since 10m -o json
	fi
done
for name in "${!RUNS_OF[@]}"; do median "$name"; done
SCALE=$(awk "BEGIN{print $(stat -c %s "$LOG") / $(stat -c %s "$SLICE")}")
JQ_PROJECTED=$(awk "BEGIN{print ${WALL[jq_slice]} * $SCALE}")
if awk "BEGIN{exit !($JQ_PROJECTED <= $JQ_LIMIT_S)}"; then
	run_once jq sh -c "jq -c '$JQ' '$LOG' | wc -l"
	median jq
	JQ_NOTE="full file, 1 run"
else
	WALL[jq]=$JQ_PROJECTED
	CPU[jq]=$(awk "BEGIN{print ${CPU[jq_slice]} * $SCALE}")
	RSS[jq]=${RSS[jq_slice]}
	OUT[jq]="(scaled)"
	JQ_NOTE="100 MiB slice x $SCALE (projected: full run over ${JQ_LIMIT_S}s)"
fi
if [ "$DENSE" = 1 ]; then # jq on the dense log: always the slice, scaled (a full run takes minutes)
	DSCALE=$(awk "BEGIN{print $(stat -c %s "$DLOG") / $(stat -c %s "$DSLICE")}")
	WALL[dense_jq]=$(awk "BEGIN{print ${WALL[dense_jq_slice]} * $DSCALE}")
	CPU[dense_jq]=$(awk "BEGIN{print ${CPU[dense_jq_slice]} * $DSCALE}")
	RSS[dense_jq]=${RSS[dense_jq_slice]}
	OUT[dense_jq]="(scaled)"
fi
for name in "${!WALL[@]}"; do echo "$name: ${WALL[$name]}s wall, ${CPU[$name]}s CPU, $((RSS[$name] / 1024)) MB: ${OUT[$name]}" >&2; done

ratio() { awk "BEGIN{printf \"%.1f\", $1 / $2}"; }
mb() { echo $(($1 / 1024)); }
{
	echo "Machine: $(nproc) CPUs, $(awk '/model name/{$1=$2=$3="";print;exit}' /proc/cpuinfo | sed 's/^ *//'), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "Load average (1 min) at the start of each round: ${LOADS[*]}"
	echo "Quiet log: $SIZE ($(stat -c %s "$LOG") bytes, $(wc -l <"$LOG") lines) and $BIG; dense log: $SIZE and $BIG (gen -workload dense); warm page cache; median wall of $RUNS interleaved rounds (CPU of that run, highest peak RSS of all runs)"
	echo
	echo "| what | wall s | CPU s | peak RSS MB | wall vs grep | CPU vs grep | jq / this (wall) | output |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|"
	for name in dense_diagnose dense_diagnose_baseline dense_scan dense_grep dense_jq dense_big_diagnose dense_big_grep diagnose diagnose_baseline scan grep jq big_diagnose scan_big grep_big diagnose_journal scan_journal grep_journal since_scan since_diagnose; do
		[ -n "${WALL[$name]:-}" ] || continue
		case $name in
		dense_diagnose) label="**dense** $SIZE: spdoc diagnose --root … --kubelet-log … -o json" ;;
		dense_diagnose_baseline) label="dense $SIZE: baseline $BASELINE diagnose" ;;
		diagnose_baseline) label="quiet $SIZE: baseline $BASELINE diagnose" ;;
		dense_scan) label="dense $SIZE: kubeletlog.ScanFile + Interesting (bench/kubeletlog/scan)" ;;
		dense_grep) label="dense $SIZE: grep -c -F 'Could not process manifest file'" ;;
		dense_jq) label="dense $SIZE: jq -c '$JQ' \\| wc -l (100 MiB slice x $DSCALE)" ;;
		dense_big_diagnose) label="**dense** $BIG: spdoc diagnose" ;;
		dense_big_grep) label="dense $BIG: grep -c -F" ;;
		big_diagnose) label="quiet $BIG: spdoc diagnose" ;;
		grep_big) label="quiet $BIG: grep -c -F" ;;
		diagnose) label="quiet $SIZE: spdoc diagnose --root … --kubelet-log … -o json" ;;
		scan) label="kubeletlog.ScanFile + Interesting ($SIZE, bench/kubeletlog/scan)" ;;
		grep) label="grep -c -F 'Could not process manifest file' ($SIZE)" ;;
		jq) label="jq -c '$JQ' \\| wc -l ($JQ_NOTE)" ;;
		diagnose_journal) label="spdoc diagnose --root … --kubelet-log $SIZE journald short-precise -o json" ;;
		scan_journal) label="kubeletlog.ScanFile + Interesting ($SIZE journald short-precise)" ;;
		grep_journal) label="grep -c -F 'Could not process manifest file' ($SIZE journald short-precise)" ;;
		scan_big) label="kubeletlog.ScanFile + Interesting ($BIG, full pass)" ;;
		since_scan) label="ScanFile --since 10m on $BIG (binary-search seek)" ;;
		since_diagnose) label="spdoc diagnose --since 10m on $BIG" ;;
		esac
		g=grep vs_jq=$(ratio "${WALL[jq]}" "${WALL[$name]}")
		case $name in
		since_*) g="" vs_jq="—" ;; # other file
		scan_big | big_diagnose | grep_big) g=grep_big vs_jq="—" ;;
		*_journal) g=grep_journal vs_jq="—" ;;
		dense_big_*) g=dense_big_grep vs_jq="—" ;;
		dense_*) g=dense_grep vs_jq=$(ratio "${WALL[dense_jq]}" "${WALL[$name]}") ;;
		esac
		vs_grep="—" cpu_vs_grep="—"
		if [ -n "$g" ]; then
			vs_grep=$(ratio "${WALL[$name]}" "${WALL[$g]}") cpu_vs_grep=$(ratio "${CPU[$name]}" "${CPU[$g]}")
		fi
		echo "| $label | ${WALL[$name]} | ${CPU[$name]} | $(mb "${RSS[$name]}") | $vs_grep | $cpu_vs_grep | $vs_jq | ${OUT[$name]:0:60} |"
	done
} | tee "$WORK/results.md"
