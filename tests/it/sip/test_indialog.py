#!/usr/bin/env python3
"""Every in-dialog method through sbcd, both ways.

A user peer (UDP, access side) calls a backend peer (UDP) through sbcd;
once the call is up, each side sends each in-dialog method along the route
set it learned from sbcd's Record-Route: INFO, UPDATE, PRACK, REFER,
NOTIFY, SUBSCRIBE, MESSAGE, OPTIONS and a re-INVITE (with its ACK). Each
request must reach the other side with its method and CSeq, and the
other side's 200 must come back to the sender. BYE ends the call.
"""

import sbcit
import sipmsg
from sipmsg import UdpPeer

DOMAIN = 'example.com'
METHODS = ('INFO', 'UPDATE', 'PRACK', 'REFER', 'NOTIFY', 'SUBSCRIBE',
           'MESSAGE', 'OPTIONS', 'INVITE', 'BYE')
EXTRA = {
    'REFER': [('Refer-To', '<sip:carol@example.com>')],
    'NOTIFY': [('Event', 'refer'), ('Subscription-State', 'active')],
    'SUBSCRIBE': [('Event', 'dialog'), ('Expires', '60')],
    'PRACK': [('RAck', '1 1 INVITE')],
}


class Leg:
    """One side of the dialog: its peer, where it sends (sbcd's listener),
    its route set, the remote target, its tags and CSeq."""

    def __init__(self, peer, dest, local, remote, call_id):
        self.peer, self.dest = peer, dest
        self.local, self.remote = local, remote     # From, To (with tags)
        self.call_id = call_id
        self.routes, self.target = [], None
        self.cseq = 1

    def request(self, method):
        """The next request; an ACK takes the CSeq of its INVITE."""
        if method != 'ACK':
            self.cseq += 1
        headers = [
            ('Via', 'SIP/2.0/UDP %s;rport;branch=z9hG4bK%s' %
             (self.peer.hostport, sipmsg.token())),
            ('Max-Forwards', '70')]
        headers += [('Route', r) for r in self.routes]
        headers += [('From', self.local), ('To', self.remote),
                    ('Call-ID', self.call_id),
                    ('CSeq', '%d %s' % (self.cseq, method)),
                    ('Contact', '<sip:x@%s>' % self.peer.hostport)]
        headers += EXTRA.get(method, [])
        return sipmsg.build('%s %s SIP/2.0' % (method, self.target), headers)


def answer(peer, req, to_tag=None, copy_rr=False):
    peer.send(sipmsg.response(req, 200, 'OK', to_tag=to_tag, copy_rr=copy_rr,
                              extra=[('Contact', '<sip:x@%s>' %
                                      peer.hostport)]), peer.last_src)


def ack(leg):
    leg.peer.send(leg.request('ACK'), leg.dest)


def setup_call(test, s, user, backend):
    invite = user.request('INVITE', 'sip:bob@%s' % DOMAIN,
                          to='sip:bob@%s' % DOMAIN, body=sipmsg.sdp())
    user.send(invite, (sbcit.LOOPBACK, s.access))
    req = backend.recv_request('INVITE', timeout=3)
    test.require(req is not None, 'the INVITE reaches the backend')
    answer(backend, req, to_tag='be1', copy_rr=True)
    rsp = user.recv_response(invite, timeout=3)
    test.require(rsp is not None and rsp.code == 200,
                 'the user gets the backend\'s 200',
                 rsp.text() if rsp else 'nothing')
    inv = sipmsg.Msg(invite)
    u = Leg(user, (sbcit.LOOPBACK, s.access), inv.get('from'),
            rsp.get('to'), inv.get('call-id'))
    u.routes = list(reversed(rsp.all('record-route')))
    u.target = sipmsg.uri_of(rsp.get('contact'))
    b = Leg(backend, (sbcit.LOOPBACK, s.core), req.get('to') + ';tag=be1',
            req.get('from'), req.get('call-id'))
    b.routes = list(req.all('record-route'))
    b.target = sipmsg.uri_of(req.get('contact'))
    b.cseq = 100
    ack(u)
    got = backend.recv_request('ACK', timeout=3)
    test.check(got is not None, 'the ACK of the 200 reaches the backend')
    return u, b


def exchange(test, sender, receiver, method, who):
    req = sender.request(method)
    sender.peer.send(req, sender.dest)
    got = receiver.peer.recv_request(method, timeout=3)
    if not test.check(got is not None and
                      got.cseq() == (sender.cseq, method),
                      '%s %s reaches the other side' % (who, method),
                      got.text() if got else 'nothing'):
        return
    answer(receiver.peer, got)
    rsp = sender.peer.recv_response(req, timeout=3)
    test.check(rsp is not None and rsp.code == 200,
               '%s gets 200 for its %s' % (who, method),
               rsp.text() if rsp else 'nothing')
    if method == 'INVITE':
        ack(sender)
        test.check(receiver.peer.recv_request('ACK', timeout=3) is not None,
                   '%s\'s ACK of the re-INVITE reaches the other side' % who)


def main(test):
    s = test.sbcd()
    user = UdpPeer()
    backend = UdpPeer(port=s.backend)
    try:
        u, b = setup_call(test, s, user, backend)
        for method in METHODS[:-1]:
            exchange(test, u, b, method, 'the user')
            exchange(test, b, u, method, 'the backend')
        exchange(test, b, u, 'BYE', 'the backend')
    finally:
        user.close()
        backend.close()
    s.stop()


if __name__ == '__main__':
    sbcit.run('indialog', main, direct_ok=False, uses_sipp=False)
