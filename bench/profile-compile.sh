#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Where `kload compile` of a rule set spends its time: perf record
# (cpu-clock, DWARF call graphs: the build has no frame pointers) of N
# runs of `KLOAD compile -o /tmp/profile-compile.kbin RULES`, then the
# time by symbol, children included (what each stage costs with what it
# calls) and self, then the page faults of one run by symbol, into
# bench/profile/NAME.txt. The rule set of the
# mem.compile_ms figure is bench_mem's (bench/run.sh --only mem writes it
# as DIR/mem-rules-a-1000.yml).
#
#   bench/profile-compile.sh NAME [N] [RULES] [KLOAD]
set -u
cd "$(dirname "$0")/.." || exit
NAME=$1 N=${2:-10} RULES=${3:-build/bench/data/mem-rules-a-1000.yml} K=${4:-build/kload}
COMM=$(basename "$K" | cut -c1-15)	# the kernel's comm: 15 characters
OUT=bench/profile/$NAME.txt
DATA=build/bench/perf-$NAME.data
mkdir -p build/bench
# shellcheck disable=SC2016
perf record -q -e cpu-clock -F 2999 --call-graph dwarf,16384 -o "$DATA" -- \
	bash -c 'for _ in $(seq "$1"); do "$2" compile -q -o /tmp/profile-compile.kbin "$3" >/dev/null; done' \
	_ "$N" "$K" "$RULES" 2>/dev/null
{
	echo "# profile: $NAME ($(git rev-parse --short HEAD 2>/dev/null))"
	echo "# command: bench/profile-compile.sh $*"
	echo "# perf record -e cpu-clock --call-graph dwarf over $N \`$K compile -q -o /tmp/profile-compile.kbin $RULES\`,"
	echo "# $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	perf report -i "$DATA" --stdio --comm "$COMM" --sort comm 2>/dev/null |
		grep -E '^# (Samples|Event count)'
	echo
	echo "## $COMM: time by symbol, children included (top 60)"
	perf report -i "$DATA" --comm "$COMM" --children -g none --sort sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -60
	echo
	echo "## $COMM: self time by symbol (top 40)"
	perf report -i "$DATA" --comm "$COMM" --no-children -g none --sort dso,sym --stdio \
		2>/dev/null | grep -E '^ +[0-9]' | head -40
	# one run again, every page fault a sample: where fresh memory is touched
	perf record -q -e page-faults -c 1 --call-graph dwarf,8192 -o "$DATA" -- \
		"$K" compile -q -o /tmp/profile-compile.kbin "$RULES" >/dev/null 2>&1
	echo
	perf report -i "$DATA" --stdio --sort comm 2>/dev/null | grep -E '^# (Samples|Event count)'
	echo "## page faults of one run by symbol, children included (top 30)"
	perf report -i "$DATA" --children -g none --sort sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -30
} >"$OUT"
rm -f "$DATA" "$DATA.old" /tmp/profile-compile.kbin
echo "wrote $OUT"
