"""The peers of sbcd's WebRTC end-to-end test (test_webrtc.py).

Where the SIP tests (../sip/) play users and backends with SIPp and small
Python parties, this test puts real ones on each side of sbcd:

- Browser: headless Chromium running JsSIP (page.html, page.js), driven by
  driver.mjs through playwright-core; this class speaks the driver's one
  JSON line a command protocol over its standard input and output.
- Kamailio: the registrar and proxy of the core network (in-memory
  usrloc), from a config generated here; the backend sbcd forwards to.
- Baresip: a softphone on the core network over UDP, registered with
  Kamailio, auto-answering, playing a tone file and recording what it
  hears (module sndfile), controlled through module ctrl_tcp.
- Sbcd: sbcd with a WSS listener on the access side (127.0.0.1), its core
  side on 127.0.0.2, Kamailio as its one backend and (by default) the RTP
  relay between 127.0.0.1 and 127.0.0.2.

Every process is started through sbcit.Test.spawn or appended to the
test's processes, so it is stopped by its PID at the end of the run,
whatever happened. Plus the audio tools: a tone writer, a WAV reader that
reads a file still being written, and a Goertzel filter to tell which
tone a recording holds.
"""

import json
import math
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import wave

import sbcit
from test_media import bound_udp_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ACCESS_IP = '127.0.0.1'       # sbcd's access side: the browser
CORE_IP = '127.0.0.2'         # sbcd's core side: SIP and the relay
KAMAILIO_IP = '127.0.0.3'     # the registrar and proxy
PHONE_IP = '127.0.0.4'        # baresip
DOMAIN = 'example.com'
CHROMIUM = '/usr/bin/chromium'
KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules'
BARESIP_MODULES = '/usr/lib/baresip/modules'


# -- small things ----------------------------------------------------------

def wait_until(pred, limit, step=0.05):
    """pred() true within limit seconds (True), else False."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def free_port_on(ip, count=1, udp=True, tcp=True):
    """A port p of ip such that p .. p+count-1 are free for UDP and TCP
    (as asked) when this returns (see sbcit.free_port for the race)."""
    for _ in range(100):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind((ip, 0))
        first = probe.getsockname()[1]
        probe.close()
        if first + count > 65535:
            continue
        held = []
        try:
            for port in range(first, first + count):
                for kind, wanted in ((socket.SOCK_DGRAM, udp),
                                     (socket.SOCK_STREAM, tcp)):
                    if wanted:
                        s = socket.socket(socket.AF_INET, kind)
                        held.append(s)
                        s.bind((ip, port))
            return first
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise sbcit.Failure('no free port on %s' % ip)


def udp_bound(ip, port):
    """True if a UDP socket is bound to ip:port (/proc/net/udp)."""
    want = '%08X:%04X' % (struct.unpack('<I', socket.inet_aton(ip))[0], port)
    with open('/proc/net/udp') as f:
        next(f)
        return any(line.split()[1] == want for line in f)


def port_range(width, first=20000, end=31000):
    """(min, max): width ports from an even port within first..end-1,
    placed by a free port so that parallel runs seldom meet, and where no
    UDP socket of the host is bound at the time."""
    slots = (end - first - width) // 2
    start = (sbcit.free_port() * 7919) % slots
    bound = bound_udp_ports()
    for i in range(0, slots, 7):
        base = first + 2 * ((start + i) % slots)
        if not any(p in bound for p in range(base, base + width)):
            return base, base + width - 1
    raise sbcit.Failure('no free port range of %d' % width)


# -- SDP -------------------------------------------------------------------

def audio_formats(sdp):
    """The first m=audio section of sdp: (its formats as listed, {format:
    its rtpmap, lower case}), ([], {}) without one."""
    fmts, rtpmap, inside = [], {}, False
    for line in (sdp or '').splitlines():
        if line.startswith('m='):
            if inside:
                break
            inside = line.startswith('m=audio ')
            if inside:
                fmts = line.split()[3:]
        elif inside and line.startswith('a=rtpmap:'):
            pt, _, name = line[len('a=rtpmap:'):].partition(' ')
            rtpmap[pt] = name.strip().lower()
    return fmts, rtpmap


def codec_names(sdp):
    """The encoding names (lower case) of sdp's first m=audio section, in
    the order of its formats."""
    fmts, rtpmap = audio_formats(sdp)
    return [rtpmap.get(pt, pt).split('/')[0] for pt in fmts]


# -- audio -----------------------------------------------------------------

def write_tone(path, freq, rate=8000, seconds=10, amplitude=0.3):
    """A mono 16-bit WAV file of a sine at freq Hz."""
    frames = bytearray()
    for i in range(int(rate * seconds)):
        v = int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / rate))
        frames += struct.pack('<h', v)
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


def read_wav(path):
    """(rate, samples of the first channel) of a 16-bit PCM WAV file,
    also one still being written (its data size not yet in the header):
    everything after the data chunk's header is taken."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return None, []
    if data[:4] != b'RIFF' or data[8:12] != b'WAVE':
        return None, []
    pos, rate, channels = 12, None, 1
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack('<I', data[pos + 4:pos + 8])[0]
        if cid == b'fmt ':
            _, channels, rate = struct.unpack('<HHI', data[pos + 8:pos + 16])
        elif cid == b'data':
            body = data[pos + 8:]
            n = len(body) // (2 * channels)
            samples = struct.unpack('<%dh' % (n * channels),
                                    body[:2 * n * channels])
            return rate, list(samples[::channels])
        pos += 8 + size + (size & 1)
    return rate, []


def goertzel(samples, rate, freq):
    """The share of the samples' power at freq: 0.5 for a pure sine of
    that frequency, about 0 for one of another frequency or for noise."""
    if not samples:
        return 0.0
    w = 2 * math.pi * freq / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + c * s1 - s2, s1
    power = (s1 * s1 + s2 * s2 - c * s1 * s2) / len(samples) ** 2
    mean = sum(x * x for x in samples) / len(samples)
    return power / mean if mean else 0.0


def rms(samples):
    return math.sqrt(sum(x * x for x in samples) / len(samples)) \
        if samples else 0.0


def tone_report(samples, rate, want, other):
    """What a recording holds: (ok, text). ok when it is not silent and
    the tone at want Hz dominates: a share of at least 0.2 of its power,
    and the other tone (the recorder's own, other Hz) under 0.02."""
    level = rms(samples)
    if not rate or not samples:
        return False, 'no audio recorded'
    mine, theirs = goertzel(samples, rate, want), \
        goertzel(samples, rate, other)
    text = ('%.1f s at %d Hz, rms %.0f, share of power at %d Hz %.2f, '
            'at %d Hz %.3f' % (len(samples) / rate, rate, level, want,
                               mine, other, theirs))
    return level > 300 and mine >= 0.2 and theirs < 0.02, text


def first_sound(samples, rate, threshold=1000):
    """Seconds into samples of the first 10 ms block with a sample above
    threshold, or None."""
    block = max(1, rate // 100)
    for i in range(0, len(samples), block):
        if max(abs(x) for x in samples[i:i + block]) > threshold:
            return i / rate
    return None


# -- Kamailio --------------------------------------------------------------

KAMAILIO_CFG = r'''#!KAMAILIO
# Written by webrtc.py for one test run: the core network's registrar and
# proxy. REGISTER is saved in memory; any other initial request goes to
# the registered contact of its Request-URI's user (404 if none), with
# Record-Route; in-dialog requests follow their Route.
debug=2
log_stderror=yes
fork=yes
children=2
listen=udp:@LISTEN@
auto_aliases=no
disable_tcp=yes
enable_sctp=no
dns=no
rev_dns=no
use_dns_cache=off
mpath="@MODULES@/"

loadmodule "kex.so"
loadmodule "ctl.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"

modparam("ctl", "binrpc", "unix:@CTL@")
modparam("usrloc", "db_mode", 0)
modparam("rr", "enable_full_lr", 0)

request_route {
	xlog("L_INFO", "$rm $ru from $si:$sp ($ci)\n");
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans())
			t_relay();
		exit;
	}
	if (!is_method("ACK")) {
		if (t_precheck_trans()) {
			t_check_trans();
			exit;
		}
		t_check_trans();
	}
	if (has_totag()) {
		if (loose_route())
			route(RELAY);
		if (is_method("ACK") && t_check_trans())
			route(RELAY);
		sl_send_reply("404", "Not here");
		exit;
	}
	remove_hf("Route");
	if (is_method("REGISTER")) {
		if (!save("location"))
			sl_reply_error();
		exit;
	}
	if (is_method("INVITE|SUBSCRIBE"))
		record_route();
	if (!lookup("location")) {
		sl_send_reply("404", "Not Found");
		exit;
	}
	route(RELAY);
}

route[RELAY] {
	if (!t_relay())
		sl_reply_error();
	exit;
}
'''


class Kamailio:
    """Kamailio on KAMAILIO_IP and a free port, in the foreground (-DD -E),
    its config, runtime directory and log in the test's directory."""

    def __init__(self, test, ip=KAMAILIO_IP):
        self.test = test
        self.ip = ip
        self.port = free_port_on(ip, tcp=False)
        self.dir = test.path('kamailio')
        os.makedirs(self.dir, exist_ok=True)
        self.ctl = os.path.join(self.dir, 'ctl')
        self.cfg = os.path.join(self.dir, 'kamailio.cfg')
        with open(self.cfg, 'w') as f:
            f.write(sbcit.render(KAMAILIO_CFG, {
                'LISTEN': '%s:%d' % (ip, self.port), 'CTL': self.ctl,
                'MODULES': KAMAILIO_MODULES}))
        self.uri = 'sip:%s:%d' % (ip, self.port)
        self.proc = test.spawn(
            ['kamailio', '-f', self.cfg, '-DD', '-E', '-Y', self.dir,
             '-P', os.path.join(self.dir, 'kamailio.pid')], 'kamailio.log')
        if not wait_until(lambda: udp_bound(ip, self.port) and
                          os.path.exists(self.ctl), 10):
            raise sbcit.Failure('kamailio not on %s:%d after 10 s:\n%s' %
                                (ip, self.port, self.log_tail()))
        test.note('kamailio: %s, pid %d' % (self.uri, self.proc.pid))

    def log_tail(self, lines=30):
        try:
            with open(self.test.path('kamailio.log'), errors='replace') as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return ''

    def contacts(self, user):
        """The contact URIs Kamailio's location table has for user (its
        RPC ul.lookup through kamcmd), [] when none."""
        res = subprocess.run(
            ['kamcmd', '-s', 'unix:' + self.ctl, 'ul.lookup', 'location',
             '%s@%s' % (user, DOMAIN)],
            capture_output=True, text=True, timeout=10,
            stdin=subprocess.DEVNULL)
        return re.findall(r'Address:\s*(\S+)', res.stdout)


# -- baresip ---------------------------------------------------------------

BARESIP_CONFIG = '''# Written by webrtc.py for one test run: a headless softphone.
poll_method		epoll
sip_listen		@LISTEN@
net_interface		@IP@
call_local_timeout	120
call_max_calls		4
audio_player		aubridge,@NAME@-play
audio_source		aufile,@TONE@
audio_alert		aubridge,@NAME@-alert
audio_level		no
ausrc_srate		8000
ausrc_channels		1
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
rtp_ports		@RTP_MIN@-@RTP_MAX@
rtcp_mux		no
jitter_buffer_delay	0-0
rtp_stats		no
module_path		@MODULES@
module			g711.so
module			g722.so
module			opus.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_tmp		uuid.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:@CTRL@
snd_path		@REC@
'''


class Baresip:
    """baresip as user@DOMAIN on PHONE_IP, registered with Kamailio (its
    outbound proxy), answering every call at once (answermode=auto).

    It plays tone (a WAV file) as its microphone (module aufile) and
    records each call's decoded audio (module sndfile: the *-dec.wav
    files of rec/). It plays nothing (audio_player is an aubridge device
    no source reads). ctrl_tcp gives commands (dial, hangup, hold,
    resume) and events (CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED...),
    netstrings of JSON on a TCP socket.

    baresip 1.0.0 (Debian 12) drops the decode filters of a call's audio
    on an SDP that is not sendrecv (a hold), and sets them up again only
    if the encode side has none either: its recording stops at the first
    hold. block_encode_dumps() keeps the encode side without a filter
    (sndfile cannot open its *-enc.wav file where a directory of that
    name stands), so a hold starts a new *-dec.wav file instead.
    """

    def __init__(self, test, name, user, tone, registrar):
        self.test = test
        self.name = name
        self.user = user
        self.aor = 'sip:%s@%s' % (user, DOMAIN)
        self.dir = test.path(name)
        self.rec = os.path.join(self.dir, 'rec')
        os.makedirs(self.rec, exist_ok=True)
        self.port = free_port_on(PHONE_IP, count=2)   # UDP+TCP, TLS
        self.ctrl_port = free_port_on('127.0.0.1', udp=False)
        rtp_min, rtp_max = port_range(100, 31000, 32700)
        with open(os.path.join(self.dir, 'config'), 'w') as f:
            f.write(sbcit.render(BARESIP_CONFIG, {
                'LISTEN': '%s:%d' % (PHONE_IP, self.port), 'IP': PHONE_IP,
                'NAME': name, 'TONE': tone, 'RTP_MIN': rtp_min,
                'RTP_MAX': rtp_max, 'MODULES': BARESIP_MODULES,
                'CTRL': self.ctrl_port, 'REC': self.rec}))
        with open(os.path.join(self.dir, 'accounts'), 'w') as f:
            f.write('<%s>;outbound="%s";answermode=auto;regint=600;'
                    'audio_codecs=opus/48000/2,G722/16000/1,pcmu\n' %
                    (self.aor, registrar))
        self.events = []
        self.lock = threading.Lock()
        self.replies = queue.Queue()
        self.token = 0
        self.proc = test.spawn(['baresip', '-f', self.dir, '-s'],
                               name + '.log')
        self.sock = self.connect()
        threading.Thread(target=self.read_loop, daemon=True).start()
        test.note('%s: baresip %s on %s:%d, pid %d' %
                  (name, self.aor, PHONE_IP, self.port, self.proc.pid))

    # ctrl_tcp

    def connect(self, limit=10):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise sbcit.Failure('%s: baresip exited at start (%s):\n%s'
                                    % (self.name, self.proc.returncode,
                                       self.log_tail()))
            try:
                return socket.create_connection(('127.0.0.1',
                                                 self.ctrl_port), 1)
            except OSError:
                time.sleep(0.1)
        raise sbcit.Failure('%s: no ctrl_tcp socket after %d s' %
                            (self.name, limit))

    def read_loop(self):
        buf = b''
        self.sock.settimeout(None)
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b':' in buf:
                head, rest = buf.split(b':', 1)
                size = int(head)
                if len(rest) < size + 1:
                    break
                self.dispatch(json.loads(rest[:size]))
                buf = rest[size + 1:]

    def dispatch(self, msg):
        if msg.get('event'):
            msg['at'] = time.time()
            with self.lock:
                self.events.append(msg)
        elif msg.get('response'):
            self.replies.put(msg)

    def command(self, name, params='', timeout=5):
        """A ctrl_tcp command: its reply ({"ok":..., "data":...})."""
        self.token += 1
        token = str(self.token)
        body = json.dumps({'command': name, 'params': params,
                           'token': token}).encode()
        self.sock.sendall(b'%d:%s,' % (len(body), body))
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self.replies.get(timeout=max(0.01, deadline -
                                                     time.monotonic()))
            except queue.Empty:
                raise sbcit.Failure('%s: no reply to %s in %d s' %
                                    (self.name, name, timeout))
            if reply.get('token') == token:
                return reply

    def mark(self):
        """An index into the events, for wait_event(since=)."""
        with self.lock:
            return len(self.events)

    def wait_event(self, kind, since=0, timeout=10):
        """The first event of type kind from index since on, or None."""
        def found():
            with self.lock:
                return next((e for e in self.events[since:]
                             if e.get('type') == kind), None)
        wait_until(lambda: found() is not None, timeout)
        return found()

    def dial(self, uri):
        return self.command('dial', uri)

    def hangup(self):
        return self.command('hangup')

    def hold(self):
        return self.command('hold')

    def resume(self):
        return self.command('resume')

    # what it sent and received (its SIP trace, -s, in its log)

    TRACE_START = '\x1b[36;1m#\n'
    TRACE_END = '\x1b[;m'

    def sip_trace(self):
        """The SIP messages of baresip's log: a list of (received, start
        line, headers (a dict of the first of each name, lower-case
        names), body)."""
        try:
            with open(self.test.path(self.name + '.log'), 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
        except OSError:
            return []
        out = []
        for block in text.split(self.TRACE_START)[1:]:
            block = block.split(self.TRACE_END, 1)[0]
            route, _, msg = block.partition('\n')
            head, _, body = msg.partition('\r\n\r\n')
            lines = head.split('\r\n')
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(':')
                headers.setdefault(name.strip().lower(), value.strip())
            received = route.split('->')[-1].strip().startswith(
                PHONE_IP + ':')
            out.append((received, lines[0].strip(), headers, body))
        return out

    def messages_of(self, call_id, received=None):
        """sip_trace()'s messages of one Call-ID (only those received, or
        sent, as asked)."""
        return [m for m in self.sip_trace()
                if m[2].get('call-id') == call_id and
                (received is None or m[0] == received)]

    def received_offer(self, call_id, limit=3):
        """The SDP of the INVITE of call_id that baresip received, as it
        logged it (waiting at most limit seconds for the log), or None."""
        got = []

        def look():
            got[:] = [m[3] for m in self.messages_of(call_id, True)
                      if m[1].startswith('INVITE ') and m[3].strip()]
            return bool(got)
        wait_until(look, limit, 0.1)
        return got[0] if got else None

    def sent_finals(self, call_id, limit=3):
        """The status codes of the final responses to INVITE that baresip
        sent for call_id (waiting at most limit seconds for one)."""
        got = []

        def look():
            got[:] = [int(m[1].split()[1]) for m in
                      self.messages_of(call_id, False)
                      if m[1].startswith('SIP/2.0 ') and
                      m[2].get('cseq', '').endswith('INVITE') and
                      int(m[1].split()[1]) >= 200]
            return bool(got)
        wait_until(look, limit, 0.1)
        return got

    # recordings

    def block_encode_dumps(self, seconds=120):
        """Directories where sndfile would write its *-enc.wav files for
        the next seconds (see the class's docstring)."""
        now = time.time()
        for i in range(-2, seconds):
            stamp = time.strftime('%Y-%m-%d-%H-%M-%S',
                                  time.localtime(now + i))
            os.makedirs(os.path.join(self.rec, 'dump-%s-enc.wav' % stamp),
                        exist_ok=True)

    def recordings(self):
        """The *-dec.wav files (what baresip heard), oldest first."""
        return sorted(os.path.join(self.rec, n) for n in os.listdir(self.rec)
                      if n.endswith('-dec.wav') and
                      os.path.isfile(os.path.join(self.rec, n)))

    def new_recordings(self, before):
        return [p for p in self.recordings() if p not in before]

    def log_tail(self, lines=30):
        try:
            with open(self.test.path(self.name + '.log'), 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
        except OSError:
            return ''
        return '\n'.join(text.splitlines()[-lines:])

    def stop(self):
        """SIGTERM (baresip unregisters), a second one (it stops at once),
        SIGKILL after 3 s more."""
        for sig in (signal.SIGTERM, signal.SIGTERM):
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(1.5)
                except subprocess.TimeoutExpired:
                    pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            self.sock.close()
        except OSError:
            pass


class SoundWatch:
    """A thread that polls baresip's new recordings every 20 ms from the
    start of a call: the wall-clock time of its first sound (a sample
    above the threshold)."""

    def __init__(self, phone, limit=15):
        self.phone = phone
        self.before = phone.recordings()
        self.at = None
        self.stop_at = time.monotonic() + limit
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.at is None and time.monotonic() < self.stop_at:
            for path in self.phone.new_recordings(self.before):
                rate, samples = read_wav(path)
                if rate and first_sound(samples, rate) is not None:
                    self.at = time.time()
                    return
            time.sleep(0.02)

    def result(self, wait=0):
        self.thread.join(wait)
        return self.at


# -- the browser -----------------------------------------------------------

class Browser:
    """Headless Chromium through driver.mjs (see its header for the
    commands). The driver's standard error is the test's browser.log;
    its processes are the test's, stopped by PID at the end."""

    def __init__(self, test, audio=None, chromium=CHROMIUM):
        self.test = test
        self.replies = {}
        self.cond = threading.Condition()
        self.next_id = 0
        argv = ['node', os.path.join(HERE, 'driver.mjs'),
                '--chromium', chromium, '--workdir', test.path('browser')]
        if audio:
            argv += ['--audio', audio]
        log = open(test.path('browser.log'), 'ab')
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, cwd=test.tmp)
        finally:
            log.close()
        test.procs.append(self.proc)
        threading.Thread(target=self.read_loop, daemon=True).start()
        ready = self.reply(0, 60)
        if not ready or not ready.get('ok'):
            raise sbcit.Failure('the browser did not start: %s\n%s' %
                                (ready, self.log_tail()))
        self.version = ready.get('version')
        test.note('chromium %s (driver pid %d)' % (self.version,
                                                   self.proc.pid))

    def read_loop(self):
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.replies[msg.get('id')] = msg
                self.cond.notify_all()
        with self.cond:
            self.replies['eof'] = True
            self.cond.notify_all()

    def reply(self, ident, timeout):
        with self.cond:
            self.cond.wait_for(lambda: ident in self.replies or
                               'eof' in self.replies, timeout)
            return self.replies.pop(ident, None)

    def send(self, cmd, **args):
        """Send one command; its id (for reply())."""
        with self.cond:
            self.next_id += 1
            ident = self.next_id
        line = json.dumps(dict(args, id=ident, cmd=cmd)) + '\n'
        try:
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise sbcit.Failure('the browser driver is gone:\n' +
                                self.log_tail())
        return ident

    def cmd(self, cmd, timeout=30, **args):
        """One command and its reply (a dict, 'ok' in it)."""
        ident = self.send(cmd, **args)
        reply = self.reply(ident, timeout)
        if reply is None:
            raise sbcit.Failure('the browser did not answer %s in %d s:\n%s'
                                % (cmd, timeout, self.log_tail()))
        return reply

    def log_tail(self, lines=40):
        try:
            with open(self.test.path('browser.log'), 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
        except OSError:
            return ''
        keep = [l for l in text.splitlines() if 'dbus' not in l]
        return '\n'.join(keep[-lines:])

    def close(self):
        if self.proc.poll() is not None:
            return
        try:
            self.send('quit')
            self.proc.stdin.close()
            self.proc.wait(15)
        except (sbcit.Failure, OSError, subprocess.TimeoutExpired):
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Tab:
    """One tab of the browser: a JsSIP phone."""

    def __init__(self, browser, name):
        self.browser = browser
        self.name = name
        reply = browser.cmd('open', tab=name)
        if not reply.get('ok'):
            raise sbcit.Failure('tab %s: %s' % (name, reply.get('error')))

    def cmd(self, cmd, timeout=30, **args):
        return self.browser.cmd(cmd, timeout=timeout, tab=self.name, **args)

    def register(self, url, uri, password=None):
        return self.cmd('register', url=url, uri=uri, password=password,
                        timeout=20)

    def auto_answer(self, bundle_policy=None):
        return self.cmd('auto_answer', bundlePolicy=bundle_policy)

    def call(self, target, bundle_policy=None, codecs=None):
        """An outgoing call; codecs (encoding names) are the only ones
        the page's offer names (see page.js)."""
        return self.cmd('call', target=target, bundlePolicy=bundle_policy,
                        codecs=codecs)

    def wait(self, what, seconds):
        """Until the tab's current call is incoming, confirmed, ended or
        has media, at most seconds: {"ok": reached, "call": its record}."""
        ident = self.browser.send('wait', tab=self.name, what=what,
                                  timeout=int(seconds * 1000))
        reply = self.browser.reply(ident, seconds + 10)
        if reply is None:
            raise sbcit.Failure('tab %s: no answer to wait %s' %
                                (self.name, what))
        return reply

    def stats(self):
        return self.cmd('stats')

    def tone(self):
        return self.cmd('tone')

    def hangup(self):
        return self.cmd('hangup')

    def close(self):
        return self.cmd('close_tab')


# -- sbcd ------------------------------------------------------------------

SBCD_CONF = '''# written by webrtc.py for one test run
workers = {workers};
control = {{ socket = "{ctl}"; pid_file = "{pid}"; }};
access = {{ listen = [ "udp:{access_ip}:{access}", "wss:{access_ip}:{wss}" ]; }};
tls = {{ certificate = "{cert}"; key = "{key}"; }};
core = {{ listen = [ "udp:{core_ip}:{core}" ]; }};
backends = [ "{backend}" ];
probe = {{ interval = 0; }};
connections = {{ idle_timeout = 600; ws_ping_interval = 30; }};
dialog = {{ ping_interval = {ping}; }};
cdr = {{ file = "{cdr}"; }};
log = {{ level = "info"; }};
{rtp}
'''


# sbcd finds a leg gone (a browser tab closed: its WebSocket with it) by
# its in-dialog OPTIONS, every dialog.ping_interval seconds.
DIALOG_PING = 2


class Sbcd(sbcit.Sbcd):
    """sbcd between the browser and the core network: access side UDP (for
    sbcit's readiness OPTIONS) and WSS on ACCESS_IP, core side UDP on
    CORE_IP, Kamailio its one backend. relay: the RTP relay between
    ACCESS_IP and CORE_IP (else rtp.workers = 0: SDP passes untouched).
    Calls are pinged every DIALOG_PING seconds.
    tag names its files (a run may start two: tag "a", tag "b")."""

    def __init__(self, test, kamailio, relay=True, workers=2, tag='sbcd'):
        self.test = test
        self.tag = tag
        self.workers_n = workers
        self.access = sbcit.free_port()
        self.wss = free_port_on(ACCESS_IP, udp=False)
        self.core = free_port_on(CORE_IP, tcp=False)
        self.ws = self.tls = None
        self.backend = kamailio.port
        self.ctl = test.path(tag + '.ctl')
        self.conf = test.path(tag + '.conf')
        self.cdr = test.path(tag + '-cdr.jsonl')
        self.log = tag + '.log'
        self.sbcctl_bin = test.binary('sbcctl')
        self.backends_text = 'backends = [ "%s" ];' % kamailio.uri
        self.relay = relay
        if relay:
            self.port_min, self.port_max = port_range(200)
            rtp = ('rtp = { workers = 1; port_min = %d; port_max = %d;\n'
                   '        access_address = "%s"; core_address = "%s"; };'
                   % (self.port_min, self.port_max, ACCESS_IP, CORE_IP))
        else:
            rtp = 'rtp = { workers = 0; };'
        cert, key = self.certificate()
        with open(self.conf, 'w') as f:
            f.write(SBCD_CONF.format(
                workers=workers, ctl=self.ctl, pid=test.path(tag + '.pid'),
                access_ip=ACCESS_IP, access=self.access, wss=self.wss,
                cert=cert, key=key, core_ip=CORE_IP, core=self.core,
                backend=kamailio.uri, cdr=self.cdr, rtp=rtp,
                ping=DIALOG_PING))
        self.wss_url = 'wss://%s:%d' % (ACCESS_IP, self.wss)
        test.note('%s: %s, core %s:%d, relay %s' %
                  (tag, self.wss_url, CORE_IP, self.core,
                   '%d..%d' % (self.port_min, self.port_max) if relay
                   else 'off (rtp.workers = 0)'))
        self.proc = test.spawn([test.binary('sbcd'), '-c', self.conf],
                               self.log)
        self.wait_ready()
        if relay and not wait_until(
                lambda: 'relay 0 started' in self.log_text(), 10):
            raise sbcit.Failure('%s: the relay did not start\n%s' %
                                (tag, self.log_tail()))
        self.worker_pids = self.pids()

    def certificate(self):
        """sbcit's self-signed certificate, made once a run."""
        cert, key = self.test.path('cert.pem'), self.test.path('key.pem')
        if os.path.exists(cert) and os.path.exists(key):
            return cert, key
        return super().certificate()

    def media_sessions(self):
        """sbcctl media --json: the sessions (a list), or None."""
        try:
            out = self.sbcctl_json('media')
        except sbcit.Failure:
            return None
        return out.get('sessions') if isinstance(out, dict) else None

    def media_text(self):
        """sbcctl media as a table: its lines."""
        try:
            return self.sbcctl('media')[1].splitlines()
        except sbcit.Failure:
            return []

    def session_of(self, call_id):
        for row in self.media_sessions() or []:
            if row.get('call_id') == call_id:
                return row
        return None

    def dialog_of(self, call_id):
        """The row of sbcctl dialogs --json for call_id, or None."""
        try:
            rows = self.sbcctl_json('dialogs')
        except sbcit.Failure:
            return None
        if isinstance(rows, dict):
            rows = rows.get('dialogs', [])
        return next((r for r in rows or [] if r.get('call_id') == call_id),
                    None)

    def cdrs(self):
        try:
            with open(self.cdr) as f:
                return [json.loads(l) for l in f if l.strip()]
        except (OSError, ValueError):
            return []

    def cdr_of(self, call_id, limit=5):
        """The CDR of call_id, waiting at most limit seconds, or None."""
        found = []

        def look():
            found[:] = [r for r in self.cdrs() if r.get('call_id') == call_id]
            return bool(found)
        wait_until(look, limit, 0.1)
        return found[0] if found else None
