#!/usr/bin/env python3
"""A browser-like user over WebSocket through sbcd (seed 001).

With --secure the same runs over WSS (TLS from a self-signed P-256
certificate the test makes with openssl).

A WebSocket SIP client (wsclient.py: subprotocol "sip", Contact on a
.invalid host with transport=ws, as JsSIP sends it) registers through
sbcd's ws listener; a Python backend on UDP challenges it (401) and grants
10 s. What the seed's operators hit, and sbcd must not do:

- the backend must not see transport=ws nor a .invalid host in what sbcd
  forwards (outside Via: a hard rule; inside Via: reported apart);
- the connection must live as long as the registration: the client stays
  silent 8 s (idle_timeout is 5 s), refreshes on the same connection,
  stays 5 s more and refreshes again (the first registration would have
  expired by then), sbcd's WebSocket pings meanwhile; 14 s in all;
- then the backend calls the Contact it got at REGISTER: the INVITE
  reaches the client on that connection, 200, ACK and BYE follow Route;
- the client calls the backend: INVITE, 200, ACK, BYE;
- the client closes the connection: its binding goes.
"""

import asyncio
import re
import ssl
import sys
import time

import sbcit
import sipmsg

try:
    from wsclient import AsyncUdpPeer, Inbox, WsUser
except ImportError as e:
    print('SKIP: %s (Debian package python3-websockets)' % e)
    sys.exit(sbcit.SKIP)

DOMAIN = 'example.com'
USER = 'wsuser'
PASSWORD = 'pw-wsuser'
GRANT = 10


def leaks(msg):
    """(outside Via, inside Via): where transport=ws or .invalid shows."""
    def bad(text):
        return 'transport=ws' in text.lower() or '.invalid' in text.lower()
    outside = ['start line'] if bad(msg.start) else []
    inside = []
    for name, value in msg.headers:
        if bad(value):
            (inside if name == 'via' else outside).append(name)
    if bad(msg.body.decode('utf-8', 'replace')):
        outside.append('body')
    return outside, inside


def check_leaks(test, msg, what):
    outside, inside = leaks(msg)
    test.check(not outside, '%s: no transport=ws nor .invalid outside Via'
               % what, 'found in: %s\n%s' % (outside, msg.text()))
    test.check(not inside, '%s: no transport=ws nor .invalid in Via either'
               % what, 'found in: %s\n%s' % (inside, msg.text()))


class Backend:
    """The backend: a registrar (401 once per Call-ID, then digest
    checked, GRANT s) and whatever else came, for the test to read."""

    def __init__(self, peer, test):
        self.peer = peer
        self.test = test
        self.registers = []
        self.contact = None       # the Contact URI of the last REGISTER
        self.nonces = {}
        self.other = asyncio.Queue()
        self.inbox = Inbox(self.other.get)

    async def run(self):
        while True:
            msg, addr = await self.peer.queue.get()
            if msg.is_request and msg.method == 'REGISTER':
                self.register(msg, addr)
            else:
                self.other.put_nowait((msg, addr))

    def register(self, req, addr):
        self.registers.append(req)
        callid = req.get('call-id')
        nonce = self.nonces.get(callid)
        if nonce is None or not sipmsg.check_authorization(req, PASSWORD,
                                                           nonce):
            nonce = self.nonces[callid] = sipmsg.token()
            rsp = sipmsg.response(req, 401, 'Unauthorized', to_tag='be1', extra=[
                ('WWW-Authenticate', 'Digest realm="%s", nonce="%s", '
                 'algorithm=MD5' % (DOMAIN, nonce))])
        else:
            self.contact = sipmsg.uri_of(req.get('contact', ''))
            rsp = sipmsg.response(req, 200, 'OK', to_tag='be1', extra=[
                ('Contact', '<%s>;expires=%d' % (self.contact, GRANT))])
        self.peer.send(rsp, addr)

    async def recv(self, timeout=3.0, match=None):
        return await self.inbox.recv(timeout, match)


def client_tls():
    """The browser side of WSS: TLS to sbcd's self-signed test
    certificate (no CA to check it against)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def route_set(rsp):
    """The UAC's route set from a 2xx: its Record-Route, reversed."""
    return [('Route', v) for v in reversed(rsp.all('record-route'))]


async def register_phase(test, s, ua, backend):
    if s.wss:
        ws = await ua.connect('wss://127.0.0.1:%d' % s.wss, ssl=client_tls())
    else:
        ws = await ua.connect('ws://127.0.0.1:%d' % s.ws)
    test.require(ws.subprotocol == 'sip', 'WebSocket connection with '
                 'subprotocol "sip" (got %r)' % ws.subprotocol)
    rsp = await ua.register(60)
    test.require(rsp is not None and rsp.code == 200,
                 'the WebSocket user registers (401, then 200)',
                 rsp.text() if rsp else 'no answer')
    mine = [c for c in sipmsg.split_commas(rsp.get('contact', ''))
            if ua.contact_user in c]
    test.check(mine and sipmsg.param(mine[0], 'expires') == str(GRANT),
               'the 200 lists the client\'s own Contact with expires=%d' %
               GRANT, rsp.text())
    test.check(len(backend.registers) == 2, 'the backend got 2 REGISTERs '
               '(got %d)' % len(backend.registers))
    for i, reg in enumerate(backend.registers):
        check_leaks(test, reg, 'REGISTER %d at the backend' % (i + 1))
    contact = backend.contact or ''
    test.check(re.match(r'sip:%s%%40%s@127\.0\.0\.1:%d;(.*;)?sbcb=[0-9a-fA-F]+'
                        % (USER, re.escape(DOMAIN), s.core), contact)
               is not None,
               'the backend got Contact sip:%s%%40%s@CORE;sbcb=... (got %s)'
               % (USER, DOMAIN, contact))
    regs = s.registrations('%s@%s' % (USER, DOMAIN))
    src = '127.0.0.1:%d' % ws.local_address[1]
    tp = 'wss' if s.wss else 'ws'
    test.check(len(regs) == 1 and regs[0].get('source') == src and
               str(regs[0].get('transport')).lower() == tp and
               regs[0].get('conn') not in (None, 0, '0', ''),
               'binding: transport %s, source %s, its connection' %
               (tp, src), regs)


async def stay_registered(test, s, ua, backend):
    start = time.monotonic()
    test.note('the client stays silent 8 s (idle_timeout 5 s, expiry %d s)'
              % GRANT)
    await asyncio.sleep(8)
    test.check(ua.ws.open, 'the connection is open after 8 s of silence')
    test.check(ua.pings >= 2, 'sbcd sent WebSocket pings meanwhile (%d)' %
               ua.pings)
    for n in (1, 2):
        rsp = await ua.register(60)
        test.check(rsp is not None and rsp.code == 200,
                   'refresh %d on the same connection: 200' % n,
                   rsp.text() if rsp else 'no answer')
        regs = s.registrations('%s@%s' % (USER, DOMAIN))
        test.check(len(regs) == 1, 'refresh %d: still one binding' % n, regs)
        await asyncio.sleep(5 if n == 1 else 1)
    test.check(len(backend.registers) == 4, 'the backend got both refreshes '
               '(%d REGISTERs in all)' % len(backend.registers))
    test.note('%.1f s since the registration' % (time.monotonic() - start))


async def backend_calls(test, s, ua, backend):
    core = ('127.0.0.1', s.core)
    hp = backend.peer.hostport
    ruri = backend.contact
    callid = sipmsg.token() + '@be'
    head = [('Max-Forwards', '70'),
            ('From', '<sip:backend@%s>;tag=be2' % DOMAIN),
            ('To', '<sip:%s@%s>' % (USER, DOMAIN)), ('Call-ID', callid)]
    inv = sipmsg.build('INVITE %s SIP/2.0' % ruri, [
        ('Via', 'SIP/2.0/UDP %s;rport;branch=z9hG4bK%s' % (hp,
                                                         sipmsg.token()))]
        + head + [('CSeq', '1 INVITE'), ('Contact', '<sip:backend@%s>' % hp),
                  ('Content-Type', 'application/sdp')], sipmsg.sdp())
    backend.peer.send(inv, core)
    got = await ua.recv(3, lambda m: m.is_request and m.method == 'INVITE')
    test.require(got is not None, 'the backend\'s INVITE to %s reaches the '
                 'client on its WebSocket' % ruri)
    test.check(sipmsg.uri_user(got.uri) in (ua.contact_user, USER),
               'its Request-URI is the client\'s (got %s)' % got.uri)
    test.check(got.get('via', '').upper().startswith('SIP/2.0/WS'),
               'sbcd\'s Via says WS (got %s)' % got.get('via'))
    await ua.send(ua.answer(got, 200, 'OK', sipmsg.sdp(40002)))
    rsp, _ = await backend.recv(3, lambda m: not m.is_request and
                                m.get('call-id') == callid and m.code >= 200)
    test.require(rsp is not None and rsp.code == 200,
                 'the backend gets the client\'s 200')
    check_leaks(test, rsp, '200 at the backend')
    target = sipmsg.uri_of(rsp.get('contact', ''))
    routes = route_set(rsp)
    for method, cseq in (('ACK', 1), ('BYE', 2)):
        req = sipmsg.build('%s %s SIP/2.0' % (method, target), [
            ('Via', 'SIP/2.0/UDP %s;rport;branch=z9hG4bK%s' %
             (hp, sipmsg.token()))] + routes + head[:2] +
            [('To', rsp.get('to')), ('Call-ID', callid),
             ('CSeq', '%d %s' % (cseq, method))])
        backend.peer.send(req, core)
        got = await ua.recv(3, lambda m: m.is_request and m.method == method)
        test.check(got is not None, '%s from the backend reaches the client'
                   % method)
        if got is None or method == 'ACK':
            continue
        await ua.send(ua.answer(got, 200, 'OK'))
        end, _ = await backend.recv(3, lambda m: not m.is_request and
                                    m.get('cseq') == '2 BYE')
        test.check(end is not None and end.code == 200,
                   'the backend gets 200 for its BYE')


async def client_calls(test, s, ua, backend):
    callid = sipmsg.token() + '@ws'
    aor = '<sip:%s@%s>' % (USER, DOMAIN)
    ruri = 'sip:echo@' + DOMAIN

    def request(method, uri, cseq, extra=(), body=b''):
        headers = [('Via', ua.via())] + list(extra) + [
            ('Max-Forwards', '70'),
            ('From', '%s;tag=%s' % (aor, ua.from_tag)),
            ('To', to), ('Call-ID', callid),
            ('CSeq', '%d %s' % (cseq, method)),
            ('Contact', '<%s>' % ua.contact_uri)]
        if body:
            headers.append(('Content-Type', 'application/sdp'))
        return sipmsg.build('%s %s SIP/2.0' % (method, uri), headers, body)

    to = '<%s>' % ruri
    await ua.send(request('INVITE', ruri, 1, body=sipmsg.sdp(40004)))
    inv, src = await backend.recv(3, lambda m: m.is_request and
                                  m.method == 'INVITE')
    test.require(inv is not None, 'the client\'s INVITE reaches the backend')
    test.check(inv.uri == ruri, 'with its Request-URI (got %s)' % inv.uri)
    check_leaks(test, inv, 'INVITE from the client at the backend')
    backend.peer.send(sipmsg.response(
        inv, 200, 'OK', to_tag='be3', copy_rr=True, body=sipmsg.sdp(40006),
        extra=[('Contact', '<sip:echo@%s>' % backend.peer.hostport),
               ('Content-Type', 'application/sdp')]), src)
    rsp = await ua.recv(3, lambda m: not m.is_request and
                        m.get('call-id') == callid and m.code >= 200)
    test.require(rsp is not None and rsp.code == 200,
                 'the client gets the backend\'s 200')
    to = rsp.get('to')
    target = sipmsg.uri_of(rsp.get('contact', ''))
    routes = route_set(rsp)
    await ua.send(request('ACK', target, 1, routes))
    ack, _ = await backend.recv(3, lambda m: m.is_request and
                                m.method == 'ACK')
    test.check(ack is not None, 'the client\'s ACK reaches the backend')
    await ua.send(request('BYE', target, 2, routes))
    bye, src = await backend.recv(3, lambda m: m.is_request and
                                  m.method == 'BYE')
    if test.check(bye is not None, 'the client\'s BYE reaches the backend'):
        backend.peer.send(sipmsg.response(bye, 200, 'OK'), src)
        end = await ua.recv(3, lambda m: not m.is_request and
                            m.get('cseq') == '2 BYE')
        test.check(end is not None and end.code == 200,
                   'the client gets 200 for its BYE')


async def close_phase(test, s, ua):
    await ua.ws.close()
    deadline = time.monotonic() + 5
    regs = None
    while time.monotonic() < deadline:
        regs = s.registrations('%s@%s' % (USER, DOMAIN))
        if not regs:
            break
        await asyncio.sleep(0.2)
    test.check(not regs, 'the binding goes when the connection closes', regs)


async def scenario(test, s):
    peer = await AsyncUdpPeer.bind('127.0.0.1', s.backend)
    backend = Backend(peer, test)
    task = asyncio.create_task(backend.run())
    ua = WsUser(USER, DOMAIN, PASSWORD)
    try:
        await register_phase(test, s, ua, backend)
        await stay_registered(test, s, ua, backend)
        await backend_calls(test, s, ua, backend)
        await client_calls(test, s, ua, backend)
        await close_phase(test, s, ua)
    finally:
        task.cancel()
        if ua.ws:
            await ua.ws.close()
        peer.close()


def main(test):
    s = test.sbcd(idle_timeout=5, ws_ping=2, secure=test.opts.secure)
    asyncio.run(scenario(test, s))
    s.stop()


if __name__ == '__main__':
    sbcit.run('ws', main, direct_ok=False, uses_sipp=False)
