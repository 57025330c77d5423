# Helpers of the supervisor and sbcctl integration tests, sourced by them
# (not a test itself). The sourcing script sets $sbcd and $sbcctl first.
#
# Each test gets a temporary directory ($tmp) for its config, log, PID file
# and control socket, and free loopback ports from the kernel (port_udp).
# Every process a test starts is recorded (track PID) and killed by PID
# when the test ends, however it ends; nothing is looked up by name.
# Helpers keep their loop counters in names of their own (_wf, _ww),
# so a test's loop around them keeps its count.

limit=${limit:-15}     # seconds allowed for anything to happen
failures=0
tracked=
pid=

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbcd-it.XXXXXX") || exit 1

cleanup() {
	for p in $tracked; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

track() { tracked="$tracked $1"; }

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# check DESCRIPTION COMMAND...: pass or fail on the command's status
check() {
	what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# show_log FILE: print what sbcd said, for a failure's diagnosis
show_log() { sed 's/^/    | /' "$1"; }

# finish NAME: the summary line and the exit status. A sanitizer's report
# in any log of the test (sbcd's or a worker's) fails it.
finish() {
	if grep -l "Sanitizer\|runtime error:" "$tmp"/*.log >/dev/null 2>&1
	then
		fail "a sanitizer reported an error:"
		grep -h -A20 "Sanitizer\|runtime error:" "$tmp"/*.log |
			sed 's/^/    | /'
	fi
	if [ "$failures" -ne 0 ]; then
		echo "$1: $failures check(s) failed"
		[ -n "${log:-}" ] && [ -f "$log" ] && show_log "$log"
		exit 1
	fi
	echo "$1: all checks passed"
	exit 0
}

# port_udp: a UDP port on 127.0.0.1 that nothing holds right now
port_udp() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_for PATTERN FILE [COUNT]: poll until COUNT (default 1) lines match,
# at most $limit seconds
wait_for() {
	_wf=0
	while [ "$_wf" -lt $((limit * 10)) ]; do
		[ "$(grep -c -- "$1" "$2")" -ge "${3:-1}" ] && return 0
		sleep 0.1
		_wf=$((_wf + 1))
	done
	return 1
}

# write_conf FILE WORKERS [EXTRA]: a config on free ports (or $access_port
# and $core_port if set: one UDP listener on each side), its control socket
# and PID file under $tmp/run (created by sbcd), small tables ($reg_max and
# $dlg_max if set), a short shutdown grace, EXTRA lines at the end
write_conf() {
	cat >"$1" <<CONF
# integration test of the supervisor
workers = $2;
registrations = { max = ${reg_max:-1000}; };
dialogs = { max = ${dlg_max:-100}; };
access = { listen = [ "udp:127.0.0.1:${access_port:-$(port_udp)}" ]; };
core = { listen = [ "udp:127.0.0.1:${core_port:-$(port_udp)}" ]; };
control = { socket = "$tmp/run/ctl.sock"; pid_file = "$tmp/run/sbcd.pid"; };
shutdown = { grace = 1; };
log = { level = "info"; };
${3:-}
CONF
}

# start CONF LOG: start sbcd in the background, its PID in $pid
start() {
	"$sbcd" -c "$1" >"$2" 2>&1 &
	pid=$!
	track "$pid"
}

# watch PID: SIGKILL it if it still runs $limit seconds from now; the
# watchdog's PID in $watchdog. Killing the watchdog (SIGTERM) ends its
# sleep too, so nothing is left holding the test's output open.
watch() {
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		sleep "$limit" &
		s=$!
		wait "$s"
		kill -KILL "$1"
	) >/dev/null 2>&1 &
	watchdog=$!
	track "$watchdog"
}

# reap: wait (bounded) for sbcd to exit, set $status
reap() {
	watch "$pid"
	wait "$pid"
	status=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	pid=
}

# stop SIGNAL: signal sbcd, wait (bounded) for it to exit, set $status
stop() {
	kill "-$1" "$pid"
	reap
}

ctl() { "$sbcctl" -s "$tmp/run/ctl.sock" "$@"; }

# worker_field INDEX FIELD: one field of `sbcctl workers --json`
worker_field() {
	ctl --json workers | python3 -c 'import json, sys
w = json.load(sys.stdin)[int(sys.argv[1])]
print(w[sys.argv[2]])' "$1" "$2"
}

# wait_worker INDEX STATE: poll until the worker is in STATE; give up at
# once when it is failed (it stays so) or sbcd does not answer
wait_worker() {
	_ww=0
	while [ "$_ww" -lt $((limit * 10)) ]; do
		st=$(worker_field "$1" state 2>/dev/null) || return 1
		[ "$st" = "$2" ] && return 0
		[ "$st" = failed ] && return 1
		sleep 0.1
		_ww=$((_ww + 1))
	done
	return 1
}
