#!/usr/bin/env python3
"""SIP benchmark: sbcd beside Kamailio 5.6.3, in one run, with SIPp.

For each proxy (Kamailio with ../shared/bench/kamailio-proxy.cfg and 2
children; sbcd with workers=1; sbcd with workers=2), on loopback:

- calls: SIPp (call_uac.xml: INVITE, 100, 180, 200, ACK and BYE along
  the Record-Route, 200) -> proxy -> SIPp (call_uas.xml), at rising call
  rates, each step for a
  fixed time; a proxy's sweep stops after the first step with a failed
  call. The zero-failure rate is the highest step where every call
  succeeded;
- registrations: a storm of REGISTERs from distinct users (a CSV) relayed
  to a SIPp backend that answers 200 (no challenge), the binding saved on
  the 2xx.

Response times are SIPp's (INVITE to 200, REGISTER to 200), every call
logged (-trace_rtt, whole milliseconds) and the percentiles taken here. CPU is utime+stime
from /proc of every process of the proxy and of both SIPp, per call.
SIPp shares the two cores with the proxy: its CPU is printed beside.

Usage: bench_sip.py --build DIR [--quick]. --quick runs tiny steps, to
prove the program end to end (a meson test, suite bench-smoke).
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Kamailio's configuration for this benchmark, as the team measures it
# (a copy of the workplace's shared/bench/kamailio-proxy.cfg).
KAMAILIO_CFG = os.path.join(HERE, 'kamailio-proxy.cfg')
LOOP = '127.0.0.1'
TICK = os.sysconf('SC_CLK_TCK')
# A proxy with several processes may pass a 180 on after its 200 (Kamailio
# does): a late provisional is discarded, not a failed call.
CALL_UAC = ['-sf', os.path.join(HERE, 'call_uac.xml'),
            '-default_behaviors', 'all,-abortunexp']
BUF = str(8 * 1024 * 1024)
# sbcd probes no backend here: the SIPp backends do not answer OPTIONS,
# and a backend marked down would turn the rest of a sweep into 503s.
# Kamailio's configuration relays no media: sbcd is measured on
# signalling alone too, without its RTP relay (tests/bench/rtp/ measures
# the relay).
NO_PROBES = 'probe = { interval = 0; };\nrtp = { workers = 0; };'


class Run:
    """Processes and files of one benchmark run; everything stopped and
    removed at the end."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix='sbcd-bench-sip.')
        self.procs = []

    def spawn(self, argv, name):
        log = open(os.path.join(self.tmp, name + '.log'), 'w')
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=self.tmp)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, wait=10):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(wait)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self, keep=False):
        for p in self.procs:
            self.stop(p)
        if keep:
            print('files kept in %s' % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind((LOOP, 0))
        port = u.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        try:
            t.bind((LOOP, port))
        except OSError:
            return free_port()
    return port


def tree(pid):
    """pid and every descendant."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open('/proc/%d/task/%d/children' % (p, p)) as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def cpu(pids):
    total = 0
    for p in pids:
        try:
            with open('/proc/%d/stat' % p) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def wait_port(port, limit=10):
    """Until something answers an OPTIONS on LOOP:port (UDP)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOP, 0))
    me = s.getsockname()[1]
    deadline = time.monotonic() + limit
    n = 0
    while time.monotonic() < deadline:
        n += 1
        s.sendto(('OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;'
                  'branch=z9hG4bKw%d\r\nMax-Forwards: 70\r\nFrom: <sip:w@x>;'
                  'tag=1\r\nTo: <sip:%s:%d>\r\nCall-ID: w%d\r\nCSeq: 1 '
                  'OPTIONS\r\nContent-Length: 0\r\n\r\n' %
                  (LOOP, port, LOOP, me, n, LOOP, port, n)).encode(),
                 (LOOP, port))
        s.settimeout(0.3)
        try:
            s.recv(4096)
            s.close()
            return True
        except socket.timeout:
            continue
    s.close()
    return False


class Proxy:
    def __init__(self, run, name):
        self.run, self.name = run, name
        self.port = free_port()
        self.backend = free_port()
        self.proc = None

    def pids(self):
        return tree(self.proc.pid)

    def stop(self):
        self.run.stop(self.proc)


class Kamailio(Proxy):
    def start(self):
        d = os.path.join(self.run.tmp, self.name)
        os.makedirs(d)
        cfg = os.path.join(d, 'kamailio-proxy.cfg')
        with open(KAMAILIO_CFG) as f:
            text = f.read().replace('127.0.0.1:5070', '%s:%d' %
                                    (LOOP, self.port))
        with open(cfg, 'w') as f:
            f.write(text)
        dl = os.path.join(d, 'dispatcher.list')
        with open(dl, 'w') as f:
            f.write('1 sip:%s:%d 0 0 duid=backend1\n' % (LOOP, self.backend))
        self.proc = self.run.spawn(
            ['kamailio', '-f', cfg, '-DD', '-E', '-m', '1024', '-M', '16',
             '-Y', d, '-P', os.path.join(d, 'k.pid'),
             '-A', 'LISTEN_ADDR=udp:%s:%d' % (LOOP, self.port),
             '-A', 'DS_LIST="%s"' % dl,
             '-A', 'CTL_SOCK="unix:%s"' % os.path.join(d, 'ctl')],
            'kamailio')
        return wait_port(self.port)


class Sbcd(Proxy):
    def __init__(self, run, name, build, workers, extra=NO_PROBES,
                 level='warning'):
        super().__init__(run, name)
        self.build, self.workers, self.extra = build, workers, extra
        self.level = level
        self.log = os.path.join(run.tmp, name + '.log')

    def start(self):
        d = os.path.join(self.run.tmp, self.name)
        os.makedirs(d)
        conf = os.path.join(d, 'sbcd.conf')
        with open(conf, 'w') as f:
            f.write('workers = %d;\nregistrations = { max = 200000; };\n'
                    'dialogs = { max = 200000; };\n'
                    'control = { socket = "%s/ctl"; pid_file = "%s/pid"; };\n'
                    'access = { listen = [ "udp:%s:%d" ]; };\n'
                    'core = { listen = [ "udp:%s:%d" ]; };\n'
                    'backends = [ "sip:%s:%d" ];\n'
                    'log = { level = "%s"; };\n%s\n' %
                    (self.workers, d, d, LOOP, self.port, LOOP, free_port(),
                     LOOP, self.backend, self.level, self.extra))
        self.proc = self.run.spawn(
            [os.path.join(self.build, 'daemon', 'sbcd'), '-c', conf],
            self.name)
        return wait_port(self.port) and \
            len(self.pids()) == self.workers + 1


def sipp(run, name, args):
    return run.spawn(['sipp'] + args + ['-nostdin', '-buff_size', BUF,
                                        '-i', LOOP], name)


def stat_of(run, name):
    """The last line of a SIPp -trace_stat file, as a dict."""
    path = [f for f in os.listdir(run.tmp)
            if f.startswith(name) and f.endswith('.csv') and 'rtt' not in f]
    if not path:
        return {}
    with open(os.path.join(run.tmp, path[0])) as f:
        lines = [l.strip().split(';') for l in f if l.strip()]
    return dict(zip(lines[0], lines[-1])) if len(lines) > 1 else {}


def rtts(run, prefix):
    """Every response time logged by -trace_rtt (ms)."""
    out = []
    for fn in os.listdir(run.tmp):
        if fn.startswith(prefix) and fn.endswith('_rtt.csv'):
            with open(os.path.join(run.tmp, fn)) as f:
                for line in f:
                    parts = line.strip().split(';')
                    if len(parts) >= 3:
                        try:
                            out.append(float(parts[1]))
                        except ValueError:
                            pass
            os.rename(os.path.join(run.tmp, fn),
                      os.path.join(run.tmp, fn + '.done'))
    return sorted(out)


def pct(values, q):
    if not values:
        return float('nan')
    return values[min(len(values) - 1, int(len(values) * q))]


def load(run, proxy, uas_args, uac_args, count, rate, label, limit=None):
    """One load step: a backend, a client at `rate` for `count` calls (at
    most `limit` at once, when given). Returns a dict of figures."""
    bport = proxy.backend
    uas = sipp(run, label + '-uas', uas_args + ['-p', str(bport)])
    time.sleep(0.3)
    c0p, t0 = cpu(proxy.pids()), time.monotonic()
    c0s = cpu([uas.pid])
    seconds = count / rate + 30
    uac = sipp(run, label + '-uac', uac_args + (
        ['-l', str(limit)] if limit else []) + [
        '%s:%d' % (LOOP, proxy.port), '-p', str(free_port()),
        '-r', str(rate), '-m', str(count), '-timeout', '%ds' % seconds,
        '-trace_stat', '-stf', label + '-uac.csv', '-trace_rtt',
        '-rtt_freq', '50'])
    uac_cpu = 0.0
    # SIPp's own -timeout has been seen not to end an overloaded run
    deadline = t0 + seconds + 10
    while uac.poll() is None and time.monotonic() < deadline:
        uac_cpu = cpu([uac.pid]) or uac_cpu
        time.sleep(0.1)
    run.stop(uac)
    wall = time.monotonic() - t0
    c1p, c1s = cpu(proxy.pids()), cpu([uas.pid])
    run.stop(uas)
    st = stat_of(run, label + '-uac')
    rt = rtts(run, 'call_uac') + rtts(run, 'reg_uac')
    ok = int(st.get('SuccessfulCall(C)', 0) or 0)
    return {
        'ok': ok,
        'failed': count - ok,
        'retrans': int(st.get('Retransmissions(C)', 0) or 0),
        'wall': wall,
        'proxy_cpu': c1p - c0p,
        'sipp_cpu': (c1s - c0s) + uac_cpu,
        'p50': pct(rt, 0.50),
        'p99': pct(rt, 0.99),
    }


def calls(run, proxy, rates, seconds, steps):
    """Rising call rates until a step fails: (best step figures, the first
    failing step's figures); every step's figures into steps[rate]. A few
    calls first, not counted, so that no proxy is measured while it
    settles."""
    best, first_bad = None, None
    load(run, proxy, ['-sf', os.path.join(HERE, 'call_uas.xml')],
         CALL_UAC, 50, 50,
         '%s-warmup' % proxy.name)
    for rate in rates:
        r = load(run, proxy, ['-sf', os.path.join(HERE, 'call_uas.xml')],
                 CALL_UAC,
                 rate * seconds, rate, '%s-calls-%d' % (proxy.name, rate))
        r['rate'] = rate
        steps[rate] = r
        print('  %-8s %5d calls/s: %d ok, %d failed, %d retransmissions, '
              'p99 %.1f ms' % (proxy.name, rate, r['ok'], r['failed'],
                               r['retrans'], r['p99']), flush=True)
        if r['failed']:
            first_bad = r
            break
        best = r
    return best, first_bad


def registers(run, proxy, users, rate, window):
    """A storm of `users` REGISTERs, at most `window` waiting for their
    200 at once: the proxy's pace decides the rate, not SIPp's."""
    csv = os.path.join(run.tmp, 'users.csv')
    if not os.path.exists(csv):
        with open(csv, 'w') as f:
            f.write('SEQUENTIAL\n')
            for i in range(users):
                f.write('u%06d;example.com\n' % i)
    r = load(run, proxy, ['-sf', os.path.join(HERE, 'reg_uas.xml')],
             ['-sf', os.path.join(HERE, 'reg_uac.xml'), '-inf', csv],
             users, rate, '%s-reg' % proxy.name, limit=window)
    r['per_s'] = r['ok'] / r['wall'] if r['wall'] else 0
    print('  %-8s REGISTER storm: %d ok, %d failed in %.1f s' %
          (proxy.name, r['ok'], r['failed'], r['wall']), flush=True)
    return r


def us_per(cpu_s, n):
    return cpu_s * 1e6 / n if n else float('nan')


def table(rows):
    head = ('proxy', 'zero-fail calls/s', 'next step failed', 'p50 ms',
            'p99 ms', 'proxy µs/call', 'SIPp µs/call', 'REGISTER/s',
            'REG p50 ms', 'REG p99 ms', 'REG failed', 'proxy µs/REG',
            'SIPp µs/REG')
    body = []
    for name, best, bad, reg in rows:
        call_cols = (
            str(best['rate']) if best else '-',
            ('%d of %d at %d/s' % (bad['failed'], bad['ok'] + bad['failed'],
                                   bad['rate'])) if bad else 'none',
            '%.2f' % best['p50'] if best else '-',
            '%.2f' % best['p99'] if best else '-',
            '%.0f' % us_per(best['proxy_cpu'], best['ok']) if best else '-',
            '%.0f' % us_per(best['sipp_cpu'], best['ok']) if best else '-')
        reg_cols = (
            '%.0f' % reg['per_s'], '%.2f' % reg['p50'], '%.2f' % reg['p99'],
            str(reg['failed']), '%.0f' % us_per(reg['proxy_cpu'], reg['ok']),
            '%.0f' % us_per(reg['sipp_cpu'], reg['ok'])) if reg else \
            ('-',) * 6
        body.append((name,) + call_cols + reg_cols)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    for r in [head] + body:
        print('  '.join(c.ljust(w) for c, w in zip(r, widths)))


def ratios(rows, steps):
    """sbcd against Kamailio: the rates, and the p99 of sbcd at twice
    Kamailio's zero-failure rate against Kamailio's p99 at that rate."""
    k = rows[0]
    kc = k[1]['rate'] if k[1] else 0
    print('\nsbcd / kamailio (same run):')
    for name, best, bad, reg in rows[1:]:
        sc = best['rate'] if best else 0
        twice = min([r for r in steps[name] if r >= 2 * kc] or [0])
        at = steps[name].get(twice)
        p99 = ('%.0f ms at %d/s (kamailio %.0f ms at %d/s)' %
               (at['p99'], twice, k[1]['p99'], kc)
               if at and not at['failed'] and k[1] else 'not measured')
        kr = k[3]['per_s'] if k[3] else 0
        print('  %-10s calls/s x%.2f   REGISTER/s x%.2f   p99 at twice '
              'kamailio\'s rate: %s' % (
                  name, sc / kc if kc else float('nan'),
                  reg['per_s'] / kr if reg and kr else float('nan'), p99))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--keep', action='store_true',
                    help='keep the logs and SIPp files')
    ap.add_argument('--only', choices=('kamailio', 'sbcd-w1', 'sbcd-w2'),
                    help='measure one proxy only (no ratios)')
    ap.add_argument('--part', choices=('calls', 'registers'),
                    help='measure the calls or the REGISTER storm only')
    opts = ap.parse_args()

    if opts.quick:
        rates, seconds, users, reg_rate, window = [50, 100], 2, 300, 300, 50
    else:
        rates = [1000, 2000, 3000, 3500, 4000, 4500, 5000, 6000, 7000]
        seconds, users, reg_rate, window = 8, 100000, 100000, 300

    for tool in ('sipp', 'kamailio'):
        if not shutil.which(tool):
            print('SKIP: %s is not installed' % tool)
            return 77

    print('machine: %d cores, kernel %s; %s; %s' % (
        os.cpu_count(), os.uname().release,
        subprocess.run(['sipp', '-v'], capture_output=True, text=True)
        .stdout.strip().splitlines()[0].strip(),
        subprocess.run(['kamailio', '-v'], capture_output=True, text=True)
        .stdout.splitlines()[0].strip()))
    print('calls: SIPp uac -> proxy -> SIPp uas, INVITE/100/180/200/ACK/BYE/'
          '200, %d s per step, after 50 calls of warm-up; REGISTER: %d '
          'distinct users, at most %d waiting for their 200 at once, the '
          'backend answers 200 (no challenge). Response time: INVITE to '
          '200, REGISTER to 200 (whole ms). CPU per successful call or '
          'REGISTER.\n' % (seconds, users, window))

    run = Run()
    rows, status, steps = [], 0, {}

    def on_signal(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        # a fresh instance for the storm: an overloaded step may leave a
        # proxy degraded (Kamailio's dispatcher marks a backend down when
        # its probes time out), which is not what the storm measures
        proxies = {
            'kamailio': lambda sfx: Kamailio(run, 'kamailio' + sfx),
            'sbcd-w1': lambda sfx: Sbcd(run, 'sbcd-w1' + sfx, opts.build, 1),
            'sbcd-w2': lambda sfx: Sbcd(run, 'sbcd-w2' + sfx, opts.build, 2),
        }
        for name, make in proxies.items():
            if opts.only and name != opts.only:
                continue
            steps[name] = {}
            best, bad, reg = None, None, None
            if opts.part != 'registers':
                p = make('')
                if not p.start():
                    print('FAIL: %s did not start' % name)
                    return 1
                best, bad = calls(run, p, rates, seconds, steps[name])
                p.stop()
                if not best:
                    status = 1
            if opts.part != 'calls':
                q = make('-reg')
                if not q.start():
                    print('FAIL: %s did not start' % q.name)
                    return 1
                reg = registers(run, q, users, reg_rate, window)
                q.stop()
                if not reg['ok']:
                    status = 1
            rows.append((name, best, bad, reg))
        print()
        table(rows)
        if not opts.only:
            ratios(rows, steps)
    finally:
        run.close(opts.keep)
    return status


if __name__ == '__main__':
    sys.exit(main())
