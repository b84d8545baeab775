#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Where a `kload reload FILE.kbin` spends the attach process's CPU: a
# `kload attach` of rules A (1,000 rules, bench_mem's), perf record
# (cpu-clock, call graphs) of that process only while N reloads alternate
# the .kbin files of rule sets B and A, then the self time by symbol into
# bench/profile/NAME.txt. Run as root, under the tests' lock, after
# bench_mem wrote its rule files into DIR (bench/run.sh --only mem).
#
#   bench/profile-reload.sh NAME [N] [DIR] [KLOAD]
set -u
cd "$(dirname "$0")/.."
NAME=$1 N=${2:-10} DIR=${3:-build/bench/data} K=${4:-build/kload}
PIN=/sys/fs/bpf/kestrel-profile
OUT=bench/profile/$NAME.txt
DATA=build/bench/perf-$NAME.data
ERR=build/bench/logs/profile-$NAME.err
mkdir -p build/bench/logs

"$K" detach --pin-dir $PIN >/dev/null 2>&1
"$K" attach --pin-dir $PIN --detach-on-exit --alerts /dev/null --entities 65536 \
	"$DIR/mem-rules-a-1000.yml" 2>"$ERR" &
P=$!
for _ in $(seq 600); do grep -q 'kload: attached' "$ERR" && break; sleep 0.05; done
perf record -q -e cpu-clock -F 4999 -g -o "$DATA" -p $P 2>>"$ERR" &
PP=$!
sleep 0.5
for i in $(seq "$N"); do
	f=$DIR/mem-rules-b-1000.kbin
	[ $((i % 2)) = 0 ] && f=$DIR/mem-rules-a-1000.kbin
	"$K" reload --pin-dir $PIN "$f" >/dev/null 2>>"$ERR"
done
kill -INT $PP; wait $PP
kill -TERM $P; wait $P
{
	echo "# profile: $NAME ($(git rev-parse --short HEAD 2>/dev/null))"
	echo "# command: bench/profile-reload.sh $*"
	echo "# perf record -e cpu-clock -g -p (the attach process) over $N kload reload FILE.kbin,"
	echo "# $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	perf report -i "$DATA" --stdio --sort comm 2>/dev/null | grep -E '^# (Samples|Event count)'
	echo
	echo "## self time by symbol (top 40)"
	perf report -i "$DATA" --no-children -g none --sort dso,sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -40
} >"$OUT"
rm -f "$DATA" "$DATA.old"
echo "wrote $OUT"
