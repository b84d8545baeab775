#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Kestrel benchmarks: build the bench programs, run every benchmark with a
# bounded time, then write
#   bench/results.json     one entry per figure: name, value, unit, target,
#                          met, baseline, ratio, command (+ reason, note);
#                          entries this run did not produce (--only, the
#                          fuzzers' fuzz.*) are kept, marked earlier_run
#   bench/PERFORMANCE.md   the Markdown tables (the README's Performance
#                          section), each row with the command behind it
#   bench/profile/*.txt    where the time goes, for the figures with targets
# and print the Markdown. `make bench` runs it after `make all`.
#
#   bench/run.sh [--quick] [--no-profile]
#                [--only dfa,xdp,host,nfa,replay,mem,systp,hash,sustain] [--before DIR]
#
# --before DIR: DIR is an earlier source tree after `make all`, with the
# Makefile's bench targets; its bench_nfa, bench_replay and bench_mem
# (built by its Makefile, with its kload) run right after this tree's,
# and every nfa.* / replay.* / mem.* figure gets NAME.before and a ratio
# (bench/before-after.py), measured in the same run.
#
# Needs root (BPF), libhyperscan-dev, sagan-rules (the IDS pattern set),
# linux-perf (profiles only). A
# benchmark that cannot run records value null and the reason; the script
# still writes results.json. Logs: build/bench/logs/.
set -u

cd "$(dirname "$0")/.."
B=build/bench
OUT=$B/out	# result lines, one file per benchmark
DATA=$B/data	# generated inputs (rules, events)
LOG=$B/logs
PIN=/sys/fs/bpf/kestrel-bench
QUICK=0
PROFILE=1
ONLY="dfa,xdp,host,nfa,replay,mem,systp,hash,sustain"
BEFORE=""

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--no-profile) PROFILE=0 ;;
	--only) shift; ONLY="$1" ;;
	--before) shift; BEFORE=$(cd "$1" && pwd) || exit 2 ;;
	-h|--help) sed -n '3,27p' "$0"; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
log() { printf 'bench: %s\n' "$*" >&2; }

START=$(date +%s)
mkdir -p "$OUT" "$DATA" "$LOG" bench/profile
rm -f "$OUT"/*.results

if [ "$(id -u)" != 0 ]; then
	log "not root: the BPF benchmarks will record why they could not run"
fi

# A result line for something that could not even start.
fail_line() { # name figure reason file
	printf '{"name":"%s","figure":"%s","value":null,"unit":"","reason":"%s","command":"bench/run.sh"}\n' \
		"$1" "$2" "$(printf '%s' "$3" | tr '"\n' "' " | cut -c1-300)" >> "$4"
}

# ---- build ----
# The Makefile builds the benchmarks with the project's flags (make
# bench-build); one target at a time here, so that one which does not
# build is recorded as such and the others still run.
make --no-print-directory all >"$LOG/make.log" 2>&1 || log "make all failed (see $LOG/make.log)"

build() { # name
	make --no-print-directory "$B/$1" >"$LOG/build-$1.log" 2>&1 && return 0
	log "build of $1 failed (see $LOG/build-$1.log)"
	rm -f "$B/$1"
	return 1
}

build report || { log "cannot build bench/report.c: see $LOG/build-report.log"; exit 1; }
for n in bench_dfa bench_xdp bench_host bench_nfa bench_replay bench_mem bench_systp bench_hash \
	bench_sustain; do
	build "$n"
done
# the earlier tree's, built by its own Makefile (its flags), as
# bench_NAME-before; a tree older than the Makefile's bench targets gives
# no before figures rather than a build with flags of this script's
if [ -n "$BEFORE" ] && ! grep -q '^bench-build:' "$BEFORE/Makefile"; then
	log "$BEFORE's Makefile has no bench-build target: no before figures"
	BEFORE=
fi
if [ -n "$BEFORE" ]; then
	for n in bench_nfa bench_replay bench_mem; do
		{ make --no-print-directory -C "$BEFORE" all "$B/$n" &&
			cp "$BEFORE/$B/$n" "$B/$n-before"; } >"$LOG/build-$n-before.log" 2>&1 ||
			log "build of $n from $BEFORE failed (see $LOG/build-$n-before.log)"
	done
fi

# Leftovers of an interrupted run: our own pin directories (bench_sustain
# has its own) and their kload.
cleanup() {
	local p d
	for p in $(pgrep -f -- "--pin-dir $PIN" 2>/dev/null); do
		[ "$p" != $$ ] && kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for d in "$PIN" "$PIN-sustain"; do
		[ -x build/kload ] && build/kload detach --pin-dir "$d" >/dev/null 2>&1
		rm -rf "$d" 2>/dev/null
	done
	return 0
}
cleanup
trap cleanup EXIT

# ---- run ----
run() { # key timeout name args...
	local key=$1 t=$2 n=$3; shift 3
	local out="$OUT/$key.results" t0=$(date +%s)
	if [ ! -x "$B/$n" ]; then
		fail_line "$key.build" "$n" "$n did not build: $(tail -3 "$LOG/build-$n.log" 2>/dev/null)" "$out"
		return
	fi
	log "$key: $B/$n $* (at most ${t}s)"
	timeout --signal=TERM --kill-after=10 "$t" "$B/$n" "$@" >>"$out" 2>"$LOG/$key.log"
	local rc=$?
	if [ $rc -ne 0 ]; then
		log "$key: exit $rc (see $LOG/$key.log)"
		fail_line "$key.exit" "$n $*" "exited with status $rc$([ $rc = 124 ] && echo ' (time limit)'): $(tail -2 "$LOG/$key.log")" "$out"
	fi
	log "$key: done in $(( $(date +%s) - t0 ))s"
}

if [ $QUICK = 1 ]; then
	DFA_ARGS="--patterns 10,1000,10000 --payloads 0,64,1500 --reps 5 --cold 15"
	DFA_IDS_ARGS="--reps 5 --cold 15"
	HOST_ARGS="--rules 10,1000 --execs 150 --opens 20000 --rounds 3 --ovh-opens 60000 --ovh-execs 100"
	NFA_ARGS="--events 200000"
	REPLAY_ARGS="--events 50000 --reps 2"
	MEM_ARGS="--reps 2"
	HASH_ARGS="--reps 3 --repeat 5000"
	SUSTAIN_ARGS="--secs 2"
else
	DFA_ARGS=""
	DFA_IDS_ARGS=""
	HOST_ARGS="--rounds 5"
	NFA_ARGS=""
	REPLAY_ARGS="--events 200000 --reps 3"
	MEM_ARGS="--reps 3"
	HASH_ARGS=""
	SUSTAIN_ARGS=""
fi

want dfa && run dfa 400 bench_dfa $DFA_ARGS
# realistic IDS content strings: Debian's sagan-rules (bench/ids-patterns.py)
if want dfa; then
	if bench/ids-patterns.py >"$DATA/ids-patterns.txt" 2>"$LOG/ids-patterns.log"; then
		run dfa-ids 300 bench_dfa --patterns-file "$DATA/ids-patterns.txt" --set-name ids \
			--payloads 0,1500 $DFA_IDS_ARGS
	else
		fail_line dfa.ids.patterns "IDS content strings" "$(tail -1 "$LOG/ids-patterns.log")" "$OUT/dfa-ids.results"
	fi
fi
# the fixed cost per packet of ks_xdp_main, and BPF_PROG_TEST_RUN's own
want xdp && run xdp 120 bench_xdp
want host && run host 240 bench_host --kload build/kload --dir "$DATA" $HOST_ARGS
# The earlier tree right after this one's, then the ratios.
before() { # key timeout name args...
	local key=$1; shift
	[ -n "$BEFORE" ] || return 0
	run "$key-before" "$@"
	[ -s "$OUT/$key-before.results" ] &&
		bench/before-after.py "$OUT/$key.results" "$OUT/$key-before.results" "$BEFORE"
	rm -f "$OUT/$key-before.results"
}
want nfa && run nfa 90 bench_nfa $NFA_ARGS
want nfa && before nfa 90 bench_nfa-before $NFA_ARGS
want replay && run replay 150 bench_replay --kload build/kload --dir "$DATA" $REPLAY_ARGS
want replay && before replay 150 bench_replay-before --kload "$BEFORE/build/kload" --dir "$DATA" \
	$REPLAY_ARGS
want mem && run mem 120 bench_mem --kload build/kload --dir "$DATA" $MEM_ARGS
want mem && before mem 120 bench_mem-before --kload "$BEFORE/build/kload" --dir "$DATA" $MEM_ARGS
want systp && run systp 60 bench_systp
want hash && run hash 90 bench_hash $HASH_ARGS
# an open/close storm on every CPU under kload attach: rates, drops, and
# every event accounted for (exit 1 when not)
want sustain && run sustain 150 bench_sustain --kload build/kload $SUSTAIN_ARGS

# ---- profiles: where the time goes for the figures with targets ----
# No hardware PMU in these VMs: perf samples the cpu-clock software event;
# BPF programs show up as bpf_prog_<tag>_<function>.
profile() { # name seconds command...
	local name=$1 t=$2; shift 2
	local f="bench/profile/$name.txt" data="$B/perf-$name.data"
	{
		echo "# profile: $name"
		echo "# command: $*"
		echo "# perf record -e cpu-clock (no hardware counters here), $(date -u +%FT%TZ)"
		echo
	} >"$f"
	if ! timeout --kill-after=10 "$t" perf record -q -e cpu-clock -F 4999 -g -o "$data" -- "$@" \
		>/dev/null 2>>"$LOG/profile-$name.log"; then
		echo "(perf record failed or timed out: see $LOG/profile-$name.log)" >>"$f"
	fi
	echo "## self time by symbol (top 30)" >>"$f"
	perf report -i "$data" --no-children -g none --sort comm,dso,sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -30 >>"$f"
	echo >>"$f"
	echo "## BPF programs only (share of all samples)" >>"$f"
	perf report -i "$data" --no-children -g none --sort sym --stdio 2>/dev/null |
		grep -E '^ +[0-9].*bpf_prog_' | head -15 >>"$f"
	rm -f "$data" "$data.old"
}

if [ $PROFILE = 1 ] && command -v perf >/dev/null 2>&1; then
	log "profiles (perf, cpu-clock) -> bench/profile/"
	want dfa && [ -x $B/bench_dfa ] && profile dfa-kernel-p1000-b1500 60 \
		$B/bench_dfa --patterns 1000 --payloads 0,1500 --engines kernel --reps 25 --warm-ms 40 --cold 1
	want host && [ -x $B/bench_host ] && profile host-exec-r1000 90 \
		$B/bench_host --part hist --rules 1000 --execs 300 --opens 20000
	want nfa && [ -x $B/bench_nfa ] && profile nfa-mixed 60 $B/bench_nfa --events 100000
	want replay && [ -x build/kload ] && ls "$DATA"/replay-events-*0000.jsonl >/dev/null 2>&1 &&
		profile replay-cli 60 build/kload replay --lenient \
			--events "$(ls "$DATA"/replay-events-*0000.jsonl | head -1)" "$DATA/replay-rules-1000.yml"
	# the same two from the --before tree, to see what moved
	want nfa && [ -x $B/bench_nfa-before ] &&
		profile nfa-mixed-before 60 $B/bench_nfa-before --events 100000
	want replay && [ -n "$BEFORE" ] && [ -x "$BEFORE/build/kload" ] &&
		ls "$DATA"/replay-events-*0000.jsonl >/dev/null 2>&1 &&
		profile replay-cli-before 60 "$BEFORE/build/kload" replay --lenient \
			--events "$(ls "$DATA"/replay-events-*0000.jsonl | head -1)" "$DATA/replay-rules-1000.yml"
	want mem && [ -x build/kload ] && [ -f "$DATA/mem-rules-a-1000.yml" ] &&
		profile kload-attach 60 sh -c "build/kload -v attach --pin-dir $PIN --detach-on-exit \
--alerts /dev/null --entities 65536 $DATA/mem-rules-a-1000.yml 2>$LOG/profile-attach.err & p=\$!; \
for i in \$(seq 200); do grep -q attached $LOG/profile-attach.err && break; sleep 0.05; done; \
sleep 0.5; kill -TERM \$p; wait \$p"
	# kload compile of bench_mem's set A (mem.compile_ms's rules), with its page faults
	want mem && [ -x build/kload ] && [ -f "$DATA/mem-rules-a-1000.yml" ] &&
		bench/profile-compile.sh compile 10 "$DATA/mem-rules-a-1000.yml" >/dev/null \
			2>>"$LOG/profile-compile.log"
	# the attach process over ten .kbin reloads (bench_mem's files)
	want mem && [ -x build/kload ] && [ -f "$DATA/mem-rules-b-1000.kbin" ] &&
		bench/profile-reload.sh reload-kbin 10 "$DATA" >/dev/null 2>>"$LOG/profile-reload.log"
fi

# ---- report ----
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MACHINE="Linux $(uname -r), $(nproc) CPUs ($CPU), $(date -u +%Y-%m-%d)$([ $QUICK = 1 ] && echo ', --quick')"
"$B/report" bench/results.json bench/PERFORMANCE.md "$MACHINE" "$OUT"/*.results
rc=$?
log "wrote bench/results.json and bench/PERFORMANCE.md in $(( $(date +%s) - START ))s"
exit $rc
