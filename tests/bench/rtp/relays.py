"""The relays the RTP benchmark measures, behind one interface, and the
processes they run as.

Each relay: start() brings it up (or raises Unavailable with the reason
it cannot be measured here), ensure(n, ports) sets up calls until n exist
(ports(i) gives call i's generator ports (A, B)) and leaves in .calls the
relay's ports (for A, for B) of each, pids() are the processes whose CPU
is the relay's, stop() ends it by PID. Every process goes through Run,
which kills what is left and removes its files at the end.

- Mini: the yardstick, mini_relay.c, on pairs of ports of the range.
- Rtpengine: rtpengine-daemon, userspace forwarding (--table=-1), one
  media thread, calls made with offer and answer on its ng port.
- Sbcd: sbcd with an rtp group (io "io_uring" or "epoll", one relay
  process), calls made through it with SIP (sip_calls.py).
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'sip'))
from bench_sip import free_port, wait_port  # noqa: E402
import ng  # noqa: E402
from sip_calls import SipCalls  # noqa: E402

LOOP = '127.0.0.1'
RTPENGINE = '/usr/bin/rtpengine'


class Unavailable(Exception):
    """The relay cannot be measured on this machine or build."""


class Run:
    """Processes and files of one benchmark run; everything stopped (by
    PID) and removed at the end."""

    def __init__(self, keep=False):
        self.tmp = tempfile.mkdtemp(prefix='sbcd-bench-rtp.')
        self.procs = []
        self.keep = keep

    def path(self, name):
        return os.path.join(self.tmp, name)

    def spawn(self, argv, name, stdout=None, cpus=None):
        """argv started with its output in NAME.log (stdout too, unless
        stdout=subprocess.PIPE), on the CPUs of cpus when given."""
        log = open(self.path(name + '.log'), 'a')
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        p = subprocess.Popen(argv, stdout=stdout or log, stderr=log,
                             stdin=subprocess.DEVNULL, cwd=self.tmp,
                             preexec_fn=pin, text=True)
        log.close()
        self.procs.append(p)
        return p

    @staticmethod
    def stop(p, sig=signal.SIGTERM, wait=10):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(wait)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        for p in self.procs:
            self.stop(p)
        if self.keep:
            print('files kept in %s' % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, name, lines=5):
        try:
            with open(self.path(name + '.log')) as f:
                return ' | '.join(f.read().strip().splitlines()[-lines:])
        except OSError:
            return ''


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((LOOP, port))
        except OSError:
            return False
    return True


def free_ports(lo, hi, n):
    """The first n ports of lo..hi that nothing holds."""
    out = []
    for p in range(lo, hi + 1):
        if len(out) == n:
            break
        if port_free(p):
            out.append(p)
    if len(out) < n:
        raise Unavailable('%d free UDP ports wanted in %d..%d, %d found' %
                          (n, lo, hi, len(out)))
    return out


def children(pid):
    """PIDs whose parent is pid."""
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().split(b'\0')
    except OSError:
        return []


def pin(pids, cpus):
    """Every thread of pids onto cpus."""
    for pid in pids:
        try:
            tids = os.listdir('/proc/%d/task' % pid)
        except OSError:
            continue
        for t in tids:
            try:
                os.sched_setaffinity(int(t), cpus)
            except OSError:
                pass


class Relay:
    name = '?'
    what = ''

    def __init__(self, run, lo, hi):
        self.run, self.lo, self.hi = run, lo, hi
        self.proc = None
        self.calls = []

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def stop(self):
        if self.proc:
            self.run.stop(self.proc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def restart(self):
        """A fresh instance, no calls."""
        self.stop()
        self.proc, self.calls = None, []
        self.start()


class Mini(Relay):
    name = 'mini'
    what = 'mini_relay.c: recvmmsg/sendmmsg, epoll, one thread'

    def __init__(self, run, lo, hi, build, max_calls):
        super().__init__(run, lo, hi)
        self.exe = os.path.join(build, 'tests', 'bench', 'rtp', 'mini_relay')
        self.max_calls = max_calls

    def start(self):
        ports = free_ports(self.lo, self.hi, 2 * self.max_calls)
        pairs = self.run.path('mini-pairs')
        with open(pairs, 'w') as f:
            for i in range(self.max_calls):
                f.write('%d %d\n' % (ports[2 * i], ports[2 * i + 1]))
        self.proc = self.run.spawn([self.exe, '-f', pairs, '-T', '7200'],
                                   'mini', stdout=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        if not ready or not self.proc.stdout.readline().startswith('ready'):
            raise RuntimeError('mini_relay did not start: %s' %
                               self.run.log_tail('mini'))
        self.ports = ports

    def ensure(self, n, ports):
        if n > self.max_calls:
            raise RuntimeError('mini_relay has %d pairs, %d wanted' %
                               (self.max_calls, n))
        while len(self.calls) < n:
            i = len(self.calls)
            self.calls.append((self.ports[2 * i], self.ports[2 * i + 1]))


class Rtpengine(Relay):
    name = 'rtpengine'

    def __init__(self, run, lo, hi, threads=1):
        super().__init__(run, lo, hi)
        self.threads = threads

    def start(self):
        if not os.access(RTPENGINE, os.X_OK):
            raise Unavailable('%s is missing (apt-get install '
                              'rtpengine-daemon)' % RTPENGINE)
        v = subprocess.run([RTPENGINE, '--version'], capture_output=True,
                           text=True, timeout=10)
        self.version = (v.stdout + v.stderr).strip().replace('Version: ',
                                                             '')
        self.what = ('rtpengine %s, userspace, --num-threads=%d' %
                     (self.version, self.threads))
        port = free_port()
        # no config file (the packaged one names a kernel table and fixed
        # ports), no pidfile but ours, no kernel forwarding at all; the
        # calls live for the run: no timeouts, no delete delay
        self.proc = self.run.spawn(
            [RTPENGINE, '--config-file=none', '--table=-1', '--no-fallback',
             '--foreground', '--log-stderr', '--log-level=4',
             '--pidfile=%s' % self.run.path('rtpengine.pid'),
             '--interface=%s' % LOOP, '--listen-ng=%s:%d' % (LOOP, port),
             '--port-min=%d' % self.lo, '--port-max=%d' % self.hi,
             '--num-threads=%d' % self.threads, '--timeout=3600',
             '--silent-timeout=3600', '--delete-delay=0'], 'rtpengine')
        self.ng = ng.Ng(port, timeout=1.0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.alive():
            if self.ng.ping():
                return
        raise RuntimeError('rtpengine did not answer ping: %s' %
                           self.run.log_tail('rtpengine'))

    def ensure(self, n, ports):
        while len(self.calls) < n:
            i = len(self.calls)
            a, b = ports(i)
            self.calls.append(self.ng.call('bench-%d' % i, a, b))

    def stop(self):
        if self.proc:
            self.ng.close()
        super().stop()


SBCD_CONF = '''workers = 1;
log = { level = "warning"; };
dialogs = { max = %(dialogs)d; };
control = { socket = "%(dir)s/ctl"; pid_file = "%(dir)s/pid"; };
access = { listen = [ "udp:127.0.0.1:%(access)d" ]; };
core = { listen = [ "udp:127.0.0.1:%(core)d" ]; };
backends = [ "sip:127.0.0.1:%(backend)d" ];
probe = { interval = 0; };
dialog = { ping_interval = 0; };
shutdown = { grace = 2; };
rtp = { workers = 1; io = "%(io)s"; port_min = %(lo)d; port_max = %(hi)d;
        access_address = "127.0.0.1"; core_address = "127.0.0.1";
        max_sessions = %(sessions)d; };
'''


class Sbcd(Relay):
    def __init__(self, run, lo, hi, build, io, max_calls):
        super().__init__(run, lo, hi)
        self.exe = os.path.join(build, 'daemon', 'sbcd')
        self.io = io
        self.name = 'sbcd-' + ('uring' if io == 'io_uring' else io)
        self.what = 'sbcd, rtp.io "%s", 1 relay process' % io
        self.max_calls = max_calls
        self.relays = []
        self.sip = None

    def new_calls(self):
        """Who sets the calls up: the callers and the backend."""
        return SipCalls()

    def start(self):
        if not os.access(self.exe, os.X_OK):
            raise Unavailable('%s is not built' % self.exe)
        d = self.run.path(self.name)
        os.makedirs(d, exist_ok=True)
        self.relays = []
        # the backend's socket is bound before sbcd starts, and sbcd's
        # two listeners are distinct free ports
        self.sip = self.new_calls()
        self.backend = self.sip.backend_port
        self.access = free_port()
        core = free_port()
        while core in (self.access, self.backend):
            core = free_port()
        self.sip.access = (LOOP, self.access)
        conf = os.path.join(d, 'sbcd.conf')
        with open(conf, 'w') as f:
            f.write(SBCD_CONF % {
                'dir': d, 'access': self.access, 'core': core,
                'backend': self.backend, 'io': self.io, 'lo': self.lo,
                'hi': self.hi, 'dialogs': 4 * self.max_calls + 1000,
                'sessions': 2 * self.max_calls + 1000})
        t = subprocess.run([self.exe, '-t', '-c', conf], capture_output=True,
                           text=True, timeout=20)
        if t.returncode:
            raise RuntimeError('sbcd -t refuses the config: %s' %
                              (t.stderr or t.stdout).strip()[-300:])
        self.proc = self.run.spawn([self.exe, '-c', conf], self.name)
        if not wait_port(self.access, 10):
            raise RuntimeError('sbcd did not answer on its access port: %s'
                               % self.run.log_tail(self.name))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.relays:
            self.relays = [p for p in children(self.proc.pid)
                           if b'-R' in cmdline(p)]
            time.sleep(0.1)
        if not self.relays:
            raise RuntimeError('sbcd started no relay process (sbcd -R)')

    def pids(self):
        return self.relays

    def ensure(self, n, ports):
        if len(self.calls) >= n:
            return
        todo = [(i,) + tuple(ports(i)) for i in range(len(self.calls), n)]
        got = self.sip.setup(todo)
        self.calls += [got[i] for i, _, _ in todo]
        # a relay respawned meanwhile would not be measured
        now = [p for p in children(self.proc.pid) if b'-R' in cmdline(p)]
        if sorted(now) != sorted(self.relays):
            raise RuntimeError('sbcd relay processes changed: %s -> %s' %
                               (self.relays, now))

    def stop(self):
        """SIGTERM: sbcd ends every call with a BYE to both legs, which
        the callers and the backend answer until it has exited."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            while self.proc.poll() is None and time.monotonic() < deadline:
                if self.sip:
                    self.sip.pump(0.1)
                else:
                    time.sleep(0.1)
        if self.sip:
            self.sip.close()
            self.sip = None
        if self.proc:
            self.run.stop(self.proc, wait=5)
