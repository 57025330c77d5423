"""Calls from a browser to a plain party set up through sbcd, for the
WebRTC benchmark: tests/bench/rtp/sip_calls.py's callers and backend, with
a browser's offer and an answer read for ICE and DTLS.

The caller's INVITE carries what a browser offers over SIP (RFC 8829,
one audio stream bundled, trickle ICE off): m=audio 9 UDP/TLS/RTP/SAVPF
0 8 101, c=IN IP4 0.0.0.0, its ICE ufrag and password, a host candidate
(the generator's browser socket), the generator's certificate
fingerprint, a=setup:actpass, a=rtcp-mux, a=mid:0, a=group:BUNDLE 0. The
relay must hand the backend a plain RTP/AVP offer and the caller a
WebRTC answer; from that answer come the relay's access address and
port (its host candidate, else c= and m=), ICE ufrag and password,
fingerprint, a=setup (passive: the browser is the DTLS client) and
a=ice-lite. A call may be plain instead (sip_calls.py's offer): the
yardstick.

Unlike SipCalls.setup(), run() paces INVITEs (calls per second, at most
a window in flight), keeps when each INVITE first left
(time.monotonic_ns(), CLOCK_MONOTONIC like the generator's clock) and
hands each call to on_answer the moment its 200 is in, so the generator
starts the browser's checks when a browser would.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'rtp'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'it', 'webrtc'))
from sip_calls import SipCalls, Call, caller_sdp, T1  # noqa: E402
import sipmsg  # noqa: E402  (sip_calls put tests/it/sip on the path)
from webrtc_sdp import sdp_read  # noqa: E402

WEBRTC_PROTO = 'UDP/TLS/RTP/SAVPF'


def browser_offer(session, port, ufrag, pwd, fingerprint):
    """A browser's offer: one audio stream, G.711 and telephone-event,
    ICE (one host candidate on 127.0.0.1:port) and DTLS-SRTP."""
    return ('v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'
            'a=group:BUNDLE 0\r\na=msid-semantic: WMS bench\r\n'
            'm=audio 9 %s 0 8 101\r\nc=IN IP4 0.0.0.0\r\n'
            'a=rtcp:9 IN IP4 0.0.0.0\r\n'
            'a=candidate:1 1 udp 2130706431 127.0.0.1 %d typ host '
            'generation 0\r\n'
            'a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n'
            'a=fingerprint:%s\r\na=setup:actpass\r\na=mid:0\r\n'
            'a=sendrecv\r\na=msid:bench bench-audio\r\na=rtcp-mux\r\n'
            'a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n'
            'a=rtpmap:101 telephone-event/8000\r\n'
            'a=ssrc:%d cname:bench\r\n' % (
                1000000 + session, WEBRTC_PROTO, port, ufrag, pwd,
                fingerprint, 0x5b000000 ^ (2 * session * 2654435761
                                           & 0xffffffff)))


def answer_problem(a):
    """Why an answer is no WebRTC answer from an ICE-lite relay (None:
    it is one)."""
    if a['proto'] != WEBRTC_PROTO:
        return 'answer proto %s, not %s' % (a['proto'], WEBRTC_PROTO)
    for k in ('ufrag', 'pwd', 'fingerprint'):
        if not a[k]:
            return 'answer without a=%s' % {'ufrag': 'ice-ufrag',
                                            'pwd': 'ice-pwd'}.get(k, k)
    if a['setup'] != 'passive':
        return 'answer a=setup:%s, not passive' % a['setup']
    if not a['port'] or not a['addr']:
        return 'answer without an address'
    if len(a['fingerprint'].split()) != 2:
        return 'answer fingerprint malformed: %s' % a['fingerprint']
    return None


class WCall(Call):
    """A call: n, the generator's browser (a_port) and plain (b_port)
    ports, the browser's ICE credentials (ufrag None: a plain call)."""

    def __init__(self, n, a_port, b_port, ufrag=None, pwd=None):
        super().__init__(n, a_port, b_port)
        self.call_id = 'webrtcbench-%d-%s' % (n, sipmsg.token(4))
        self.ufrag, self.pwd = ufrag, pwd
        self.invite_ns = 0        # the INVITE first left
        self.answer_ns = 0        # its 200 came
        self.answer = None        # sdp_read() of the 200
        self.b_proto = None       # the proto the backend was offered
        self.told = False         # on_answer had it


class WebrtcCalls(SipCalls):
    """SipCalls with a browser's offer (fingerprint: the generator's
    certificate's, "sha-256 AB:...") and the answer read."""

    def __init__(self, fingerprint=None):
        super().__init__()
        self.fingerprint = fingerprint
        self.on_answer = None

    def _invite(self, c):
        if c.ufrag is None:
            body = caller_sdp(c.a_port, c.n)
        else:
            body = browser_offer(c.n, c.a_port, c.ufrag, c.pwd,
                                 self.fingerprint)
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
             ('Content-Type', 'application/sdp')], body.encode())

    def _on_backend(self, data, src):
        m = sipmsg.Msg(data)
        c = self.by_id.get(m.get('call-id')) if m.is_request else None
        if c and m.method == 'INVITE' and c.b_proto is None:
            c.b_proto = sdp_read(m.body)['proto']
        super()._on_backend(data, src)

    def _on_caller(self, data, src):
        m = sipmsg.Msg(data)
        c = None if m.is_request else self.by_id.get(m.get('call-id'))
        if c and c.ack is None and m.cseq()[1] == 'INVITE' and \
                200 <= m.code < 300:
            c.answer_ns = time.monotonic_ns()
            c.answer = sdp_read(m.body)
            if c.ufrag is not None:
                c.error = answer_problem(c.answer)
            elif c.answer['proto'] != 'RTP/AVP':
                c.error = 'plain call answered with %s' % \
                    c.answer['proto']
            if c.relay_b is None:
                c.error = 'the backend got no offer with an audio port'
            elif c.b_proto != 'RTP/AVP':
                c.error = 'backend offered %s, not RTP/AVP' % c.b_proto
        super()._on_caller(data, src)
        if c and c.ack is not None and not c.told and not c.error and \
                self.on_answer:
            c.told = True
            self.on_answer(c)

    def run(self, calls, on_answer, cps=None, window=200, limit=60.0):
        """Sets up calls (WCall), at most window at once and cps per
        second when given; on_answer(call) as each 200 comes. Returns the
        calls set up; raises RuntimeError with the first reason when some
        were not within limit seconds."""
        self.on_answer = on_answer
        waiting = list(reversed(calls))
        flight, done, failed = {}, [], []
        t0 = time.monotonic()
        deadline = t0 + limit
        sent = 0
        while (waiting or flight) and time.monotonic() < deadline:
            now = time.monotonic()
            while waiting and len(flight) < window and \
                    (cps is None or sent < (now - t0) * cps + 1):
                c = waiting.pop()
                c.invite = self._invite(c)
                self.by_id[c.call_id] = c
                flight[c.call_id] = c
                c.tries = 1
                c.invite_ns = time.monotonic_ns()
                c.sent_at = c.invite_ns / 1e9
                self.uac.sendto(c.invite, self.access)
                sent += 1
            wait = 0.05 if cps is None else min(0.05, 1.0 / cps)
            self.pump(wait)
            now = time.monotonic()
            for cid, c in list(flight.items()):
                if c.error:
                    del flight[cid]
                    failed.append(c)
                elif c.told:
                    del flight[cid]
                    done.append(c)
                elif c.tries > 6:
                    c.error = c.error or 'no answer after 6 INVITEs'
                    del flight[cid]
                    failed.append(c)
                elif c.ack is None and \
                        now - c.sent_at > T1 * 2 ** (c.tries - 1):
                    c.tries += 1
                    c.sent_at = now
                    self.uac.sendto(c.invite, self.access)
        if failed or waiting or flight:
            why = failed[0].error if failed else 'no answer in %gs' % limit
            raise RuntimeError('%d of %d calls not set up (%s)' % (
                len(calls) - len(done), len(calls), why))
        return done
