#!/bin/sh
# Integration test of reloading: the real sbcd with two workers, its file
# edited between reloads. SIGHUP with a live change (log.level) applies it
# in the supervisor (debug lines appear) and sends it to both workers;
# `sbcctl reload` does the same and says what changed; a change that needs
# a restart (workers) is refused with a message naming the key, and the
# workers keep their configuration; an invalid file is reported and
# changes nothing, sbcd serving on; a file equal to the running one is
# "no change". SIGTERM then stops sbcd with status 0.
#
# usage: sh supervisor_reload.sh PATH-TO-SBCD PATH-TO-SBCCTL
set -u

sbcd=${1:?usage: supervisor_reload.sh SBCD SBCCTL}
sbcctl=${2:?usage: supervisor_reload.sh SBCD SBCCTL}
. "$(dirname "$0")/supervisor_lib.sh"

conf=$tmp/sbcd.conf
log=$tmp/sbcd.log
write_conf "$conf" 2
cp "$conf" "$tmp/orig.conf"
start "$conf" "$log"

if ! wait_for "info: worker [01] started" "$log" 2; then
	fail "two workers started within ${limit}s"
	stop TERM
	finish supervisor_reload
fi

# SIGHUP, a live change
sed 's/level = "info"/level = "debug"/' "$tmp/orig.conf" >"$conf"
kill -HUP "$pid"
if wait_for "info: reload: log.level changed info -> debug" "$log" &&
   wait_for "reload: 1 change(s) applied, the new configuration sent to 2 worker(s)" "$log" &&
   wait_for "worker/[01] .* configuration reloaded" "$log" 2; then
	pass "SIGHUP: log.level applied and sent to both workers"
else
	fail "SIGHUP with a new log.level"
fi

ctl status >/dev/null
check "the supervisor logs at the new level (debug)" \
	wait_for "supervisor/0 $pid\] debug: control: request status" "$log"

# sbcctl reload, a live change
sed -e 's/level = "info"/level = "debug"/' -e 's/grace = 1;/grace = 2;/' \
	"$tmp/orig.conf" >"$conf"
out=$(ctl reload)
rc=$?
if [ "$rc" -eq 0 ] &&
   echo "$out" | grep -q "^reload: shutdown.grace changed 1 -> 2$" &&
   echo "$out" | grep -q "1 change(s) applied"; then
	pass "sbcctl reload: a live change applied, exit 0"
else
	fail "sbcctl reload (shutdown.grace): exit $rc, output: $out"
fi

# a change that needs a restart
sed -e 's/level = "info"/level = "debug"/' -e 's/grace = 1;/grace = 2;/' \
	-e 's/^workers = 2;/workers = 3;/' "$tmp/orig.conf" >"$conf"
kill -HUP "$pid"
if wait_for "warning: reload: workers changed 2 -> 3, needs a restart: kept 2" "$log" &&
   wait_for "1 change(s) need a restart; the workers keep" "$log"; then
	pass "SIGHUP: workers 2 -> 3 refused with its message"
else
	fail "SIGHUP with a new workers count"
fi

out=$(ctl reload 2>"$tmp/err")
rc=$?
if [ "$rc" -eq 1 ] &&
   echo "$out" | grep -q "^reload: workers changed 2 -> 3, needs a restart: kept 2$" &&
   grep -q "^sbcctl: some changes need a restart" "$tmp/err" &&
   ctl status | grep -q "^workers: *2 configured, 2 running"; then
	pass "sbcctl reload: the refusal, exit 1, still 2 workers"
else
	fail "sbcctl reload (workers): exit $rc, output: $out"
fi

ctl --json reload >"$tmp/reload.json" 2>"$tmp/err"
check "sbcctl --json reload: result refused, messages" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["result"] == "refused", r
assert any(m.startswith("reload: workers changed 2 -> 3") for m in r["messages"])' \
	"$tmp/reload.json"

# an invalid file
printf 'workers = 2;\nlog = { level = "loud"; };\n' >"$conf"
kill -HUP "$pid"
if wait_for "error: reload: $conf:2: .*log.level.*; the running configuration is kept" "$log"; then
	pass "SIGHUP with an invalid file: FILE:LINE: reason, configuration kept"
else
	fail "SIGHUP with an invalid file"
fi

out=$(ctl reload 2>"$tmp/err")
rc=$?
if [ "$rc" -eq 1 ] && grep -q "configuration is invalid" "$tmp/err" &&
   kill -0 "$pid" && ctl status | grep -q "2 running"; then
	pass "an invalid file changes nothing: sbcd serves on"
else
	fail "sbcctl reload (invalid): exit $rc, output: $out"
fi

# back to what runs
sed -e 's/level = "info"/level = "debug"/' -e 's/grace = 1;/grace = 2;/' \
	"$tmp/orig.conf" >"$conf"
out=$(ctl reload)
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^reload: $conf: no change$"; then
	pass "sbcctl reload of the running configuration: no change"
else
	fail "sbcctl reload (unchanged): exit $rc, output: $out"
fi

stop TERM
check "SIGTERM after reloads: exit 0" [ "$status" -eq 0 ]

finish supervisor_reload
