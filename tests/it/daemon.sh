#!/bin/sh
# Integration test of the supervisor: the real sbcd, started and stopped by
# its PID. `-t` accepts a valid file and rejects an invalid one with
# FILE:LINE:; sbcd refuses to start on an invalid file; started on a valid
# one it logs a segment layout with the configured capacities, starts its
# two workers, and SIGTERM (then SIGINT, in a second run) stops it cleanly
# with exit status 0. The helpers are in supervisor_lib.sh.
#
# usage: sh daemon.sh PATH-TO-SBCD
set -u

sbcd=${1:?usage: daemon.sh PATH-TO-SBCD}
sbcctl=
limit=10          # seconds allowed for each start and each stop
. "$(dirname "$0")/supervisor_lib.sh"

good=$tmp/good.conf
reg_max=1234
dlg_max=567
write_conf "$good" 2

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
	start "$good" "$log"

	if ! wait_for "segment .*registrations max" "$log"; then
		fail "SIG$sig run: no layout line within ${limit}s"
		show_log "$log"
		stop KILL
		continue
	fi

	if grep -q "^\[supervisor/0 $pid\] info: segment .*registrations max 1234 .*dialogs max 567 " "$log"
	then
		pass "SIG$sig run: layout logged with the configured capacities"
	else
		fail "SIG$sig run: layout does not show the configured capacities"
		show_log "$log"
	fi

	if wait_for "info: worker [01] started" "$log" 2; then
		pass "SIG$sig run: two workers started"
	else
		fail "SIG$sig run: the workers did not start"
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

log=
finish daemon
