#!/bin/sh
# The shipped keepalived example (cfg/keepalived.conf) is one keepalived
# takes: `keepalived --config-test` on it, its track_script pointed at the
# sbcctl of this build (keepalived disables a script it cannot find, and
# says so). And that script, run the way keepalived runs it, exits 1 with
# a reason when no sbcd answers on the control socket it names.
#
# usage: sh keepalived_conf.sh PATH-TO-SBCCTL
set -u

sbcctl=${1:?usage: keepalived_conf.sh PATH-TO-SBCCTL}
example="$(dirname "$0")/../../cfg/keepalived.conf"

if ! command -v keepalived >/dev/null 2>&1; then
	echo "SKIP: keepalived is not installed"
	exit 77
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

fail=0
sed "s|/usr/local/bin/sbcctl|$sbcctl|" "$example" >"$tmp/keepalived.conf"

if keepalived --config-test -f "$tmp/keepalived.conf" >"$tmp/out" 2>&1; then
	echo "PASS: keepalived --config-test accepts cfg/keepalived.conf"
else
	echo "FAIL: keepalived --config-test refuses cfg/keepalived.conf:"
	sed 's/^/    | /' "$tmp/out"
	fail=1
fi

if grep -q 'script "/usr/local/bin/sbcctl -c /etc/sbcd/sbcd.conf health"' \
	"$example"; then
	echo "PASS: the track_script runs sbcctl health"
else
	echo "FAIL: the track_script does not run sbcctl health"
	fail=1
fi

printf 'control = { socket = "%s/none.ctl"; };\n' "$tmp" >"$tmp/sbcd.conf"
"$sbcctl" -c "$tmp/sbcd.conf" health >"$tmp/health.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'sbcd is not running' "$tmp/health.out"; then
	echo "PASS: sbcctl health exits 1 with a reason when sbcd is not there"
else
	echo "FAIL: sbcctl health with no sbcd: exit $rc, $(cat "$tmp/health.out")"
	fail=1
fi

exit $fail
