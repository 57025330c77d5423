#!/usr/bin/env python3
"""The relay's WebRTC leg, its security and its state, with no browser.

sbcd runs one relay (access side 127.0.0.1, core side 127.0.0.2, as in
../sip/test_media.py). A Python caller on UDP offers what a browser
offers (UDP/TLS/RTP/SAVPF, ICE, a=setup:actpass, a=rtcp-mux, BUNDLE,
PCMU), with the ICE credentials and certificate fingerprint of
relay_probe (relay_probe.c: a browser's transport on the relay's own
DTLS and SRTP code, driven one command at a time); a Python backend
answers with a plain SDP and sends and counts plain RTP. From the 200
come the relay's ufrag, password, fingerprint and port. Checked, each by
what the parties really receive:

1. the relay's answer is a WebRTC answer (ICE-lite, passive, rtcp-mux),
   the backend's offer a plain one naming the relay's core address;
2. before any valid check, RTP, SRTP-looking packets and a DTLS
   ClientHello sent to the relay's access port go nowhere (the backend
   gets nothing, the handshake gets no answer, the leg is not latched);
3. a check with a wrong password, or a wrong username, gets no answer;
   with the right ones the answer's MESSAGE-INTEGRITY verifies with the
   relay's password and its XOR-MAPPED-ADDRESS is the probe's address;
   a valid check without USE-CANDIDATE from a second address is
   answered but moves nothing;
4. after the nominating check DTLS connects (the relay's certificate is
   the one of its SDP's fingerprint), the probe's SRTP reaches the
   backend as the very RTP it protected, the backend's RTP reaches the
   probe as SRTP that unprotects to the very packets it sent;
5. SRTP from a second socket of the probe (a third party, with the right
   keys) is dropped: the backend's count does not move;
6. tampered SRTP from the checked address is dropped and counted
   (srtp_auth_failed grows by exactly that many), so are replayed
   packets (srtp_replayed);
7. sbcctl media: access side profile webrtc, dtls connected, consent,
   latched to the probe's address; core side plain;
8. re-INVITEs: the same fingerprint keeps the association (the same
   keys go on working, no handshake); a new ice-ufrag (ICE restart)
   gets new relay credentials, after which checks with the old ones
   are refused; a new certificate's fingerprint needs a new handshake
   (media stop both ways until the probe handshakes with its new
   certificate, then flow); a fingerprint of a certificate the probe
   does not show makes its handshake fail (and sbcctl say so), until a
   re-INVITE gives the right one again;
9. consent (RFC 7675): no checks for 30 s, and the relay stops sending
   the backend's media to the probe, sbcctl shows consent false; one
   check brings both back;
10. the caller's BYE removes the session, and the CDR's "media" holds
    the access side's WebRTC fields;
11. a second call: its first valid check latches the leg even without
    USE-CANDIDATE; a later one without it, from elsewhere, moves
    nothing; a nominating one moves the leg, another moves it back.

Usage: test_relay.py [--probe PATH] [--build DIR] [--keep]; the probe
defaults to DIR/tests/it/webrtc/relay_probe.
"""

import json
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'sip'))

import sbcit            # noqa: E402
import sipmsg           # noqa: E402
from webrtc_sdp import sdp_read  # noqa: E402
# Borrowed from the plain relay's test: the relay's port range, a
# dialog's requests, waiting for a new request, answering one, the CDR.
from test_media import rtp_range, Leg, recv_req, answer, cdr_of, \
    wait_until      # noqa: E402

LOOPBACK = sbcit.LOOPBACK
ACCESS_RTP = '127.0.0.1'
CORE_RTP = '127.0.0.2'
DOMAIN = 'example.com'
WEBRTC_PROTO = 'UDP/TLS/RTP/SAVPF'
CONSENT_S = 30          # RFC 7675, rtp/relay_priv.h RWEBRTC_CONSENT_MS
PROBE_SSRC = 0x5bcd7e57
BACKEND_SSRC = 0x0bac4e0d


# -- RTP: the probe's and the backend's packets, rebuilt by number -------

def probe_packet(seq):
    """The plain RTP packet relay_probe sends as number seq (see the top
    of relay_probe.c)."""
    return struct.pack('!BBHII', 0x80, 0, seq & 0xffff,
                       (160 * seq) & 0xffffffff, PROBE_SSRC) + \
        bytes((seq + k) & 0xff for k in range(160))


def backend_packet(seq):
    """The backend's RTP packet number seq: PCMU, its own pattern."""
    return struct.pack('!BBHII', 0x80, 0, seq & 0xffff,
                       (160 * seq) & 0xffffffff, BACKEND_SSRC) + \
        bytes((3 * seq + k) & 0xff for k in range(160))


class Backend:
    """The core side's media party: a UDP socket on 127.0.0.1 whose thread
    records every packet (source, bytes); sends numbered packets to the
    relay's core port."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.seq = 0
        self.dest = None
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.05)
                if ready:
                    data, src = self.sock.recvfrom(4096)
                    with self.lock:
                        self.got.append((src, data))
            except (OSError, ValueError):
                if not self.running:
                    return

    def count(self):
        with self.lock:
            return len(self.got)

    def packets(self, since=0):
        with self.lock:
            return list(self.got[since:])

    def send(self, n, gap=0.02):
        """n packets, gap apart, in a thread: (thread, first seq)."""
        first = self.seq + 1
        self.seq += n

        def run():
            for seq in range(first, first + n):
                self.sock.sendto(backend_packet(seq), self.dest)
                time.sleep(gap)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, first

    def close(self):
        self.running = False
        self.thread.join(1)
        self.sock.close()


# -- the probe -----------------------------------------------------------

class Probe:
    """relay_probe as a child process: cmd() writes one line and reads
    its one JSON answer, bounded in time."""

    def __init__(self, test, path):
        self.test = test
        self.log = open(test.path('relay_probe.log'), 'ab')
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.log, cwd=test.tmp)
        test.procs.append(self.proc)
        self.buf = b''

    def cmd(self, line, limit=15):
        self.test.note('probe: %s' % line)
        self.proc.stdin.write((line + '\n').encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + limit
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise sbcit.Failure('relay_probe: no answer to %r' % line)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise sbcit.Failure('relay_probe exited on %r' % line)
                self.buf += chunk
        out, _, self.buf = self.buf.partition(b'\n')
        rsp = json.loads(out)
        if not rsp.get('ok'):
            raise sbcit.Failure('relay_probe: %r: %s' %
                                (line, rsp.get('error')))
        return rsp

    def quit(self):
        try:
            self.cmd('quit', limit=5)
            self.proc.wait(5)
        except (sbcit.Failure, OSError, subprocess.TimeoutExpired):
            pass
        self.log.close()
        return self.proc.poll()

    def log_problems(self):
        """Sanitizer reports in what the probe wrote on stderr."""
        with open(self.test.path('relay_probe.log'), errors='replace') as f:
            return [l for l in f.read().splitlines()
                    if 'Sanitizer' in l or 'runtime error:' in l]


# -- SDP -----------------------------------------------------------------

def browser_offer(version, port, ufrag, pwd, fingerprint):
    """What a browser offers over SIP: one audio stream, PCMU, bundled,
    rtcp-mux, its ICE credentials and a host candidate (the probe's
    socket), its certificate's fingerprint, a=setup:actpass."""
    return ('v=0\r\no=- 7001 %d IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'
            'a=group:BUNDLE 0\r\na=msid-semantic: WMS probe\r\n'
            'm=audio 9 %s 0\r\nc=IN IP4 0.0.0.0\r\n'
            'a=rtcp:9 IN IP4 0.0.0.0\r\n'
            'a=candidate:1 1 udp 2130706431 127.0.0.1 %d typ host '
            'generation 0\r\n'
            'a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n'
            'a=fingerprint:%s\r\na=setup:actpass\r\na=mid:0\r\n'
            'a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n'
            'a=ssrc:%d cname:probe\r\n' % (
                version, WEBRTC_PROTO, port, ufrag, pwd, fingerprint,
                PROBE_SSRC)).encode()


def plain_sdp(port, version=1):
    return ('v=0\r\no=- 4242 %d IN IP4 127.0.0.1\r\ns=-\r\n'
            'c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\n'
            'a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n' %
            (version, port)).encode()


# -- the call ------------------------------------------------------------

class Call:
    """The probe's call through sbcd: the caller (access, UDP SIP) offers
    a browser's SDP, the backend answers plain. After setup: relay (the
    relay's access end: addr, port, ufrag, pwd, fingerprint) and
    b_offer (what the backend was offered)."""

    def __init__(self, test, s, backend_rtp, ufrag, pwd, fingerprint,
                 probe_port, what):
        self.test, self.s = test, s
        self.user = sipmsg.UdpPeer()
        self.backend = sipmsg.UdpPeer(port=s.backend)
        self.rtp = backend_rtp
        self.ufrag, self.pwd, self.fp = ufrag, pwd, fingerprint
        self.probe_port = probe_port
        self.version = 1
        uri = 'sip:bob@%s' % DOMAIN
        invite = self.user.request('INVITE', uri, to=uri,
                                   body=self.offer())
        inv = sipmsg.Msg(invite)
        self.call_id = cid = inv.get('call-id')
        self.user.send(invite, (LOOPBACK, s.access))
        req = recv_req(self.backend, 'INVITE', cid, 5)
        test.require(req is not None, '%s: the INVITE reaches the backend'
                     % what)
        self.b_offer = sdp_read(req.body)
        tag = sipmsg.token(4)
        answer(self.backend, req, body=plain_sdp(backend_rtp.port),
               to_tag=tag, copy_rr=True)
        rsp = self.user.recv_response(invite, timeout=5)
        test.require(rsp is not None and rsp.code == 200,
                     '%s: the caller gets the 200' % what,
                     rsp.text() if rsp else 'nothing')
        self.relay = sdp_read(rsp.body)
        self.answer_text = rsp.body.decode('utf-8', 'replace')
        self.u = Leg(self.user, (LOOPBACK, s.access), inv.get('from'),
                     rsp.get('to'), cid)
        self.u.routes = list(reversed(rsp.all('record-route')))
        self.u.target = sipmsg.uri_of(rsp.get('contact'))
        self.b = Leg(self.backend, (LOOPBACK, s.core),
                     req.get('to') + ';tag=' + tag, req.get('from'), cid,
                     cseq=100)
        self.b.routes = list(req.all('record-route'))
        self.b.target = sipmsg.uri_of(req.get('contact'))
        self.user.send(self.u.request('ACK'), self.u.dest)
        test.require(recv_req(self.backend, 'ACK', cid, 5) is not None,
                     '%s: the ACK reaches the backend' % what)

    def offer(self):
        return browser_offer(self.version, self.probe_port, self.ufrag,
                             self.pwd, self.fp)

    def reinvite(self, what):
        """A re-INVITE from the caller with the current credentials and
        fingerprint, answered plain by the backend: the relay's answer
        (sdp_read) to the caller."""
        test = self.test
        self.version += 1
        req = self.u.request('INVITE', self.offer())
        self.user.send(req, self.u.dest)
        got = recv_req(self.backend, 'INVITE', self.call_id, 5)
        test.require(got is not None, '%s: the re-INVITE reaches the '
                     'backend' % what)
        answer(self.backend, got, body=plain_sdp(self.rtp.port, 2))
        rsp = self.user.recv_response(req, timeout=5)
        test.require(rsp is not None and rsp.code == 200,
                     '%s: 200 for the re-INVITE' % what,
                     rsp.text() if rsp else 'nothing')
        self.user.send(self.u.request('ACK'), self.u.dest)
        test.check(recv_req(self.backend, 'ACK', self.call_id, 5)
                   is not None, '%s: the ACK reaches the backend' % what)
        return sdp_read(rsp.body)

    def hang_up(self):
        bye = self.u.request('BYE')
        self.user.send(bye, self.u.dest)
        got = recv_req(self.backend, 'BYE', self.call_id, 5)
        if got is not None:
            answer(self.backend, got)
        rsp = self.user.recv_response(bye, timeout=5)
        self.test.check(got is not None and rsp is not None and
                        rsp.code == 200,
                        'the BYE reaches the backend and is answered')

    def close(self):
        self.user.close()
        self.backend.close()


# -- the run -------------------------------------------------------------

class Run:
    """What the steps share: the test, sbcd, probe, backend, call, and
    the probe's checks and media helpers."""

    def __init__(self, test, s, probe, backend):
        self.test, self.s, self.probe, self.rtp = test, s, probe, backend
        self.call = None
        self.last_check = None

    # checks

    def check(self, ufrag, pwd, use=False, frm=None, rufrag=None):
        r = self.call.relay
        line = 'check %s %d %s %s %s' % (r['addr'], r['port'], ufrag,
                                         rufrag or self.call.ufrag, pwd)
        if use:
            line += ' use'
        if frm is not None:
            line += ' from=%d' % frm
        rsp = self.probe.cmd(line)
        if rsp['answered'] and rsp['integrity']:
            self.last_check = time.monotonic()
        return rsp

    def good_check(self, what, use=True):
        r = self.call.relay
        rsp = self.check(r['ufrag'], r['pwd'], use=use)
        self.test.check(rsp['answered'] and rsp['integrity'] and
                        rsp['fingerprint'] and rsp['mapped_ok'],
                        '%s: the check is answered (MI and FINGERPRINT '
                        'verify, XOR-MAPPED-ADDRESS %s)' %
                        (what, rsp['mapped']), rsp)
        return rsp

    def dtls(self, ms=None):
        r = self.call.relay
        line = 'dtls %s %d %s' % (r['addr'], r['port'], r['fingerprint'])
        if ms is not None:
            line += ' ms=%d' % ms
        return self.probe.cmd(line)

    # media

    def up(self, n):
        """The probe sends n SRTP packets: how many plain RTP packets the
        backend got, and whether each is the very packet the probe
        protected, from the relay's core port."""
        before = self.rtp.count()
        self.probe.cmd('send %d' % n)
        wait_until(lambda: self.rtp.count() - before >= n, 2)
        time.sleep(0.1)                   # and nothing more comes
        got = self.rtp.packets(before)
        ok = all(src == (CORE_RTP, self.s.core_port) and
                 data == probe_packet(struct.unpack('!H', data[2:4])[0])
                 for src, data in got)
        return len(got), ok

    def down(self, n):
        """The backend sends n RTP packets: the probe's recv of them, and
        whether they are the ones sent (numbers, the first one's bytes)."""
        self.probe.cmd('recv 0')          # what came before is not ours
        t, first = self.rtp.send(n)
        rsp = self.probe.cmd('recv %d' % (n * 20 + 800))
        t.join()
        want = list(range(first, first + n))
        seqs_ok = rsp['srtp'] == 0 or \
            all(q in want for q in rsp['seqs'])
        first_ok = rsp['srtp'] == 0 or (
            bytes.fromhex(rsp['first']) ==
            backend_packet(rsp['seqs'][0]))
        return rsp, seqs_ok and first_ok

    def flows(self, what, n=20):
        """Media both ways, each packet the one sent."""
        got, ok = self.up(n)
        self.test.check(got == n and ok, '%s: the probe\'s %d SRTP packets '
                        'reach the backend as its plain RTP (got %d%s)' %
                        (what, n, got, '' if ok else ', not the same'))
        rsp, ok = self.down(n)
        self.test.check(rsp['srtp'] == n and ok and not rsp['failed'],
                        '%s: the backend\'s %d RTP packets reach the probe '
                        'as SRTP that unprotects to them (got %d, failed %d)'
                        % (what, n, rsp['srtp'], rsp['failed']), rsp)

    # sbcctl

    def session(self):
        out = self.s.sbcctl_json('media')
        for row in (out or {}).get('sessions') or []:
            if row.get('call_id') == self.call.call_id:
                return row
        return None

    def access(self):
        row = self.session() or {}
        return (row.get('sides') or {}).get('access') or {}

    def access_when(self, pred, limit=3):
        """The access side once pred(it) holds, or after limit seconds
        (the relay writes its records as things happen; sbcctl reads
        them a moment later)."""
        last = [{}]

        def ok():
            last[0] = self.access()
            return pred(last[0])
        wait_until(ok, limit, 0.1)
        return last[0]


def sbcd_with_relay(test):
    port_min, port_max = rtp_range(40)
    cdr = test.path('cdr.jsonl')
    extra = ('rtp = { workers = 1; port_min = %d; port_max = %d;\n'
             '        access_address = "%s"; core_address = "%s";\n'
             '        timeout = 0; };\n'
             'dialog = { ping_interval = 0; };\n'
             'cdr = { file = "%s"; };\n'
             % (port_min, port_max, ACCESS_RTP, CORE_RTP, cdr))
    test.note('sbcd with one relay on ports %d..%d' % (port_min, port_max))
    s = test.sbcd(extra=extra)
    s.cdr = cdr
    s.port_min, s.port_max = port_min, port_max
    return s


def setup(run, cred, what):
    """Step 1: the call, and what each side was given."""
    test, s = run.test, run.s
    call = run.call = Call(test, s, run.rtp, cred['ufrag'], cred['pwd'],
                           cred['fp'], cred['port'], what)
    r, b = call.relay, call.b_offer
    test.check(r['proto'] == WEBRTC_PROTO and r['ice_lite'] and
               r['setup'] == 'passive' and r['rtcp_mux'] and r['bundle'] and
               r['ufrag'] and r['pwd'] and r['fingerprint'] and
               r['addr'] == ACCESS_RTP and
               s.port_min <= (r['port'] or 0) <= s.port_max,
               '%s: the caller gets a WebRTC answer: %s, ICE-lite, setup '
               'passive, rtcp-mux, BUNDLE, relay %s:%s' %
               (what, r['proto'], r['addr'], r['port']), call.answer_text)
    test.check(b['proto'] == 'RTP/AVP' and b['addr'] == CORE_RTP and
               b['ufrag'] is None and b['fingerprint'] is None,
               '%s: the backend is offered plain RTP/AVP on %s:%s' %
               (what, b['addr'], b['port']))
    test.require(r['port'] and b['port'] and r['ufrag'] and r['pwd'] and
                 r['fingerprint'], '%s: the relay\'s ports and credentials '
                 'are known' % what)
    s.core_port = b['port']
    run.rtp.dest = (CORE_RTP, b['port'])


def before_check(run):
    """Step 2: nothing passes before a valid check."""
    test, probe = run.test, run.probe
    before = run.rtp.count()
    rsp = run.dtls(ms=1500)
    test.check(rsp['state'] == 'timeout', 'before any check, the relay '
               'does not answer a DTLS ClientHello (%s)' % rsp['state'], rsp)
    probe.cmd('send 5 plain')          # RTP, or SRTP without keys
    # the backend's media find no checked address to go to either
    run.rtp.send(5)
    got = probe.cmd('recv 400')
    time.sleep(0.2)
    test.check(run.rtp.count() == before,
               'before any check, RTP and DTLS from the probe reach the '
               'backend not at all (got %d)' % (run.rtp.count() - before))
    test.check(got['srtp'] + got['nokey'] + got['dtls'] == 0,
               'before any check, nothing comes to the probe', got)
    a = run.access()
    test.check(a.get('profile') == 'webrtc' and a.get('latched') is False
               and a.get('packets_in') == 0 and a.get('consent') is False,
               'sbcctl media: the access side is WebRTC, not latched, '
               'nothing in, no consent', a)


def checks(run):
    """Step 3: the ICE-lite responder's answers."""
    test, call = run.test, run.call
    r = call.relay
    wrong = r['pwd'][:-1] + ('A' if r['pwd'][-1] != 'A' else 'B')
    bad_pwd = run.check(r['ufrag'], wrong)
    test.check(not bad_pwd['answered'],
               'a check with a wrong password gets no answer', bad_pwd)
    bad_user = run.check(r['ufrag'] + 'z', r['pwd'])
    test.check(not bad_user['answered'],
               'a check with a wrong relay ufrag gets no answer', bad_user)
    bad_rufrag = run.check(r['ufrag'], r['pwd'], rufrag='someoneelse')
    test.check(not bad_rufrag['answered'],
               'a check with another browser ufrag gets no answer',
               bad_rufrag)
    time.sleep(0.2)
    test.check(run.access().get('latched') is False,
               'after refused checks the leg is still not latched')
    rsp = run.good_check('the nominating check')
    run.main_addr = rsp['mapped']
    a = run.access_when(lambda a: a.get('latched'))
    test.check(a.get('latched') is True and a.get('remote') ==
               run.main_addr and a.get('consent') is True,
               'sbcctl media: latched to the checked address %s, consent'
               % run.main_addr, a)
    # a valid check from elsewhere without USE-CANDIDATE moves nothing
    other = run.check(r['ufrag'], r['pwd'], frm=0)
    test.check(other['answered'] and other['integrity'] and
               other['mapped_ok'],
               'a valid check from a second address is answered there '
               '(%s)' % other['mapped'], other)
    test.check(run.access().get('remote') == run.main_addr,
               'it does not move the leg (remote still %s)' % run.main_addr)


def dtls_srtp(run):
    """Steps 4 to 6: DTLS-SRTP, third parties, tampering, replays."""
    test, probe = run.test, run.probe
    rsp = run.dtls()
    test.require(rsp['state'] == 'connected',
                 'DTLS connects, the relay\'s certificate matching the '
                 'fingerprint of its SDP (suite %s)' % rsp.get('suite'), rsp)
    test.check(run.access_when(lambda a: a.get('dtls') == 'connected')
               .get('dtls') == 'connected', 'sbcctl media: dtls connected')
    run.flows('after the handshake', n=50)

    before = run.rtp.count()
    third = probe.cmd('send 20 from=0')
    time.sleep(0.3)
    test.check(run.rtp.count() == before,
               'SRTP with the right keys from a third address (port %d) '
               'is dropped (backend got %d)' %
               (third['from'], run.rtp.count() - before))
    test.check(run.access().get('remote') == run.main_addr,
               'the leg stays latched to %s' % run.main_addr)

    a0 = run.access()
    before = run.rtp.count()
    probe.cmd('send 7 tamper')
    a1 = run.access_when(lambda a: a.get('srtp_auth_failed', 0) -
                         a0.get('srtp_auth_failed', 0) >= 7)
    time.sleep(0.2)
    a1 = run.access()
    test.check(run.rtp.count() == before,
               'tampered SRTP is not forwarded (backend got %d)' %
               (run.rtp.count() - before))
    test.check(a1.get('srtp_auth_failed', 0) -
               a0.get('srtp_auth_failed', 0) == 7,
               'srtp_auth_failed grew by exactly 7 (%s -> %s)' %
               (a0.get('srtp_auth_failed'), a1.get('srtp_auth_failed')))

    got, ok = run.up(1)
    test.check(got == 1 and ok, 'the packet to be replayed is forwarded '
               'once (got %d)' % got)
    before = run.rtp.count()
    probe.cmd('send 4 replay')
    run.access_when(lambda a: a.get('srtp_replayed', 0) -
                    a1.get('srtp_replayed', 0) >= 4)
    time.sleep(0.2)
    a2 = run.access()
    test.check(run.rtp.count() == before,
               'replayed SRTP is not forwarded (backend got %d)' %
               (run.rtp.count() - before))
    test.check(a2.get('srtp_replayed', 0) - a1.get('srtp_replayed', 0) == 4
               and a2.get('srtp_auth_failed') == a1.get('srtp_auth_failed'),
               'srtp_replayed grew by exactly 4 (%s -> %s), '
               'srtp_auth_failed not at all' %
               (a1.get('srtp_replayed'), a2.get('srtp_replayed')), a2)
    run.flows('after the drops', n=10)


def state(run):
    """Step 7: what sbcctl media says of both sides."""
    row = run.session() or {}
    sides = row.get('sides') or {}
    a, c = sides.get('access') or {}, sides.get('core') or {}
    run.test.check(a.get('profile') == 'webrtc' and
                   a.get('dtls') == 'connected' and
                   a.get('consent') is True and a.get('latched') is True and
                   a.get('remote') == run.main_addr and
                   a.get('local') == '%s:%d' % (ACCESS_RTP,
                                                run.call.relay['port']),
                   'sbcctl media: access side webrtc, dtls connected, '
                   'consent, latched, remote %s, local %s:%d' %
                   (run.main_addr, ACCESS_RTP, run.call.relay['port']), a)
    run.test.check(c.get('profile') == 'plain' and 'dtls' not in c and
                   c.get('local') == '%s:%d' % (CORE_RTP, run.s.core_port),
                   'sbcctl media: core side plain on %s:%d' %
                   (CORE_RTP, run.s.core_port), c)


def reinvites(run, new_cert, other_cert):
    """Step 8: the same fingerprint, an ICE restart, a new certificate;
    then the fingerprint of a certificate the probe does not show."""
    test, call = run.test, run.call
    old = dict(call.relay)
    old_ufrag = call.ufrag

    r = call.reinvite('same fingerprint')
    call.relay = r
    test.check(r['ufrag'] == old['ufrag'] and r['pwd'] == old['pwd'] and
               r['fingerprint'] == old['fingerprint'] and
               r['port'] == old['port'],
               're-INVITE, same ufrag and fingerprint: the same relay '
               'credentials, fingerprint and port')
    test.check(run.access().get('dtls') == 'connected',
               'the association is kept (dtls connected, no handshake)')
    run.flows('re-INVITE, same fingerprint: the old keys', n=20)

    call.ufrag = 'rst%s' % sipmsg.token(4)
    r = call.reinvite('ICE restart')
    call.relay = r
    test.check(r['ufrag'] and r['pwd'] and r['ufrag'] != old['ufrag'] and
               r['pwd'] != old['pwd'] and
               r['fingerprint'] == old['fingerprint'],
               'ICE restart: the answer has a new relay ufrag and password '
               '(%s -> %s)' % (old['ufrag'], r['ufrag']))
    stale = run.check(old['ufrag'], old['pwd'], use=True)
    test.check(not stale['answered'],
               'ICE restart: a check with the old relay credentials is '
               'refused', stale)
    stale = run.check(r['ufrag'], old['pwd'], use=True)
    test.check(not stale['answered'],
               'ICE restart: the new ufrag with the old password is refused',
               stale)
    stale = run.check(r['ufrag'], r['pwd'], use=True, rufrag=old_ufrag)
    test.check(not stale['answered'],
               'ICE restart: the new credentials with the probe\'s old '
               'ufrag are refused', stale)
    run.good_check('ICE restart, new credentials')
    run.flows('ICE restart: the association kept', n=20)

    restarted = call.relay
    call.fp = new_cert
    r = call.reinvite('new fingerprint')
    call.relay = r
    test.check(r['ufrag'] == restarted['ufrag'] and
               r['pwd'] == restarted['pwd'] and
               r['fingerprint'] == old['fingerprint'],
               'new fingerprint: the relay\'s own credentials and '
               'certificate stay')
    a1 = run.access_when(lambda a: a.get('dtls') != 'connected')
    test.check(a1.get('dtls') == 'new',
               'new fingerprint: a new association (dtls %s)' %
               a1.get('dtls'), a1)
    got, _ = run.up(20)
    test.check(got == 0, 'new fingerprint: SRTP with the old keys no '
               'longer reaches the backend (got %d)' % got)
    rsp, _ = run.down(20)
    test.check(rsp['srtp'] + rsp['failed'] + rsp['nokey'] == 0,
               'new fingerprint: the backend\'s media no longer reach the '
               'probe (got %d)' % (rsp['srtp'] + rsp['failed']), rsp)
    rsp = run.dtls()
    test.check(rsp['state'] == 'connected',
               'new fingerprint: DTLS with the new certificate connects',
               rsp)
    test.check(run.access_when(lambda a: a.get('dtls') == 'connected')
               .get('dtls') == 'connected',
               'sbcctl media: dtls connected again')
    run.flows('new certificate, new keys', n=20)

    # the relay checks the browser's certificate against its SDP
    call.fp = other_cert
    call.reinvite('a fingerprint not the probe\'s')
    rsp = run.dtls()
    test.check(rsp['state'] == 'failed',
               'a handshake with a certificate that is not the SDP\'s '
               'fails (%s)' % rsp['state'], rsp)
    a = run.access_when(lambda a: a.get('dtls') == 'failed')
    test.check(a.get('dtls') == 'failed',
               'sbcctl media: dtls failed (%s)' % a.get('dtls'), a)
    got, _ = run.up(10)
    test.check(got == 0, 'after the failed handshake no SRTP passes, old '
               'keys or not (got %d)' % got)
    call.fp = new_cert
    call.reinvite('the probe\'s fingerprint again')
    rsp = run.dtls()
    test.check(rsp['state'] == 'connected',
               'the probe\'s fingerprint again: DTLS connects', rsp)
    run.flows('the probe\'s certificate again', n=20)


def consent(run):
    """Step 9: consent freshness."""
    test, probe = run.test, run.probe
    since = run.last_check
    test.note('consent: no checks from now on (the last was %.1f s ago)' %
              (time.monotonic() - since))
    # meanwhile valid checks come, but from another address, without
    # nominating it: consent is the media address's own (RFC 7675)
    r = run.call.relay
    elsewhere = []
    while time.monotonic() < since + CONSENT_S - 4:
        elsewhere.append(probe.cmd('check %s %d %s %s %s from=0' % (
            r['addr'], r['port'], r['ufrag'], run.call.ufrag, r['pwd'])))
        time.sleep(min(5, max(0, since + CONSENT_S - 4 - time.monotonic())))
    test.check(elsewhere and all(c['answered'] and c['integrity']
                                 for c in elsewhere),
               'consent: %d valid checks from another address meanwhile '
               'are answered' % len(elsewhere))
    rsp, _ = run.down(10)
    test.check(rsp['srtp'] == 10 and run.access().get('consent') is True,
               'consent: %.0f s after the last check the backend\'s media '
               'still reach the probe (%d)' %
               (time.monotonic() - since, rsp['srtp']), rsp)
    lost = [None]

    def gone():
        if run.access().get('consent') is False:
            lost[0] = time.monotonic()
            return True
        return False
    test.check(wait_until(gone, since + CONSENT_S + 5 - time.monotonic(),
                          0.25),
               'consent: sbcctl shows consent false by %d s after the '
               'last check from the media address, the checks from '
               'elsewhere notwithstanding' % (CONSENT_S + 5))
    if lost[0]:
        test.check(lost[0] - since >= CONSENT_S - 0.5,
                   'consent: not before %d s (%.1f s)' %
                   (CONSENT_S, lost[0] - since))
    rsp, _ = run.down(20)
    test.check(rsp['srtp'] + rsp['failed'] == 0,
               'consent lost: the backend\'s media no longer reach the '
               'probe (got %d)' % rsp['srtp'], rsp)
    got, _ = run.up(10)
    test.note('consent lost: the probe\'s SRTP still reaches the backend: '
              '%d of 10' % got)
    run.good_check('consent: a new check')
    test.check(run.access_when(lambda a: a.get('consent'))
               .get('consent') is True,
               'consent: sbcctl shows consent true again')
    run.flows('consent restored', n=20)


def hang_up(run):
    """Step 10: the BYE, the session, the CDR."""
    test, s, call = run.test, run.s, run.call
    final = run.access()
    call.hang_up()
    test.check(wait_until(lambda: not (s.sbcctl_json('media') or {})
                          .get('sessions'), 5, 0.2),
               'after the BYE sbcctl media is empty')
    row = cdr_of(s, call.call_id) or {}
    a = (row.get('media') or {}).get('access') or {}
    c = (row.get('media') or {}).get('core') or {}
    test.check(a.get('profile') == 'webrtc' and
               a.get('dtls') == 'connected' and a.get('consent') is True and
               a.get('latched') is True and a.get('remote') == run.main_addr
               and a.get('srtp_auth_failed') == final.get('srtp_auth_failed')
               and a.get('srtp_auth_failed', 0) >= 7
               and a.get('srtp_replayed') == final.get('srtp_replayed')
               and a.get('srtp_replayed', 0) >= 4
               and a.get('packets_in', 0) > 0 and a.get('packets_out', 0) > 0,
               'the CDR\'s media holds the access side\'s WebRTC fields '
               '(profile, dtls, consent, latched, remote, SRTP drops)', row)
    test.check(c.get('profile') == 'plain', 'the CDR\'s core side is plain',
               c)


def nomination(run):
    """Step 11, a second call: the first valid check latches even without
    USE-CANDIDATE; a later one without it does not move the leg, a
    nominating one does."""
    test, probe = run.test, run.probe
    port = probe.cmd('bind 0')['port']
    fp = probe.cmd('cert')['fingerprint']
    run.call.close()
    run.call = None
    setup(run, {'ufrag': 'two%s' % sipmsg.token(3),
                'pwd': sipmsg.token(12), 'fp': fp, 'port': port},
          'second call')
    r = run.call.relay
    first = run.check(r['ufrag'], r['pwd'])
    a = run.access_when(lambda a: a.get('latched'))
    test.check(first['answered'] and a.get('latched') is True and
               a.get('remote') == first['mapped'],
               'second call: the first valid check, not nominating, '
               'latches the leg to %s' % first['mapped'], a)
    other = run.check(r['ufrag'], r['pwd'], frm=0)
    test.check(other['answered'] and
               run.access().get('remote') == first['mapped'],
               'second call: a later check without USE-CANDIDATE from %s '
               'moves nothing' % other['mapped'])
    moved = run.check(r['ufrag'], r['pwd'], use=True, frm=0)
    a = run.access_when(lambda a: a.get('remote') == moved['mapped'])
    test.check(moved['answered'] and a.get('remote') == moved['mapped'],
               'second call: a nominating check from %s moves the leg there'
               % moved['mapped'], a)
    back = run.check(r['ufrag'], r['pwd'], use=True)
    a = run.access_when(lambda a: a.get('remote') == first['mapped'])
    test.check(back['answered'] and a.get('remote') == first['mapped'],
               'second call: a nominating check from %s moves it back' %
               first['mapped'])
    rsp = run.dtls()
    test.check(rsp['state'] == 'connected',
               'second call: DTLS connects', rsp)
    run.flows('second call', n=10)
    run.call.hang_up()
    test.check(wait_until(lambda: not (run.s.sbcctl_json('media') or {})
                          .get('sessions'), 5, 0.2),
               'second call: after the BYE sbcctl media is empty')


def probe_path(test):
    if PROBE_ARG:
        return PROBE_ARG
    return os.path.join(test.opts.build or '', 'tests', 'it', 'webrtc',
                        'relay_probe')


def main(test):
    path = probe_path(test)
    test.require(os.access(path, os.X_OK), 'relay_probe is built (%s)' %
                 path)
    s = sbcd_with_relay(test)
    probe = Probe(test, path)
    backend = Backend()
    run = Run(test, s, probe, backend)
    try:
        fp = probe.cmd('cert')['fingerprint']
        port = probe.cmd('bind 0')['port']
        cred = {'ufrag': 'prb%s' % sipmsg.token(3),
                'pwd': sipmsg.token(12), 'fp': fp, 'port': port}
        setup(run, cred, 'first call')
        before_check(run)
        checks(run)
        dtls_srtp(run)
        state(run)
        other_fp = probe.cmd('cert')['fingerprint']
        new_fp = probe.cmd('cert')['fingerprint']
        reinvites(run, new_fp, other_fp)
        consent(run)
        hang_up(run)
        nomination(run)
        rc = probe.quit()
        test.check(rc == 0, 'relay_probe exits 0 on quit (%s)' % rc)
        bad = probe.log_problems()
        test.check(not bad, 'no sanitizer report in the probe\'s log',
                   '\n'.join(bad[:20]))
        s.stop()
    finally:
        backend.close()
        if run.call:
            run.call.close()


def take_probe_arg(argv):
    """--probe PATH, which sbcit's options do not know, out of argv."""
    if '--probe' in argv:
        i = argv.index('--probe')
        path = argv[i + 1] if i + 1 < len(argv) else None
        del argv[i:i + 2]
        # meson gives it relative to the build directory, our cwd now
        return os.path.abspath(path) if path else None
    return None


PROBE_ARG = take_probe_arg(sys.argv)

if __name__ == '__main__':
    sbcit.run('webrtc_relay', main, direct_ok=False, uses_sipp=False)
