#!/usr/bin/env python3
"""RTP relay benchmark: sbcd's relay (io_uring and epoll) beside rtpengine
(Debian's rtpengine-daemon, userspace forwarding) and a minimal
recvmmsg/sendmmsg relay (mini_relay.c, the yardstick), in one run.

For each relay, N G.711 calls (two streams of 50 packets/s each: 100
packets/s per call) driven by rtp_load (generator and sink, rtp_load.c)
through the relay on loopback, at rising rates, each step a few seconds
after a warm-up:

- the highest rate with under 0.1 % of the packets lost or later than
  100 ms (a jitter buffer would drop those; a saturated relay queues
  seconds in its sockets before the kernel drops anything), then one step
  above it and one back below it (90 % of it), to show the relay
  recovers;
- relay CPU (utime+stime from /proc of its process(es), every thread,
  softirq work done in its context included) per forwarded packet, beside
  the rate; and at one equal load for every relay (100,000 packets/s),
  since the generator shares the two cores and caps the top rate;
- one-way latency p50/p99 (generator's send to the relay's send, from the
  kernel's receive timestamp) at half of each relay's top rate.

The generator runs on CPU 0 and every thread of the relay on CPU 1
(--no-pin leaves them to the scheduler): each relay gets one core, the
generator the other. The half-load and equal-load steps run on a fresh
instance of the relay when the ladder overloaded it. A step during which
other processes took more than a fifth of a core is run again (twice at
most, on a fresh instance if it cost packets) and marked. A step where
the generator fell behind its schedule is marked too: its rate is the
generator's limit, not necessarily the relay's.

Usage: bench_rtp.py --build DIR [--quick] [--only NAME]... [--keep]
[--rates PPS,...] [--no-pin] [--gen-sockets K] [--rtpengine-threads N].
--quick runs tiny steps, to prove the program end to end (a meson test,
suite bench-smoke); a relay that cannot run here (rtpengine not
installed, a build without sbcd's relay) is skipped with the reason.
"""

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import relays  # noqa: E402
from relays import Run, Unavailable  # noqa: E402

TICK = os.sysconf('SC_CLK_TCK')
CALL_PPS = 100            # two streams of 50 packets/s
LOSS_MAX = 0.1            # %: lost or later than LATE_MS
LATE_MS = 100
GEN_BEHIND = 0.98         # offered under this share of the target: the
                          # generator, not the relay, was the limit
DISTURBED = 0.2           # cores taken by other processes during a step
SATURATED = 0.97          # relay cores: it had a whole core
RETRIES = 2
# Fixed port ranges, below the ephemeral range (32768-60999) and checked
# free: the generator's sockets, and the relay's (one relay at a time).
GEN_RANGE = (12000, 19999)
RELAY_RANGE = (20000, 29999)

FULL = {
    'ladder': [20000, 40000, 60000, 80000, 90000, 100000, 110000, 120000,
               130000, 140000, 150000, 160000, 170000, 180000, 190000,
               200000],
    'equal': 100000, 'seconds': 5.0, 'warmup': 1.0, 'drain_ms': 500,
}
QUICK = {
    'ladder': [10000, 20000],
    'equal': 20000, 'seconds': 1.5, 'warmup': 0.5, 'drain_ms': 300,
}


def window_cost(res, marks):
    """Into a generator's result res: the CPU the relay, the generator and
    everything else took over the measured window (marks: "measure" and
    "drain", each (time, relay, generator, busy) seconds), the relay's
    µs per packet forwarded, and the share of packets lost or late."""
    (t0, r0, g0, b0), (t1, r1, g1, b1) = marks['measure'], marks['drain']
    wall = t1 - t0
    res['relay_cores'] = (r1 - r0) / wall
    res['gen_cores'] = (g1 - g0) / wall
    res['other_cores'] = max(0.0, (b1 - b0) / wall - res['relay_cores'] -
                             res['gen_cores'])
    fwd = res['received']
    res['relay_us'] = (r1 - r0) * 1e6 / fwd if fwd else float('nan')
    res['bad_pct'] = res['loss_pct'] + res['late_pct']


def proc_cpu(pids):
    """utime+stime of pids (every thread of each), seconds."""
    total = 0
    for p in pids:
        try:
            with open('/proc/%d/stat' % p) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def busy_cpu():
    """CPU time of the whole machine not idle, seconds."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (sum(v[:8]) - v[3] - v[4] - v[7]) / TICK


def recovery_rate(top):
    """Where the step back goes: a tenth under the top rate, where a
    relay that recovered has the headroom to empty what the step above
    left queued."""
    return max(CALL_PPS, int(top * 0.9) // 1000 * 1000)


class Bench:
    def __init__(self, opts, run):
        self.o, self.run = opts, run
        self.p = dict(QUICK if opts.quick else FULL)
        if opts.rates:
            self.p['ladder'] = [int(r) // CALL_PPS * CALL_PPS
                                for r in opts.rates.split(',')]
        self.retries = 0 if opts.quick else RETRIES
        self.load = os.path.join(opts.build, 'tests', 'bench', 'rtp',
                                 'rtp_load')
        self.pin = not opts.no_pin and os.cpu_count() >= 2
        k = opts.gen_sockets
        self.gen = relays.free_ports(GEN_RANGE[0], GEN_RANGE[1], 2 * k)
        self.max_calls = max(self.p['ladder'] + [self.p['equal']]) // \
            CALL_PPS

    def ports(self, i):
        """Generator ports (A, B) of call i: calls share the generator's
        sockets (the relay still has a port pair per call)."""
        k = self.o.gen_sockets
        return self.gen[i % k], self.gen[k + i % k]

    def write_calls(self, relay, n):
        path = self.run.path('calls-%s' % relay.name)
        with open(path, 'w') as f:
            for i in range(n):
                a, b = self.ports(i)
                f.write('%d %d %s %d %d\n' % (a, b, relays.LOOP,
                                              relay.calls[i][0],
                                              relay.calls[i][1]))
        return path

    def once(self, relay, n, label):
        """One run of rtp_load over the first n calls: its result, with
        the CPU of the relay, of the generator and of the rest of the
        machine over the measured window."""
        calls = self.write_calls(relay, n)
        p = self.p
        argv = [self.load, '-c', calls, '-n', str(n),
                '-d', str(p['seconds']), '-w', str(p['warmup']),
                '-D', str(p['drain_ms']), '-L', str(LATE_MS)]
        gen = self.run.spawn(argv, 'load-' + label, stdout=subprocess.PIPE,
                             cpus={0} if self.pin else None)
        marks, res = {}, None
        deadline = time.monotonic() + p['seconds'] + p['warmup'] + \
            p['drain_ms'] / 1000 + 30
        try:
            while res is None and time.monotonic() < deadline:
                ready, _, _ = select.select([gen.stdout], [], [], 1)
                if not ready:
                    continue
                line = gen.stdout.readline()
                if not line:
                    break
                if line.startswith('# '):
                    marks[line[2:].strip()] = (
                        time.monotonic(), proc_cpu(relay.pids()),
                        proc_cpu([gen.pid]), busy_cpu())
                elif line.startswith('{'):
                    res = json.loads(line)
        finally:
            Run.stop(gen)
        if res is None or 'measure' not in marks or 'drain' not in marks:
            raise RuntimeError('rtp_load gave no result: %s' %
                               self.run.log_tail('load-' + label))
        window_cost(res, marks)
        res['gen_bound'] = res['offered_pps'] < GEN_BEHIND * \
            res['target_pps']
        return res

    def step(self, relay, pps, kind, rows):
        """A step at pps (calls = pps / 100), repeated while disturbed
        (on a fresh instance when the disturbance cost packets: it may
        have left the relay degraded)."""
        n = pps // CALL_PPS
        for attempt in range(self.retries + 1):
            relay.ensure(n, self.ports)
            if self.pin:
                relays.pin(relay.pids(), {1})
            r = self.once(relay, n, '%s-%s-%d-%d' % (relay.name, kind, pps,
                                                     attempt))
            r['disturbed'] = attempt
            r['ok'] = r['bad_pct'] < LOSS_MAX and not r['gen_bound']
            if r['other_cores'] <= DISTURBED:
                break
            if not r['ok'] and attempt < self.retries:
                relay.restart()
        r['kind'], r['pps'] = kind, pps
        rows.append(r)
        print_row(relay.name, r)
        if not relay.alive():
            raise RuntimeError('%s exited: %s' % (
                relay.name, self.run.log_tail(relay.name)))
        return r

    def measure(self, relay, m):
        """The ladder up to its first step over 0.1 %, then one back at
        90 % of the last good rate (recovery); half that rate (latency) and the
        equal load (CPU per packet), unless the ladder had them, on a
        fresh instance: an overload may leave a relay degraded for good
        (rtpengine stops reading a socket that queued over 50 packets
        five times). The rows go into m as they come (m['rows']), the
        top rate and the step above it into m['best'] and m['over']."""
        rows, best, over = m['rows'], None, None
        for pps in self.p['ladder']:
            r = self.step(relay, pps, 'ladder', rows)
            if not r['ok']:
                m['over'] = over = r
                break
            m['best'] = best = r
        if over and best and over['bad_pct'] >= LOSS_MAX:
            self.step(relay, recovery_rate(best['pps']), 'recovery', rows)
        todo = []
        if best:
            half = max(CALL_PPS, best['pps'] // 2 // CALL_PPS * CALL_PPS)
            todo.append((half, 'half'))
        todo.append((self.p['equal'], 'equal'))
        todo = [(pps, kind) for pps, kind in todo
                if not any(r['pps'] == pps and r['kind'] == 'ladder' and
                           r is not over for r in rows)]
        if todo and over:
            relay.restart()
        for pps, kind in todo:
            self.step(relay, pps, kind, rows)


HEAD = ('step', 'target pps', 'calls', 'offered', 'forwarded', 'lost %',
        'late %', 'p50 µs', 'p99 µs', 'relay cores', 'relay µs/pkt',
        'gen µs/pkt', 'other cores', 'note')
WIDTHS = (9, 10, 5, 7, 9, 6, 6, 6, 7, 11, 12, 10, 11, 0)


def fmt(cols):
    return '  '.join(str(c).rjust(w) if w else str(c)
                     for c, w in zip(cols, WIDTHS)).rstrip()


def note(r):
    out = []
    if r['gen_bound']:
        out.append('generator behind (%.0f ms)' %
                   (r['behind_max_us'] / 1000))
    if r['disturbed']:
        out.append('repeated %dx (other load)' % r['disturbed'])
    if r['other_cores'] > DISTURBED:
        out.append('disturbed')
    if r['relay_cores'] >= SATURATED:
        out.append('relay saturated')
    if r['streams_silent']:
        out.append('%d silent streams (call/direction %s...)' % (
            r['streams_silent'], ' '.join(r['silent_first'][:3])))
    if r['misrouted'] or r['send_errors']:
        out.append('%d misrouted, %d send errors' % (r['misrouted'],
                                                     r['send_errors']))
    if r['bad_pct'] >= LOSS_MAX:
        out.append('over 0.1 %')
    return ', '.join(out)


def print_row(name, r):
    print(fmt((r['kind'], r['pps'], r['calls'], r['offered_pps'],
               r['forwarded_pps'], '%.3f' % r['loss_pct'],
               '%.3f' % r['late_pct'], r['lat_p50_us'], r['lat_p99_us'],
               '%.2f' % r['relay_cores'], '%.2f' % r['relay_us'],
               '%.2f' % r['gen_us_per_pkt'], '%.2f' % r['other_cores'],
               note(r))), flush=True)


def pick(rows, pps, kinds):
    """The row of a step at pps among kinds, the last one run."""
    got = [r for r in rows if r['pps'] == pps and r['kind'] in kinds]
    return got[-1] if got else None


def summary(results, equal):
    head = ('relay', 'max pps <0.1 %', 'µs/pkt at max', 'cores at max',
            'µs/pkt at %dk' % (equal // 1000), 'x mini',
            'p50/p99 µs at half', 'step above: pps, bad %',
            'recovery: pps, bad %')
    eqs = {name: pick(m['rows'], equal, ('ladder', 'equal'))
           for name, m in results}
    mini = eqs.get('mini')
    body = []
    for name, m in results:
        rows, best, over = m['rows'], m['best'], m['over']
        eq = eqs[name]
        half = pick(rows, max(CALL_PPS, best['pps'] // 2 // CALL_PPS *
                              CALL_PPS), ('ladder', 'half')) if best \
            else None
        rec = pick(rows, recovery_rate(best['pps']), ('recovery',)) \
            if best else None
        top = '-'
        if best:
            top = str(best['pps'])
            if not over:
                top = '>= %s (top step)' % top
            elif over['gen_bound'] and over['bad_pct'] < LOSS_MAX:
                top = '>= %s (generator)' % top
            elif over['gen_bound']:
                top = '%s (generator at its limit too)' % top
        body.append((
            name, top,
            '%.2f' % best['relay_us'] if best else '-',
            '%.2f' % best['relay_cores'] if best else '-',
            ('%.2f%s' % (eq['relay_us'], '' if eq['ok'] else
                         ' (%.2f %% bad)' % eq['bad_pct'])) if eq else '-',
            '%.2f' % (eq['relay_us'] / mini['relay_us'])
            if eq and mini else '-',
            '%d / %d' % (half['lat_p50_us'], half['lat_p99_us'])
            if half else '-',
            '%d, %.2f' % (over['pps'], over['bad_pct']) if over else '-',
            '%d, %.3f' % (rec['pps'], rec['bad_pct']) if rec else '-'))
    widths = [max(len(str(r[i])) for r in [head] + body)
              for i in range(len(head))]
    for r in [head] + body:
        print('  '.join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print('\nmax pps: the highest step with under %g %% of the packets lost '
          'or later than %d ms; µs/pkt: the relay\'s CPU (all its threads '
          'and processes, the\nkernel\'s work in their context included) '
          'per forwarded packet; x mini: that at %d packets/s against the '
          'minimal relay\'s; half: latency at half\nthe max rate; step '
          'above: the first step over %g %%; recovery: the next step, back '
          'at 90 %% of the max rate (0 %%: the relay recovered).' % (
              LOSS_MAX, LATE_MS, equal, LOSS_MAX))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--keep', action='store_true',
                    help='keep the logs and calls files')
    ap.add_argument('--only', action='append',
                    choices=('sbcd-uring', 'sbcd-epoll', 'rtpengine',
                             'mini'),
                    help='measure this relay (may be repeated)')
    ap.add_argument('--no-pin', action='store_true',
                    help='leave generator and relay to the scheduler')
    ap.add_argument('--gen-sockets', type=int, default=8,
                    help='generator sockets per side (default 8)')
    ap.add_argument('--rtpengine-threads', type=int, default=1,
                    help='rtpengine --num-threads (default 1)')
    ap.add_argument('--rates', help='the ladder, packets/s, comma-separated'
                    ' (multiples of 100)')
    opts = ap.parse_args()

    for exe in ('rtp_load', 'mini_relay'):
        if not os.access(os.path.join(opts.build, 'tests', 'bench', 'rtp',
                                      exe), os.X_OK):
            print('FAIL: %s not built: ninja -C %s tests/bench/rtp/%s' %
                  (exe, opts.build, exe))
            return 1

    def on_signal(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    run = Run(opts.keep)
    status, results = 0, []
    try:
        try:
            b = Bench(opts, run)
        except Unavailable as e:
            print('FAIL: generator ports: %s' % e)
            return 1
        p = b.p
        print('machine: %d cores, kernel %s; %s' % (
            os.cpu_count(), os.uname().release,
            'generator on CPU 0, relay on CPU 1' if b.pin
            else 'no pinning'))
        print('load: G.711 calls, 2 x 50 packets/s of 172 bytes, %g s per '
              'step after %g s of warm-up; %d generator sockets per side; '
              'bad = lost or later than %d ms; µs/pkt: CPU per forwarded '
              'packet\n' % (p['seconds'], p['warmup'], opts.gen_sockets,
                            LATE_MS))
        makers = [
            lambda: relays.Sbcd(run, RELAY_RANGE[0], RELAY_RANGE[1],
                                opts.build, 'io_uring', b.max_calls),
            lambda: relays.Sbcd(run, RELAY_RANGE[0], RELAY_RANGE[1],
                                opts.build, 'epoll', b.max_calls),
            lambda: relays.Rtpengine(run, RELAY_RANGE[0], RELAY_RANGE[1],
                                     opts.rtpengine_threads),
            lambda: relays.Mini(run, RELAY_RANGE[0], RELAY_RANGE[1],
                                opts.build, b.max_calls),
        ]
        for make in makers:
            relay = make()
            if opts.only and relay.name not in opts.only:
                continue
            try:
                relay.start()
                print('%s: %s' % (relay.name, relay.what))
                print(fmt(HEAD))
                m = {'rows': [], 'best': None, 'over': None}
                results.append((relay.name, m))
                b.measure(relay, m)
                if not m['best']:
                    status = 1
            except Unavailable as e:
                print('SKIP %s: %s' % (relay.name, e))
            except (RuntimeError, OSError) as e:
                print('FAIL %s: %s' % (relay.name, e))
                status = 1
            finally:
                relay.stop()
            print(flush=True)
        if results:
            summary(results, p['equal'])
    finally:
        run.close()
    return status


if __name__ == '__main__':
    sys.exit(main())
