#!/usr/bin/env python3
"""WebRTC media benchmark: calls from a browser (ICE-lite check, DTLS
client, SRTP) to a plain RTP party through sbcd's relay (one relay
process, rtp = { workers = 1; ... }), set up with SIP through sbcd, media
from webrtc_load (generator and sink, webrtc_load.c, on the relay's own
DTLS and SRTP modules). It prints three tables:

- setup: for calls set up one by one (10 a second) on an otherwise idle
  relay, the time from the INVITE leaving the caller to the 200 OK, the
  browser's check answered, DTLS-SRTP up and the first media packet each
  way, p50/p95/max (target: first media both ways under 300 ms on
  loopback). Each stream sends every 20 ms, so a first packet waits up to
  20 ms for its slot, as in a browser;
- relay CPU per packet (utime+stime of the relay process, every thread,
  from /proc, like bench_rtp.py) at one load (20,000 packets/s: 200
  calls of 2 x 50 packets/s) on the SRTP<->RTP path, for the SRTP suite
  the relay's DTLS picks from a browser's offer (AEAD_AES_128_GCM) and
  for AES_CM_128_HMAC_SHA1_80 (the generator offers only that one),
  beside the plain RTP<->RTP path (plain calls through the same relay,
  the same generator) and the ratio;
- concurrent WebRTC<->plain calls at under 0.1 % of the packets lost or
  later than 100 ms: a ladder of call counts (each call 100 packets/s),
  calls added between steps, up to the first step that fails (loss, a
  call without media, an SRTP authentication failure) or the bounds:
  the relay's port range (4 ports a call), the descriptors of the relay
  and of the generator, the time limit.

Each part runs on a fresh sbcd. The generator runs on CPU 0 and every
thread of the relay on CPU 1 (--no-pin: the scheduler decides); a step
during which other processes took more than a fifth of a core is
measured again (twice at most, each time after a quiet second, waited
for 30 s at most) and marked.

Usage: bench_webrtc.py --build DIR [--quick] [--keep] [--no-pin]
[--io io_uring|epoll] [--gen-sockets K] [--ladder N,N,...]
[--only webrtc|webrtc-cm|plain]... [--time-limit S]. --gen-sockets K
has the calls share K generator sockets per party (sendmmsg/recvmmsg
batches, as rtp_load does): a cheaper generator, for when it is the
limit of the ladder (its steps say "generator behind"); by default each
party of each call has its own socket, as browsers and media servers
do. --quick runs a handful of calls in short steps, to prove the
program end to end (a meson test, suite bench-smoke).

Exit status 1 when a part could not run or the path did not work in a
step (a call without media both ways, an SRTP authentication failure);
loss over 0.1 % is a result, not a failure.
"""

import argparse
import json
import math
import os
import resource
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'rtp'))
sys.path.insert(0, HERE)
import relays  # noqa: E402
from relays import Run, Unavailable  # noqa: E402
from bench_rtp import proc_cpu, busy_cpu, window_cost  # noqa: E402
from webrtc_calls import WebrtcCalls, WCall  # noqa: E402

CALL_PPS = 100            # two streams of 50 packets/s
LOSS_MAX = 0.1            # %: lost or later than LATE_MS
LATE_MS = 100
SETUP_TARGET_MS = 300
GEN_BEHIND = 0.98         # offered under this share of what the calls up
                          # should send: the generator was the limit
DISTURBED = 0.2           # cores taken by other processes during a step
SATURATED = 0.97          # relay cores: it had a whole core
RETRIES = 2               # a disturbed step is measured again,
QUIET_WAIT = 30           # once the machine has been quiet for a second
                          # (this many seconds of waiting at most)
RELAY_RANGE = (20000, 29999)   # below the ephemeral range, where the
                               # generator's sockets are
PORTS_PER_CALL = 4        # RTP and RTCP on each side
FDS_SPARE = 64

FULL = {
    'setup_calls': 50, 'setup_cps': 10, 'equal': 20000,
    'ladder': [100, 200, 400, 600, 800, 1000, 1200, 1600, 2000, 2400],
    'seconds': 5.0, 'warmup': 1.0, 'drain_ms': 500, 'time_limit': 1500,
}
QUICK = {
    'setup_calls': 4, 'setup_cps': 10, 'equal': 1000, 'ladder': [4, 10],
    'seconds': 1.5, 'warmup': 0.5, 'drain_ms': 300, 'time_limit': 240,
}


class Gen:
    """webrtc_load, driven by lines on its stdin (see webrtc_load.c);
    stopped by PID with the run."""

    def __init__(self, run, exe, name, suite='any', cpus=None, shared=0):
        self.name = name
        self.run = run
        log = open(run.path(name + '.log'), 'a')
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.p = subprocess.Popen(
            [exe, '-S', suite, '-L', str(LATE_MS), '-k', str(shared)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=log, cwd=run.tmp,
            preexec_fn=pin)
        log.close()
        run.procs.append(self.p)
        self.buf = b''
        line = self.expect('fingerprint ', 20)
        self.fingerprint = line.split(' ', 1)[1]
        self.expect('ready', 20)

    def line(self, timeout):
        """The next line of its stdout; None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.p.stdout], [], [], left)
            if not ready:
                continue
            data = os.read(self.p.stdout.fileno(), 1 << 16)
            if not data:
                raise RuntimeError('webrtc_load exited: %s' %
                                   self.run.log_tail(self.name))
            self.buf += data
        line, _, self.buf = self.buf.partition(b'\n')
        return line.decode()

    def expect(self, prefix, timeout=30):
        line = self.line(timeout)
        if line is None or not line.startswith(prefix):
            raise RuntimeError('webrtc_load: %r where %r was due: %s' % (
                line, prefix, self.run.log_tail(self.name)))
        return line

    def send(self, line):
        self.p.stdin.write((line + '\n').encode())
        self.p.stdin.flush()

    def open(self, n):
        """n new calls: [(id, browser_port, plain_port, ufrag, pwd)]."""
        self.send('open %d' % n)
        out = []
        while True:
            f = self.expect('', 60).split()
            if f[:2] == ['ok', 'open']:
                return out
            if f[0] != 'call' or len(f) != 6:
                raise RuntimeError('webrtc_load open: %s' % ' '.join(f))
            out.append((int(f[1]), int(f[2]), int(f[3]), f[4], f[5]))

    def start(self, c):
        a = c.answer
        if c.ufrag is None:
            self.send('plain %d %d %s %d %d' % (c.n, c.invite_ns, a['addr'],
                                                a['port'], c.relay_b))
        else:
            self.send('start %d %d %s %d %d %s %s %s' % (
                c.n, c.invite_ns, a['addr'], a['port'], c.relay_b,
                a['ufrag'], a['pwd'], a['fingerprint']))

    def sync(self):
        self.send('sync')
        line = self.expect('ok sync', 60)
        return line

    def json(self, cmd, timeout=30):
        self.send(cmd)
        line = self.expect('{', timeout)
        return json.loads(line)

    def measure(self, p, relay_pids):
        """One measured window: its result, with the CPU of the relay,
        of the generator and of the rest of the machine over it."""
        self.send('measure %g %g %d' % (p['warmup'], p['seconds'],
                                        p['drain_ms']))
        marks, res = {}, None
        deadline = time.monotonic() + p['warmup'] + p['seconds'] + \
            p['drain_ms'] / 1000 + 30
        while res is None and time.monotonic() < deadline:
            line = self.line(1)
            if line is None:
                continue
            if line.startswith('# '):
                marks[line[2:].strip()] = (
                    time.monotonic(), proc_cpu(relay_pids),
                    proc_cpu([self.p.pid]), busy_cpu())
            elif line.startswith('{'):
                res = json.loads(line)
            elif line.startswith('error'):
                raise RuntimeError('webrtc_load: %s' % line)
        if res is None or 'measure' not in marks or 'drain' not in marks:
            raise RuntimeError('webrtc_load gave no result: %s' %
                               self.run.log_tail(self.name))
        window_cost(res, marks)
        up = 2 * res['calls'] - res['calls_down']
        res['gen_bound'] = res['offered_pps'] < \
            GEN_BEHIND * up * res['pps_per_stream']
        res['ok'] = (res['bad_pct'] < LOSS_MAX and not res['calls_down']
                     and not res['auth_fail'] and not res['gen_bound'])
        return res

    def close(self):
        if self.p.poll() is None:
            try:
                self.send('quit')
                self.p.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        Run.stop(self.p)


class Sbcd(relays.Sbcd):
    """sbcd with one relay process, its callers and backend those of
    webrtc_calls.py (a browser's offer, the answer read)."""

    def __init__(self, run, build, io, max_calls, fingerprint):
        super().__init__(run, RELAY_RANGE[0], RELAY_RANGE[1], build, io,
                         max_calls)
        self.fingerprint = fingerprint

    def new_calls(self):
        return WebrtcCalls(self.fingerprint)


def nofile(pid):
    """The soft limit of open files of pid (None: unknown)."""
    try:
        with open('/proc/%d/limits' % pid) as f:
            for line in f:
                if line.startswith('Max open files'):
                    v = line.split()[3]
                    return None if v == 'unlimited' else int(v)
    except OSError:
        pass
    return None


def pct(values, q):
    """The nearest-rank q-quantile of values (None: none)."""
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]


def works(r):
    """A step where every call had media both ways and SRTP held: the
    path works, whatever the loss (which a loaded machine may cause)."""
    return (r['received'] > 0 and not r['calls_down'] and
            not r['streams_silent'] and not r['auth_fail'])


class Part:
    """One part of the run: a fresh sbcd, a generator, their calls."""

    def __init__(self, bench, label, suite):
        self.b, self.label = bench, label
        o = bench.o
        self.gen = Gen(bench.run, bench.load, 'load-' + label, suite,
                       {0} if bench.pin else None, o.gen_sockets)
        self.relay = Sbcd(bench.run, o.build, o.io, bench.max_calls,
                          self.gen.fingerprint)
        self.relay.name = 'sbcd-' + label
        self.calls = []
        try:
            self.relay.start()
        except Exception:
            self.close()
            raise
        self.pids = list(self.relay.pids())
        if bench.pin:
            relays.pin(self.pids, {1})

    def close(self):
        self.gen.close()
        self.relay.stop()

    def add(self, n, webrtc, cps=None):
        """Calls up to n; the new ones, once each has media both ways
        (or 5 s have passed)."""
        k = n - len(self.calls)
        if k <= 0:
            return []
        new = [WCall(i, bp, pp, u if webrtc else None, w if webrtc else None)
               for i, bp, pp, u, w in self.gen.open(k)]
        self.relay.sip.run(new, self.gen.start, cps=cps,
                           limit=60 + k / 50.0)
        self.gen.sync()
        self.calls += new
        now = [p for p in relays.children(self.relay.proc.pid)
               if b'-R' in relays.cmdline(p)]
        if sorted(now) != sorted(self.pids):
            raise RuntimeError('sbcd relay processes changed: %s -> %s' %
                               (self.pids, now))
        self.wait_media(new, 5.0)
        return new

    def setup_times(self, calls):
        """{id: [answer, ice, dtls, b2p, p2b]} in µs (-1: not yet)."""
        ids = [c.n for c in calls]
        rows = self.gen.json('setup %d %d' % (min(ids), max(ids)), 60)
        want = set(ids)
        return {r[0]: r[1:] for r in rows['setup'] if r[0] in want}

    def wait_media(self, calls, limit):
        deadline = time.monotonic() + limit
        while True:
            t = self.setup_times(calls)
            if all(v[3] >= 0 and v[4] >= 0 for v in t.values()) or \
                    time.monotonic() > deadline:
                return t
            self.relay.sip.pump(0.2)


HEAD = ('step', 'calls', 'target pps', 'offered', 'forwarded', 'lost %',
        'late %', 'p50 µs', 'p99 µs', 'relay cores', 'relay µs/pkt',
        'gen µs/pkt', 'auth fail', 'down', 'new: setup p95 ms', 'note')
WIDTHS = (8, 5, 10, 7, 9, 6, 6, 6, 7, 11, 12, 10, 9, 4, 17, 0)


def fmt(cols, widths=WIDTHS):
    return '  '.join(str(c).rjust(w) if w else str(c)
                     for c, w in zip(cols, widths)).rstrip()


def note(r):
    out = []
    if r['gen_bound']:
        out.append('generator behind (%.0f ms)' %
                   (r['behind_max_us'] / 1000))
    if r.get('repeated'):
        out.append('repeated %dx (other load)' % r['repeated'])
    if r['other_cores'] > DISTURBED:
        out.append('disturbed (%.2f cores)' % r['other_cores'])
    if r['relay_cores'] >= SATURATED:
        out.append('relay saturated')
    if r['calls_down']:
        out.append('%d calls without DTLS-SRTP (%s...)' % (
            r['calls_down'], ' '.join(str(i) for i in r['down_first'][:3])))
    if r['streams_silent']:
        out.append('%d silent streams (call/direction %s...)' % (
            r['streams_silent'], ' '.join(r['silent_first'][:3])))
    if r['auth_fail'] or r['replay']:
        out.append('SRTP: %d auth failures, %d replays' % (r['auth_fail'],
                                                          r['replay']))
    if r['misrouted'] or r['send_errors']:
        out.append('%d misrouted, %d send errors' % (r['misrouted'],
                                                     r['send_errors']))
    if r['checks_lost']:
        out.append('%d consent checks unanswered' % r['checks_lost'])
    if r['bad_pct'] >= LOSS_MAX:
        out.append('over 0.1 %')
    return ', '.join(out)


def print_row(kind, r, setup_p95=None):
    print(fmt((kind, r['calls'], int(r['target_pps']), r['offered_pps'],
               r['forwarded_pps'], '%.3f' % r['loss_pct'],
               '%.3f' % r['late_pct'], r['lat_p50_us'], r['lat_p99_us'],
               '%.2f' % r['relay_cores'], '%.2f' % r['relay_us'],
               '%.2f' % r['gen_us_per_pkt'], r['auth_fail'],
               r['calls_down'],
               '-' if setup_p95 is None else '%.0f' % setup_p95,
               note(r))), flush=True)


def table(head, body):
    widths = [max(len(str(r[i])) for r in [head] + body)
              for i in range(len(head))]
    for r in [head] + body:
        print('  '.join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


class Bench:
    def __init__(self, opts, run):
        self.o, self.run = opts, run
        self.p = dict(QUICK if opts.quick else FULL)
        if opts.ladder:
            self.p['ladder'] = [int(n) for n in opts.ladder.split(',')]
        if opts.time_limit:
            self.p['time_limit'] = opts.time_limit
        self.load = os.path.join(opts.build, 'tests', 'bench', 'webrtc',
                                 'webrtc_load')
        self.pin = not opts.no_pin and os.cpu_count() >= 2
        self.max_calls = max(self.p['ladder'] + [self.p['equal'] // CALL_PPS,
                                                 self.p['setup_calls']])
        self.t0 = time.monotonic()
        self.cpu_rows = []
        self.status = 0
        self.retries = 0 if opts.quick else RETRIES

    def measure(self, part):
        """A step on the calls there are, measured again (RETRIES times
        at most) while other processes took more than DISTURBED cores,
        after waiting for a quiet second."""
        for attempt in range(self.retries + 1):
            r = part.gen.measure(self.p, part.pids)
            r['repeated'] = attempt
            if r['other_cores'] <= DISTURBED or attempt == self.retries:
                break
            self.wait_quiet(part)
        return r

    @staticmethod
    def wait_quiet(part):
        """Until a second in which the processes other than the relay
        and the generator took under DISTURBED cores (QUIET_WAIT s at
        most)."""
        deadline = time.monotonic() + QUIET_WAIT
        while time.monotonic() < deadline:
            ours = part.pids + [part.gen.p.pid]
            t0, c0, b0 = time.monotonic(), proc_cpu(ours), busy_cpu()
            while time.monotonic() - t0 < 1.0:
                part.relay.sip.pump(max(0.0, 1.0 - (time.monotonic() - t0)))
            wall = time.monotonic() - t0
            if (busy_cpu() - b0 - (proc_cpu(ours) - c0)) / wall < DISTURBED:
                return

    def left(self):
        return self.p['time_limit'] - (time.monotonic() - self.t0)

    def setup_table(self, part):
        p = self.p
        calls = part.add(p['setup_calls'], True, cps=p['setup_cps'])
        t = part.wait_media(calls, 5.0)
        names = ('200 OK at the caller', 'ICE check answered',
                 'DTLS-SRTP up', 'first media browser->plain',
                 'first media plain->browser', 'first media both ways')
        cols = [[] for _ in names]
        missing = 0
        for v in t.values():
            both = max(v[3], v[4]) if min(v[3], v[4]) >= 0 else -1
            for i, x in enumerate(list(v) + [both]):
                if x >= 0:
                    cols[i].append(x / 1000.0)
            missing += both < 0
        print('setup: %d WebRTC calls, %d a second, on an idle relay; ms '
              'from the INVITE leaving the caller' % (len(calls),
                                                      p['setup_cps']))
        body = []
        for name, v in zip(names, cols):
            body.append((name, len(v)) + tuple(
                '-' if pct(v, q) is None else '%.1f' % pct(v, q)
                for q in (0.5, 0.95, 1.0)))
        table(('step', 'calls', 'p50 ms', 'p95 ms', 'max ms'), body)
        both = cols[-1]
        ok = not missing and both and max(both) < SETUP_TARGET_MS
        print('target: first media both ways under %d ms: %s%s\n' % (
            SETUP_TARGET_MS, 'met' if ok else 'NOT met',
            ', %d calls without media both ways' % missing if missing
            else ''), flush=True)
        if missing:
            self.status = 1

    def cpu_row(self, r, webrtc):
        self.cpu_rows.append(('SRTP<->RTP' if webrtc else
                              'plain RTP<->RTP',
                              r['suite'] if webrtc else '-', r))

    def cpu_part(self, part, webrtc):
        """The equal load alone: its calls, one step."""
        print(fmt(HEAD))
        part.add(self.p['equal'] // CALL_PPS, webrtc)
        r = self.measure(part)
        print_row('cpu', r)
        self.cpu_row(r, webrtc)
        if not works(r):
            self.status = 1

    def webrtc_part(self, part, webrtc=True):
        """Setup times, then the ladder (its step at the equal load is
        the CPU table's row)."""
        self.setup_table(part)
        print(fmt(HEAD))
        self.ladder(part)

    def ladder(self, part):
        p = self.p
        bounds = [((RELAY_RANGE[1] - RELAY_RANGE[0] + 1) // PORTS_PER_CALL,
                   'the relay port range %d-%d' % RELAY_RANGE)]
        rl = nofile(part.pids[0])
        if rl:
            bounds.append(((rl - FDS_SPARE) // PORTS_PER_CALL,
                           'the relay\'s %d descriptors' % rl))
        gl = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if gl != resource.RLIM_INFINITY:
            bounds.append(((gl - FDS_SPARE) // 2,
                           'the generator\'s %d descriptors' % gl))
        cap, why = min(bounds)
        equal = p['equal'] // CALL_PPS
        ladder = sorted(set(p['ladder'] + [equal]))
        steps = [n for n in ladder if n <= cap]
        if len(steps) < len(ladder):
            print('ladder cut at %d calls by %s' % (cap, why))
        best, over, stopped = None, None, None
        for n in steps:
            if self.left() < 30 + n / 20.0:
                stopped = 'the time limit (%d s)' % p['time_limit']
                break
            new = part.add(n, True)
            t = part.setup_times(new) if new else {}
            both = [max(v[3], v[4]) / 1000.0 for v in t.values()
                    if min(v[3], v[4]) >= 0]
            r = self.measure(part)
            print_row('ladder', r, pct(both, 0.95))
            if n == equal:
                self.cpu_row(r, True)
            if not works(r) and (best is None or self.o.quick):
                self.status = 1
            if not r['ok']:
                over = r
                break
            best = r
        print()
        if best is None:
            top = 'none (the first step, %d calls, failed)' % steps[0] \
                if steps else 'none (no step within the bounds)'
        elif over is None:
            top = '>= %d (the last step%s)' % (
                best['calls'], ', stopped by ' + stopped if stopped else '')
        elif over['gen_bound'] and over['bad_pct'] < LOSS_MAX:
            top = '>= %d (the generator could not offer %d)' % (
                best['calls'], over['calls'])
        else:
            top = '%d (%d failed: %s)' % (best['calls'], over['calls'],
                                          note(over))
        print('concurrent WebRTC<->plain calls at under %g %% bad (lost or '
              'later than %d ms), every call with media both ways: %s\n' % (
                  LOSS_MAX, LATE_MS, top), flush=True)

    def cpu_table(self):
        plain = [r for label, _, r in self.cpu_rows if label.startswith(
            'plain')]
        base = plain[0]['relay_us'] if plain else None
        body = []
        for label, suite, r in self.cpu_rows:
            body.append((
                label, suite if suite != '-' else '-', int(r['target_pps']),
                r['calls'], '%.3f' % r['bad_pct'], '%.2f' % r['relay_cores'],
                '%.2f' % r['relay_us'],
                '%.2f' % (r['relay_us'] / base) if base else '-',
                '%.2f' % r['gen_us_per_pkt'], 'ok' if r['ok'] else note(r)))
        print('relay CPU per packet at %d packets/s (%d calls), one relay '
              'process' % (self.p['equal'], self.p['equal'] // CALL_PPS))
        table(('path', 'SRTP suite', 'pps', 'calls', 'bad %', 'relay cores',
               'relay µs/pkt', 'x plain', 'gen µs/pkt', 'note'), body)
        print('\nrelay µs/pkt: the relay process\'s CPU (all its threads, '
              'the kernel\'s work in their context included) per packet '
              'forwarded; on the SRTP path half\nthe packets are '
              'decrypted (browser to plain) and half encrypted (plain to '
              'browser).')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--keep', action='store_true',
                    help='keep the logs and configs')
    ap.add_argument('--no-pin', action='store_true',
                    help='leave generator and relay to the scheduler')
    ap.add_argument('--io', default='io_uring', choices=('io_uring',
                                                         'epoll'),
                    help='the relay\'s rtp.io (default io_uring)')
    ap.add_argument('--gen-sockets', type=int, default=0,
                    help='generator sockets per party, shared by the calls '
                    '(default 0: one per call and party, as browsers)')
    ap.add_argument('--only', action='append',
                    choices=('webrtc', 'webrtc-cm', 'plain'),
                    help='run this part (may be repeated): webrtc is the '
                    'setup table and the ladder, webrtc-cm and plain the '
                    'CPU table\'s other rows')
    ap.add_argument('--ladder', help='call counts, comma-separated')
    ap.add_argument('--time-limit', type=int,
                    help='seconds for the whole run (default 1500)')
    opts = ap.parse_args()

    exe = os.path.join(opts.build, 'tests', 'bench', 'webrtc',
                       'webrtc_load')
    if not os.access(exe, os.X_OK):
        print('FAIL: webrtc_load not built: ninja -C %s '
              'tests/bench/webrtc/webrtc_load' % opts.build)
        return 1

    def on_signal(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    run = Run(opts.keep)
    b = Bench(opts, run)
    p = b.p
    print('machine: %d cores, kernel %s; %s; relay rtp.io "%s"' % (
        os.cpu_count(), os.uname().release,
        'generator on CPU 0, relay on CPU 1' if b.pin else 'no pinning',
        opts.io))
    print('load: G.711 calls, 2 x 50 packets/s of 172 bytes of RTP (SRTP '
          'on the browser\'s side), %g s per step after %g s of warm-up; '
          'bad = lost or later than %d ms; generator sockets: %s\n' % (
              p['seconds'], p['warmup'], LATE_MS,
              '%d per party, shared by the calls' % opts.gen_sockets
              if opts.gen_sockets else 'one per call and party'),
          flush=True)
    parts = [('webrtc', 'any', Bench.webrtc_part),
             ('webrtc-cm', 'cm', Bench.cpu_part),
             ('plain', 'any', Bench.cpu_part)]
    try:
        for label, suite, body in parts:
            if opts.only and label not in opts.only:
                continue
            part = None
            try:
                part = Part(b, label, suite)
                print('%s: %s; %s' % (
                    part.relay.name, part.relay.what,
                    {'webrtc': 'WebRTC<->plain calls, the browser '
                     'offering SRTP as browsers do (GCM, CM)',
                     'webrtc-cm': 'WebRTC<->plain calls, the browser '
                     'offering AES_CM_128_HMAC_SHA1_80 only',
                     'plain': 'plain<->plain calls'}[label]), flush=True)
                body(b, part, label != 'plain')
            except Unavailable as e:
                print('SKIP %s: %s' % (label, e))
            except (RuntimeError, OSError) as e:
                print('FAIL %s: %s' % (label, e))
                b.status = 1
            finally:
                if part:
                    part.close()
            print(flush=True)
        if b.cpu_rows:
            b.cpu_table()
    finally:
        run.close()
    return b.status


if __name__ == '__main__':
    sys.exit(main())
