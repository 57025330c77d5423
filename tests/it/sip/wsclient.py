"""A SIP user agent over WebSocket (RFC 7118), the way browsers do it.

What JsSIP and SIP.js send is what this sends: subprotocol "sip", one SIP
message per text frame, Via `SIP/2.0/WS <random>.invalid`, Contact
`<sip:<random>@<random>.invalid;transport=ws>` with +sip.instance: the
browser has no address of its own to give, so the proxy must reach it on
the connection it came from. The user agent keeps no timers: the test
drives it (register, refresh, answer) and reads what came, so it can stay
silent as long as the test wants. It never sends WebSocket pings of its
own; it answers the server's (the websockets library does that) and counts
them.

Also AsyncUdpPeer, the backend of the WebSocket test: the same as
sipmsg.UdpPeer, on asyncio, so both run in one event loop.
"""

import asyncio
import uuid

import websockets
import websockets.client

import sipmsg


class CountingProtocol(websockets.client.WebSocketClientProtocol):
    """The client protocol, counting the pings the server sends."""

    server_pings = 0

    async def pong(self, data=b''):
        self.server_pings += 1
        await super().pong(data)


class Inbox:
    """Messages as they came, with the ones a wait skipped kept for
    later. get() is the source of raw messages (a coroutine)."""

    def __init__(self, get):
        self.get = get
        self.pending = []

    async def recv(self, timeout, match=None):
        for i, item in enumerate(self.pending):
            if match is None or match(item[0]):
                return self.pending.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return None, None
            try:
                item = await asyncio.wait_for(self.get(), left)
            except asyncio.TimeoutError:
                return None, None
            if match is None or match(item[0]):
                return item
            self.pending.append(item)


class WsUser:
    """One browser-like user: AOR sip:user@domain, password for digest."""

    def __init__(self, user, domain, password):
        self.user, self.domain, self.password = user, domain, password
        self.host = sipmsg.token(6) + '.invalid'
        self.contact_user = sipmsg.token(4)
        self.contact_uri = 'sip:%s@%s;transport=ws' % (self.contact_user,
                                                      self.host)
        self.instance = '<urn:uuid:%s>' % uuid.uuid4()
        self.call_id = sipmsg.token() + '@it'
        self.from_tag = sipmsg.token(4)
        self.cseq = 0
        self.challenge = None
        self.ws = None
        self.inbox = Inbox(self._next)

    async def connect(self, url, ssl=None):
        self.ws = await websockets.connect(
            url, subprotocols=['sip'], ping_interval=None,
            create_protocol=CountingProtocol, open_timeout=5, ssl=ssl)
        return self.ws

    async def _next(self):
        data = await self.ws.recv()
        if isinstance(data, str):
            data = data.encode()
        return sipmsg.Msg(data), None

    async def send(self, data):
        await self.ws.send(data.decode())

    async def recv(self, timeout=3.0, match=None):
        return (await self.inbox.recv(timeout, match))[0]

    def via(self):
        return 'SIP/2.0/WS %s;branch=z9hG4bK%s' % (self.host, sipmsg.token())

    def contact(self, expires=None):
        value = '<%s>;+sip.ice;reg-id=1;+sip.instance="%s"' % (
            self.contact_uri, self.instance)
        if expires is not None:
            value += ';expires=%d' % expires
        return value

    def register_request(self, expires):
        """The next REGISTER of this user's registration (one Call-ID,
        CSeq counting up), with credentials once challenged."""
        self.cseq += 1
        aor = '<sip:%s@%s>' % (self.user, self.domain)
        ruri = 'sip:' + self.domain
        headers = [('Via', self.via()), ('Max-Forwards', '69'),
                   ('To', aor), ('From', '%s;tag=%s' % (aor, self.from_tag)),
                   ('Call-ID', self.call_id),
                   ('CSeq', '%d REGISTER' % self.cseq),
                   ('Contact', self.contact(expires)),
                   ('Expires', str(expires))]
        if self.challenge:
            headers.append(('Authorization', sipmsg.authorization(
                self.challenge, self.user, self.password, 'REGISTER', ruri)))
        headers += [('Allow', 'INVITE,ACK,CANCEL,BYE,OPTIONS'),
                    ('User-Agent', 'sbcd-it WebSocket user')]
        return sipmsg.build('REGISTER %s SIP/2.0' % ruri, headers)

    async def register(self, expires, timeout=3.0):
        """REGISTER, answering one 401: the final response, or None."""
        for _ in range(2):
            req = self.register_request(expires)
            await self.send(req)
            cseq = '%d REGISTER' % self.cseq
            rsp = await self.recv(timeout, lambda m: not m.is_request and
                                  m.get('cseq') == cseq and m.code >= 200)
            if rsp is None or rsp.code != 401:
                return rsp
            self.challenge = rsp.get('www-authenticate')
        return rsp

    def answer(self, req, code, reason, body=b''):
        """A response to a request that came over the WebSocket; 2xx to
        INVITE with this user's Contact and the Record-Route copied."""
        extra = []
        if req.method == 'INVITE' and code < 300:
            extra = [('Contact', '<%s>' % self.contact_uri)]
            if body:
                extra.append(('Content-Type', 'application/sdp'))
        return sipmsg.response(req, code, reason, extra=extra,
                               to_tag=self.from_tag, body=body,
                               copy_rr=req.method == 'INVITE')

    @property
    def pings(self):
        return self.ws.server_pings if self.ws else 0


class AsyncUdpPeer(asyncio.DatagramProtocol):
    """A UDP SIP endpoint in the event loop: recv() returns (msg, addr)."""

    def __init__(self):
        self.queue = asyncio.Queue()
        self.inbox = Inbox(self.queue.get)
        self.transport = None

    @classmethod
    async def bind(cls, ip, port):
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(
            cls, local_addr=(ip, port))
        return peer

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.queue.put_nowait((sipmsg.Msg(data), addr))

    @property
    def hostport(self):
        return '%s:%d' % self.transport.get_extra_info('sockname')[:2]

    def send(self, data, addr):
        self.transport.sendto(data, addr)

    async def recv(self, timeout=3.0, match=None):
        return await self.inbox.recv(timeout, match)

    def close(self):
        self.transport.close()
