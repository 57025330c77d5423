#!/bin/sh
# Integration test of the supervisor's fatal stops and start-up files.
#
# - A listener no worker can bind (another process holds the port without
#   SO_REUSEPORT): the workers exit 78, sbcd stops with status 1 instead of
#   restarting them in a loop, and removes its PID file and socket.
# - The only worker dies in a loop: every worker is failed, sbcd stops with
#   status 1.
# - A PID file naming a dead process and a control socket file nobody
#   listens on (left by an sbcd that was killed) do not keep sbcd from
#   starting; a regular file where the control socket goes does.
#
# usage: sh supervisor_fatal.sh PATH-TO-SBCD PATH-TO-SBCCTL
set -u

sbcd=${1:?usage: supervisor_fatal.sh SBCD SBCCTL}
sbcctl=${2:?usage: supervisor_fatal.sh SBCD SBCCTL}
. "$(dirname "$0")/supervisor_lib.sh"

# 1. a port held by another process
held=$(port_udp)
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("bound", flush=True)
time.sleep(60)' "$held" >"$tmp/holder.out" &
holder=$!
track "$holder"
wait_for bound "$tmp/holder.out"

conf=$tmp/held.conf
log=$tmp/held.log
access_port=$held write_conf "$conf" 2
start "$conf" "$log"
reap
if [ "$status" -eq 1 ] && grep -q "exited with status 78" "$log" &&
   grep -q "a worker cannot run, stopping" "$log" &&
   ! grep -q "restarts in" "$log"; then
	pass "a listener that cannot be bound stops sbcd with status 1"
else
	fail "listener held: exit status $status"
	show_log "$log"
fi
check "the PID file is removed after a fatal stop" \
	[ ! -e "$tmp/run/sbcd.pid" ]
check "the control socket is removed after a fatal stop" \
	[ ! -e "$tmp/run/ctl.sock" ]
kill "$holder"

# 2. every worker failed
conf=$tmp/one.conf
log=$tmp/one.log
write_conf "$conf" 1
start "$conf" "$log"
tries=0
while [ "$tries" -lt 10 ] && ! grep -q "every worker has failed" "$log"; do
	if wait_worker 0 running; then
		kill -KILL "$(worker_field 0 pid)"
	fi
	tries=$((tries + 1))
	sleep 0.2
done
reap
if [ "$status" -eq 1 ] && grep -q "worker 0 died 5 times" "$log" &&
   grep -q "every worker has failed, stopping" "$log"; then
	pass "every worker failed: sbcd stops with status 1"
else
	fail "all failed: exit status $status"
	show_log "$log"
fi

# 3. files left by an sbcd that was killed
mkdir -p "$tmp/run"
sh -c 'exit 0' &
dead=$!
wait "$dead"
echo "$dead" >"$tmp/run/sbcd.pid"
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])' "$tmp/run/ctl.sock"

conf=$tmp/stale.conf
log=$tmp/stale.log
write_conf "$conf" 1
start "$conf" "$log"
if wait_for "worker 0 started" "$log" &&
   grep -q "removed a stale socket file" "$log" &&
   ctl status >/dev/null &&
   [ "$(cat "$tmp/run/sbcd.pid")" = "$pid" ]; then
	pass "a stale PID file and socket file do not keep sbcd from starting"
else
	fail "stale files"
	show_log "$log"
fi

out=$("$sbcd" -c "$conf" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && echo "$out" | grep -q "PID file .* sbcd"; then
	pass "a second sbcd is refused while the first runs"
else
	fail "second sbcd: exit $rc: $out"
fi
stop TERM

rm -rf "$tmp/run"
mkdir -p "$tmp/run"
echo "not a socket" >"$tmp/run/ctl.sock"
log=$tmp/notsock.log
start "$conf" "$log"
reap
if [ "$status" -eq 1 ] &&
   grep -q "ctl.sock: the file exists and is not a socket" "$log" &&
   [ "$(cat "$tmp/run/ctl.sock")" = "not a socket" ] &&
   ! grep -q "worker 0 started" "$log"; then
	pass "a regular file on the control socket's path is left alone, sbcd stops"
else
	fail "not a socket: exit status $status"
	show_log "$log"
fi

finish supervisor_fatal
