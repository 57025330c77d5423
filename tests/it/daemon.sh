#!/bin/sh
# Integration test of the supervisor: the real sbcd, started and stopped by
# its PID. `-t` accepts a valid file and rejects an invalid one with
# FILE:LINE:; sbcd refuses to start on an invalid file; started on a valid
# one it logs a segment layout with the configured capacities, and SIGTERM
# (then SIGINT, in a second run) stops it cleanly with exit status 0.
#
# usage: sh daemon.sh PATH-TO-SBCD
set -u

sbcd=${1:?usage: daemon.sh PATH-TO-SBCD}
limit=10          # seconds allowed for each start and each stop
pid=
watchdog=
failures=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbcd-it.XXXXXX") || exit 1

cleanup() {
	for p in $pid $watchdog; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# show_log FILE: print what sbcd said, for a failure's diagnosis
show_log() { sed 's/^/    | /' "$1"; }

# wait_for PATTERN FILE: poll for a line, at most $limit seconds
wait_for() {
	n=0
	while [ "$n" -lt $((limit * 10)) ]; do
		grep -q -- "$1" "$2" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# stop SIGNAL: signal sbcd, wait (bounded) for it to exit, set $status
stop() {
	kill "-$1" "$pid"
	(sleep "$limit"; kill -KILL "$pid") >/dev/null 2>&1 &
	watchdog=$!
	wait "$pid"
	status=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	pid=
	watchdog=
}

good=$tmp/good.conf
cat >"$good" <<'CONF'
# integration test: small tables, two workers
workers = 2;
registrations = { max = 1234; };
dialogs = { max = 567; };
log = { level = "debug"; };
CONF

bad=$tmp/bad.conf
cat >"$bad" <<'CONF'
registrations = {
  max = 1234;
  maximum = 5;
};
CONF

# -t on a valid file
out=$("$sbcd" -t -c "$good" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ "$out" = "$good: configuration OK" ]; then
	pass "-t accepts a valid file"
else
	fail "-t on a valid file: exit $rc, output: $out"
fi

# -t on an invalid file
out=$("$sbcd" -t -c "$bad" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && echo "$out" | grep -q "^$bad:3: .*registrations.maximum"
then
	pass "-t rejects an invalid file with FILE:LINE: reason"
else
	fail "-t on an invalid file: exit $rc, output: $out"
fi

# no start on an invalid file
"$sbcd" -c "$bad" 2>"$tmp/bad.log"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "error: $bad:3: " "$tmp/bad.log" &&
   ! grep -q "segment" "$tmp/bad.log"; then
	pass "an invalid file stops sbcd before it creates anything"
else
	fail "sbcd -c on an invalid file: exit $rc"
	show_log "$tmp/bad.log"
fi

# run, check the layout, stop with each signal
for sig in TERM INT; do
	log=$tmp/run-$sig.log
	"$sbcd" -c "$good" >"$log" 2>&1 &
	pid=$!

	if ! wait_for "segment .*registrations max" "$log"; then
		fail "SIG$sig run: no layout line within ${limit}s"
		show_log "$log"
		continue
	fi

	if grep -q "^\[supervisor/0 $pid\] info: segment .*registrations max 1234 .*dialogs max 567 " "$log"
	then
		pass "SIG$sig run: layout logged with the configured capacities"
	else
		fail "SIG$sig run: layout does not show the configured capacities"
		show_log "$log"
	fi

	stop "$sig"

	if [ "$status" -eq 0 ] && grep -q "received SIG$sig, stopping" "$log" &&
	   grep -q "notice: stopped$" "$log"; then
		pass "SIG$sig stops sbcd cleanly (exit 0)"
	else
		fail "SIG$sig: exit status $status"
		show_log "$log"
	fi
done

if [ "$failures" -ne 0 ]; then
	echo "daemon: $failures check(s) failed"
	exit 1
fi
echo "daemon: all checks passed"
