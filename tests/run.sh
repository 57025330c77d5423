#!/bin/sh
# Sets up and runs every test: installs what the build and the tests need
# (daemon/deps.sh), then builds two fresh trees and runs `meson test` in
# each: build-ci (warnings are errors) and build-asan (the same, under
# AddressSanitizer and UndefinedBehaviorSanitizer, where any finding,
# a leak included, fails the test that hit it). Exits non-zero if either
# fails; the output ends with meson's summary of both and one line with
# the totals, `tests: N passed, N failed, N skipped`. Works from any
# directory, with no terminal and no standard input.
set -u

cd "$(dirname "$0")/.." || exit 1

# The build's packages and the test peers: SIPp (sip-tester), Kamailio
# (the SIP benchmark's quick run, beside sbcd; the WebRTC test's
# registrar), Python with websockets (the test harness, WebSocket
# clients), openssl (test certificates), keepalived (it checks the
# example of cfg/keepalived.conf), rtpengine-daemon (the RTP benchmark's
# quick run, beside sbcd's relay), and for the WebRTC test
# (tests/it/webrtc/): chromium (the browser), baresip-core (the
# softphone, its modules aufile, sndfile, g711, opus, ctrl_tcp) and
# Node.js with npm where no node is installed yet.
webrtc_packages="chromium baresip-core"
command -v npm >/dev/null 2>&1 || webrtc_packages="$webrtc_packages nodejs npm"
sh daemon/deps.sh python3 python3-websockets sip-tester openssl kamailio \
	keepalived rtpengine-daemon $webrtc_packages \
	</dev/null || exit 1

# The WebRTC test's driver: playwright-core (it drives the system's
# chromium and never downloads a browser), JsSIP and esbuild, at the
# versions of tests/it/webrtc/package-lock.json. A failure here is the
# test's to report (it tries npm ci again), not a reason to stop.
(cd tests/it/webrtc && npm ci --no-audit --no-fund </dev/null) ||
	echo "tests/run.sh: npm ci in tests/it/webrtc failed" >&2

ASAN_OPTIONS=halt_on_error=1:abort_on_error=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

# run_tree DIR MESON-OPTION...: configure DIR afresh, build, test.
# meson test's output is kept in DIR/test.out for the summary.
run_tree() {
	dir=$1
	shift
	rm -rf "$dir"

	echo "== $dir: meson setup $*"
	meson setup "$dir" -Dwerror=true "$@" </dev/null || return 1
	meson compile -C "$dir" </dev/null || return 1

	echo "== $dir: meson test"
	{
		meson test -C "$dir" --print-errorlogs </dev/null
		echo $? >"$dir/test.rc"
	} 2>&1 | tee "$dir/test.out"

	return "$(cat "$dir/test.rc")"
}

status=0
run_tree build-ci || status=1
run_tree build-asan -Db_sanitize=address,undefined -Db_lundef=false ||
	status=1

# count NAME...: the sum of meson's summary lines NAME: N over both trees
count() {
	total=0
	for name in "$@"; do
		for dir in build-ci build-asan; do
			n=$(sed -n "s/^$name: *\([0-9]*\).*/\1/p" \
				"$dir/test.out" 2>/dev/null)
			total=$((total + ${n:-0}))
		done
	done
	echo "$total"
}

echo
for dir in build-ci build-asan; do
	echo "== $dir summary"
	if [ -f "$dir/test.out" ]; then
		grep -E '^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout): ' \
			"$dir/test.out"
	else
		echo "did not build"
		status=1
	fi
done

failed=$(count Fail Timeout 'Unexpected Pass')
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo
echo "tests: $(count Ok) passed, $failed failed, $(count Skipped) skipped"

exit "$status"
