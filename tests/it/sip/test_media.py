#!/usr/bin/env python3
"""Media through sbcd's RTP relay (DESIGN.md section 6).

Every sbcd here runs one relay process (rtp.workers = 1) with its own
port range, cut from 20000..30999 by a free port so that parallel runs
seldom meet, where no socket of the host is bound, access address 127.0.0.1 and core address 127.0.0.2 (both
loopback, so a packet's source tells which side of the relay sent it).
Three backend sets: `sipp` (a SIPp backend, the default route), `py`
(Request-URI users py*: a Python party of the test) and `plain` (users
plain*: a Python party, `media = false`). The Python parties speak SIP
with sipmsg.py and RTP from their own sockets, each recording what it
receives and from where. The checks:

- seed 000 (with io_uring, then with epoll): a SIPp caller plays an RTP
  pcap (G.711, SIPp's play_pcap_audio; the one Debian ships, or one made
  here; where SIPp may not open the raw socket it needs, a Python caller
  replays the pcap), the Python callee echoes it. The SDP each party gets names the
  relay on its own side (c=, o=, an even port of the range); every packet
  the callee gets comes from the relay's core address and the port in its
  SDP, byte for byte the pcap's; sbcctl media shows both sides latched;
  the CDR counts both directions on both sides, and what went in came out.
- latching: a caller whose RTP comes from another port than its SDP
  says: media goes to the SDP address until its first packet, then to
  where it comes from; packets from a third address are dropped.
- media = false: the SDP passes untouched, no session, CDR media null.
- telephone-event on 101 for the caller and 96 for the callee: events
  sent with the receiver's number pass as they are, events sent with the
  sender's own number arrive renumbered, PCMU is never touched.
- hold (a=sendonly), resume, and a re-INVITE that moves each party to a
  new port: media goes on, to the new port after the move; the relay's
  ports stay the same for the whole call.
- rtp.timeout = 2: a call without media is ended on both legs (both
  SIPp parties get a BYE), CDR reason media_timeout; a call with media
  and a call on hold (a=inactive) stay up.
- kill -9 of the relay (the supervisor's child with -R): sbcctl health
  fails while it is down, the supervisor logs its restart, a new call
  gets media.
- ports exhausted: a range of four pairs on each side's address holds
  four calls, the fifth gets 503 and the relay logs why; the ports of a
  call that ended serve the next.
- a lost delete: a call refused before its dialog was made (the dialog
  table holds one call) leaves a session; the relay reaps it after 10 s,
  the call up keeps its own.
- seed 004: the test holds one port pair in three of a 600-port range
  (UDP, some RTP ports, some RTCP ports); 500 SIPp calls at 100/s all
  succeed, and no SDP names a held pair.
"""

import json
import os
import re
import select
import signal
import socket
import struct
import threading
import time

import sbcit
import sipmsg
from sipmsg import UdpPeer

LOOPBACK = sbcit.LOOPBACK
ACCESS_RTP = '127.0.0.1'
CORE_RTP = '127.0.0.2'
DOMAIN = 'example.com'
SHIPPED_PCAP = '/usr/share/sip-tester/g711a.pcap'
RANGE_FIRST, RANGE_END = 20000, 31000      # ranges are cut from this

OPEN = []                                  # sockets to close at the end


# -- RTP -----------------------------------------------------------------

def rtp_packet(seq, ssrc, pt=0, size=160):
    """An RTP packet (version 2) with a payload that tells its number."""
    return struct.pack('!BBHII', 0x80, pt, seq & 0xffff,
                       (seq * 160) & 0xffffffff, ssrc) + \
        bytes([seq & 0xff]) * size


def rtp_seq(data):
    return struct.unpack('!H', data[2:4])[0] if len(data) >= 12 else None


def rtp_ssrc(data):
    return struct.unpack('!I', data[8:12])[0] if len(data) >= 12 else None


class RtpSock:
    """A UDP socket on loopback whose thread records every packet it gets
    (time, source, bytes) and, with echo, sends it back to its source."""

    def __init__(self, echo=False, ip=LOOPBACK, ssrc=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.port = self.sock.getsockname()[1]
        self.addr = (ip, self.port)
        self.echo = echo
        self.echoed = 0
        self.ssrc = ssrc if ssrc is not None else \
            struct.unpack('!I', os.urandom(4))[0]
        self.seq = 0
        self.got = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        OPEN.append(self)

    def _loop(self):
        while self.running:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.05)
                if not ready:
                    continue
                data, src = self.sock.recvfrom(4096)
            except (OSError, ValueError):
                if not self.running:
                    return
                continue
            with self.lock:
                self.got.append((time.monotonic(), src, data))
            if self.echo:
                try:
                    self.sock.sendto(data, src)
                    self.echoed += 1
                except OSError:
                    pass

    def packets(self, since=0):
        """[(time, source, bytes)] received, from index since on."""
        with self.lock:
            return list(self.got[since:])

    def count(self):
        with self.lock:
            return len(self.got)

    def send(self, dest, n=5, gap=0.004, pt=0):
        """n packets of this socket's stream to dest: their bytes."""
        sent = []
        for _ in range(n):
            self.seq += 1
            data = rtp_packet(self.seq, self.ssrc, pt)
            self.sock.sendto(data, dest)
            sent.append(data)
            time.sleep(gap)
        return sent

    def close(self):
        self.running = False
        self.thread.join(1)
        self.sock.close()


def wait_until(pred, limit, step=0.02):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def settle(*socks, quiet=0.15, limit=3):
    """Until none of socks got a packet for `quiet` seconds."""
    deadline = time.monotonic() + limit
    last = [s.count() for s in socks]
    calm = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.03)
        now = [s.count() for s in socks]
        if now != last:
            last, calm = now, time.monotonic()
        elif time.monotonic() - calm >= quiet:
            return


# -- pcap ----------------------------------------------------------------

def pcap_udp(path):
    """The UDP payloads of a pcap file (Ethernet, Linux cooked or raw IP
    link types, IPv4), in order."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise sbcit.Failure('%s: not a pcap file' % path)
    link = struct.unpack(e + 'I', data[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if link == 1:                              # Ethernet
            l2, etype = 14, frame[12:14]
            if etype == b'\x81\x00':
                l2, etype = 18, frame[16:18]
            if etype != b'\x08\x00':
                continue
        elif link == 113:                          # Linux cooked
            l2 = 16
        elif link in (12, 101, 228):               # raw IPv4
            l2 = 0
        else:
            raise sbcit.Failure('%s: link type %d not read here' %
                                (path, link))
        ip = frame[l2:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 15) * 4:]
        length = struct.unpack('!H', udp[4:6])[0]
        out.append(udp[8:length])
    return out


def write_g711_pcap(path, count=100, ptime=0.02):
    """A pcap of count G.711 (PCMU) RTP packets, ptime apart, from
    10.0.0.1:5000 to 10.0.0.2:6000 (SIPp replaces both ends)."""
    ssrc = 0x5bcd0711
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(count):
            payload = struct.pack('!BBHII', 0x80, 0, 1000 + i, 160 * i,
                                  ssrc) + bytes((i * 7 + k) & 0xff
                                                for k in range(160))
            udp = struct.pack('!HHHH', 5000, 6000, 8 + len(payload), 0) + \
                payload
            hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), i,
                              0x4000, 64, 17, 0,
                              socket.inet_aton('10.0.0.1'),
                              socket.inet_aton('10.0.0.2'))
            csum = sum(struct.unpack('!10H', hdr))
            csum = (csum & 0xffff) + (csum >> 16)
            csum = (csum & 0xffff) + (csum >> 16)
            hdr = hdr[:10] + struct.pack('!H', ~csum & 0xffff) + hdr[12:]
            frame = b'\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01' \
                b'\x08\x00' + hdr + udp
            t = i * ptime
            f.write(struct.pack('<IIII', int(t), int((t % 1) * 1e6),
                                len(frame), len(frame)))
            f.write(frame)
    return path


def pcap_file(test):
    """The G.711 pcap SIPp plays: Debian's, or one written here."""
    if os.path.exists(SHIPPED_PCAP):
        return SHIPPED_PCAP
    path = test.path('g711u.pcap')
    if not os.path.exists(path):
        test.note('%s is not there: a G.711 pcap is made' % SHIPPED_PCAP)
        write_g711_pcap(path)
    return path


def can_raw():
    """SIPp plays a pcap through a raw socket (root or CAP_NET_RAW)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW,
                      socket.IPPROTO_UDP).close()
        return True
    except OSError:
        return False


# -- SDP -----------------------------------------------------------------

def make_sdp(port, ip=LOOPBACK, direction='sendrecv', version=1):
    return ('v=0\r\no=- 4242 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\n'
            't=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
            'a=%s\r\n' % (version, ip, ip, port, direction)).encode()


def sdp_of(body):
    """What an SDP says: o and c addresses, the first m= port, the
    direction attribute (None if none), the raw text."""
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    out = {'o': None, 'c': None, 'port': None, 'dir': None, 'text': body}
    for line in body.replace('\r\n', '\n').split('\n'):
        line = line.strip()
        if line.startswith('o=') and len(line.split()) >= 6:
            out['o'] = line.split()[5]
        elif line.startswith('c=') and out['c'] is None:
            out['c'] = line.split()[-1]
        elif line.startswith('m=') and out['port'] is None:
            parts = line[2:].split()
            out['port'] = int(parts[1]) if len(parts) > 1 and \
                parts[1].isdigit() else None
        elif line in ('a=sendrecv', 'a=sendonly', 'a=recvonly',
                      'a=inactive'):
            out['dir'] = line[2:]
    return out


def relay_sdp_ok(sdp, addr, s):
    """The SDP names the relay: c= and o= the relay's address on that
    side, the m= port an even port of the range."""
    p = sdp['port']
    return (sdp['c'] == addr and sdp['o'] == addr and p is not None and
            s.port_min <= p < s.port_max and p % 2 == 0)


# -- SIPp message traces -------------------------------------------------

def sipp_messages(test, name):
    """[(direction 'sent'|'received', sipmsg.Msg)] of a SIPp trace."""
    try:
        with open(test.path(name + '.msg'), 'rb') as f:
            text = f.read()
    except OSError:
        return []
    out = []
    for block in re.split(rb'(?m)^-{20,} [^\n]*\n', text)[1:]:
        head, _, msg = block.partition(b'\n')
        way = 'sent' if b'message sent' in head else 'received'
        msg = msg.lstrip(b'\r\n')
        msg = msg.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
        head_part, sep, body = msg.partition(b'\r\n\r\n')
        m = sipmsg.Msg(head_part + sep + body.rstrip(b'\r\n') +
                       (b'\r\n' if body.strip() else b''))
        out.append((way, m))
    return out


def sdps_in(test, name, way, start):
    """{Call-ID: [SDP, ...]} of the messages of a SIPp trace (way: sent or
    received) whose start line begins with start ('INVITE', 'SIP/2.0 200'),
    in order."""
    out = {}
    for w, m in sipp_messages(test, name):
        if w != way or not m.start.startswith(start) or \
                not m.body.strip():
            continue
        out.setdefault(m.get('call-id'), []).append(sdp_of(m.body))
    return out


# -- sbcd with the relay -------------------------------------------------

def bound_udp_ports():
    """Every local UDP port some socket of this host is bound to (IPv4
    and IPv6), from /proc/net."""
    ports = set()
    for name in ('udp', 'udp6'):
        try:
            with open('/proc/net/' + name) as f:
                next(f)
                for line in f:
                    ports.add(int(line.split()[1].rsplit(':', 1)[1], 16))
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return ports


def rtp_range(width):
    """(port_min, port_max): width ports from an even port, all within
    20000..30999, placed by a free port so that two runs seldom share,
    and moved on until no socket of the host is bound in it (other
    programs on a shared host, a media relay in a benchmark, hold ports
    there too)."""
    slots = (RANGE_END - RANGE_FIRST - width) // 2
    start = (sbcit.free_port() * 7919) % slots
    bound = bound_udp_ports()
    best = None
    for i in range(0, slots, 7):
        base = RANGE_FIRST + 2 * ((start + i) % slots)
        busy = sum(1 for p in range(base, base + width) if p in bound)
        if best is None or busy < best[0]:
            best = (busy, base)
        if not busy:
            break
    return best[1], best[1] + width - 1


def node(test, tag, io='io_uring', width=200, timeout=0, more=''):
    """sbcd with one relay and the three sets (see the top): attributes
    port_min, port_max, sipp_port, py_port, plain_port, cdr, io, and the
    Python parties py_backend and plain_backend, bound before sbcd starts
    so that none of its sockets can take their ports."""
    port_min, port_max = rtp_range(width)
    py_backend, plain_backend = UdpPeer(), UdpPeer()
    OPEN.extend([py_backend, plain_backend])
    py_port, plain_port = py_backend.addr[1], plain_backend.addr[1]
    sipp_port = sbcit.free_port()
    cdr = test.path('cdr-%s.jsonl' % tag)
    backends = (
        'backends = (\n'
        '  { name = "sipp"; members = [ "sip:%s:%d" ]; },\n'
        '  { name = "py"; members = [ "sip:%s:%d" ]; },\n'
        '  { name = "plain"; media = false; members = [ "sip:%s:%d" ]; }\n'
        ');\n'
        'routes = ( { prefix = "py"; set = "py"; },\n'
        '           { prefix = "plain"; set = "plain"; } );'
        % (LOOPBACK, sipp_port, LOOPBACK, py_port, LOOPBACK, plain_port))
    extra = ('rtp = { workers = 1; port_min = %d; port_max = %d;\n'
             '        access_address = "%s"; core_address = "%s";\n'
             '        io = "%s"; timeout = %d; };\n'
             'cdr = { file = "%s"; };\n%s'
             % (port_min, port_max, ACCESS_RTP, CORE_RTP, io, timeout, cdr,
                more))
    test.note('%s: sbcd with the relay on ports %d..%d, %s, timeout %d' %
              (tag, port_min, port_max, io, timeout))
    try:
        log_start = os.path.getsize(test.path('sbcd.log'))
    except OSError:
        log_start = 0
    s = test.sbcd(extra=extra, backends=backends)
    s.log_start = log_start
    s.port_min, s.port_max = port_min, port_max
    s.sipp_port, s.py_port, s.plain_port = sipp_port, py_port, plain_port
    s.py_backend, s.plain_backend = py_backend, plain_backend
    s.cdr, s.io, s.tag = cdr, io, tag
    pid = wait_relay(test, s, 1)
    test.require(pid is not None, '%s: the relay process started (log: '
                 '"relay 0 started")' % tag, s.log_tail())
    s.relay_pid = pid
    return s


RELAY_STARTED = re.compile(r'relay 0 started: pid (\d+), incarnation (\d+)')


def log_own(s):
    """This sbcd's lines of the run's sbcd.log (the nodes of a run
    follow each other in it)."""
    with open(s.test.path(s.log), 'rb') as f:
        f.seek(s.log_start)
        return f.read().decode('utf-8', 'replace')


def wait_relay(test, s, incarnation, limit=10):
    """The pid of the relay's incarnation from the supervisor's log line,
    or None after limit seconds."""
    deadline = time.monotonic() + limit
    while True:
        for m in RELAY_STARTED.finditer(log_own(s)):
            if int(m.group(2)) == incarnation:
                return int(m.group(1))
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def relay_children(sup_pid):
    """PIDs of the children of sup_pid with -R in their command line."""
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            if int(fields[1]) != sup_pid or fields[0] == 'Z':
                continue
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                argv = f.read().split(b'\0')
        except (OSError, ValueError, IndexError):
            continue
        if any(a == b'-R' or a.startswith(b'-R') for a in argv[1:]):
            out.append(int(d))
    return out


def data_path_check(test, s):
    """The relay's log line names the data path the config asks for."""
    text = log_own(s)
    m = re.search(r'relaying: (\S+) data path', text)
    if s.io == 'io_uring' and 'io_uring refused' in text:
        test.note('SKIP data path check: this kernel refuses io_uring, '
                  'the relay fell back to epoll')
        return
    test.check(m is not None and m.group(1) == s.io,
               '%s: the relay runs the %s data path (log: %s)' %
               (s.tag, s.io, m.group(0) if m else 'no "relaying:" line'))


def cdrs(s):
    try:
        with open(s.cdr) as f:
            return [json.loads(l) for l in f if l.strip()]
    except OSError:
        return []


def cdr_of(s, call_id, limit=5):
    """The CDR of call_id, waiting for it at most limit seconds."""
    row = {}

    def found():
        for r in cdrs(s):
            if r.get('call_id') == call_id:
                row.update(r)
                return True
        return False
    wait_until(found, limit, 0.1)
    return row or None


def media_sessions(s):
    """sbcctl media --json: the sessions, or None (with the reason printed)
    when sbcctl does not give them."""
    try:
        out = s.sbcctl_json('media')
    except sbcit.Failure as e:
        print('    | %s' % e)
        return None
    if not isinstance(out, dict) or not isinstance(out.get('sessions'),
                                                   list):
        print('    | sbcctl media --json: no sessions array: %r' % (out,))
        return None
    return out['sessions']


def session_of(s, call_id):
    """The session of call_id in sbcctl media --json, or None."""
    for row in media_sessions(s) or []:
        if row.get('call_id') == call_id:
            return row
    return None


def no_session_left(test, s, what):
    left = [None]

    def empty():
        left[:] = [media_sessions(s)]
        return left[0] == []
    test.check(wait_until(empty, 5, 0.2),
               '%s: no media session left after the calls ended' % what,
               left[0] and left[0][:5])


def counters(row, side):
    m = (row or {}).get('media') or {}
    return m.get(side) or {}


# -- Python SIP parties --------------------------------------------------

class Leg:
    """One party's side of a dialog through sbcd: its peer, where it sends
    (sbcd's listener on its side), route set, remote target, tags, CSeq."""

    def __init__(self, peer, dest, local, remote, call_id, cseq=1):
        self.peer, self.dest = peer, dest
        self.local, self.remote = local, remote
        self.call_id = call_id
        self.routes, self.target = [], None
        self.cseq = cseq

    def request(self, method, body=b''):
        """The next request (an ACK takes its INVITE's CSeq)."""
        if method != 'ACK':
            self.cseq += 1
        headers = [('Via', 'SIP/2.0/UDP %s;rport;branch=z9hG4bK%s' %
                    (self.peer.hostport, sipmsg.token())),
                   ('Max-Forwards', '70')]
        headers += [('Route', r) for r in self.routes]
        headers += [('From', self.local), ('To', self.remote),
                    ('Call-ID', self.call_id),
                    ('CSeq', '%d %s' % (self.cseq, method)),
                    ('Contact', '<sip:party@%s>' % self.peer.hostport)]
        if body:
            headers.append(('Content-Type', 'application/sdp'))
        return sipmsg.build('%s %s SIP/2.0' % (method, self.target),
                            headers, body)


def recv_req(peer, method, call_id, limit):
    """The next new request method (of call_id) at peer, or None: a
    retransmission (a top Via branch seen before) is not new."""
    seen = peer.__dict__.setdefault('seen_branches', set())

    def match(m):
        return (m.is_request and m.method == method and
                (call_id is None or m.get('call-id') == call_id) and
                sipmsg.param(m.get('via') or '', 'branch') not in seen)
    req = peer.recv(limit, match)
    if req is not None:
        seen.add(sipmsg.param(req.get('via') or '', 'branch'))
    return req


def answer(peer, req, code=200, body=b'', to_tag=None, copy_rr=False):
    extra = [('Contact', '<sip:party@%s>' % peer.hostport)]
    if body:
        extra.append(('Content-Type', 'application/sdp'))
    peer.send(sipmsg.response(req, code, 'OK' if code == 200 else 'Other',
                              extra=extra, to_tag=to_tag, body=body,
                              copy_rr=copy_rr), peer.last_src)


class Call:
    """A call from a Python user (access side) to a Python backend party
    (the py or plain set) through sbcd. After setup: u and b (the Legs),
    at_b (the SDP the backend got), at_u (the SDP the user got)."""

    def __init__(self, test, s, user, backend, ruser, u_port, b_port,
                 what, offer_sdp=None, answer_sdp=None):
        self.test, self.s, self.what = test, s, what
        self.user, self.backend = user, backend
        uri = 'sip:%s@%s' % (ruser, DOMAIN)
        self.offer = offer_sdp or make_sdp(u_port)
        self.answer = answer_sdp or make_sdp(b_port)
        invite = user.request('INVITE', uri, to=uri, body=self.offer)
        inv = sipmsg.Msg(invite)
        self.call_id = cid = inv.get('call-id')
        user.send(invite, (LOOPBACK, s.access))
        req = recv_req(backend, 'INVITE', cid, 5)
        test.require(req is not None, '%s: the INVITE reaches the backend '
                     'party' % what)
        tag = sipmsg.token(4)
        answer(backend, req, body=self.answer, to_tag=tag, copy_rr=True)
        rsp = user.recv_response(invite, timeout=5)
        test.require(rsp is not None and rsp.code == 200,
                     '%s: the user gets the 200' % what,
                     rsp.text() if rsp else 'nothing')
        self.invite_raw, self.ok_raw = req.body, rsp.body
        self.at_b, self.at_u = sdp_of(req.body), sdp_of(rsp.body)
        self.u = Leg(user, (LOOPBACK, s.access), inv.get('from'),
                     rsp.get('to'), cid)
        self.u.routes = list(reversed(rsp.all('record-route')))
        self.u.target = sipmsg.uri_of(rsp.get('contact'))
        self.b = Leg(backend, (LOOPBACK, s.core), req.get('to') + ';tag=' +
                     tag, req.get('from'), cid, cseq=100)
        self.b.routes = list(req.all('record-route'))
        self.b.target = sipmsg.uri_of(req.get('contact'))
        user.send(self.u.request('ACK'), self.u.dest)
        test.require(recv_req(backend, 'ACK', cid, 5) is not None,
                     '%s: the ACK reaches the backend party' % what)

    def legs(self, from_user):
        return (self.u, self.b) if from_user else (self.b, self.u)

    def reinvite(self, from_user, offer, answer_sdp, what):
        """A re-INVITE with offer from one party, answered with answer_sdp:
        (the SDP the other party got, the SDP the sender got back)."""
        test = self.test
        snd, rcv = self.legs(from_user)
        req = snd.request('INVITE', offer)
        snd.peer.send(req, snd.dest)
        got = recv_req(rcv.peer, 'INVITE', self.call_id, 5)
        test.require(got is not None, '%s: the re-INVITE reaches the other '
                     'party' % what)
        answer(rcv.peer, got, body=answer_sdp)
        rsp = snd.peer.recv_response(req, timeout=5)
        test.require(rsp is not None and rsp.code == 200,
                     '%s: 200 for the re-INVITE' % what,
                     rsp.text() if rsp else 'nothing')
        snd.peer.send(snd.request('ACK'), snd.dest)
        test.check(recv_req(rcv.peer, 'ACK', self.call_id, 5) is not None,
                   '%s: the ACK reaches the other party' % what)
        return sdp_of(got.body), sdp_of(rsp.body)

    def hang_up(self, from_user=True):
        test = self.test
        snd, rcv = self.legs(from_user)
        bye = snd.request('BYE')
        snd.peer.send(bye, snd.dest)
        got = recv_req(rcv.peer, 'BYE', self.call_id, 5)
        if got is not None:
            answer(rcv.peer, got)
        rsp = snd.peer.recv_response(bye, timeout=5)
        test.check(got is not None and rsp is not None and rsp.code == 200,
                   '%s: BYE reaches the other party and is answered' %
                   self.what)


def got_bye(peer, call_id):
    """A BYE for call_id already waiting at peer (answered), or None."""
    req = recv_req(peer, 'BYE', call_id, 0.01)
    if req is not None:
        answer(peer, req)
    return req


def peers(s):
    """A new user party, and the node's py backend party (one per node:
    it has the set's port)."""
    user = UdpPeer()
    OPEN.append(user)
    return user, s.py_backend


# -- seed 000: a pcap through the relay ----------------------------------

MEDIA_XML = ('  <nop>\n    <action>\n'
             '      <exec play_pcap_audio="%s"/>\n'
             '    </action>\n  </nop>\n')


def pcap_call(test, s):
    """A SIPp caller plays the G.711 pcap to a Python callee that echoes
    it (or, without raw sockets for SIPp, a Python caller replays it)."""
    what = 'seed 000 (%s)' % s.io
    test.note('%s: a pcap through the relay, echoed back' % what)
    data_path_check(test, s)
    pcap = pcap_file(test)
    pkts = [p for p in pcap_udp(pcap) if len(p) >= 12]
    test.require(len(pkts) >= 20, 'the pcap %s has RTP packets (%d)' %
                 (pcap, len(pkts)))
    by_seq = {rtp_seq(p): p for p in pkts}
    user, backend = peers(s)
    b = RtpSock(echo=True)
    mp = sbcit.free_port()
    sipp = None
    caller_rtp = None
    if can_raw():
        sipp = test.sipp('pcap-%s' % s.io, 'media_caller.xml',
                         remote='%s:%d' % (LOOPBACK, s.access), timeout=40,
                         values={'MEDIA': MEDIA_XML % pcap,
                                 'HOLD_MS': int(len(pkts) * 0.03 * 1000) +
                                 1500},
                         extra=['-s', 'py1', '-mp', str(mp),
                                '-mi', LOOPBACK])
        invite = recv_req(backend, 'INVITE', None, 10)
    else:
        test.note('no raw socket for SIPp\'s play_pcap_audio: a Python '
                  'caller replays the pcap')
        caller_rtp = RtpSock()
        mp = caller_rtp.port
        uri = 'sip:py1@%s' % DOMAIN
        py_invite = user.request('INVITE', uri, to=uri, body=make_sdp(mp))
        user.send(py_invite, (LOOPBACK, s.access))
        invite = recv_req(backend, 'INVITE', None, 10)
    test.require(invite is not None, '%s: the INVITE reaches the callee' %
                 what, sipp.errors() if sipp else '')
    cid = invite.get('call-id')
    at_b = sdp_of(invite.body)
    tag = sipmsg.token(4)
    answer(backend, invite, body=make_sdp(b.port), to_tag=tag, copy_rr=True)
    if sipp:
        test.check(recv_req(backend, 'ACK', cid, 10) is not None,
                   '%s: the ACK reaches the callee' % what)
        at_u = None
    else:
        rsp = user.recv_response(py_invite, timeout=5)
        test.require(rsp is not None and rsp.code == 200,
                     '%s: the caller gets the 200' % what)
        at_u = sdp_of(rsp.body)
        u = Leg(user, (LOOPBACK, s.access), sipmsg.Msg(py_invite).get(
            'from'), rsp.get('to'), cid)
        u.routes = list(reversed(rsp.all('record-route')))
        u.target = sipmsg.uri_of(rsp.get('contact'))
        user.send(u.request('ACK'), u.dest)
        recv_req(backend, 'ACK', cid, 5)
        for p in pkts:
            caller_rtp.sock.sendto(p, (ACCESS_RTP, at_u['port']))
            time.sleep(0.005)

    # while the audio plays
    wait_until(lambda: b.count() >= min(30, len(pkts) // 2), 10)
    during = session_of(s, cid)

    if sipp:
        bye = recv_req(backend, 'BYE', cid, len(pkts) * 0.03 + 15)
        if bye is not None:
            answer(backend, bye)
        test.check(bye is not None, '%s: the caller\'s BYE reaches the '
                   'callee' % what)
        sipp.expect('%s: the SIPp caller plays the pcap and hangs up' %
                    what, limit=30)
        oks = sdps_in(test, sipp.name, 'received', 'SIP/2.0 200').get(cid)
        at_u = oks[0] if oks else None
        offers = sdps_in(test, sipp.name, 'sent', 'INVITE ').get(cid)
        if offers and offers[0]['port'] != mp:
            test.note('SIPp took media port %s, not %d' %
                      (offers[0]['port'], mp))
            mp = offers[0]['port']
    else:
        settle(b, caller_rtp)
        bye = u.request('BYE')
        user.send(bye, u.dest)
        got = recv_req(backend, 'BYE', cid, 5)
        if got is not None:
            answer(backend, got)
        test.check(got is not None and user.recv_response(bye, 5),
                   '%s: the caller hangs up' % what)
    settle(b)

    # what each party was told
    test.check(relay_sdp_ok(at_b, CORE_RTP, s) and at_b['port'] != mp,
               '%s: the callee\'s SDP names the relay\'s core side (c= o= '
               '%s, port %s in %d..%d, even)' %
               (what, at_b['c'], at_b['port'], s.port_min, s.port_max),
               at_b['text'])
    test.check(at_u is not None and relay_sdp_ok(at_u, ACCESS_RTP, s) and
               at_u['port'] != b.port,
               '%s: the caller\'s SDP names the relay\'s access side (c= o= '
               '%s, port %s)' % (what, at_u and at_u['c'],
                                 at_u and at_u['port']),
               at_u and at_u['text'])
    pa, pc = (at_u or {}).get('port'), at_b['port']

    # what the callee got: the pcap, from the relay only
    got = b.packets()
    relay_core = (CORE_RTP, pc)
    sources = sorted(set(src for _, src, _ in got))
    test.check(got and sources == [relay_core],
               '%s: every packet the callee got came from the relay\'s core '
               'side %s:%d (sources: %s)' % (what, CORE_RTP, pc, sources))
    test.check(not any(src[1] == mp for _, src, _ in got),
               '%s: no packet came straight from the caller\'s port %d' %
               (what, mp))
    seqs = [rtp_seq(d) for _, _, d in got]
    same = sum(1 for _, _, d in got if by_seq.get(rtp_seq(d)) == d)
    test.check(len(got) == len(pkts) and same == len(pkts) and
               len(set(seqs)) == len(pkts),
               '%s: the callee got the %d packets of the pcap, byte for '
               'byte (%d received, %d identical)' %
               (what, len(pkts), len(got), same))

    # sbcctl media while the call was up
    sides = (during or {}).get('sides') or {}
    acc, core = sides.get('access') or {}, sides.get('core') or {}
    test.check(during is not None and
               acc.get('local') == '%s:%s' % (ACCESS_RTP, pa) and
               core.get('local') == '%s:%s' % (CORE_RTP, pc) and
               core.get('remote') == '%s:%d' % (LOOPBACK, b.port) and
               core.get('latched') is True and acc.get('latched') is True and
               acc.get('packets_in', 0) > 0 and
               core.get('packets_out', 0) > 0,
               '%s: sbcctl media --json shows the session, both sides '
               'latched (access %s -> %s, core %s -> %s)' %
               (what, acc.get('local'), acc.get('remote'),
                core.get('local'), core.get('remote')), json.dumps(during))
    test.check(acc.get('remote') == '%s:%d' % (LOOPBACK, mp),
               '%s: the caller\'s media latched to where its packets come '
               'from, its SDP port %d (sbcctl: %s)' %
               (what, mp, acc.get('remote')))

    # the CDR: both directions on both sides, nothing lost in the relay
    row = cdr_of(s, cid)
    a, c = counters(row, 'access'), counters(row, 'core')
    sent = sum(len(p) for p in pkts)
    echoed = b.echoed
    test.check(row is not None and a.get('packets_in') == len(pkts) and
               a.get('bytes_in') == sent and
               c.get('packets_out') == len(got) and
               c.get('bytes_out') == sum(len(d) for _, _, d in got),
               '%s: CDR: the caller\'s %d packets in on the access side, '
               'out on the core side (access in %s/%s B, core out %s/%s B)' %
               (what, len(pkts), a.get('packets_in'), a.get('bytes_in'),
                c.get('packets_out'), c.get('bytes_out')), row)
    test.check(echoed > 0 and c.get('packets_in') == echoed and
               a.get('packets_out') == echoed,
               '%s: CDR: the %d echoed packets in on the core side, out on '
               'the access side (core in %s, access out %s)' %
               (what, echoed, c.get('packets_in'), a.get('packets_out')),
               row)
    test.check(row is not None and row.get('reason') == 'caller_bye',
               '%s: CDR reason caller_bye' % what, row)
    if caller_rtp is not None:
        back = caller_rtp.packets()
        test.check(len(back) == echoed and all(
            src == (ACCESS_RTP, pa) for _, src, _ in back),
            '%s: the caller got the echo from the relay\'s access side '
            '(%d packets)' % (what, len(back)))
    no_session_left(test, s, what)


# -- latching ------------------------------------------------------------

def latching(test, s):
    what = 'latching (%s)' % s.io
    test.note('%s: the caller\'s RTP comes from another port than its SDP '
              'says' % what)
    user, backend = peers(s)
    a_sdp, a_real, intruder = RtpSock(), RtpSock(), RtpSock()
    b = RtpSock()
    call = Call(test, s, user, backend, 'py2', a_sdp.port, b.port, what)
    pa, pc = call.at_u['port'], call.at_b['port']
    relay_acc, relay_core = (ACCESS_RTP, pa), (CORE_RTP, pc)
    test.check(relay_sdp_ok(call.at_u, ACCESS_RTP, s) and
               relay_sdp_ok(call.at_b, CORE_RTP, s),
               '%s: each party\'s SDP names the relay on its side' % what)

    # 1. before the caller sent anything: to its SDP address
    b.send(relay_core, 5)
    wait_until(lambda: a_sdp.count() >= 5, 3)
    settle(a_sdp, a_real)
    test.check([src for _, src, _ in a_sdp.packets()] == [relay_acc] * 5
               and a_real.count() == 0,
               '%s: before the caller\'s first packet, media goes to its SDP '
               'address (SDP port got %d, real port %d)' %
               (what, a_sdp.count(), a_real.count()))

    # 2. the caller sends from its real port: it reaches the callee
    a_real.send(relay_acc, 5)
    wait_until(lambda: b.count() >= 5, 3)
    test.check(len(b.packets()) == 5 and all(
        src == relay_core and rtp_ssrc(d) == a_real.ssrc
        for _, src, d in b.packets()),
        '%s: the caller\'s packets reach the callee from the relay (%d)' %
        (what, b.count()))

    # 3. now the callee's packets go to the real port, not the SDP's
    b.send(relay_core, 5)
    wait_until(lambda: a_real.count() >= 5, 3)
    settle(a_sdp, a_real)
    test.check(a_real.count() == 5 and a_sdp.count() == 5 and all(
        src == relay_acc for _, src, _ in a_real.packets()),
        '%s: after it, media goes to where the caller\'s packets come from '
        '(real port got %d, SDP port %d in all)' %
        (what, a_real.count(), a_sdp.count()))

    # 4. a third party cannot take the media over
    intruder.send(relay_acc, 5)
    time.sleep(0.2)
    b.send(relay_core, 5)
    wait_until(lambda: a_real.count() >= 10, 3)
    settle(b, a_real, intruder)
    test.check(b.count() == 5 and intruder.count() == 0 and
               a_real.count() == 10,
               '%s: packets from another address are dropped and do not '
               'move the latch (callee got %d, intruder %d, caller %d)' %
               (what, b.count(), intruder.count(), a_real.count()))
    row = session_of(s, call.call_id)
    acc = ((row or {}).get('sides') or {}).get('access') or {}
    test.check(acc.get('remote') == '%s:%d' % (LOOPBACK, a_real.port) and
               acc.get('latched') is True,
               '%s: sbcctl media: the caller latched to its real port %d '
               '(%s, latched %s)' % (what, a_real.port, acc.get('remote'),
                                      acc.get('latched')))
    call.hang_up()
    row = cdr_of(s, call.call_id)
    a, c = counters(row, 'access'), counters(row, 'core')
    test.check(a.get('packets_in') == 5 and a.get('packets_out') == 15 and
               c.get('packets_in') == 15 and c.get('packets_out') == 5,
               '%s: CDR counts what was relayed, not the intruder\'s '
               '(access in/out %s/%s, core in/out %s/%s; want 5/15, 15/5)' %
               (what, a.get('packets_in'), a.get('packets_out'),
                c.get('packets_in'), c.get('packets_out')), row)


def no_media_set(test, s):
    what = 'media = false'
    test.note('a call to a backend set with media = false')
    user = UdpPeer()
    backend = s.plain_backend
    OPEN.append(user)
    a, b = RtpSock(), RtpSock()
    call = Call(test, s, user, backend, 'plain1', a.port, b.port, what)
    test.check(call.invite_raw == call.offer,
               '%s: the backend gets the caller\'s SDP untouched' % what,
               call.invite_raw)
    test.check(call.ok_raw == call.answer,
               '%s: the caller gets the backend\'s SDP untouched' % what,
               call.ok_raw)
    listed = media_sessions(s)
    test.check(listed is not None and not any(
        r.get('call_id') == call.call_id for r in listed),
        '%s: sbcctl media lists no session for the call' % what)
    call.hang_up()
    row = cdr_of(s, call.call_id)
    test.check(row is not None and 'media' in row and row['media'] is None,
               '%s: CDR media is null' % what, row)


# -- telephone-event numbered differently on each side -------------------

def dtmf_sdp(port, te):
    """PCMU and telephone-event/8000 on payload type te."""
    return ('v=0\r\no=- 4243 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\n'
            't=0 0\r\nm=audio %d RTP/AVP 0 %d\r\na=rtpmap:0 PCMU/8000\r\n'
            'a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n'
            'a=sendrecv\r\n' % (LOOPBACK, LOOPBACK, port, te, te, te)
            ).encode()


def pts_got(sock, since):
    return [d[1] & 0x7f for _, _, d in sock.packets(since)]


def dtmf_map(test, s):
    """The caller takes DTMF on 101, the callee on 96 (a browser's 126
    against a softphone's 101 is the same case). A party that sends with
    the other's number is untouched; one that sends with its own has its
    events renumbered to what the receiver declared; audio never is."""
    what = 'telephone-event'
    test.note('%s: 101 on the caller\'s side, 96 on the callee\'s' % what)
    user, backend = peers(s)
    a, b = RtpSock(), RtpSock()
    call = Call(test, s, user, backend, 'py4', a.port, b.port, what,
                offer_sdp=dtmf_sdp(a.port, 101),
                answer_sdp=dtmf_sdp(b.port, 96))
    test.check('telephone-event/8000' in call.at_b['text'] and
               'telephone-event/8000' in call.at_u['text'],
               '%s: each party gets the other\'s rtpmap as it was' % what)
    relay_acc = (ACCESS_RTP, call.at_u['port'])
    relay_core = (CORE_RTP, call.at_b['port'])

    steps = [(a, relay_acc, b, 96, 96, 'the caller sends with the '
              'callee\'s number'),
             (a, relay_acc, b, 101, 96, 'the caller sends with its own '
              'number'),
             (b, relay_core, a, 101, 101, 'the callee sends with the '
              'caller\'s number'),
             (b, relay_core, a, 96, 101, 'the callee sends with its own '
              'number'),
             (a, relay_acc, b, 0, 0, 'PCMU from the caller'),
             (b, relay_core, a, 0, 0, 'PCMU from the callee')]
    for snd, dest, rcv, pt, want, text in steps:
        since = rcv.count()
        snd.send(dest, 3, pt=pt)
        wait_until(lambda: rcv.count() >= since + 3, 3)
        got = pts_got(rcv, since)
        test.check(got == [want] * 3, '%s: %s (%d): it arrives as %d (%s)'
                   % (what, text, pt, want, got))
    call.hang_up()


# -- hold, resume, move --------------------------------------------------

def hold_and_move(test, s):
    what = 'hold/move (%s)' % s.io
    test.note('%s: re-INVITEs: sendonly, sendrecv, new ports' % what)
    user, backend = peers(s)
    a, b = RtpSock(), RtpSock()
    call = Call(test, s, user, backend, 'py4', a.port, b.port, what)
    pa, pc = call.at_u['port'], call.at_b['port']
    relay_acc, relay_core = (ACCESS_RTP, pa), (CORE_RTP, pc)

    def flow(src, dst, relay, n=5, label=''):
        """n packets from src reach dst, from the relay's socket."""
        before = dst.count()
        src.send(relay, n)
        wait_until(lambda: dst.count() >= before + n, 3)
        new = dst.packets(before)
        return test.check(
            len(new) == n and all(
                p[1] == (CORE_RTP if relay == relay_acc else ACCESS_RTP,
                         pc if relay == relay_acc else pa) and
                rtp_ssrc(p[2]) == src.ssrc for p in new),
            '%s: %s (%d of %d packets)' % (what, label, len(new), n))

    flow(a, b, relay_acc, label='caller to callee at the start')
    flow(b, a, relay_core, label='callee to caller at the start')

    # hold: the caller offers sendonly
    at_b, at_u = call.reinvite(True, make_sdp(a.port, direction='sendonly',
                                              version=2),
                               make_sdp(b.port, direction='recvonly',
                                        version=2), what + ' hold')
    test.check(at_b['dir'] == 'sendonly' and at_u['dir'] == 'recvonly' and
               relay_sdp_ok(at_b, CORE_RTP, s) and
               relay_sdp_ok(at_u, ACCESS_RTP, s),
               '%s: hold: the directions pass, the SDPs name the relay' %
               what, at_b['text'] + at_u['text'])
    test.check(at_b['port'] == pc and at_u['port'] == pa,
               '%s: hold: the relay\'s ports stay the same (core %s, access '
               '%s; were %d, %d)' % (what, at_b['port'], at_u['port'], pc,
                                     pa))
    flow(a, b, relay_acc, label='on hold, the holder\'s media still flows')

    # resume
    at_b, at_u = call.reinvite(True, make_sdp(a.port, version=3),
                               make_sdp(b.port, version=3),
                               what + ' resume')
    test.check(at_b['dir'] == 'sendrecv' and at_u['dir'] == 'sendrecv' and
               at_b['port'] == pc and at_u['port'] == pa,
               '%s: resume: sendrecv, same relay ports' % what)
    flow(a, b, relay_acc, label='resumed, caller to callee')
    flow(b, a, relay_core, label='resumed, callee to caller')

    # the callee moves to a new port (its own re-INVITE)
    b2 = RtpSock()
    at_u, at_b = call.reinvite(False, make_sdp(b2.port, version=4),
                               make_sdp(a.port, version=4),
                               what + ' callee moves')
    test.check(at_u['port'] == pa and at_b['port'] == pc,
               '%s: the callee\'s move keeps the relay ports (%s, %s)' %
               (what, at_u['port'], at_b['port']))
    b_before = b.count()
    flow(a, b2, relay_acc, label='after the callee moved, the caller\'s '
         'media reaches its new port')
    settle(b, b2)
    test.check(b.count() == b_before, '%s: nothing more at the callee\'s '
               'old port (%d new)' % (what, b.count() - b_before))
    flow(b2, a, relay_core, label='from the callee\'s new port to the '
         'caller')

    # the caller moves too
    a2 = RtpSock()
    call.reinvite(True, make_sdp(a2.port, version=5),
                  make_sdp(b2.port, version=5), what + ' caller moves')
    a_before = a.count()
    flow(b2, a2, relay_core, label='after the caller moved, the callee\'s '
         'media reaches its new port')
    settle(a, a2)
    test.check(a.count() == a_before, '%s: nothing more at the caller\'s '
               'old port (%d new)' % (what, a.count() - a_before))
    flow(a2, b2, relay_acc, label='from the caller\'s new port to the '
         'callee')

    call.hang_up(from_user=False)
    row = cdr_of(s, call.call_id)
    ac, cc = counters(row, 'access'), counters(row, 'core')
    test.check(ac.get('packets_in', 0) > 0 and cc.get('packets_in', 0) > 0
               and ac.get('packets_out') == cc.get('packets_in') and
               cc.get('packets_out') == ac.get('packets_in'),
               '%s: CDR: every packet in on one side went out on the other '
               '(access in/out %s/%s, core in/out %s/%s)' %
               (what, ac.get('packets_in'), ac.get('packets_out'),
                cc.get('packets_in'), cc.get('packets_out')), row)
    no_session_left(test, s, what)


# -- media timeout -------------------------------------------------------

BYE_200 = '''  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>'''


def media_timeout(test):
    what = 'media timeout'
    s = node(test, 'timeout', timeout=2)
    test.note('%s: a silent call, a call with media, a call on hold' % what)
    callee = test.sipp('to-callee', 'dialog_callee.xml', port=s.sipp_port,
                       timeout=30, values={'PING_REPLY': BYE_200,
                                           'PING_NEXT': 2,
                                           'BYE_REPLY': BYE_200},
                       extra=['-mp', str(sbcit.free_port())])
    user, backend = peers(s)
    a, b = RtpSock(), RtpSock()
    talking = Call(test, s, user, backend, 'py6a', a.port, b.port,
                   what + ', talking')
    h1, h2 = RtpSock(), RtpSock()
    held = Call(test, s, user, backend, 'py6h', h1.port, h2.port,
                what + ', on hold')
    held.reinvite(True, make_sdp(h1.port, direction='inactive', version=2),
                  make_sdp(h2.port, direction='inactive', version=2),
                  what + ' hold (inactive)')
    start = time.monotonic()
    caller = test.sipp('to-caller', 'dialog_caller.xml',
                       remote='%s:%d' % (LOOPBACK, s.access), timeout=30,
                       values={'PINGS': 10 ** 9},
                       extra=['-s', 'silent', '-mp',
                              str(sbcit.free_port())])
    relay_acc = (ACCESS_RTP, talking.at_u['port'])
    relay_core = (CORE_RTP, talking.at_b['port'])
    while time.monotonic() - start < 5.5:       # nearly three timeouts
        a.send(relay_acc, 1, gap=0)
        b.send(relay_core, 1, gap=0)
        time.sleep(0.1)
    caller.expect('%s: the silent call\'s caller gets a BYE' % what,
                  limit=10)
    callee.expect('%s: the silent call\'s callee gets a BYE' % what,
                  limit=10)
    silent = [m.get('call-id') for w, m in sipp_messages(test, caller.name)
              if w == 'sent' and m.start.startswith('INVITE ')]
    row = cdr_of(s, silent[0]) if silent else None
    test.check(row is not None and row.get('reason') == 'media_timeout' and
               row.get('ended_by') == 'sbcd',
               '%s: CDR reason media_timeout, ended by sbcd' % what, row)
    test.check(row is not None and 1.5 <= row.get('duration', -1) <= 5.0,
               '%s: the silent call ended 2 s (plus a sweep) after it was '
               'set up (%.1f s)' % (what, (row or {}).get('duration', -1)))
    for call in (talking, held):
        test.check(got_bye(user, call.call_id) is None and
                   got_bye(backend, call.call_id) is None and
                   cdr_of(s, call.call_id, 0.1) is None,
                   '%s: still up after %.1f s' % (call.what,
                                                  time.monotonic() - start))
        call.hang_up()
        row = cdr_of(s, call.call_id)
        test.check(row is not None and row.get('reason') == 'caller_bye',
                   '%s: CDR reason caller_bye' % call.what, row)
    test.check(counters(cdr_of(s, talking.call_id), 'access')
               .get('packets_in', 0) >= 40,
               '%s: its media was relayed' % talking.what)
    no_session_left(test, s, what)
    s.stop()


# -- kill -9 of the relay ------------------------------------------------

def kill_relay(test):
    what = 'relay killed'
    s = node(test, 'kill')
    kids = relay_children(s.proc.pid)
    test.require(kids == [s.relay_pid],
                 '%s: the relay (pid %d in the log) is the supervisor\'s one '
                 'child with -R (%s)' % (what, s.relay_pid, kids))
    rc, line, _ = s.health()
    test.check(rc == 0, '%s: sbcctl health passes before (%s)' % (what,
                                                                  line))
    test.note('%s: SIGKILL to relay pid %d' % (what, s.relay_pid))
    os.kill(s.relay_pid, signal.SIGKILL)
    down, answers = None, []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rc, line, _ = s.health()
        answers.append((round(time.monotonic() - deadline + 5, 3), rc,
                        line))
        if rc != 0 and down is None:
            down = (rc, line)
        if down is not None and rc == 0:
            break
    test.check(down is not None,
               '%s: sbcctl health fails while the relay is down (%s)' %
               (what, down[1] if down else 'it never failed'),
               '\n'.join('%.3f s: exit %s: %s' % a for a in answers[:20]))
    new = wait_relay(test, s, 2)
    test.require(new is not None and new != s.relay_pid,
                 '%s: the supervisor restarts it (log: relay 0 started: pid '
                 '%s, incarnation 2)' % (what, new), s.log_tail())
    test.check(relay_children(s.proc.pid) == [new],
               '%s: the new relay %d is the supervisor\'s child with -R' %
               (what, new))
    test.check(re.search(r'relay 0 \(pid %d\) killed by SIGKILL' %
                         s.relay_pid, log_own(s)) is not None,
               '%s: the supervisor logs the death' % what)
    wait_until(lambda: s.health()[0] == 0, 5, 0.1)
    rc, line, _ = s.health()
    test.check(rc == 0, '%s: sbcctl health passes again (%s)' % (what, line))

    user, backend = peers(s)
    a, b = RtpSock(), RtpSock()
    call = Call(test, s, user, backend, 'py5', a.port, b.port,
                what + ', a new call')
    test.check(relay_sdp_ok(call.at_u, ACCESS_RTP, s) and
               relay_sdp_ok(call.at_b, CORE_RTP, s),
               '%s: a new call\'s SDPs name the new relay' % what)
    a.send((ACCESS_RTP, call.at_u['port']), 5)
    b.send((CORE_RTP, call.at_b['port']), 5)
    ok = wait_until(lambda: a.count() >= 5 and b.count() >= 5, 3)
    test.check(ok and a.count() == 5 and b.count() == 5,
               '%s: a new call gets media both ways (%d, %d)' %
               (what, a.count(), b.count()))
    call.hang_up()
    row = cdr_of(s, call.call_id)
    ac, cc = counters(row, 'access'), counters(row, 'core')
    test.check(ac.get('packets_in') == 5 and cc.get('packets_in') == 5 and
               ac.get('packets_out') == 5 and cc.get('packets_out') == 5,
               '%s: the new call\'s CDR counts its media' % what, row)
    s.stop()


# -- the port range exhausted ---------------------------------------------

def exhausted(test):
    """A range of four pairs on each side's address holds four calls (a
    pair on each side each): the fifth gets 503 and the relay says why;
    once a call ends, its ports serve the next."""
    what = 'ports exhausted'
    s = node(test, 'exhausted', width=8)
    user, backend = peers(s)
    calls = []
    for i in range(4):
        a, b = RtpSock(), RtpSock()
        calls.append(Call(test, s, user, backend, 'py8%d' % i, a.port,
                          b.port, '%s, call %d' % (what, i + 1)))
    pairs = {s.port_min, s.port_min + 2, s.port_min + 4, s.port_min + 6}
    test.check({c.at_u['port'] for c in calls} == pairs and
               {c.at_b['port'] for c in calls} == pairs,
               '%s: four calls take the four pairs of each side' % what,
               [(c.at_u['port'], c.at_b['port']) for c in calls])
    uri = 'sip:py8x@%s' % DOMAIN
    invite = user.request('INVITE', uri, to=uri,
                          body=make_sdp(sbcit.free_port()))
    user.send(invite, (LOOPBACK, s.access))
    rsp = user.recv_response(invite, timeout=5)
    test.check(rsp is not None and rsp.code == 503,
               '%s: a fifth call gets 503' % what,
               rsp.text() if rsp else 'nothing')
    test.check(wait_until(lambda: 'no RTP port left' in log_own(s), 3),
               '%s: the relay logs "no RTP port left"' % what)
    test.check(recv_req(backend, 'INVITE', sipmsg.Msg(invite).get('call-id'),
                        0.5) is None,
               '%s: the fifth call never reaches the backend' % what)
    gone = calls.pop(0)
    gone.hang_up()
    time.sleep(0.3)
    a, b = RtpSock(), RtpSock()
    again = Call(test, s, user, backend, 'py8y', a.port, b.port,
                 what + ', after a call ended')
    test.check((again.at_u['port'], again.at_b['port']) ==
               (gone.at_u['port'], gone.at_b['port']),
               '%s: the ended call\'s ports serve the next' % what)
    for call in calls + [again]:
        call.hang_up()
    no_session_left(test, s, what)
    s.stop()


# -- a lost delete: the reaper --------------------------------------------

def lost_delete(test):
    """A call refused before its dialog is made (the dialog table holds
    one call) leaves a media session nobody deletes: the relay's sweep
    finds its Call-ID without a dialog and reaps it; the call that is up
    keeps its session."""
    what = 'lost delete'
    s = node(test, 'reaper', more='dialogs = { max = 1; };\n')
    user, backend = peers(s)
    a, b = RtpSock(), RtpSock()
    up = Call(test, s, user, backend, 'py7', a.port, b.port,
              what + ', the call up')
    uri = 'sip:py7b@%s' % DOMAIN
    invite = user.request('INVITE', uri, to=uri,
                          body=make_sdp(sbcit.free_port()))
    refused = sipmsg.Msg(invite).get('call-id')
    user.send(invite, (LOOPBACK, s.access))
    rsp = user.recv_response(invite, timeout=5)
    test.require(rsp is not None and rsp.code == 503,
                 '%s: a second call gets 503 (dialog table full)' % what,
                 rsp.text() if rsp else 'nothing')
    test.check(session_of(s, refused) is not None,
               '%s: the refused call left a media session' % what)
    start = time.monotonic()
    gone = wait_until(lambda: session_of(s, refused) is None, 15, 0.5)
    test.check(gone and time.monotonic() - start >= 5,
               '%s: the relay reaps it, 10 s after it was made (%.1f s)' %
               (what, time.monotonic() - start))
    test.check('media session without a call: reaped (%s)' % refused in
               log_own(s), '%s: the relay logs the reaping' % what)
    test.check(session_of(s, up.call_id) is not None,
               '%s: the call up keeps its session' % what)
    up.hang_up()
    no_session_left(test, s, what)
    s.stop()


# -- seed 004: ports held by another program -----------------------------

SEED4_WIDTH = 600
SEED4_CALLS = 500


def seed_004(test):
    what = 'seed 004'
    s = node(test, 'seed004', width=SEED4_WIDTH)
    first = s.port_min + (s.port_min & 1)
    pairs = (s.port_max - first + 1) // 2
    held, holders, others = set(), [], []
    for k in range(0, pairs, 3):
        port = first + 2 * k + (k // 3) % 2     # RTP port, then RTCP port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(('0.0.0.0', port))
            holders.append(sock)
            held.add(first + 2 * k)
        except OSError:
            sock.close()
            others.append(port)
    OPEN.extend(holders)
    test.note('%s: the test holds %d of the %d pairs of %d..%d (%d held by '
              'someone else already)' % (what, len(held), pairs, s.port_min,
                                         s.port_max, len(others)))
    test.require(len(held) + len(others) >= pairs // 3,
                 '%s: one pair in three is held' % what)
    bound = bound_udp_ports()
    free = sum(1 for k in range(pairs) if first + 2 * k not in bound and
               first + 2 * k + 1 not in bound)
    callee = test.sipp('s4-callee', 'dialog_callee.xml', port=s.sipp_port,
                       calls=SEED4_CALLS, timeout=60,
                       values={'PING_REPLY': BYE_200, 'PING_NEXT': 2,
                               'BYE_REPLY': BYE_200},
                       extra=['-mp', str(sbcit.free_port())])
    caller = test.sipp('s4-caller', 'media_caller.xml',
                       remote='%s:%d' % (LOOPBACK, s.access),
                       calls=SEED4_CALLS, rate=100, limit=80, timeout=60,
                       values={'MEDIA': '', 'HOLD_MS': 200},
                       extra=['-s', 'bob', '-mp', str(sbcit.free_port())])
    caller.expect('%s: %d calls with ports held around them' %
                  (what, SEED4_CALLS), limit=60)
    callee.expect('%s: the callee answers them all' % what, limit=20)
    at_b = sdps_in(test, callee.name, 'received', 'INVITE ')
    at_u = sdps_in(test, caller.name, 'received', 'SIP/2.0 200')
    given = [(side, sdp) for side, group in (('core', at_b),
                                             ('access', at_u))
             for sdps in group.values() for sdp in sdps[:1]]
    test.check(len(at_b) == SEED4_CALLS and len(at_u) == SEED4_CALLS,
               '%s: an SDP for each call on each side (callee %d, caller '
               '%d)' % (what, len(at_b), len(at_u)))
    bad = [(side, sdp['c'], sdp['port']) for side, sdp in given
           if not relay_sdp_ok(sdp, CORE_RTP if side == 'core'
                               else ACCESS_RTP, s)]
    test.check(not bad, '%s: every SDP names the relay and a port of the '
               'range (%d bad)' % (what, len(bad)), bad[:10])
    on_held = [(side, sdp['port']) for side, sdp in given
               if sdp['port'] is not None and
               (sdp['port'] & ~1) in held]
    test.check(not on_held, '%s: no call was given a held pair (%d SDPs, '
               '%d on held pairs)' % (what, len(given), len(on_held)),
               on_held[:10])
    used = set(sdp['port'] for _, sdp in given if sdp['port'])
    test.check(len(used) >= free // 2,
               '%s: the calls went round the range (%d distinct pairs of '
               '%d free)' % (what, len(used), free))
    wait_until(lambda: len(cdrs(s)) >= SEED4_CALLS, 10, 0.2)
    rows = cdrs(s)
    test.check(len(rows) == SEED4_CALLS and all(
        r.get('media') and r.get('reason') == 'caller_bye' for r in rows),
        '%s: %d CDRs, each with its media session' % (what, len(rows)))
    errors = [l for l in log_own(s).splitlines()
              if 'no RTP port left' in l or 'media relay:' in l]
    test.check(not errors, '%s: no port or relay failure in the log' %
               what, '\n'.join(errors[:10]))
    no_session_left(test, s, what)
    for sock in holders:
        sock.close()
    s.stop()


# -- main ----------------------------------------------------------------

def data_paths(test):
    for io in ('io_uring', 'epoll'):
        s = node(test, io, io=io)
        pcap_call(test, s)
        latching(test, s)
        hold_and_move(test, s)
        if io == 'io_uring':
            no_media_set(test, s)
            dtmf_map(test, s)
        test.check(relay_children(s.proc.pid) == [s.relay_pid],
                   '%s: the relay ran the whole time (pid %d)' %
                   (io, s.relay_pid))
        s.stop()


def main(test):
    try:
        data_paths(test)
        media_timeout(test)
        kill_relay(test)
        lost_delete(test)
        exhausted(test)
        seed_004(test)
    finally:
        for thing in OPEN:
            try:
                thing.close()
            except OSError:
                pass


if __name__ == '__main__':
    sbcit.run('media', main, direct_ok=False)
