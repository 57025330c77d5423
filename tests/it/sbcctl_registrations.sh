#!/bin/sh
# Integration test of `sbcctl registrations` with real bindings: the real
# sbcd (two workers) between a user agent and a backend, both small Python
# peers on loopback UDP. The user agent registers alice@example.com through
# sbcd's access listener; the backend answers 200 OK with expires 300; sbcd
# stores the binding. sbcctl then lists it (text, and JSON that parses)
# with its AOR, contact, source address and port, transport, expiry and
# backend, for all bindings and for `alice@example.com` or
# `sip:alice@example.com`; another AOR lists nothing. The User-Agent the
# peer sent carries an escape sequence, a quote, a backslash and a byte
# that is not UTF-8: the text table shows them as \xNN, the JSON escapes
# them and stays valid.
#
# usage: sh sbcctl_registrations.sh PATH-TO-SBCD PATH-TO-SBCCTL
set -u

sbcd=${1:?usage: sbcctl_registrations.sh SBCD SBCCTL}
sbcctl=${2:?usage: sbcctl_registrations.sh SBCD SBCCTL}
. "$(dirname "$0")/supervisor_lib.sh"

access_port=$(port_udp)
backend=$(port_udp)

conf=$tmp/sbcd.conf
log=$tmp/sbcd.log
write_conf "$conf" 2 "backends = [ \"sip:127.0.0.1:$backend\" ];"
start "$conf" "$log"

if ! wait_for "info: worker [01] started" "$log" 2; then
	fail "two workers started within ${limit}s"
	stop TERM
	finish sbcctl_registrations
fi

# The backend answers one REGISTER 200 OK; the user agent sends it and
# waits for the answer. Prints the user agent's port, then "registered".
python3 - "$access_port" "$backend" >"$tmp/peers.out" 2>&1 <<'PY'
import socket, sys, threading

access, backend = int(sys.argv[1]), int(sys.argv[2])
UA_NAME = b'evil\x1b[31m "quoted" back\\slash \xff end'

be = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
be.bind(("127.0.0.1", backend))
be.settimeout(10)

def backend_answer():
    data, src = be.recvfrom(65535)
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    keep = [h for h in head[1:] if h.split(b":", 1)[0].strip().lower() in
            (b"via", b"from", b"call-id", b"cseq", b"contact")]
    to = [h for h in head[1:] if h.lower().startswith(b"to:")][0]
    lines = [b"SIP/2.0 200 OK"] + [
        h + b";expires=300" if h.lower().startswith(b"contact:") else h
        for h in keep] + [to + b";tag=be1", b"Content-Length: 0", b"", b""]
    be.sendto(b"\r\n".join(lines), src)

t = threading.Thread(target=backend_answer)
t.start()

ua = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ua.bind(("127.0.0.1", 0))
ua.settimeout(10)
port = ua.getsockname()[1]
print(port, flush=True)
req = (b"REGISTER sip:example.com SIP/2.0\r\n"
       b"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-it-1;rport\r\n"
       b"Max-Forwards: 70\r\n"
       b"From: <sip:alice@example.com>;tag=ua1\r\n"
       b"To: <sip:alice@example.com>\r\n"
       b"Call-ID: it-reg-1@127.0.0.1\r\n"
       b"CSeq: 1 REGISTER\r\n"
       b"Contact: <sip:alice@127.0.0.1:%d>;expires=300\r\n"
       b"User-Agent: %s\r\n"
       b"Content-Length: 0\r\n\r\n") % (port, port, UA_NAME)
ua.sendto(req, ("127.0.0.1", access))
data, _ = ua.recvfrom(65535)
t.join()
print("registered" if data.startswith(b"SIP/2.0 200") else
      "answer: %r" % data[:80], flush=True)
PY
ua=$(head -1 "$tmp/peers.out")

if grep -q "^registered$" "$tmp/peers.out"; then
	pass "alice registered through sbcd (backend 200 OK)"
else
	fail "REGISTER: $(cat "$tmp/peers.out")"
	stop TERM
	finish sbcctl_registrations
fi

# text
out=$(ctl registrations)
row=$(echo "$out" | grep "^alice@example.com ")
if [ "$(echo "$out" | wc -l)" -eq 2 ] &&
   echo "$row" | grep -q "^alice@example.com  *sip:alice@127.0.0.1:$ua  *127.0.0.1:$ua  *udp  *-  *[0-9]*s  *sip:127.0.0.1:$backend  *evil\\\\x1b\[31m \"quoted\" back\\\\x5cslash \\\\xff end$"
then
	pass "registrations: the binding in the table, the user agent escaped"
else
	fail "registrations (text): $out"
fi

expires=$(echo "$row" | sed 's/.* \([0-9]*\)s .*/\1/')
check "registrations: expires in 300 s or a little less" \
	[ "$expires" -le 300 ] && [ "$expires" -ge 290 ]

for aor in alice@example.com sip:alice@example.com; do
	out=$(ctl registrations "$aor" | grep -c "^alice@example.com ")
	check "registrations $aor: the binding" [ "$out" -eq 1 ]
done
check "registrations bob@example.com: nothing" \
	[ "$(ctl registrations bob@example.com | wc -l)" -eq 1 ]

# JSON
for aor in "" alice@example.com; do
	# shellcheck disable=SC2086
	ctl --json registrations $aor >"$tmp/regs.json"
	if python3 - "$tmp/regs.json" "$ua" "$backend" <<'PY'
import json, sys
regs = json.load(open(sys.argv[1], encoding="utf-8"))
ua, backend = sys.argv[2], sys.argv[3]
assert len(regs) == 1, regs
r = regs[0]
assert r["aor"] == "alice@example.com", r
assert r["contact"] == "sip:alice@127.0.0.1:" + ua, r
assert r["source"] == "127.0.0.1:" + ua, r
assert r["transport"] == "udp" and r["conn"] is None, r
assert 290 <= r["expires"] <= 300, r
assert r["backend"] == "sip:127.0.0.1:" + backend, r
assert r["user_agent"] == 'evil\x1b[31m "quoted" back\\slash \ufffd end', r
PY
	then
		pass "registrations $aor --json: the binding, strings escaped"
	else
		fail "registrations $aor --json: $(cat "$tmp/regs.json")"
	fi
done

stop TERM
check "SIGTERM: exit 0" [ "$status" -eq 0 ]

finish sbcctl_registrations
