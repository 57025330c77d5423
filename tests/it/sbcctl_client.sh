#!/bin/sh
# Integration test of sbcctl and the control socket, against the real sbcd.
#
# - sbcctl says clearly when sbcd is not running (exit 1), refuses bad
#   usage (exit 2), and finds the socket from -c CONFIG as well as -s.
# - registrations: an empty table is a heading (text) or [] (JSON), for
#   all bindings or one AOR given with or without sip:; an AOR too long for
#   the table is an error.
# - the socket itself: an unknown or overlong request is answered
#   "error: ..."; a client that connects and sends nothing never holds up
#   another one and is dropped after its timeout; past 16 clients at once
#   sbcd answers "busy" instead of queueing without bound.
#
# usage: sh sbcctl_client.sh PATH-TO-SBCD PATH-TO-SBCCTL
set -u

sbcd=${1:?usage: sbcctl_client.sh SBCD SBCCTL}
sbcctl=${2:?usage: sbcctl_client.sh SBCD SBCCTL}
. "$(dirname "$0")/supervisor_lib.sh"

sock=$tmp/run/ctl.sock

# raw REQUEST: send one line on the socket, print the whole answer
raw() {
	python3 - "$sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
PY
}

# no sbcd yet
out=$("$sbcctl" -s "$sock" status 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && echo "$out" | grep -q "sbcd is not running"; then
	pass "no sbcd: a clear message, exit 1"
else
	fail "no sbcd: exit $rc: $out"
fi

for args in "" "bogus" "status extra" "workers alice" "-s a -c b status"; do
	# shellcheck disable=SC2086
	"$sbcctl" $args >/dev/null 2>&1
	rc=$?
	if [ "$rc" -ne 2 ]; then
		fail "sbcctl $args: exit $rc, expected 2 (usage)"
	fi
done
pass "bad usage: exit 2"

conf=$tmp/sbcd.conf
log=$tmp/sbcd.log
write_conf "$conf" 1
start "$conf" "$log"
if ! wait_for "info: worker 0 started" "$log"; then
	fail "the worker started within ${limit}s"
	stop TERM
	finish sbcctl_client
fi

check "sbcctl -c CONFIG finds the socket in the config" \
	sh -c '"$1" -c "$2" status | grep -q "^workers: *1 configured, 1 running"' \
	sh "$sbcctl" "$conf"

# registrations, none yet
out=$(ctl registrations)
if [ "$out" = "aor  contact  source  transport  conn  expires  backend  user_agent" ]
then
	pass "registrations, none: the heading only"
else
	fail "registrations, none: $out"
fi

for aor in "" alice@example.com sip:alice@example.com SIP:alice@example.com; do
	# shellcheck disable=SC2086
	out=$(ctl registrations $aor --json)
	if [ "$out" != "[]" ]; then
		fail "registrations $aor --json: $out"
	fi
done
pass "registrations --json, none: [] for all and for one AOR"

long=$(python3 -c 'print("a" * 200 + "@example.com")')
out=$(ctl registrations "$long" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && echo "$out" | grep -q "not an AOR"; then
	pass "an AOR too long for the table: an error, exit 1"
else
	fail "long AOR: exit $rc: $out"
fi

# the protocol, raw
out=$(raw "bogus $(printf '\033')[31m")
if echo "$out" | head -1 | grep -q "^error: unknown request 'bogus \\\\x1b\[31m'"; then
	pass "an unknown request: error, its bytes escaped"
else
	fail "unknown request: $out"
fi

out=$(raw "$(python3 -c 'print("status " + "x" * 600)')")
if echo "$out" | head -1 | grep -q "^error: unknown request"; then
	pass "an overlong request: error"
else
	fail "overlong request: $out"
fi

out=$(raw "status json")
if echo "$out" | head -1 | grep -q "^ok$" &&
   echo "$out" | tail -n +2 | python3 -m json.tool >/dev/null; then
	pass "status json: ok, then JSON"
else
	fail "status json: $out"
fi

# idle clients: they hold no one up, they are dropped, and there is a cap
python3 - "$sock" >"$tmp/idle.out" <<'PY' &
import socket, sys, time
conns = []
for i in range(16):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    conns.append(s)
print("connected", flush=True)
start = time.monotonic()
for s in conns:
    s.settimeout(15)
    try:
        b = s.recv(100)
    except socket.timeout:
        b = b"timeout"
print("closed %r after %.1f s" % (b, time.monotonic() - start), flush=True)
PY
idle=$!
track "$idle"
wait_for connected "$tmp/idle.out"
sleep 0.5

out=$(ctl status 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && echo "$out" | grep -q "busy"; then
	pass "17 clients at once: the 17th is told busy"
else
	fail "17th client: exit $rc: $out"
fi

if wait_for "closed b'' after" "$tmp/idle.out"; then
	pass "idle clients are dropped after their timeout"
else
	fail "idle clients: $(cat "$tmp/idle.out")"
fi

check "after the idle clients, sbcctl is answered" \
	sh -c '"$1" -s "$2" status >/dev/null' sh "$sbcctl" "$sock"

python3 - "$sock" >"$tmp/one-idle.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print("connected", flush=True)
time.sleep(3)
PY
track "$!"
wait_for connected "$tmp/one-idle.out"
t0=$(date +%s)
ctl workers >/dev/null
rc=$?
t1=$(date +%s)
if [ "$rc" -eq 0 ] && [ $((t1 - t0)) -le 1 ]; then
	pass "a client that sends nothing does not hold up another"
else
	fail "behind an idle client: exit $rc after $((t1 - t0)) s"
fi

stop TERM
check "SIGTERM: exit 0" [ "$status" -eq 0 ]

finish sbcctl_client
