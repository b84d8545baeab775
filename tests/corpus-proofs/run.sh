#!/bin/sh
# Corpus rules proven on events, not only compiled (issue 13): for every
# tests/corpus-proofs/CORPUS/NAME.pos.jsonl, the corpus rule
# CORPUS/NAME.toml (or NAME.yml in any directory of CORPUS) of
# ../shared/corpus is run through
# `kload test` (BPF_PROG_TEST_RUN and the userspace NFA, as `kload replay`):
#   NAME.pos.jsonl must raise exactly the alert of NAME.pos.alerts.jsonl
#   (one alert, of that rule), and NAME.neg.jsonl, its near miss, none.
# Also checks there are at least 25 proofs, 8 of them sequences.
# A corpus that is not there (the repository's sibling ../shared/corpus,
# or /work/shared/corpus, as scripts/corpus-rate.sh finds it) is skipped;
# so is everything when kload cannot run BPF here (exit 3: not root).
# Closes with "N passed, N failed, N skipped".
#   run.sh            check every proof
#   run.sh --regen    rewrite the NAME.pos.alerts.jsonl files from
#                     `kload replay` (after a change to the alerts'
#                     format), refusing any that is not one alert of its rule
# KLOAD overrides build/kload.
set -u
cd "$(dirname "$0")/../.."
KLOAD=${KLOAD:-build/kload}
HERE=tests/corpus-proofs
MIN_RULES=25 MIN_SEQUENCES=8
regen=0
[ "${1:-}" = "--regen" ] && regen=1
[ -x "$KLOAD" ] || { echo "corpus-proofs: $KLOAD not built (make)" >&2; exit 2; }

pass=0 fail=0 skip=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

corpus_dir() {
	for d in "../shared/corpus/$1" "/work/shared/corpus/$1"; do
		[ -d "$d" ] && { echo "$d"; return; }
	done
}

# The rule NAME of a corpus: NAME.toml, .yml or .yaml, in any of its
# directories (Sigma's are by log source).
rule_file() { # corpus-dir name
	find "$1" -type f \( -name "$2.toml" -o -name "$2.yml" -o -name "$2.yaml" \) | sort | head -n 1
}

# The one alert of rule id $2 in file $1: exactly one line, of that rule.
one_alert_of() {
	[ -f "$1" ] && [ "$(grep -c . "$1")" -eq 1 ] &&
		grep -q "\"rule\":{.*\"id\":\"$2\"" "$1"
}

# kload test; exit 3 (no BPF here) is a skip. Prints why on failure.
ktest() { # label rule events expect
	"$KLOAD" test "$2" --events "$3" --expect "$4" >"$out/test" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
	elif [ $rc -eq 3 ]; then
		[ $skip -eq 0 ] && sed 's/^/  skip: /' "$out/test"	# said once
		skip=$((skip + 1))
	else
		fail=$((fail + 1)); echo "  FAIL $1 (kload test exit $rc)"
		sed 's/^/       | /' "$out/test" | cut -c1-400 | tail -n 12
	fi
}

regen_one() { # rule id pos expect
	"$KLOAD" replay --events "$3" "$1" >"$out/alerts" 2>"$out/err"
	if [ $? -eq 0 ] && one_alert_of "$out/alerts" "$2"; then
		cp "$out/alerts" "$4"; pass=$((pass + 1)); echo "  wrote $4"
	else
		fail=$((fail + 1)); echo "  FAIL $2: its positive does not raise one alert of $2"
		cat "$out/err" "$out/alerts" | cut -c1-400 | sed 's/^/       | /' | tail -n 8
	fi
}

prove() { # corpus-dir pos-fixture
	name=$(basename "$2" .pos.jsonl)
	base=${2%.pos.jsonl}
	rule=$(rule_file "$1" "$name")
	if [ -z "$rule" ]; then
		fail=$((fail + 2)); echo "  FAIL $name: no rule $name.{toml,yml,yaml} under $1"
		return
	fi
	rules=$((rules + 1))
	# the rule's id in alerts (a Sigma rule's is sigma.ID) and its shape
	"$KLOAD" compile --explain "$rule" >"$out/explain" 2>&1
	id=$(sed -n '1s/^rule \([^ ]*\) (.*/\1/p' "$out/explain")
	grep -q '^  sequence of' "$out/explain" && sequences=$((sequences + 1))
	if [ $regen -eq 1 ]; then
		regen_one "$rule" "$id" "$2" "$base.pos.alerts.jsonl"
		return
	fi
	if [ ! -f "$base.neg.jsonl" ] || ! one_alert_of "$base.pos.alerts.jsonl" "$id"; then
		fail=$((fail + 2))
		echo "  FAIL $name: needs $base.neg.jsonl and one alert of rule ${id:-?} in $base.pos.alerts.jsonl"
		return
	fi
	ktest "$name: alerts on its positive" "$rule" "$2" "$base.pos.alerts.jsonl"
	ktest "$name: silent on its near miss" "$rule" "$base.neg.jsonl" /dev/null
}

rules=0 sequences=0
for cdir in "$HERE"/*/; do
	corpus=$(basename "$cdir")
	dir=$(corpus_dir "$corpus")
	n=$(ls "$cdir" | grep -c '\.pos\.jsonl$')
	if [ -z "$dir" ]; then
		echo "$corpus: corpus not found (../shared/corpus/$corpus, /work/shared/corpus/$corpus): $n proofs skipped"
		skip=$((skip + 2 * n))
		continue
	fi
	before=$fail
	for pos in "$cdir"*.pos.jsonl; do
		prove "$dir" "$pos"
	done
	echo "$corpus: $n proofs, rules from $dir ($((fail - before)) failed)"
done
if [ $regen -eq 0 ] && [ $rules -gt 0 ]; then
	if [ $rules -ge $MIN_RULES ] && [ $sequences -ge $MIN_SEQUENCES ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
	echo "$rules rules with proofs, $sequences of them sequences (at least $MIN_RULES and $MIN_SEQUENCES)"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
