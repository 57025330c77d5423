#!/usr/bin/env python3
"""Error paths of sbcd, one message at a time, from Python peers.

A user peer (UDP, access side) and a backend peer (UDP, bound where the
config says the backend is) send single messages and check the answers:

- OPTIONS to sbcd itself (no user part): 200;
- a request that lacks required headers but has a Via: 400, to that Via;
  garbage: no answer, and sbcd goes on answering;
- Max-Forwards: 0: 483, and nothing reaches the backend;
- no open relay: an INVITE from a user for sip:x@127.0.0.1:TRAP goes to
  the backend with that Request-URI, and nothing arrives at TRAP;
- a request on the core side from an address that is no backend
  (127.0.0.2): 403;
- from the backend to an unknown user (sip:nobody@CORE): 404; to the AOR
  form of a user (sip:bob%40example.com@CORE): reaches bob while bob is
  registered, 480 after bob un-registers;
- an INVITE from a user while the set's only backend is silent: 100, then
  503 after failover.timeout (3 s by default: no other backend to try),
  and sbcd retransmits the INVITE over UDP meanwhile; the same with no
  backend socket at all.
"""

import time

import sbcit
import sipmsg
from sipmsg import UdpPeer

DOMAIN = 'example.com'


def expect_code(test, rsp, code, what):
    got = '%d %s' % (rsp.code, rsp.reason) if rsp else 'nothing'
    return test.check(rsp is not None and rsp.code == code,
                      '%s: %d (got %s)' % (what, code, got),
                      rsp.text() if rsp else None)


def ack_for(peer, req_bytes, rsp, dest):
    """The ACK of a non-2xx final response (same branch as the INVITE)."""
    req = sipmsg.Msg(req_bytes)
    ack = sipmsg.build('ACK %s SIP/2.0' % req.uri, [
        ('Via', req.get('via')), ('Max-Forwards', '70'),
        ('From', req.get('from')), ('To', rsp.get('to')),
        ('Call-ID', req.get('call-id')),
        ('CSeq', '%d ACK' % req.cseq()[0])])
    peer.send(ack, dest)


def options_to_sbcd(test, s, user):
    uri = 'sip:127.0.0.1:%d' % s.access
    req = user.request('OPTIONS', uri, to=uri)
    user.send(req, (sbcit.LOOPBACK, s.access))
    return user.recv_response(req)


def bad_input(test, s, user, backend):
    access = (sbcit.LOOPBACK, s.access)
    rsp = options_to_sbcd(test, s, user)
    expect_code(test, rsp, 200, 'OPTIONS to sbcd itself')

    via = 'SIP/2.0/UDP %s;branch=z9hG4bKx' % user.hostport
    user.send(('INVITE sip:x SIP/2.0\r\nVia: %s\r\n\r\n' % via).encode(),
              access)
    rsp = user.recv(2.0, lambda m: not m.is_request)
    if expect_code(test, rsp, 400, 'INVITE without From, To, Call-ID, CSeq'):
        test.check(rsp.get('via', '').startswith(via),
                   'the 400 carries the request\'s Via', rsp.text())

    for blob in (b'\x00\xff\xfe garbage \r\n\r\n', bytes(range(256)) * 4,
                 b'SIP/2.0\r\n\r\n', b'INVITE\r\n\r\n'):
        user.send(blob, access)
    rsp = user.recv(1.0)
    test.check(rsp is None, 'garbage gets no answer',
               rsp.text() if rsp else None)
    rsp = options_to_sbcd(test, s, user)
    expect_code(test, rsp, 200, 'sbcd still answers OPTIONS after garbage')

    req = user.request('INVITE', 'sip:echo@%s' % DOMAIN,
                       to='sip:echo@%s' % DOMAIN, max_forwards=0,
                       body=sipmsg.sdp())
    user.send(req, access)
    rsp = user.recv_response(req)
    expect_code(test, rsp, 483, 'INVITE with Max-Forwards: 0')
    if rsp:
        ack_for(user, req, rsp, access)
    got = backend.recv(0.5)
    test.check(got is None, 'nothing of it reaches the backend',
               got.text() if got else None)


def no_open_relay(test, s, user, backend):
    access = (sbcit.LOOPBACK, s.access)
    with UdpPeer() as trap:
        uri = 'sip:x@%s' % trap.hostport
        req = user.request('INVITE', uri, to=uri, body=sipmsg.sdp())
        user.send(req, access)
        inv = backend.recv_request('INVITE', timeout=3)
        if test.check(inv is not None,
                      'INVITE for %s goes to the backend' % uri):
            test.check(inv.uri == uri, 'with its Request-URI unchanged '
                       '(got %s)' % inv.uri, inv.text())
            backend.send(sipmsg.response(inv, 486, 'Busy Here',
                                         to_tag=sipmsg.token(4)),
                         backend.last_src)
            ack = backend.recv_request('ACK', timeout=3)
            test.check(ack is not None, 'sbcd ACKs the backend\'s 486')
        rsp = user.recv_response(req, timeout=3)
        if expect_code(test, rsp, 486, 'the user gets the backend\'s answer'):
            ack_for(user, req, rsp, access)
        got = trap.recv(1.0)
        test.check(got is None, 'nothing arrives at %s' % trap.hostport,
                   got.text() if got else None)


def core_side(test, s, user, backend):
    core = (sbcit.LOOPBACK, s.core)
    with UdpPeer('127.0.0.2') as stranger:
        uri = 'sip:alice%%40%s@127.0.0.1:%d' % (DOMAIN, s.core)
        req = stranger.request('INVITE', uri, to='sip:alice@' + DOMAIN,
                               body=sipmsg.sdp())
        stranger.send(req, core)
        rsp = stranger.recv_response(req)
        expect_code(test, rsp, 403, 'INVITE on the core side from 127.0.0.2 '
                    '(not a backend)')
        if rsp:
            ack_for(stranger, req, rsp, core)

    uri = 'sip:nobody@127.0.0.1:%d' % s.core
    req = backend.request('INVITE', uri, to=uri, body=sipmsg.sdp())
    backend.send(req, core)
    rsp = backend.recv_response(req)
    expect_code(test, rsp, 404, 'INVITE from the backend to %s' % uri)
    if rsp:
        ack_for(backend, req, rsp, core)


def register_bob(test, s, user, backend, expires):
    """bob registers (expires 0: un-registers) through sbcd; the backend
    peer answers 200 without a challenge. Returns the user's answer."""
    access = (sbcit.LOOPBACK, s.access)
    aor = 'sip:bob@' + DOMAIN
    contact = '<sip:bob@192.168.1.50:5060>'
    req = user.request('REGISTER', 'sip:' + DOMAIN, to=aor,
                       frm='<%s>;tag=bob' % aor,
                       call_id='bob-reg@it', cseq=1 if expires else 2,
                       contact=False,
                       extra=[('Contact', contact),
                              ('Expires', str(expires))])
    user.send(req, access)
    reg = backend.recv_request('REGISTER', timeout=3)
    if not test.check(reg is not None, 'REGISTER (Expires: %d) reaches the '
                      'backend' % expires):
        return None
    extra = []
    if expires:
        extra = [('Contact', '<%s>;expires=600' %
                  sipmsg.uri_of(reg.get('contact')))]
    backend.send(sipmsg.response(reg, 200, 'OK', extra=extra,
                                 to_tag=sipmsg.token(4)), backend.last_src)
    return user.recv_response(req, timeout=3)


def unknown_and_gone(test, s, user, backend):
    core = (sbcit.LOOPBACK, s.core)
    rsp = register_bob(test, s, user, backend, 3600)
    expect_code(test, rsp, 200, 'bob registers')
    regs = s.registrations('bob@' + DOMAIN)
    test.check(len(regs) == 1, 'bob has a binding', regs)

    uri = 'sip:bob%%40%s@127.0.0.1:%d' % (DOMAIN, s.core)
    req = backend.request('INVITE', uri, to='sip:bob@' + DOMAIN,
                          body=sipmsg.sdp())
    backend.send(req, core)
    inv = user.recv_request('INVITE', timeout=3)
    if test.check(inv is not None, 'INVITE to %s reaches bob' % uri):
        user.send(sipmsg.response(inv, 486, 'Busy Here',
                                  to_tag=sipmsg.token(4)), user.last_src)
        user.recv_request('ACK', timeout=3)
    rsp = backend.recv_response(req, timeout=3)
    if expect_code(test, rsp, 486, 'the backend gets bob\'s answer'):
        ack_for(backend, req, rsp, core)

    rsp = register_bob(test, s, user, backend, 0)
    expect_code(test, rsp, 200, 'bob un-registers')
    regs = s.registrations('bob@' + DOMAIN)
    test.check(regs == [], 'bob has no binding any more', regs)

    req = backend.request('INVITE', uri, to='sip:bob@' + DOMAIN,
                          body=sipmsg.sdp())
    backend.send(req, core)
    rsp = backend.recv_response(req, timeout=3)
    expect_code(test, rsp, 480, 'INVITE from the backend to %s' % uri)
    if rsp:
        ack_for(backend, req, rsp, core)
    got = user.recv(0.5, lambda m: m.is_request)
    test.check(got is None, 'bob gets nothing', got.text() if got else None)


def silent_backend(test, s, user, backend, what):
    """An INVITE while the backend does not answer (backend: a silent
    peer, or None for no socket at all)."""
    access = (sbcit.LOOPBACK, s.access)
    req = user.request('INVITE', 'sip:echo@' + DOMAIN,
                       to='sip:echo@' + DOMAIN, body=sipmsg.sdp())
    start = time.monotonic()
    user.send(req, access)
    trying = user.recv_response(req, final=False, timeout=2)
    test.check(trying is not None and trying.code == 100,
               '%s: 100 Trying at once (got %s)' %
               (what, trying.start if trying else 'nothing'))
    rsp = user.recv_response(req, timeout=12)
    took = time.monotonic() - start
    if expect_code(test, rsp, 503, '%s: INVITE from a user' % what):
        test.check(2.5 <= took <= 5.0,
                   '%s: 503 after failover.timeout, about 3 s (took %.1f s)'
                   % (what, took))
        ack_for(user, req, rsp, access)
    if backend is not None:
        copies = 0
        while backend.recv_request('INVITE', timeout=0.1):
            copies += 1
        test.check(copies >= 4, '%s: sbcd retransmitted the INVITE over UDP '
                   '(%d copies)' % (what, copies))


def main(test):
    s = test.sbcd()
    user = UdpPeer()
    backend = UdpPeer(port=s.backend)
    try:
        bad_input(test, s, user, backend)
        no_open_relay(test, s, user, backend)
        core_side(test, s, user, backend)
        unknown_and_gone(test, s, user, backend)
        silent_backend(test, s, user, backend, 'silent backend')
    finally:
        backend.close()
    silent_backend(test, s, user, None, 'no backend socket')
    rsp = options_to_sbcd(test, s, user)
    expect_code(test, rsp, 200, 'sbcd still answers OPTIONS at the end')
    user.close()
    s.stop()


if __name__ == '__main__':
    sbcit.run('errors', main, direct_ok=False, uses_sipp=False)
