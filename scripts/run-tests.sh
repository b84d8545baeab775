#!/bin/sh
# Run Kestrel's tests and print one closing line: "N passed, N failed, N skipped".
#   unit      cmocka binaries in build/tests/, scripts/layers.py (the
#             compiler's files call and include in layers, without circles),
#             scripts/funclen.py (no C function over 80 lines)
#             and the share of each public rule corpus that compiles
#             against its floor (corpus-rate.sh)
#   san       the same unit tests built with ASan/UBSan (build/san/tests/),
#             and every fuzz target over its seed corpus (tests/fuzz/corpus/)
#   proofs    tests/corpus-proofs/run.sh: corpus rules against a positive
#             and a near-miss event fixture each, through `kload test`
#             (BPF_PROG_TEST_RUN, root)
#   selftest  build/selftests/test_progs on this kernel (real BPF, root)
#   e2e       selftests/e2e.sh: the kload binary end to end (root)
#   outputs   selftests/outputs.sh: alert outputs against real rsyslogd,
#             nats-server (JetStream) and systemd-journald, started there
#   package   selftests/package.sh: systemd-analyze verify on the unit, bash
#             completion, the .deb in a bare Debian 12 root
#   vm        the same selftests, statically linked, in Debian's 6.1 kernel
#             under qemu with BPF LSM (selftests/vm/run-vm.sh)
# Usage: run-tests.sh [--only unit|san|proofs|selftest|e2e|outputs|package|vm]
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
only=""
[ "${1:-}" = "--only" ] && only=${2:-}

pass=0 fail=0 skip=0 status=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

add() { # passed failed skipped
	pass=$((pass + $1)); fail=$((fail + $2)); skip=$((skip + $3))
	[ "$2" -eq 0 ] || status=1
}

# Counts from a test_progs log: its closing "N passed, N failed, N skipped".
progs_counts() {
	sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1 \2 \3/p' "$1" | tail -n 1
}

if want unit; then
	echo "== unit tests (cmocka)"
	for t in "$B"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		"$t" >"$log/$name" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/$name" | tail -n 1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/$name" | tail -n 1)
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log/$name" | tail -n 1)
		p=${p:-0} f=${f:-0} s=${s:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1	# crashed before its summary
		fi
		printf '  %-28s %3s passed, %s failed, %s skipped\n' "$name" "$p" "$f" "$s"
		if [ "$f" -ne 0 ]; then
			sed 's/^/    | /' "$log/$name" | grep -v '^    | \[       OK \]\|RUN  ' | tail -n 40
		fi
		add "$p" "$f" "$s"
	done
	# the compiler's layers: no circle of calls or includes; no function
	# over 80 lines outside bench/ and tests/ (issue 10)
	for c in "layers.py $B" funclen.py; do
		if scripts/$c >"$log/check" 2>&1; then
			add 1 0 0
		else
			add 0 1 0
		fi
		sed 's/^/  /' "$log/check"
	done
fi

if want san; then
	echo "== unit tests under ASan/UBSan, fuzz corpora"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	sp=0 sf=0
	for t in "$B"/san/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		if "$t" >"$log/san-$name" 2>&1; then
			sp=$((sp + 1))
		else
			sf=$((sf + 1))
			echo "  FAIL $name under ASan/UBSan"
			grep -v '^\[       OK \]\|RUN  ' "$log/san-$name" | tail -n 40 | sed 's/^/    | /'
		fi
	done
	echo "  $sp sanitized unit binaries passed, $sf failed"
	add "$sp" "$sf" 0
	scripts/fuzz.sh --regress "$B"/san/fuzz >"$log/fuzz" 2>&1
	sed 's/^/  /' "$log/fuzz"
	set -- $(progs_counts "$log/fuzz")
	if [ $# -eq 3 ]; then add "$1" "$2" "$3"; else add 0 1 0; fi
fi

# A test program or script that closes with "N passed, N failed, N skipped".
run_counted() { # name title command...
	name=$1 title=$2
	shift 2
	echo "== $title"
	"$@" >"$log/$name" 2>&1
	rc=$?
	sed 's/^/  /' "$log/$name"
	set -- $(progs_counts "$log/$name")
	if [ $# -eq 3 ]; then add "$1" "$2" "$3"; else add 0 1 0; fi
	[ "$rc" -eq 0 ] || status=1
}

want unit && run_counted corpus "rule corpus rates (scripts/corpus-rate.sh --check, tests/corpus-floors)" \
	scripts/corpus-rate.sh --check
want proofs && run_counted proofs "corpus rules proven on events (tests/corpus-proofs/run.sh, kload test)" \
	tests/corpus-proofs/run.sh
want selftest && run_counted selftest "selftests on this kernel ($(uname -r))" "$B"/selftests/test_progs
want e2e && run_counted e2e "kload end to end on this kernel" selftests/e2e.sh
want outputs && run_counted outputs "alert outputs against real servers" selftests/outputs.sh
want package && run_counted package "service and package" selftests/package.sh

if want vm; then
	echo "== selftests in the 6.1 VM (qemu, lsm=...,bpf)"
	# Under TCG on a loaded 2-CPU machine, verifying every engine load of the
	# suite (lsm, signal, forced tracepoint sources) takes 5-10 minutes, more
	# than run-vm.sh's default 600 s at worst; CI's budget is 90 minutes.
	selftests/vm/run-vm.sh --timeout "${KS_VM_TIMEOUT:-1800}" --add rules:/rules \
		"$B"/selftests/test_progs-static >"$log/vm" 2>&1
	rc=$?
	sed 's/^/  /' "$log/vm" | grep -v '^  *$'
	set -- $(progs_counts "$log/vm")
	if [ $# -eq 3 ]; then
		add "$1" "$2" "$3"
		[ "$rc" -eq 0 ] || status=1
	elif [ "$rc" -eq 3 ]; then
		echo "  VM selftests skipped: the VM cannot run here (see above)"
		add 0 0 1
	else
		add 0 1 0
	fi
fi

echo "$pass passed, $fail failed, $skip skipped"
exit $status
