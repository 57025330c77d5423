"""rtpengine's ng control protocol, as far as the RTP benchmark needs it.

A request is a cookie, a space and a bencoded dictionary, in one UDP
datagram; the answer repeats the cookie. bencode: integers i42e, strings
4:spam, lists l...e, dictionaries d...e with keys sorted. The benchmark
sends ping, offer (the caller's SDP: rtpengine answers with the SDP the
callee gets, naming the port it opened toward the callee), answer (the
callee's SDP: back comes the caller's, naming the port toward the caller)
and delete.
"""

import os
import re
import socket


def bencode(v):
    if isinstance(v, int):
        return b'i%de' % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b'%d:%s' % (len(v), v)
    if isinstance(v, (list, tuple)):
        return b'l' + b''.join(bencode(x) for x in v) + b'e'
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x)
                       for k, x in v.items())
        return b'd' + b''.join(bencode(k) + bencode(x)
                               for k, x in items) + b'e'
    raise TypeError('cannot bencode %r' % type(v))


def bdecode(data):
    """The value bencoded in data (bytes; strings come back as str when
    they are UTF-8)."""
    def one(i):
        c = data[i:i + 1]
        if c == b'i':
            end = data.index(b'e', i)
            return int(data[i + 1:end]), end + 1
        if c in (b'l', b'd'):
            i += 1
            out = []
            while data[i:i + 1] != b'e':
                v, i = one(i)
                out.append(v)
            if c == b'l':
                return out, i + 1
            return dict(zip(out[0::2], out[1::2])), i + 1
        colon = data.index(b':', i)
        n = int(data[i:colon])
        s = data[colon + 1:colon + 1 + n]
        try:
            s = s.decode()
        except UnicodeDecodeError:
            pass
        return s, colon + 1 + n
    v, _ = one(0)
    return v


def audio_port(sdp):
    """The port of the first m=audio line of an SDP, or None."""
    m = re.search(r'^m=audio (\d+) ', sdp, re.M)
    return int(m.group(1)) if m else None


def sdp(port, session):
    return ('v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\n'
            'c=IN IP4 127.0.0.1\r\nt=0 0\r\n'
            'm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
            'a=sendrecv\r\n' % (session, port))


class Ng:
    """A blocking ng client on loopback."""

    def __init__(self, port, host='127.0.0.1', timeout=2.0):
        self.dest = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.timeout = timeout
        self.n = 0

    def close(self):
        self.sock.close()

    def request(self, cmd, tries=3):
        """The answer dictionary to the request dictionary cmd; raises
        OSError when rtpengine stays silent, RuntimeError when it answers
        anything but result ok (or pong)."""
        for _ in range(tries):
            self.n += 1
            cookie = b'%s_%d' % (os.urandom(4).hex().encode(), self.n)
            self.sock.sendto(cookie + b' ' + bencode(cmd), self.dest)
            self.sock.settimeout(self.timeout)
            try:
                while True:
                    data = self.sock.recv(65535)
                    head, _, body = data.partition(b' ')
                    if head == cookie:
                        break
            except (socket.timeout, ConnectionRefusedError):
                continue
            ans = bdecode(body)
            if ans.get('result') not in ('ok', 'pong'):
                raise RuntimeError('rtpengine: %s: %s' % (
                    cmd.get('command'), ans.get('error-reason', ans)))
            return ans
        raise OSError('rtpengine: no answer to %s' % cmd.get('command'))

    def ping(self):
        try:
            return self.request({'command': 'ping'}, tries=1)['result'] == \
                'pong'
        except (OSError, RuntimeError):
            return False

    def call(self, call_id, a_port, b_port):
        """Offer (caller at 127.0.0.1:a_port) and answer (callee at
        b_port): returns (relay port for A, relay port for B)."""
        flags = {'call-id': call_id, 'from-tag': 'a-' + call_id,
                 'replace': ['origin', 'session-connection'],
                 'ICE': 'remove', 'transport-protocol': 'RTP/AVP'}
        off = self.request(dict(flags, command='offer',
                                sdp=sdp(a_port, 1)))
        ans = self.request(dict(flags, command='answer',
                                **{'to-tag': 'b-' + call_id},
                                sdp=sdp(b_port, 2)))
        # the offer goes on to B: its port is the one B sends to
        return audio_port(ans['sdp']), audio_port(off['sdp'])

    def delete(self, call_id):
        self.request({'command': 'delete', 'call-id': call_id,
                      'from-tag': 'a-' + call_id})
