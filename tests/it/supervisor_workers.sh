#!/bin/sh
# Integration test of the worker pool: the real sbcd with two workers.
# Both start and are reported by `sbcctl status` and `sbcctl workers`
# (text, and JSON that parses); the PID file names sbcd and keeps a second
# sbcd from starting; a worker killed with SIGKILL is restarted with a new
# pid and incarnation 2, and its restart is counted; killed five times in
# a row it is reported `failed` and not restarted, while the other one
# serves on; SIGTERM stops sbcd with status 0 and removes the PID file and
# the control socket.
#
# usage: sh supervisor_workers.sh PATH-TO-SBCD PATH-TO-SBCCTL
set -u

sbcd=${1:?usage: supervisor_workers.sh SBCD SBCCTL}
sbcctl=${2:?usage: supervisor_workers.sh SBCD SBCCTL}
. "$(dirname "$0")/supervisor_lib.sh"

conf=$tmp/sbcd.conf
log=$tmp/sbcd.log
write_conf "$conf" 2
start "$conf" "$log"

if ! wait_for "info: worker [01] started: pid [0-9]*, incarnation 1" \
	"$log" 2; then
	fail "two workers started within ${limit}s"
	stop TERM
	finish supervisor_workers
fi
pass "two workers started, one line each with its pid"

# status, text and JSON
out=$(ctl status)
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^sbcd [0-9]" &&
   echo "$out" | grep -q "^workers: *2 configured, 2 running" &&
   echo "$out" | grep -q "^access  *udp  *127.0.0.1  *[0-9]" &&
   echo "$out" | grep -q "^core  *udp  *127.0.0.1  *[0-9]" &&
   echo "$out" | grep -q "^sip:127.0.0.1:5080  *127.0.0.1  *5080$"; then
	pass "sbcctl status: version, workers, listeners, the backend"
else
	fail "sbcctl status: exit $rc, output: $out"
fi

ctl --json status >"$tmp/status.json"
if python3 -m json.tool "$tmp/status.json" >/dev/null; then
	pass "sbcctl --json status is JSON (python3 -m json.tool)"
else
	fail "sbcctl --json status is not JSON: $(cat "$tmp/status.json")"
fi
check "sbcctl --json status: 2 workers running, the 2 listeners" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["workers"] == {"configured": 2, "running": 2}, s
assert [l["side"] for l in s["listeners"]] == ["access", "core"], s
assert all(l["transport"] == "udp" and l["address"] == "127.0.0.1" and
           l["port"] > 0 for l in s["listeners"]), s
assert s["uptime"] >= 0 and s["version"], s' "$tmp/status.json"

# workers, text and JSON
out=$(ctl workers)
if echo "$out" | grep -q "^0  *[0-9][0-9]*  *running  *1  *0 " &&
   echo "$out" | grep -q "^1  *[0-9][0-9]*  *running  *1  *0 " &&
   echo "$out" | grep -q "^worker  *rx  *tx "; then
	pass "sbcctl workers: both running, incarnation 1, counters"
else
	fail "sbcctl workers: $out"
fi

ctl --json workers >"$tmp/workers.json"
check "sbcctl --json workers: two workers with counters" python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))
assert [x["index"] for x in w] == [0, 1], w
assert all(x["state"] == "running" and x["pid"] > 0 for x in w), w
assert all("rx" in x["counters"] for x in w), w' "$tmp/workers.json"

# the PID file
check "the PID file names sbcd" [ "$(cat "$tmp/run/sbcd.pid")" = "$pid" ]

first=$pid
"$sbcd" -c "$conf" >"$tmp/second.log" 2>&1 &
second=$!
track "$second"
pid=$second
reap
pid=$first
if [ "$status" -eq 1 ] && grep -q "PID file .* sbcd" "$tmp/second.log" &&
   ! grep -q "worker .* started" "$tmp/second.log"; then
	pass "a second sbcd on the same PID file stops at once, status 1"
else
	fail "second sbcd: status $status"
	show_log "$tmp/second.log"
fi

# kill -9 worker 1: restarted, new pid, incarnation 2
old=$(worker_field 1 pid)
kill -KILL "$old"
if wait_for "worker 1 (pid $old) killed by SIGKILL" "$log" &&
   wait_worker 1 running; then
	new=$(worker_field 1 pid)
	inc=$(worker_field 1 incarnation)
	restarts=$(worker_field 1 restarts)
	if [ "$new" != "$old" ] && [ "$inc" = 2 ] && [ "$restarts" = 1 ] &&
	   grep -q "worker 1 started: pid $new, incarnation 2" "$log"; then
		pass "a killed worker is restarted: pid $old -> $new, incarnation 2, 1 restart"
	else
		fail "after kill: pid $old -> $new, incarnation $inc, restarts $restarts"
	fi
else
	fail "worker 1 not restarted within ${limit}s"
fi

# a crash loop: killed each time it runs, until it is failed
tries=0
while [ "$tries" -lt 8 ] && [ "$(worker_field 1 state)" != failed ]; do
	if wait_worker 1 running; then
		kill -KILL "$(worker_field 1 pid)"
	fi
	tries=$((tries + 1))
	sleep 0.2
done

if wait_worker 1 failed &&
   grep -q "worker 1 died 5 times within [0-9]* s: crash loop" "$log"; then
	pass "a worker in a crash loop is reported failed"
else
	fail "crash loop: worker 1 is $(worker_field 1 state)"
fi

sleep 1
out=$(ctl workers)
if echo "$out" | grep -q "^1  *-  *failed " &&
   echo "$out" | grep -q "^0  *[0-9][0-9]*  *running " &&
   [ "$(worker_field 1 state)" = failed ]; then
	pass "a failed worker stays failed, the other serves on"
else
	fail "after the crash loop: $out"
fi
check "sbcd serves on with one failed worker" kill -0 "$pid"

stop TERM
if [ "$status" -eq 0 ] && grep -q "received SIGTERM, stopping" "$log" &&
   grep -q "worker 0 (pid [0-9]*) exited with status 0" "$log" &&
   grep -q "notice: stopped$" "$log"; then
	pass "SIGTERM: the workers exit 0, sbcd exits 0"
else
	fail "SIGTERM: exit status $status"
fi

check "the PID file is removed" [ ! -e "$tmp/run/sbcd.pid" ]
check "the control socket is removed" [ ! -e "$tmp/run/ctl.sock" ]

finish supervisor_workers
