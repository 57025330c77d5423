#!/usr/bin/python3
"""Integration test of the transport (workers/transport.h), through tp_echo.

tp_echo binds UDP, TCP, TLS, WS and WSS listeners on 127.0.0.1 and sends
every SIP message back where it came from. Real clients (Python's socket
and ssl, the websockets library, and a raw WebSocket client that can
misbehave) check: two instances bind the same ports (SO_REUSEPORT) and
share the connections; messages come back whole however the stream cut
them; keepalives are dropped or answered; what is too big or malformed is
dropped or closed; WebSocket upgrade, subprotocol, fragments, ping/pong,
close; idle connections close after idle_timeout unless held; silent
WebSocket peers and stalled handshakes are closed; a drain refuses new
connections and keeps the rest; closeh keeps its promises.

usage: tp_test.py PATH-TO-TP_ECHO
Ports are taken from the kernel; every process is stopped by its PID.
"""

import asyncio
import base64
import hashlib
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

import websockets

MAX = 4096          # sip.max_message_size given to tp_echo
IDLE = 2            # connections.idle_timeout, s
PING = 1            # connections.ws_ping_interval, s
HANDSHAKE = 10      # the transport's bound on TLS and WebSocket upgrades, s
HOST = "127.0.0.1"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

failures = 0


def check(ok, what):
    global failures
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures += 1
    return ok


def free_port(kind):
    """A port the kernel has free for this kind of socket right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def sip(body=b"", extra="", method="OPTIONS"):
    head = (f"{method} sip:echo@{HOST} SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP {HOST};branch=z9hG4bK{os.urandom(4).hex()}\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Echo:
    """One tp_echo process; its stderr goes to a log file."""

    def __init__(self, exe, tmp, worker, listeners, cert, key):
        self.log = os.path.join(tmp, f"tp_echo.{worker}.log")
        args = [exe, "-w", str(worker), "-m", str(MAX), "-i", str(IDLE),
                "-p", str(PING), "-c", cert, "-k", key] + listeners
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                         stderr=err, stdin=subprocess.DEVNULL)
        self.stats = ""

    def ready(self, timeout=10):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return bool(r) and self.proc.stdout.readline().startswith(b"ready")

    def stop(self, timeout=10):
        """SIGTERM, then its exit status (None if it did not exit)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.stats = self.proc.stdout.read().decode(errors="replace")
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self, n=30):
        with open(self.log, errors="replace") as f:
            return "".join("    | " + l for l in f.readlines()[-n:])


# --- helpers on sockets -----------------------------------------------------

def recv_exact(s, n, timeout=3):
    s.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def nothing_arrives(s, timeout=0.5):
    s.settimeout(timeout)
    try:
        s.recv(65536)
        return False
    except (socket.timeout, BlockingIOError):
        return True


def is_closed(s, timeout=3):
    """Does the peer close s within timeout (data before that is read)?"""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionError, ssl.SSLError, OSError):
            return True
    return False


def tcp(port):
    s = socket.create_connection((HOST, port), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls(port):
    return tls_context().wrap_socket(tcp(port))


class RawWS:
    """A WebSocket client written out, so a test can misbehave with it."""

    def __init__(self, port, protocol="sip"):
        self.s = tcp(port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n")
                       .encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        self.head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = self.head.decode(errors="replace")
        accept = base64.b64encode(hashlib.sha1(
            (key + WS_GUID).encode()).digest()).decode()
        self.upgraded = (self.head.startswith("HTTP/1.1 101") and
                         f"Sec-WebSocket-Accept: {accept}" in self.head and
                         "Sec-WebSocket-Protocol: sip" in self.head)
        self.pings = 0

    def send(self, op, payload, fin=True, masked=True):
        n = len(payload)
        hdr = bytes([(0x80 if fin else 0) | op])
        bit = 0x80 if masked else 0
        if n < 126:
            hdr += bytes([bit | n])
        elif n < 65536:
            hdr += bytes([bit | 126]) + n.to_bytes(2, "big")
        else:
            hdr += bytes([bit | 127]) + n.to_bytes(8, "big")
        if masked:
            mask = os.urandom(4)
            hdr += mask
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.s.sendall(hdr + payload)

    def parse(self):
        """The next whole (server, so unmasked) frame in buf, or None."""
        if len(self.buf) < 2:
            return None
        n, off = self.buf[1] & 0x7f, 2
        if n == 126:
            n, off = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            n, off = int.from_bytes(self.buf[2:10], "big"), 10
        if len(self.buf) < off + n:
            return None
        op, payload = self.buf[0] & 0x0f, self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return op, payload

    def pump(self, answer=True):
        """Read what is there; answer pings if asked. False at EOF."""
        try:
            data = self.s.recv(65536)
        except (ConnectionError, OSError):
            return False
        if not data:
            return False
        self.buf += data
        while (f := self.parse()) is not None:
            if f[0] == 0x9:
                self.pings += 1
                if answer:
                    self.send(0xa, f[1])
        return True

    def frame(self, timeout=3):
        """The next frame other than a ping (answered), or None at EOF."""
        end = time.monotonic() + timeout
        while True:
            f = self.parse()
            while f is not None and f[0] == 0x9:
                self.pings += 1
                self.send(0xa, f[1])
                f = self.parse()
            if f is not None:
                return f
            self.s.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                raise
            except (ConnectionError, OSError):
                return None
            if not data:
                return None
            self.buf += data


# --- the tests --------------------------------------------------------------

def test_reuseport(exe, tmp, listeners, cert, key, port_tcp):
    """Two instances on the same ports both start and share connections."""
    a = Echo(exe, tmp, 0, listeners, cert, key)
    procs.append(a)
    b = Echo(exe, tmp, 1, listeners, cert, key)
    procs.append(b)
    ok = check(a.ready() and b.ready(),
               "two tp_echo bind the same five ports (SO_REUSEPORT)")
    if not ok:
        print(a.tail() + b.tail())
        return a, False

    conns = [tcp(port_tcp) for _ in range(16)]
    msg = sip()
    for s in conns:
        s.sendall(msg)
    got = [recv_exact(s, len(msg)) == msg for s in conns]
    check(all(got), "16 TCP connections each get their echo")
    for s in conns:
        s.close()
    time.sleep(0.3)

    counts = []
    for e in (a, b):
        with open(e.log, errors="replace") as f:
            counts.append(f.read().count("accepted on tcp"))
    check(sum(counts) == 16 and min(counts) > 0,
          f"the kernel spread the connections over both ({counts})")

    rc = b.stop()
    check(rc == 0 and "close_errors=0" in b.stats,
          f"the second instance stops cleanly ({rc}, {b.stats.strip()})")
    return a, True


def test_udp(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(3)
    dst = (HOST, port)

    msg = sip(b"v=0\r\n")
    u.sendto(msg, dst)
    check(u.recv(65536) == msg, "UDP: a message comes back as sent")

    u.sendto(b"\r\n\r\n", dst)
    check(nothing_arrives(u), "UDP: a CRLF keepalive is not handed up")

    head = len(sip(b"x" * 1000)) - 1000      # with a 4-digit Content-Length
    big = sip(b"x" * (MAX - head))
    u.sendto(big, dst)
    check(u.recv(65536) == big, f"UDP: a datagram of exactly {MAX} bytes")
    u.sendto(big + b"x", dst)
    check(nothing_arrives(u), f"UDP: a datagram of {MAX + 1} bytes is dropped")

    for i in range(100):
        u.sendto(sip(extra=f"X-N: {i}\r\n"), dst)
    got = set()
    try:
        while len(got) < 100:
            got.add(u.recv(65536))
    except socket.timeout:
        pass
    check(len(got) == 100, f"UDP: a burst of 100 all come back ({len(got)})")
    u.close()


def stream_tests(name, connect):
    """The stream framing, over TCP or TLS."""
    msg = sip(b"hello body")

    s = connect()
    for part in (msg[:7], msg[7:40], msg[40:]):
        s.sendall(part)
        time.sleep(0.05)
    check(recv_exact(s, len(msg)) == msg,
          f"{name}: a message written in three parts comes back whole")

    for i in range(len(msg)):
        s.sendall(msg[i:i + 1])
    check(recv_exact(s, len(msg)) == msg,
          f"{name}: a message written a byte at a time")

    two = sip(b"one") + sip(b"two!")
    s.sendall(two)
    check(recv_exact(s, len(two)) == two,
          f"{name}: two messages in one write come back as two")

    s.sendall(b"\r\n\r\n")
    check(recv_exact(s, 2) == b"\r\n",
          f"{name}: a double CRLF ping is answered with one CRLF")

    s.sendall(b"\r\n" + msg)
    check(recv_exact(s, len(msg)) == msg,
          f"{name}: a CRLF before a message is skipped")
    s.close()

    s = connect()
    s.sendall(b"OPTIONS sip:x SIP/2.0\r\n" + b"X-Long: " + b"a" * MAX)
    check(is_closed(s), f"{name}: no header end within {MAX} bytes: closed")

    s = connect()
    s.sendall(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 100000\r\n\r\n")
    check(is_closed(s), f"{name}: a Content-Length over {MAX}: closed")

    s = connect()
    s.sendall(b"OPTIONS sip:x SIP/2.0\r\nl: 5\r\nContent-Length: 6\r\n\r\n")
    check(is_closed(s), f"{name}: two Content-Lengths that differ: closed")


def test_slow_reader(port):
    """A peer that never reads is closed once 1 MiB waits for it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((HOST, port))
    msg = sip(b"y" * 3500)
    sent, closed = 0, False
    try:
        while sent < 256 * 1024 * 1024:
            s.sendall(msg)
            sent += len(msg)
    except (ConnectionError, socket.timeout, OSError) as e:
        closed = not isinstance(e, socket.timeout)
    check(closed and sent < 64 * 1024 * 1024,
          f"TCP: a peer that does not read is closed ({sent} bytes sent)")
    s.close()


async def ws_tests(name, uri, ssl_ctx):
    msg = sip(b"ws body").decode()

    async with websockets.connect(uri, subprotocols=["sip"],
                                  ssl=ssl_ctx) as ws:
        check(ws.subprotocol == "sip", f"{name}: subprotocol sip agreed")
        await ws.send(msg)
        check(await asyncio.wait_for(ws.recv(), 3) == msg,
              f"{name}: a text message comes back as text")
        await ws.send(msg.encode())
        check(await asyncio.wait_for(ws.recv(), 3) == msg,
              f"{name}: a binary message comes back as text")
        await ws.send(iter([msg[:5], msg[5:20], msg[20:]]))
        check(await asyncio.wait_for(ws.recv(), 3) == msg,
              f"{name}: a message in three fragments comes back whole")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 3)
        check(True, f"{name}: a ping is answered with a pong")
        await ws.close()
        check(ws.close_code == 1000, f"{name}: a close is answered")

    try:
        async with websockets.connect(uri, ssl=ssl_ctx):
            check(False, f"{name}: an upgrade without subprotocol sip")
    except websockets.exceptions.InvalidStatusCode as e:
        check(e.status_code == 400,
              f"{name}: an upgrade without subprotocol sip: 400")

    async with websockets.connect(uri, subprotocols=["sip"], ssl=ssl_ctx,
                                  max_size=None) as ws:
        await ws.send("x" * (MAX + 1))
        try:
            await asyncio.wait_for(ws.recv(), 3)
            code = None
        except websockets.exceptions.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else None
        check(code == 1009, f"{name}: a message over {MAX}: close 1009")

    async with websockets.connect(uri, subprotocols=["sip"],
                                  ssl=ssl_ctx) as ws:
        await ws.send(msg)
        await asyncio.wait_for(ws.recv(), 3)
        start = time.monotonic()
        try:
            await asyncio.wait_for(ws.recv(), IDLE + 3)
            took = None
        except websockets.exceptions.ConnectionClosed:
            took = time.monotonic() - start
        check(took is not None and took < IDLE + 2,
              f"{name}: idle for {IDLE} s though it answers pings: closed "
              f"({took and round(took, 1)} s)")


def test_ws_raw(port):
    ws = RawWS(port, "chat")
    check(ws.head.startswith("HTTP/1.1 400") and is_closed(ws.s),
          "WS: subprotocol chat only: 400 and closed")

    ws = RawWS(port)
    check(ws.upgraded, "WS: 101 with the right accept value and sip")
    msg = sip()
    ws.send(0x1, msg)
    check(ws.frame() == (0x1, msg), "WS (raw): echo in one unmasked text frame")
    ws.send(0x1, msg, masked=False)
    f = ws.frame()
    check(f is not None and f[0] == 0x8 and f[1][:2] == b"\x03\xea" and
          is_closed(ws.s), "WS: an unmasked frame: close 1002 and closed")


def timeline(ports):
    """Everything that takes time, side by side: idle, hold, WebSocket
    pings, stalled handshakes."""
    msg = sip()
    socks = {}

    socks["idle"] = tcp(ports["tcp"])
    socks["idle"].sendall(msg)
    socks["held"] = tcp(ports["tcp"])
    socks["held"].sendall(sip(extra="X-Hold: 5\r\n"))
    for k in ("idle", "held"):
        recv_exact(socks[k], len(msg) + len("X-Hold: 5\r\n") * (k == "held"))

    answering = RawWS(ports["ws"])
    silent = RawWS(ports["ws"])
    for ws in (answering, silent):
        hold = sip(extra="X-Hold: 30\r\n")
        ws.send(0x1, hold)
        ws.frame()
    socks["answering"] = answering.s
    socks["silent"] = silent.s

    socks["tls_stalled"] = tcp(ports["tls"])
    socks["ws_stalled"] = tcp(ports["ws"])
    socks["ws_stalled"].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")

    t0 = time.monotonic()
    closed = {}
    while time.monotonic() < t0 + HANDSHAKE + 2.5 and len(closed) < 6:
        live = [s for k, s in socks.items() if k not in closed]
        r, _, _ = select.select(live, [], [], 0.1)
        for k, s in socks.items():
            if s not in r:
                continue
            if k in ("answering", "silent"):
                ws = answering if k == "answering" else silent
                alive = ws.pump(answer=(k == "answering"))
            else:
                try:
                    alive = bool(s.recv(65536))
                except (ConnectionError, OSError):
                    alive = False
            if not alive:
                closed[k] = time.monotonic() - t0

    def closed_in(k, lo, hi):
        at = closed.get(k)
        return check(at is not None and lo <= at <= hi,
                     f"{k}: closed between {lo} and {hi} s "
                     f"({at and round(at, 1)})")

    closed_in("idle", IDLE - 0.5, IDLE + 2)
    closed_in("held", 5 - 0.5, 5 + 2)
    closed_in("silent", 2 * PING - 0.5, 2 * PING + 2)
    closed_in("tls_stalled", HANDSHAKE - 0.5, HANDSHAKE + 2.5)
    closed_in("ws_stalled", HANDSHAKE - 0.5, HANDSHAKE + 2.5)

    check("answering" not in closed and answering.pings >= HANDSHAKE - 1,
          f"a WebSocket that answers {answering.pings} pings and is held "
          f"stays open")
    answering.send(0x1, msg)
    check(answering.frame() == (0x1, msg), "... and still carries SIP")
    for s in socks.values():
        s.close()


def test_drain(ports):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(3)
    before = tcp(ports["tcp"])
    msg = sip()
    before.sendall(msg)
    recv_exact(before, len(msg))

    drain = sip(extra="X-Drain: 1\r\n")
    u.sendto(drain, (HOST, ports["udp"]))
    check(u.recv(65536) == drain, "drain: asked over UDP")

    try:
        tcp(ports["tcp"]).close()
        refused = False
    except ConnectionRefusedError:
        refused = True
    check(refused, "drain: a new TCP connection is refused")

    before.sendall(msg)
    check(recv_exact(before, len(msg)) == msg,
          "drain: an open connection still carries SIP")
    u.sendto(msg, (HOST, ports["udp"]))
    check(u.recv(65536) == msg, "drain: UDP still carries SIP")
    before.close()
    u.close()


def test_stats(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(3)
    time.sleep(0.3)
    u.sendto(sip(extra="X-Stats: 1\r\n"), (HOST, port))
    reply = u.recv(65536).decode()
    u.close()
    stats = dict(re.findall(r"(\w+)=(\d+)", reply))
    print("    stats:", stats)
    check(stats.get("close_errors") == "0",
          "closeh came once per connection recvh saw, after it died")
    check(int(stats.get("too_big", 0)) >= 7,
          "every oversized message was counted")
    check(int(stats.get("bad", 0)) >= 3, "every framing error was counted")
    check(stats.get("conns") == stats.get("conns_now"),
          "sbc_tp_conn_count() and SBC_STAT_CONNS_NOW agree")


def run(exe, tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=localhost"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ports = {"udp": free_port(socket.SOCK_DGRAM)}
    for kind in ("tcp", "tls", "ws", "wss"):
        while True:
            p = free_port(socket.SOCK_STREAM)
            if p not in ports.values():
                ports[kind] = p
                break
    listeners = [f"{k}:{p}" for k, p in ports.items()]

    a, ok = test_reuseport(exe, tmp, listeners, cert, key, ports["tcp"])
    if not ok:
        return

    sections = [
        lambda: test_udp(ports["udp"]),
        lambda: stream_tests("TCP", lambda: tcp(ports["tcp"])),
        lambda: stream_tests("TLS", lambda: tls(ports["tls"])),
        lambda: test_slow_reader(ports["tcp"]),
        lambda: asyncio.run(ws_tests("WS", f"ws://{HOST}:{ports['ws']}/",
                                     None)),
        lambda: asyncio.run(ws_tests("WSS", f"wss://{HOST}:{ports['wss']}/",
                                     tls_context())),
        lambda: test_ws_raw(ports["ws"]),
        lambda: timeline(ports),
        lambda: test_drain(ports),
        lambda: test_stats(ports["udp"]),
    ]
    for section in sections:
        try:
            section()
        except Exception:
            check(False, "unexpected error:\n" + traceback.format_exc())
        if a.proc.poll() is not None:
            check(False, f"tp_echo died ({a.proc.returncode})")
            print(a.tail())
            return

    rc = a.stop()
    check(rc == 0 and "close_errors=0" in a.stats,
          f"tp_echo stops cleanly on SIGTERM ({rc}, {a.stats.strip()})")
    if failures:
        print(a.tail(60))


procs = []


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2

    def stop(sig, frame):
        raise SystemExit(1)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)

    with tempfile.TemporaryDirectory(prefix="sbcd-tp-") as tmp:
        try:
            run(sys.argv[1], tmp)
        except Exception:
            check(False, "unexpected error:\n" + traceback.format_exc())
        finally:
            for p in procs:
                p.kill()

    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
