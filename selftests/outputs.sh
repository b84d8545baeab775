#!/bin/bash
# kload's alert outputs against the real servers, started here (root):
# a private rsyslogd (imtcp, imudp, imuxsock on its own socket, to a file;
# its own config, pid file and socket, never the system's), a private
# nats-server with JetStream (a temporary store, a private port, read back
# with build/tools/ks_jetstream), and a private systemd-journald in a mount
# namespace of its own (skipped, with the reason, where that cannot run).
#
# Alerts come from `kload replay --output`, which drives the very fan-out
# and output threads `kload attach` uses, with an exact number of alerts;
# selftests/e2e.sh sends a live alert through `kload attach --output`.
# Ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
KLOAD=${KLOAD:-build/kload}
JS=${JS:-build/tools/ks_jetstream}
W=$(mktemp -d /tmp/ks-outputs.XXXXXX)
pass=0 fail=0 skip=0
# private ports, apart for concurrent runs
BASE=$((40000 + ($$ % 5000) * 4))
TCP=$BASE UDP=$((BASE + 1)) NATS=$((BASE + 2))
N=2000

ok()   { pass=$((pass + 1)); echo "  ok   $1"; }
bad()  { fail=$((fail + 1)); echo "  FAIL $1"; [ -n "${2:-}" ] && sed 's/^/       | /' "$2" | tail -n 20; }
skp()  { skip=$((skip + 1)); echo "  skip $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

cleanup() {
	[ -n "${KPID:-}" ] && kill -TERM "$KPID" 2>/dev/null
	[ -e "$W/rsyslog.pid" ] && kill "$(cat "$W/rsyslog.pid")" 2>/dev/null
	[ -e "$W/nats.pid" ] && kill "$(cat "$W/nats.pid")" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# until: a command succeeds (at most 10 s)
until_ok() { # command [tenths of a second, default 100]
	for _ in $(seq 1 "${2:-100}"); do
		eval "$1" && return 0
		sleep 0.1
	done
	return 1
}
listening() { ss -Hln${2:-t} "sport = :$1" | grep -q .; }	# port [t|u]

# N exec events from /tmp: one alert each from the rule below
cat >"$W/rules.yml" <<'EOF'
- rule: out_tmp_exec
  name: exec from /tmp (outputs test)
  severity: high
  tags: [attack.t1204]
  query: |
    process where event.action == "exec" and process.executable : "/tmp/*"
EOF
events() { # count [first]
	awk -v n="$1" -v f="${2:-0}" 'BEGIN { for (i = f; i < f + n; i++)
		printf "{\"@timestamp\":\"2026-01-02T03:04:05.%09dZ\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"host\":{\"name\":\"h1\"},\"process\":{\"pid\":%d,\"entity_id\":\"%d-1\",\"name\":\"x\",\"executable\":\"/tmp/x%d\",\"args\":[\"/tmp/x\"],\"args_count\":1},\"user\":{\"id\":0}}\n", i, 1000 + i, 1000 + i, i }'
}
events "$N" >"$W/events.jsonl"
# replay evaluates up to KS_REPLAY_BATCH (128) of these small events per test
# run: halves of 8 runs go out whole
HALF=1024

# "sent S, delivered D, queued Q, lost write=.. ..." -> sent, delivered, lost
summary() { # file output-name
	set -- $(grep -F "output $2: sent" "$1" | sed 's/.*sent \([0-9]*\), delivered \([0-9]*\), queued \([0-9]*\), lost write=\([0-9]*\) encode=\([0-9]*\) queue_full=\([0-9]*\) shutdown=\([0-9]*\).*/\1 \2 \3 \4 \5 \6 \7/')
	sent=${1:--1} delivered=${2:--1} lost=$(( ${3:-0} + ${4:-0} + ${5:-0} + ${6:-0} + ${7:-0} ))
}

# A stream of 2 x HALF events on stdin with RESTART run between the halves
# (while the output is mid-stream), then "replay --output URI" summary in $W/out.
stream_restart() { # uri restart-command
	{ events $HALF; sleep 0.2; eval "$2"; events $HALF $HALF; } |
		"$KLOAD" replay --events - --output "$1" "$W/rules.yml" >"$W/out" 2>&1
	rc=$?
}
# The old rsyslogd must be gone, not only its listener: one that is still
# shutting down keeps the accepted connection open (kload's writes land in
# it unread) and its pid file (the new one refuses to start).
restart_rsyslog() {
	local pid
	pid=$(cat "$W/rsyslog.pid")
	kill "$pid"
	until_ok "! kill -0 $pid 2>/dev/null" 300
	rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" >>"$W/rsyslog.log" 2>&1 &
}
restart_nats() { # seconds away
	kill "$(cat "$W/nats.pid")"
	sleep "$1"
	nats-server -js -sd "$W/nats" -a 127.0.0.1 -p "$NATS" -P "$W/nats.pid" >>"$W/nats.log" 2>&1 &
}

echo "== alert outputs against real servers ($($KLOAD --version))"

# ---- rsyslogd: TCP (octet counting), UDP, local socket
# UDP has no flow control: a receiver that falls behind drops datagrams in
# its socket buffer, unseen by the sender; rsyslogd gets room for the burst.
cat >"$W/rsyslog.conf" <<EOF
global(workDirectory="$W" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$W/log.sock" RateLimit.Interval="0")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$UDP" rcvbufSize="16m")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$TCP")
template(name="kestrel" type="string" string="%inputname% %pri-text% %app-name% %msgid% %msg%\n")
if \$app-name == "kestrel" then action(type="omfile" file="$W/syslog.out" template="kestrel")
EOF
rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" >"$W/rsyslog.log" 2>&1 &
if until_ok "[ -S $W/log.sock ] && listening $TCP && listening $UDP u"; then
	"$KLOAD" replay --events "$W/events.jsonl" --output "syslog+tcp://127.0.0.1:$TCP" \
		--output "syslog+udp://127.0.0.1:$UDP" --output "syslog:$W/log.sock" \
		--output "file:$W/alerts.jsonl" "$W/rules.yml" >"$W/out" 2>&1
	rc=$?
	cnt() { grep -c "^$1 authpriv.err kestrel [-a-z]*  *{\"@timestamp\".*\"id\":\"out_tmp_exec\"" "$W/syslog.out"; }
	until_ok "[ \$(cnt imtcp) -ge $N ] && [ \$(cnt imudp) -ge $N ] && [ \$(cnt imuxsock) -ge $N ]"
	check "replay exit 0, every output: sent $N = delivered $N" \
		"[ $rc -eq 0 ] && [ \$(grep -c 'sent $N, delivered $N, queued 0' $W/out) -eq 4 ]" "$W/out"
	check "rsyslogd imtcp (RFC 5424, octet counting): all $N alerts, the very JSON lines of file:" \
		"[ \$(cnt imtcp) -eq $N ] && grep '^imtcp' $W/syslog.out | cut -d' ' -f5- | cmp -s - $W/alerts.jsonl"
	check "rsyslogd imudp: all $N alerts" "[ \$(cnt imudp) -eq $N ]" "$W/syslog.out"
	check "rsyslogd imuxsock (local socket): all $N alerts" "[ \$(cnt imuxsock) -eq $N ]" "$W/syslog.out"

	# a TCP server restart in the middle of a stream: reconnect, nothing lost
	: >"$W/syslog.out"
	stream_restart "syslog+tcp://127.0.0.1:$TCP" restart_rsyslog
	summary "$W/out" "syslog+tcp://127.0.0.1:$TCP"
	until_ok "[ \$(cnt imtcp) -ge $delivered ]"
	check "syslog+tcp across an rsyslogd restart: sent $sent = delivered $delivered + lost $lost, $(cnt imtcp) received, reconnected" \
		"[ $sent -eq $((2 * HALF)) ] && [ $sent -eq $((delivered + lost)) ] && [ $lost -eq 0 ] && [ \$(cnt imtcp) -eq $delivered ] && grep -q 'errors connect=[0-9]* write=[0-9]* ack=0 closed=[1-9]' $W/out" "$W/out"
else
	bad "rsyslogd did not start" "$W/rsyslog.log"
fi

# ---- nats-server with JetStream
nats-server -js -sd "$W/nats" -a 127.0.0.1 -p "$NATS" -P "$W/nats.pid" >"$W/nats.log" 2>&1 &
if until_ok "listening $NATS" && "$JS" "nats://127.0.0.1:$NATS" add KESTREL kestrel.alerts >"$W/js.log" 2>&1; then
	URL="nats://127.0.0.1:$NATS/kestrel.alerts"
	"$KLOAD" replay --events "$W/events.jsonl" --output "$URL" "$W/rules.yml" >"$W/out" 2>&1
	rc=$?
	"$JS" "nats://127.0.0.1:$NATS" read KESTREL kestrel.alerts >"$W/stream.jsonl" 2>"$W/js.log"
	check "nats: every alert acknowledged (sent $N = delivered $N)" \
		"[ $rc -eq 0 ] && grep -q 'sent $N, delivered $N, queued 0' $W/out" "$W/out"
	check "nats: the stream holds the $N alerts, each with its Kestrel-Rule-Id header" \
		"grep -q '^messages $N, rule header mismatches 0' $W/js.log && [ \$(grep -c '\"id\":\"out_tmp_exec\"' $W/stream.jsonl) -eq $N ]" "$W/js.log"

	# restarts in the middle of a stream: with the default queue nothing is
	# lost; with a queue too small to wait the server out, what could not
	# wait is counted, and the stream holds exactly what was acknowledged
	for q in 10000 300; do
		stream_restart "$URL?queue=$q" "restart_nats 0.5"
		summary "$W/out" "$URL"
		"$JS" "nats://127.0.0.1:$NATS" read KESTREL kestrel.alerts >"$W/stream.jsonl" 2>"$W/js.log"
		stored=$(sed -n 's/^messages \([0-9]*\),.*/\1/p' "$W/js.log")
		if [ $q -eq 300 ]; then want="[ $lost -gt 0 ] && [ $rc -eq 1 ]"; else want="[ $lost -eq 0 ] && [ $rc -eq 0 ]"; fi
		check "nats restart mid-stream, queue $q: sent $sent = delivered $delivered + counted lost $lost; stream got ${stored:-?}" \
			"[ $sent -eq $((2 * HALF)) ] && [ $sent -eq $((delivered + lost)) ] && [ \"${stored:-x}\" = $delivered ] && $want" "$W/out"
	done
else
	bad "nats-server with JetStream did not start" "$W/nats.log"
fi

# ---- kload attach: one live alert to every output at once, and /metrics
PIN=${KS_E2E_PIN:-/sys/fs/bpf/kestrel-e2e}-outputs
TRIG=/tmp/ks_out_trigger_$$
cat >"$W/live.yml" <<EOF
- rule: out_live_exec
  name: the outputs test's trigger ran
  severity: critical
  query: |
    process where event.action == "exec" and process.executable == "$TRIG"
EOF
# outputs, rules and options from a configuration file; the command line
# overrides its pin-dir and metrics (a wrong pin-dir would fail the attach)
cat >"$W/kestrel.yml" <<EOF
pin_dir: /nonexistent/must-be-overridden
metrics: 127.0.0.1:1
detach-on-exit: true
output:
  - file:$W/live.jsonl
  - syslog+tcp://127.0.0.1:$TCP
  - syslog+udp://127.0.0.1:$UDP
  - syslog:$W/log.sock
  - nats://127.0.0.1:$NATS/kestrel.alerts
rules:
  paths: [$W/live.yml]
EOF
# systemd's side of Type=notify: a datagram socket that records what it gets
NOTIFY=
if command -v python3 >/dev/null; then
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
f = open(sys.argv[2], "w")
while True:
	f.write(s.recv(4096).decode() + "\n"); f.flush()' "$W/notify.sock" "$W/notify.log" &
	NOTIFY=$!
	until_ok "[ -S $W/notify.sock ]"
fi
NOTIFY_SOCKET="$W/notify.sock" "$KLOAD" attach --config "$W/kestrel.yml" --pin-dir "$PIN" \
	--metrics "127.0.0.1:$((BASE + 3))" >"$W/attach.log" 2>&1 &
KPID=$!
if until_ok "grep -q 'attached:' $W/attach.log" 600; then	# a loaded host verifies slowly
	cp /bin/true "$TRIG" && "$TRIG"
	live() { grep -c "^$1 authpriv.crit kestrel [-a-z]*  *{.*\"id\":\"out_live_exec\"" "$W/syslog.out"; }
	until_ok "[ \$(live imtcp) -ge 1 ] && [ \$(live imudp) -ge 1 ] && [ \$(live imuxsock) -ge 1 ] && grep -q out_live_exec $W/live.jsonl"
	check "attach --config (outputs, rules; flags override): the live alert reached rsyslogd over TCP, UDP and the local socket" \
		"[ \$(live imtcp) -eq 1 ] && [ \$(live imudp) -eq 1 ] && [ \$(live imuxsock) -eq 1 ]" "$W/attach.log"
	"$JS" "nats://127.0.0.1:$NATS" read KESTREL kestrel.alerts >"$W/stream.jsonl" 2>"$W/js.log"
	check "attach --output: the live alert is in the JetStream stream" \
		"[ \$(grep -c '\"id\":\"out_live_exec\"' $W/stream.jsonl) -eq 1 ]" "$W/js.log"
	sleep 1.2	# the counters are published once a second
	exec 5<>"/dev/tcp/127.0.0.1/$((BASE + 3))" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&5 && cat <&5 >"$W/http.txt"
	exec 5<&-
	sed '1,/^\r*$/d' "$W/http.txt" >"$W/metrics.txt"
	promtool check metrics <"$W/metrics.txt" >"$W/promtool.txt" 2>&1
	check "promtool check metrics accepts GET /metrics" "[ $? -eq 0 ]" "$W/promtool.txt"
	check "metrics: each of the 5 outputs delivered the alert, none lost, queues empty" \
		"[ \$(grep -c '^kestrel_output_alerts_total{output=\".*\"} 1$' $W/metrics.txt) -eq 5 ] && ! grep -q '^kestrel_output_lost_total{.*} [1-9]' $W/metrics.txt && [ \$(grep -c '^kestrel_output_queue_depth{output=\".*\"} 0$' $W/metrics.txt) -eq 5 ]" "$W/metrics.txt"
	mv "$W/live.jsonl" "$W/live.1.jsonl"
	kill -USR1 "$KPID"
	sleep 0.3
	"$TRIG"
	until_ok "grep -q out_live_exec $W/live.jsonl 2>/dev/null"
	check "file: reopened on SIGUSR1 (logrotate): the next alert is in the new file" \
		"[ \$(grep -c out_live_exec $W/live.jsonl) -eq 1 ] && [ \$(grep -c out_live_exec $W/live.1.jsonl) -eq 1 ]" "$W/attach.log"
	# systemctl reload: the rules named by the configuration, read again
	"$KLOAD" reload --config "$W/kestrel.yml" --pin-dir "$PIN" >"$W/out" 2>&1
	check "reload --config: the configuration's rules, handed to the running attach" \
		"[ $? -eq 0 ] && grep -q 'reloaded 1 rules (generation 2)' $W/out" "$W/out"
	if [ -n "$NOTIFY" ]; then
		check "sd_notify: READY=1 once attached, RELOADING=1 then READY=1 on reload" \
			"grep -q '^READY=1' $W/notify.log && grep -q '^RELOADING=1' $W/notify.log && [ \$(grep -c '^READY=1' $W/notify.log) -eq 2 ]" "$W/notify.log"
	else
		skp "sd_notify: no python3 to play systemd's notify socket"
	fi
else
	bad "attach --config with five outputs" "$W/attach.log"
fi
kill -TERM "$KPID" 2>/dev/null
wait "$KPID" 2>/dev/null
KPID=
[ -n "$NOTIFY" ] && kill "$NOTIFY" 2>/dev/null
rm -f "$TRIG"

# ---- journald: a private systemd-journald in its own mount namespace
JD=/lib/systemd/systemd-journald
if [ ! -x "$JD" ] || ! unshare -m true 2>/dev/null; then
	skp "journald: $( [ -x $JD ] && echo 'no mount namespaces here (unshare -m)' || echo "$JD missing")"
else
	cat >"$W/journald.sh" <<EOF
mount --make-rprivate /
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/journal /run/log/journal
$JD >"$W/journald.log" 2>&1 &
JP=\$!
for _ in \$(seq 1 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
"$KLOAD" replay --events "$W/events.jsonl" --output journald: "$W/rules.yml" >"$W/out" 2>&1
echo "rc \$?" >>"$W/out"
sleep 0.5
journalctl -D /run/log/journal -t kestrel KESTREL_RULE_ID=out_tmp_exec PRIORITY=3 -o cat --no-pager >"$W/journal.out"
# and one live alert of kload attach
"$KLOAD" attach --pin-dir "$PIN-journald" --detach-on-exit --output journald: "$W/live.yml" >"$W/jattach.log" 2>&1 &
AP=\$!
for _ in \$(seq 1 600); do grep -q attached: "$W/jattach.log" && break; sleep 0.1; done
cp /bin/true "$TRIG" && "$TRIG"
for _ in \$(seq 1 50); do
	journalctl -D /run/log/journal KESTREL_RULE_ID=out_live_exec -o cat --no-pager | grep -q out_live_exec && break
	sleep 0.1
done
journalctl -D /run/log/journal -t kestrel KESTREL_RULE_ID=out_live_exec PRIORITY=2 -o cat --no-pager >"$W/journal-live.out"
kill -TERM \$AP
wait \$AP
rm -f "$TRIG"
kill \$JP
EOF
	unshare -m sh "$W/journald.sh"
	check "journald: every alert delivered, PRIORITY=3 (high), KESTREL_RULE_ID, MESSAGE the JSON" \
		"grep -q 'rc 0' $W/out && grep -q 'sent $N, delivered $N' $W/out && [ \$(grep -c '^{\"@timestamp\".*\"id\":\"out_tmp_exec\"' $W/journal.out) -eq $N ]" "$W/out"
	check "journald: the live alert of attach --output journald: (PRIORITY=2, critical)" \
		"[ \$(grep -c '\"id\":\"out_live_exec\"' $W/journal-live.out) -eq 1 ]" "$W/jattach.log"
fi

# ---- file: reopened on SIGUSR1 (logrotate), malformed URIs are usage errors
"$KLOAD" replay --events "$W/events.jsonl" --output "bogus://x" "$W/rules.yml" >"$W/out" 2>&1
check "unknown output scheme: exit 2 with the accepted forms" "[ $? -eq 2 ] && grep -q 'syslog+tcp://HOST:PORT' $W/out" "$W/out"
"$KLOAD" replay --events "$W/events.jsonl" --output "nats://127.0.0.1:1/a.*" "$W/rules.yml" >"$W/out" 2>&1
check "nats subject with a wildcard: exit 2" "[ $? -eq 2 ]" "$W/out"
"$KLOAD" replay --events "$W/events.jsonl" --output "syslog+tcp://nohostport" "$W/rules.yml" >"$W/out" 2>&1
check "syslog+tcp without a port: exit 2" "[ $? -eq 2 ]" "$W/out"
"$KLOAD" replay --events "$W/events.jsonl" --output "file:/nonexistent/dir/a.jsonl" "$W/rules.yml" >"$W/out" 2>&1
check "file output that cannot be opened: exit 1, said why" "[ $? -eq 1 ] && grep -q 'No such file' $W/out" "$W/out"

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
