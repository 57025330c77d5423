"""SIP messages for the tests that look at single messages.

Just enough SIP to write a request or a response, read one back, and
answer a digest challenge: a parser that keeps headers in order (compact
forms expanded), builders that follow RFC 3261 closely enough for sbcd to
accept them, and UdpPeer, a blocking UDP endpoint on loopback. The test
programs use it for error paths (test_errors.py) and as the backend of the
WebSocket test (test_ws.py); SIPp does the load and the call flows.
"""

import hashlib
import os
import re
import socket
import time

COMPACT = {'v': 'via', 'f': 'from', 't': 'to', 'i': 'call-id',
           'm': 'contact', 'l': 'content-length', 'c': 'content-type',
           'k': 'supported', 's': 'subject', 'e': 'content-encoding'}


def token(n=8):
    return os.urandom(n).hex()


class Msg:
    """A parsed SIP message. For a request: method, uri; for a response:
    code, reason. headers: [(lower-case name, value)] in order."""

    def __init__(self, raw):
        self.raw = raw
        head, _, body = raw.partition(b'\r\n\r\n')
        self.body = body
        lines = head.decode('utf-8', 'replace').split('\r\n')
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (' ', '\t') and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + ' ' + line.strip())
                continue
            name, _, value = line.partition(':')
            name = name.strip().lower()
            self.headers.append((COMPACT.get(name, name), value.strip()))
        parts = self.start.split(' ', 2)
        if parts[0].startswith('SIP/'):
            self.method, self.uri = None, None
            self.code = int(parts[1]) if len(parts) > 1 and \
                parts[1].isdigit() else 0
            self.reason = parts[2] if len(parts) > 2 else ''
        else:
            self.method = parts[0]
            self.uri = parts[1] if len(parts) > 1 else ''
            self.code, self.reason = None, None

    @property
    def is_request(self):
        return self.method is not None

    def all(self, name):
        """Every value of a header (a header with commas is not split,
        except Via, Route and Record-Route)."""
        name = name.lower()
        out = []
        for n, v in self.headers:
            if n != name:
                continue
            if n in ('via', 'route', 'record-route'):
                out += [x.strip() for x in split_commas(v)]
            else:
                out.append(v)
        return out

    def get(self, name, default=None):
        values = self.all(name)
        return values[0] if values else default

    def cseq(self):
        num, _, method = (self.get('cseq') or '0 ?').partition(' ')
        return int(num) if num.isdigit() else 0, method.strip()

    def text(self):
        return self.raw.decode('utf-8', 'replace')

    def __str__(self):
        return self.start


def split_commas(value):
    """Split a header value on commas outside <> and quotes."""
    out, depth, quote, cur = [], 0, False, ''
    for c in value:
        if c == '"':
            quote = not quote
        elif not quote and c == '<':
            depth += 1
        elif not quote and c == '>':
            depth -= 1
        if c == ',' and not quote and depth == 0:
            out.append(cur)
            cur = ''
        else:
            cur += c
    out.append(cur)
    return out


def param(value, name):
    """A ;name=value parameter of a header value or URI, or None."""
    m = re.search(r';\s*%s(?:=("[^"]*"|[^;,>\s]*))?' % re.escape(name),
                  value, re.I)
    if not m:
        return None
    return (m.group(1) or '').strip('"')


def uri_of(value):
    """The URI in a name-addr (<...>) or addr-spec header value."""
    m = re.search(r'<([^>]*)>', value)
    if m:
        return m.group(1)
    return value.split(';')[0].strip()


def uri_user(uri):
    m = re.match(r'sips?:([^@;>]+)@', uri)
    return m.group(1) if m else None


def uri_hostport(uri):
    m = re.match(r'sips?:(?:[^@;>]+@)?([^;>?]+)', uri)
    return m.group(1) if m else None


def build(start, headers, body=b''):
    """A message from its start line and [(name, value)] headers; the
    Content-Length is added."""
    if isinstance(body, str):
        body = body.encode()
    lines = [start] + ['%s: %s' % hv for hv in headers]
    lines.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


def response(req, code, reason, extra=(), to_tag=None, body=b'',
             copy_rr=False):
    """A response to a parsed request: Via, From, To, Call-ID, CSeq copied
    (Record-Route too with copy_rr, for a dialog-creating 2xx/18x)."""
    headers = [('Via', v) for v in req.all('via')]
    if copy_rr:
        headers += [('Record-Route', v) for v in req.all('record-route')]
    to = req.get('to')
    if to_tag and param(to, 'tag') is None:
        to += ';tag=' + to_tag
    headers += [('From', req.get('from')), ('To', to),
                ('Call-ID', req.get('call-id')), ('CSeq', req.get('cseq'))]
    headers += list(extra)
    return build('SIP/2.0 %d %s' % (code, reason), headers, body)


def digest(user, realm, password, method, uri, nonce):
    """RFC 2617 digest response without qop."""
    def h(s):
        return hashlib.md5(s.encode()).hexdigest()
    return h('%s:%s:%s' % (h('%s:%s:%s' % (user, realm, password)), nonce,
                           h('%s:%s' % (method, uri))))


def authorization(challenge, user, password, method, uri):
    """The Authorization value answering a WWW-Authenticate value."""
    realm = re.search(r'realm="([^"]*)"', challenge).group(1)
    nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
    resp = digest(user, realm, password, method, uri, nonce)
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=MD5' % (user, realm, nonce, uri, resp))


def check_authorization(req, password, nonce):
    """True if req carries valid credentials for nonce."""
    auth = req.get('authorization') or ''
    fields = dict(re.findall(r'(\w+)="([^"]*)"', auth))
    if fields.get('nonce') != nonce:
        return False
    want = digest(fields.get('username', ''), fields.get('realm', ''),
                  password, req.method, fields.get('uri', ''), nonce)
    return fields.get('response') == want


SDP = ('v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n'
       't=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n')


def sdp(port=40000):
    return (SDP % (int(time.time()), port)).encode()


class UdpPeer:
    """A blocking UDP SIP endpoint on loopback (ip, port 0: a free one).

    recv() returns parsed messages; the ones a caller skipped while
    waiting for another are kept and returned by later calls.
    """

    def __init__(self, ip='127.0.0.1', port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.addr = self.sock.getsockname()
        self.pending = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    @property
    def hostport(self):
        return '%s:%d' % self.addr

    def send(self, data, dest):
        self.sock.sendto(data, dest)

    def request(self, method, uri, to, frm=None, call_id=None, cseq=1,
                extra=(), body=b'', branch=None, max_forwards=70,
                contact=True):
        """A request from this peer (Via and Contact: its address)."""
        frm = frm or 'sip:tester@example.com'
        if '<' not in frm:
            frm = '<%s>' % frm
        if ';tag=' not in frm:
            frm += ';tag=' + token(4)
        headers = [
            ('Via', 'SIP/2.0/UDP %s;rport;branch=z9hG4bK%s' %
             (self.hostport, branch or token())),
            ('Max-Forwards', str(max_forwards)),
            ('From', frm),
            ('To', to if '<' in to else '<%s>' % to),
            ('Call-ID', call_id or token() + '@it'),
            ('CSeq', '%d %s' % (cseq, method)),
        ]
        if contact:
            headers.append(('Contact', '<sip:tester@%s>' % self.hostport))
        headers += list(extra)
        if body:
            headers.append(('Content-Type', 'application/sdp'))
        return build('%s %s SIP/2.0' % (method, uri), headers, body)

    def recv(self, timeout=2.0, match=None):
        """The next message (that match(msg) accepts), or None after
        timeout seconds. Also returns its source in self.last_src."""
        for i, (msg, src) in enumerate(self.pending):
            if match is None or match(msg):
                del self.pending[i]
                self.last_src = src
                return msg
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                continue
            msg = Msg(data)
            if match is None or match(msg):
                self.last_src = src
                return msg
            self.pending.append((msg, src))

    def recv_response(self, req, timeout=2.0, final=True):
        """The (final, unless final=False) response to request bytes req,
        matched by Call-ID and CSeq."""
        r = Msg(req)
        callid, cseq = r.get('call-id'), r.get('cseq')

        def match(m):
            return (not m.is_request and m.get('call-id') == callid and
                    m.get('cseq') == cseq and
                    (m.code >= 200 or not final))
        return self.recv(timeout, match)

    def recv_request(self, method=None, timeout=2.0):
        return self.recv(timeout, lambda m: m.is_request and
                         (method is None or m.method == method))
