"""Calls set up through sbcd, for the RTP benchmark: the callers and the
backend, in one select loop with many calls in flight.

A caller sends INVITE (SDP: c=IN IP4 127.0.0.1, m=audio A_port RTP/AVP 0 8
101) to sbcd's access listener; the backend (a socket bound to the
address in sbcd's backends) reads in the relayed INVITE the relay's core
port, which B sends to, and answers 100 then 200 OK (SDP: m=audio B_port
RTP/AVP 0 101); the caller reads in the 200 the relay's access port,
which A sends to, and ACKs along the Record-Route. The calls stay up: sbcd
ends them when it is stopped. Retransmissions on the way (a lost INVITE, a
lost 200 or ACK) are handled as RFC 3261 says, to the extent a benchmark
needs.
"""

import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'it', 'sip'))
import sipmsg  # noqa: E402

LOOP = '127.0.0.1'
T1 = 0.5


def caller_sdp(port, session):
    return ('v=0\r\no=alice %d 1 IN IP4 127.0.0.1\r\ns=-\r\n'
            'c=IN IP4 127.0.0.1\r\nt=0 0\r\n'
            'm=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n'
            'a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n'
            'a=sendrecv\r\n' % (session, port))


def callee_sdp(port, session):
    return ('v=0\r\no=bob %d 1 IN IP4 127.0.0.1\r\ns=-\r\n'
            'c=IN IP4 127.0.0.1\r\nt=0 0\r\n'
            'm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n'
            'a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n' %
            (session, port))


def sdp_audio(body):
    """(address, port) of the first audio stream of an SDP body."""
    addr, port = None, None
    for line in body.decode('utf-8', 'replace').splitlines():
        if line.startswith('c=IN IP4 '):
            addr = addr or line.split()[2]
        elif line.startswith('m=audio ') and port is None:
            port = int(line.split()[1])
    return addr, port


class Call:
    def __init__(self, n, a_port, b_port):
        self.n, self.a_port, self.b_port = n, a_port, b_port
        self.call_id = 'rtpbench-%d-%s' % (n, sipmsg.token(4))
        self.invite = None
        self.sent_at = 0.0
        self.tries = 0
        self.relay_a = None     # from the 200 the caller got
        self.relay_b = None     # from the INVITE the backend got
        self.ok = None          # the 200 the backend sent, for repeats
        self.ack = None
        self.error = None


class SipCalls:
    """The callers (one socket) and the backend (another), each on a port
    the system picks: the backend's is .backend_port, for sbcd's config;
    sbcd's access listener is told later (.access)."""

    def __init__(self):
        self.access = None
        self.uac = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.uac.bind((LOOP, 0))
        self.uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.uas.bind((LOOP, 0))
        self.backend_port = self.uas.getsockname()[1]
        for s in (self.uac, self.uas):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.setblocking(False)
        self.uac_hp = '%s:%d' % self.uac.getsockname()
        self.uas_hp = '%s:%d' % self.uas.getsockname()
        self.by_id = {}

    def close(self):
        self.uac.close()
        self.uas.close()

    def _invite(self, c):
        body = caller_sdp(c.a_port, c.n).encode()
        return sipmsg.build(
            'INVITE sip:bob@example.com SIP/2.0',
            [('Via', 'SIP/2.0/UDP %s;rport;branch=z9hG4bK%s' %
              (self.uac_hp, sipmsg.token())),
             ('Max-Forwards', '70'),
             ('From', '<sip:alice%d@example.com>;tag=a%d' % (c.n, c.n)),
             ('To', '<sip:bob@example.com>'),
             ('Call-ID', c.call_id),
             ('CSeq', '1 INVITE'),
             ('Contact', '<sip:alice%d@%s>' % (c.n, self.uac_hp)),
             ('Content-Type', 'application/sdp')], body)

    def _ack(self, c, ok):
        routes = list(reversed(ok.all('record-route')))
        target = sipmsg.uri_of(ok.get('contact') or '<sip:bob@%s>' %
                               self.uas_hp)
        headers = [('Via', 'SIP/2.0/UDP %s;rport;branch=z9hG4bK%s' %
                    (self.uac_hp, sipmsg.token())),
                   ('Max-Forwards', '70'),
                   ('From', ok.get('from')), ('To', ok.get('to')),
                   ('Call-ID', c.call_id), ('CSeq', '1 ACK')]
        headers += [('Route', r) for r in routes]
        return sipmsg.build('ACK %s SIP/2.0' % target, headers)

    def _on_backend(self, data, src):
        m = sipmsg.Msg(data)
        if not m.is_request:
            return
        c = self.by_id.get(m.get('call-id'))
        if m.method == 'INVITE' and c:
            if c.ok is None:
                c.relay_b = sdp_audio(m.body)[1]
                self.uas.sendto(sipmsg.response(m, 100, 'Trying'), src)
                c.ok = sipmsg.response(
                    m, 200, 'OK', to_tag='b%d' % c.n, copy_rr=True,
                    extra=[('Contact', '<sip:bob@%s>' % self.uas_hp),
                           ('Content-Type', 'application/sdp')],
                    body=callee_sdp(c.b_port, c.n))
            self.uas.sendto(c.ok, src)
        elif m.method != 'ACK':
            # BYE when sbcd stops, OPTIONS: answered, nothing more
            self.uas.sendto(sipmsg.response(m, 200, 'OK'), src)

    def _on_caller(self, data, src):
        m = sipmsg.Msg(data)
        if m.is_request:
            if m.method != 'ACK':
                self.uac.sendto(sipmsg.response(m, 200, 'OK'), src)
            return
        c = self.by_id.get(m.get('call-id'))
        if not c or m.cseq()[1] != 'INVITE' or m.code < 200:
            return
        if m.code >= 300:
            c.error = '%d %s' % (m.code, m.reason)
            return
        if c.ack is None:
            c.relay_a = sdp_audio(m.body)[1]
            c.ack = self._ack(c, m)
        self.uac.sendto(c.ack, self.access)

    def pump(self, timeout):
        """Answers what comes within timeout seconds (the BYEs sbcd sends
        both legs when it stops)."""
        ready, _, _ = select.select([self.uac, self.uas], [], [], timeout)
        for s in ready:
            for _ in range(256):
                try:
                    data, src = s.recvfrom(65535)
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    continue
                (self._on_backend if s is self.uas
                 else self._on_caller)(data, src)

    def setup(self, todo, window=200, limit=60.0):
        """Sets up the calls of todo, a list of (n, a_port, b_port), at
        most window at once; returns {n: (relay_a, relay_b)} of those
        that got both ports, and raises RuntimeError with the reason when
        some did not within limit seconds."""
        waiting = [Call(n, a, b) for n, a, b in todo]
        waiting.reverse()
        flight, done, failed = {}, {}, []
        deadline = time.monotonic() + limit
        while (waiting or flight) and time.monotonic() < deadline:
            while waiting and len(flight) < window:
                c = waiting.pop()
                c.invite = self._invite(c)
                self.by_id[c.call_id] = c
                flight[c.call_id] = c
                c.sent_at, c.tries = time.monotonic(), 1
                self.uac.sendto(c.invite, self.access)
            self.pump(0.05)
            now = time.monotonic()
            for cid, c in list(flight.items()):
                if c.ack is not None:
                    del flight[cid]
                    done[c.n] = c
                elif c.error or c.tries > 6:
                    del flight[cid]
                    failed.append(c)
                elif now - c.sent_at > T1 * 2 ** (c.tries - 1):
                    c.tries += 1
                    c.sent_at = now
                    self.uac.sendto(c.invite, self.access)
        out = {}
        for n, c in done.items():
            if not c.relay_a or not c.relay_b:
                c.error = 'no audio port in the SDP'
            elif c.relay_b == c.a_port or c.relay_a == c.b_port:
                c.error = 'SDP not rewritten: no relay in the path'
            if c.error:
                failed.append(c)
            else:
                out[n] = (c.relay_a, c.relay_b)
        if failed or waiting or flight:
            why = 'no answer'
            if failed:
                why = failed[0].error or why
            raise RuntimeError('%d of %d calls not set up (%s)' % (
                len(todo) - len(out), len(todo), why))
        return out
