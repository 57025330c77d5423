#!/usr/bin/env python3
"""A softphone over TLS through sbcd.

sbcd's tls listener serves a self-signed P-256 certificate the test makes
with openssl. A user on TLS (Contact on a private address with
transport=tls) registers; a Python backend on UDP grants 60 s. Then:

- the binding is listed with transport tls, the real source and its
  connection;
- the backend calls the Contact it got at REGISTER: the INVITE reaches the
  user on its TLS connection, the 200 reaches the backend, and the
  backend's ACK, sent along the Record-Route, reaches the user;
- the user closes the connection: its binding goes.
"""

import socket
import ssl
import time

import sbcit
import sipmsg

DOMAIN = 'example.com'
USER = 'tlsuser'
GRANT = 60


class TlsUser:
    """A SIP user on one TLS connection, messages framed by
    Content-Length."""

    def __init__(self, port):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.sock = ctx.wrap_socket(raw)
        self.buf = b''
        self.local = self.sock.getsockname()

    def send(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            head, sep, rest = self.buf.partition(b'\r\n\r\n')
            if sep:
                msg = sipmsg.Msg(head + sep)
                need = int(msg.get('content-length', '0') or 0)
                if len(rest) >= need:
                    self.buf = rest[need:]
                    return sipmsg.Msg(head + sep + rest[:need])
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLError):
                return None
            if not data:
                return None
            self.buf += data

    def close(self):
        self.sock.close()


def register(user, call_id, cseq):
    return sipmsg.build('REGISTER sip:%s SIP/2.0' % DOMAIN, [
        ('Via', 'SIP/2.0/TLS 192.168.1.20:5061;rport;branch=z9hG4bK%s' %
         sipmsg.token()),
        ('Max-Forwards', '70'),
        ('From', '<sip:%s@%s>;tag=%s' % (USER, DOMAIN, sipmsg.token(4))),
        ('To', '<sip:%s@%s>' % (USER, DOMAIN)),
        ('Call-ID', call_id),
        ('CSeq', '%d REGISTER' % cseq),
        ('Contact', '<sip:%s@192.168.1.20:5061;transport=tls>' % USER),
        ('Expires', str(GRANT)),
        ('User-Agent', 'sbcd-it TLS user'),
    ])


def register_phase(test, s, user, backend):
    user.send(register(user, sipmsg.token() + '@it', 1))
    req = backend.recv_request('REGISTER', timeout=3)
    test.require(req is not None, 'the backend gets the REGISTER')
    contact = sipmsg.uri_of(req.get('contact', ''))
    test.check('%40' in contact and 'sbcb=' in contact and
               'transport=tls' not in contact,
               'the backend sees sbcd\'s Contact (got %s)' % contact)
    backend.send(sipmsg.response(req, 200, 'OK', extra=[
        ('Contact', '<%s>;expires=%d' % (contact, GRANT))],
        to_tag=sipmsg.token(4)), backend.last_src)
    rsp = user.recv()
    test.require(rsp is not None and rsp.code == 200,
                 'the TLS user gets 200', rsp.text() if rsp else 'no answer')
    regs = s.registrations('%s@%s' % (USER, DOMAIN))
    src = '127.0.0.1:%d' % user.local[1]
    test.check(len(regs) == 1 and regs[0].get('transport') == 'tls' and
               regs[0].get('source') == src and regs[0].get('conn'),
               'binding: transport tls, source %s, its connection' % src,
               regs)
    return contact


def call_phase(test, s, user, backend, contact):
    invite = backend.request('INVITE', contact, 'sip:%s@%s' % (USER, DOMAIN),
                             body=sipmsg.sdp())
    backend.send(invite, ('127.0.0.1', s.core))
    req = user.recv()
    while req is not None and not req.is_request:
        req = user.recv()
    test.require(req is not None and req.method == 'INVITE',
                 'the INVITE reaches the user on its TLS connection',
                 req.text() if req else 'nothing')
    test.check(req.uri.startswith('sip:%s@192.168.1.20' % USER),
               'the Request-URI is the Contact the user registered (got %s)'
               % req.uri)
    user.send(sipmsg.response(req, 200, 'OK', to_tag=sipmsg.token(4),
                              copy_rr=True, body=sipmsg.sdp(), extra=[
                                  ('Contact', '<sip:%s@192.168.1.20:5061;'
                                   'transport=tls>' % USER),
                                  ('Content-Type', 'application/sdp')]))
    rsp = backend.recv_response(invite, timeout=3)
    test.require(rsp is not None and rsp.code == 200,
                 'the backend gets the user\'s 200',
                 rsp.text() if rsp else 'nothing')
    routes = [('Route', v) for v in rsp.all('record-route')]
    ack = sipmsg.build('ACK %s SIP/2.0' % sipmsg.uri_of(rsp.get('contact')),
                       [('Via', 'SIP/2.0/UDP %s;branch=z9hG4bK%s' %
                         (backend.hostport, sipmsg.token())),
                        ('Max-Forwards', '70'), ('From', rsp.get('from')),
                        ('To', rsp.get('to')),
                        ('Call-ID', rsp.get('call-id')),
                        ('CSeq', '%d ACK' % rsp.cseq()[0])] + routes)
    backend.send(ack, ('127.0.0.1', s.core))
    got = user.recv()
    test.check(got is not None and got.method == 'ACK',
               'the backend\'s ACK reaches the user along the Route',
               got.text() if got else 'nothing')


def main(test):
    s = test.sbcd(secure=True)
    backend = sipmsg.UdpPeer(port=s.backend)
    user = TlsUser(s.tls)
    try:
        contact = register_phase(test, s, user, backend)
        call_phase(test, s, user, backend, contact)
        user.close()
        deadline = time.monotonic() + 3
        while s.registrations('%s@%s' % (USER, DOMAIN)) and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        test.check(not s.registrations('%s@%s' % (USER, DOMAIN)),
                   'the binding goes when the TLS connection closes')
    finally:
        backend.close()
    s.stop()


if __name__ == '__main__':
    sbcit.run('tls', main, direct_ok=False, uses_sipp=False)
