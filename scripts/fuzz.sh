#!/bin/sh
# Run the libFuzzer targets built by `make san-build` (build/san/fuzz/).
#   fuzz.sh --regress DIR       every target once over its seed corpus
#                               (tests/fuzz/corpus/NAME): a regression check
#   fuzz.sh --seconds N DIR     fuzz each target for N seconds, new inputs
#                               in build/fuzz-corpus/NAME (the seeds stay as
#                               they are); crashes are written to
#                               build/fuzz-crashes/NAME/ and fail the run
# Prints one line per target and "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
mode=$1 secs=0
[ "$mode" = "--seconds" ] && { secs=$2; shift; }
shift
dir=$1
pass=0 fail=0

# The seeds named seed* must be accepted, not only survive: fuzz_kbin's are
# compiled tables, and tables of an older layout would leave the fuzzer
# exploring their rejection alone (tests/fuzz/kbin_seed.py --refresh).
must_load()
{
	for s in "$2"/seed*; do
		[ -f "$s" ] || continue
		why=$(KS_FUZZ_MUST_LOAD=1 "$1" -runs=0 "$s" 2>&1 |
			grep -a -m1 '^fuzz\.kbin: ') || continue
		echo "ERROR: $s no longer loads: ${why#fuzz.kbin: }" \
			"(tests/fuzz/kbin_seed.py --refresh)"
		return 1
	done
}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	log=$(mktemp)
	if [ "$mode" = "--regress" ]; then
		"$bin" -runs=0 "$seeds" >"$log" 2>&1 &&
			must_load "$bin" "$seeds" >>"$log" 2>&1
	else
		mkdir -p "build/fuzz-corpus/$name" "build/fuzz-crashes/$name"
		"$bin" -max_total_time="$secs" -print_final_stats=1 \
			-artifact_prefix="build/fuzz-crashes/$name/" \
			"build/fuzz-corpus/$name" "$seeds" >"$log" 2>&1
	fi
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$log" | tail -n1)
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		printf '  ok   fuzz_%-12s execs=%s cov=%s\n' "$name" "${execs:--}" "${cov:--}"
	else
		fail=$((fail + 1))
		printf '  FAIL fuzz_%-12s exit %s\n' "$name" "$rc"
		grep -m 30 -A 25 'ERROR:\|runtime error' "$log" | sed 's/^/       | /'
	fi
	rm -f "$log"
done
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
