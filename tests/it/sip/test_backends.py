#!/usr/bin/env python3
"""Backend sets through the real sbcd (issue 5, DESIGN.md section 5).

Four SIPp backends (backends_uas.xml: A, B and C answer 200, D answers
503; all answer sbcd's OPTIONS probes, -aa), each logging every INVITE and
BYE it gets, so what a backend received is counted on the backend itself.
SIPp callers (backends_uac.xml) log each call's outcome. One sbcd for the
whole run; its backends change by `sbcctl reload`:

1. spread: round-robin (each within 5 % of a third), weighted 1:2:3 (each
   within 5 % of its share), call-id (the same Call-ID on the same backend
   in three runs, every backend used), aor (each user always on one
   backend), least-loaded with capacities 10/20/30 and held calls
   (proportional within 3 calls);
2. capacity: 10/5/5 places and 40 held calls: no backend ever holds more
   than its capacity at once (from its own log), 20 calls complete and the
   20 others get 503;
3. failover: a backend answering 503 beside a good one: every call
   completes, on the good one, and the 503s are counted as failures; a
   silent backend (SIGSTOP): calls move on after failover.timeout; a CANCEL
   while it is silent: 487, and the call reaches no other backend; awake,
   its late 2xx get ACK and BYE from sbcd; a set
   whose only backend answers 503: the caller gets 503;
4. reload with 100 calls up: a backend added takes new calls, the one
   removed takes none but keeps its calls (listed as removed), none of the
   100 calls drops; an invalid file (syntax, unknown algorithm) is refused
   and changes nothing;
5. probing (interval 1 s, down after 2, up after 2): a backend stopped
   with SIGSTOP is down within interval x down_after (+ one probe timeout,
   half an interval, and 1 s), calls made then never reach it; SIGCONT: up within
   interval x up_after (+ margin), and it takes calls again;
6. `sbcctl health`: 0; a worker stopped with SIGSTOP: non-zero within 2 s;
   SIGCONT: 0 within 2 s; every backend of the set stopped: non-zero with
   "no backend up"; back: 0. Each answer in under a second.
"""

import os
import signal
import sys
import time

import sbcit
from sbcit import LOOPBACK

HOLD_LONG = 8000


class Backend:
    """One SIPp backend and what its log says it received."""

    def __init__(self, test, name, code=200):
        self.test = test
        self.name = name
        self.port = sbcit.free_port()
        self.uri = 'sip:%s:%d' % (LOOPBACK, self.port)
        self.stopped = False
        self.sipp = test.sipp(name, 'backends_uas.xml', port=self.port,
                              calls=100000, timeout=600,
                              values={'CODE': code},
                              extra=['-aa', '-deadcall_wait', '1'])

    def events(self):
        """[(kind, call_id, from_user or None, time)] from its log."""
        out = []
        try:
            with open(self.test.path(self.name + '.log')) as f:
                for line in f:
                    w = line.split()
                    if len(w) == 6 and w[0] == 'INVITE':
                        out.append(('INVITE', w[1], w[2],
                                    float(w[4]) + float(w[5]) / 1e6))
                    elif len(w) == 4 and w[0] == 'BYE':
                        out.append(('BYE', w[1], None,
                                    float(w[2]) + float(w[3]) / 1e6))
        except OSError:
            pass
        return out

    def invites(self, since=0):
        """INVITEs received: [(call_id, from_user)], after the first since."""
        inv = [(c, u) for k, c, u, _ in self.events() if k == 'INVITE']
        return inv[since:]

    def byes(self):
        return [c for k, c, _, _ in self.events() if k == 'BYE']

    def received(self, method):
        """Call-IDs of every `method` request that reached this SIPp, from
        its message trace: in a scenario's step or not."""
        out = set()
        try:
            with open(self.test.path(self.name + '.msg'),
                      errors='replace') as f:
                blocks = f.read().split('message received')
        except OSError:
            return out
        for block in blocks[1:]:
            lines = block.split('\n')
            start = next((l for l in lines[1:] if l.strip()), '')
            if not start.startswith(method + ' '):
                continue
            for line in lines:
                if line.lower().startswith('call-id:'):
                    out.add(line.split(':', 1)[1].strip())
                    break
        return out

    def max_concurrent(self, since=0):
        """Most calls this backend held at once, from INVITE to BYE,
        counting from its event number since."""
        level = top = 0
        for kind, _, _, _ in sorted(self.events()[since:],
                                    key=lambda e: (e[3], e[0] == 'INVITE')):
            level += 1 if kind == 'INVITE' else -1
            top = max(top, level)
        return top

    def pause(self):
        os.kill(self.sipp.proc.pid, signal.SIGSTOP)
        self.stopped = True

    def resume(self):
        if self.stopped:
            os.kill(self.sipp.proc.pid, signal.SIGCONT)
            self.stopped = False


def members(*items):
    """A members list: each item a URI or (uri, {key: value})."""
    out = []
    for it in items:
        if isinstance(it, str):
            out.append('"%s"' % it)
        else:
            uri, kv = it
            extra = ''.join(' %s = %s;' % (k, str(v).lower()
                                           if isinstance(v, bool) else v)
                            for k, v in kv.items())
            out.append('{ uri = "%s";%s }' % (uri, extra))
    return '( %s )' % ', '.join(out)


def backends_conf(algorithm, mems, probe=0, extra=''):
    return ('backends = ( { name = "pbx"; algorithm = "%s"; members = %s; } );'
            '\nprobe = { interval = %d; down_after = 2; up_after = 2; };\n'
            'failover = { timeout = 1000; };\n%s' %
            (algorithm, mems, probe, extra))


class Run:
    """The test: sbcd, its backends, callers."""

    def __init__(self, test):
        self.test = test
        self.a = Backend(test, 'be-a')
        self.b = Backend(test, 'be-b')
        self.c = Backend(test, 'be-c')
        self.d = Backend(test, 'be-d', code=503)
        self.all = [self.a, self.b, self.c, self.d]
        self.callers = 0
        self.sbcd = test.sbcd(backends=backends_conf(
            'round-robin', members(self.a.uri, self.b.uri, self.c.uri)),
            probe='', extra='dialog = { ping_interval = 0; };')

    def reload(self, conf, what):
        self.sbcd.set_backends(conf)
        rc, out = self.sbcd.sbcctl('reload', check=False)
        self.test.check(rc == 0, 'reload: %s' % what, out)

    def caller(self, rows, rate, hold):
        """Start one SIPp caller for rows (ruri user, from user, tag):
        its Call-IDs are TAG-1@test, TAG-2@test, ... A tag "cancel" makes
        callers that CANCEL after 500 ms (backends_cancel.xml)."""
        self.callers += 1
        name = 'caller-%d' % self.callers
        inf = sbcit.write_csv(self.test.path(name + '.csv-in'),
                              [r[:2] for r in rows])
        scenario = ('backends_cancel.xml' if rows[0][2] == 'cancel' else
                    'backends_uac.xml')
        sipp = self.test.sipp(name, scenario,
                              remote='%s:%d' % (LOOPBACK, self.sbcd.access),
                              inf=inf, calls=len(rows), rate=rate,
                              timeout=60, values={'HOLD': hold,
                                                  'WAIT': 500},
                              extra=['-cid_str', rows[0][2] + '-%u@test'])
        return name, sipp

    def call(self, rows, rate=200, hold=0, what='calls'):
        """One SIPp caller for rows, waited for: {call_id: 'OK' or
        'REFUSED'}."""
        name, sipp = self.caller(rows, rate, hold)
        rc = sipp.wait(90)
        got = self.outcomes(name)
        self.test.check(rc == 0 and len(got) == len(rows),
                        '%s: SIPp ended them all (exit %s, %d of %d logged)'
                        % (what, rc, len(got), len(rows)), sipp.errors())
        return got

    def outcomes(self, name):
        """{call_id: 'OK' or 'REFUSED'} from caller name's log."""
        got = {}
        try:
            with open(self.test.path(name + '.log')) as f:
                for line in f:
                    w = line.split()
                    if len(w) == 3 and w[0] in ('OK', 'REFUSED'):
                        got[w[1]] = w[0]
        except OSError:
            pass
        return got

    def rows(self, n, tag):
        return [('svc', 'u%04d' % (i % 50), tag) for i in range(n)]

    def counts(self, marks, backends=None):
        backends = backends or self.all
        return [len(b.invites(m)) for b, m in zip(backends, marks)]

    def marks(self):
        return [len(b.invites()) for b in self.all]


def near(value, want, tol):
    return abs(value - want) <= tol


def spread_round_robin(run):
    t = run.test
    m = run.marks()
    got = run.call(run.rows(600, 'rr'), rate=300, what='round-robin')
    n = run.counts(m)[:3]
    t.check(all(v == 'OK' for v in got.values()) and
            all(near(x, 200, 10) for x in n),
            'round-robin: 600 calls spread %s (each 200 +-10)' % n)


def spread_weighted(run):
    t = run.test
    run.reload(backends_conf('weighted', members(
        (run.a.uri, {'weight': 1}), (run.b.uri, {'weight': 2}),
        (run.c.uri, {'weight': 3}))), 'weighted 1:2:3')
    m = run.marks()
    got = run.call(run.rows(600, 'w'), rate=300, what='weighted')
    n = run.counts(m)[:3]
    t.check(all(v == 'OK' for v in got.values()) and
            near(n[0], 100, 30) and near(n[1], 200, 30) and
            near(n[2], 300, 30),
            'weighted 1:2:3: 600 calls spread %s (100/200/300 +-30)' % n)


def where(run, marks):
    """{call_id: backend name} of the INVITEs since marks."""
    out = {}
    for b, m in zip(run.all, marks):
        for cid, _ in b.invites(m):
            out.setdefault(cid, set()).add(b.name)
    return out


def spread_call_id(run):
    t = run.test
    run.reload(backends_conf('call-id', members(run.a.uri, run.b.uri,
                                                run.c.uri)), 'call-id')
    seen = {}
    for r in range(3):
        m = run.marks()
        got = run.call(run.rows(200, 'cid'), rate=200,
                       what='call-id, run %d' % (r + 1))
        t.check(all(v == 'OK' for v in got.values()),
                'call-id run %d: every call completed' % (r + 1))
        for cid, names in where(run, m).items():
            seen.setdefault(cid, set()).update(names)
        time.sleep(0.5)
    per = [sum(1 for names in seen.values() if b.name in names)
           for b in run.all[:3]]
    t.check(len(seen) == 200 and all(len(v) == 1 for v in seen.values()),
            'call-id: each of 200 Call-IDs on one backend in 3 runs',
            '%d Call-IDs, %d on several backends' %
            (len(seen), sum(1 for v in seen.values() if len(v) > 1)))
    t.check(all(30 <= x <= 110 for x in per),
            'call-id: Call-IDs spread over the three backends %s' % per)


def spread_aor(run):
    t = run.test
    run.reload(backends_conf('aor', members(run.a.uri, run.b.uri,
                                            run.c.uri)), 'aor')
    m = run.marks()
    got = run.call(run.rows(300, 'aor'), rate=300, what='aor')
    users = {}
    for b, mk in zip(run.all, m):
        for _, user in b.invites(mk):
            users.setdefault(user, set()).add(b.name)
    used = set().union(*users.values()) if users else set()
    t.check(all(v == 'OK' for v in got.values()) and len(users) == 50 and
            all(len(v) == 1 for v in users.values()) and len(used) == 3,
            'aor: each of 50 users on one backend (6 calls each), all '
            'three used', users)


def spread_least_loaded(run):
    t = run.test
    run.reload(backends_conf('least-loaded', members(
        (run.a.uri, {'capacity': 10}), (run.b.uri, {'capacity': 20}),
        (run.c.uri, {'capacity': 30}))), 'least-loaded 10/20/30')
    m = run.marks()
    got = run.call(run.rows(48, 'll'), rate=100, hold=3000,
                   what='least-loaded, held calls')
    n = run.counts(m)[:3]
    t.check(all(v == 'OK' for v in got.values()) and near(n[0], 8, 3) and
            near(n[1], 16, 3) and near(n[2], 24, 3),
            'least-loaded: 48 held calls spread %s (8/16/24 +-3)' % n)


def capacity(run):
    t = run.test
    run.reload(backends_conf('round-robin', members(
        (run.a.uri, {'capacity': 10}), (run.b.uri, {'capacity': 5}),
        (run.c.uri, {'capacity': 5}))), 'capacities 10/5/5')
    for b in run.all:
        b.capacity_mark = len(b.events())
    m = run.marks()
    sampled = [0, 0, 0]

    name, sipp = run.caller(run.rows(40, 'cap'), 100, 3000)
    while sipp.alive():
        for row in run.sbcd.backends():
            for i, b in enumerate(run.all[:3]):
                if row['uri'] == b.uri:
                    sampled[i] = max(sampled[i], row['calls'])
        time.sleep(0.2)
    sipp.wait(10)
    outcome = run.outcomes(name)
    ok = sum(1 for v in outcome.values() if v == 'OK')
    refused = sum(1 for v in outcome.values() if v == 'REFUSED')
    n = run.counts(m)[:3]
    tops = [b.max_concurrent(b.capacity_mark) for b in run.all[:3]]
    t.check(tops[0] <= 10 and tops[1] <= 5 and tops[2] <= 5 and
            sampled[0] <= 10 and sampled[1] <= 5 and sampled[2] <= 5,
            'capacity 10/5/5: at most %s calls at once on the backends '
            '(sbcctl saw at most %s)' % (tops, sampled))
    t.check(n == [10, 5, 5] and ok == 20 and refused == 20,
            'capacity: 20 calls took every place (%s), the 20 others got '
            '503 (%d completed, %d refused)' % (n, ok, refused))


def failover(run):
    t = run.test
    run.reload(backends_conf('round-robin', members(run.a.uri, run.d.uri)),
               'a good backend and one answering 503')
    before = run.sbcd.backend_row(run.d.uri) or {}
    m = run.marks()
    got = run.call(run.rows(100, 'fo'), rate=200, what='failover')
    n = run.counts(m)
    after = run.sbcd.backend_row(run.d.uri) or {}
    fails = after.get('failures', 0) - before.get('failures', 0)
    t.check(all(v == 'OK' for v in got.values()) and n[0] == 100 and
            n[3] >= 30,
            'failover: 100 calls completed, all on the good backend; the '
            '503 one tried %d times' % n[3], got)
    t.check(fails == n[3], 'failover: sbcctl counts %d failures on the 503 '
            'backend (it got %d INVITEs)' % (fails, n[3]))

    # a silent backend (stopped, no probes): the call moves on after
    # failover.timeout (1 s); a caller that cancels first gets 487 and the
    # call goes nowhere else
    run.reload(backends_conf('round-robin', members(
        run.c.uri, (run.a.uri, {'backup': True}))),
        'a silent backend, a good backup')
    run.c.pause()
    try:
        m = run.marks()
        start = time.monotonic()
        got = run.call(run.rows(20, 'silent'), rate=50, what='silent')
        took = time.monotonic() - start
        n = run.counts(m)
        silent = run.sbcd.backend_row(run.c.uri) or {}
        t.check(all(v == 'OK' for v in got.values()) and n[0] == 20 and
                took >= 1.0,
                'failover: a silent backend, every call completes on the '
                'backup after failover.timeout (20 calls in %.1f s)' %
                took, got)
        t.check(silent.get('failures', 0) >= 20,
                'failover: the silent backend counts %s failures' %
                silent.get('failures'))

        m = run.marks()
        name, sipp = run.caller(run.rows(10, 'cancel'), 20, 0)
        sipp.proc.wait(30)
        cancelled = 0
        with open(t.path(name + '.log')) as f:
            cancelled = sum(1 for l in f if l.startswith('CANCELLED'))
        n = run.counts(m)
        t.check(cancelled == 10 and n[0] == 0,
                'failover: CANCEL while the first backend is silent: 487 '
                'to the caller (%d of 10), no INVITE to the next one (%d)' %
                (cancelled, n[0]), sipp.errors())
    finally:
        run.c.resume()

    # awake, the silent backend answers the INVITEs it had queued: sbcd
    # ACKs and BYEs each 2xx (its log says so; the BYE, a transaction of
    # its own, must reach the backend), so it keeps no call nobody is in
    deadline = time.monotonic() + 5
    late = acked = ended = set()
    while time.monotonic() < deadline:
        late = set(c for c, _ in run.c.invites() if c.startswith('silent-'))
        acked = set(l.rsplit('(', 1)[-1].rstrip(')')
                    for l in run.sbcd.log_text().splitlines()
                    if 'late 2xx' in l)
        ended = run.c.received('BYE')
        if len(late) == 20 and late <= acked and late <= ended:
            break
        time.sleep(0.2)
    t.check(len(late) == 20 and late <= acked and late <= ended,
            'failover: the late 2xx of each of the %d calls given up on got '
            'ACK and BYE from sbcd (%d not acknowledged, %d BYE not '
            'received)' % (len(late), len(late - acked), len(late - ended)))

    run.reload(backends_conf('round-robin', members(run.d.uri)),
               'only a backend answering 503')
    got = run.call(run.rows(20, 'fo503'), rate=100, what='all failing')
    t.check(len(got) == 20 and all(v == 'REFUSED' for v in got.values()),
            'failover: every backend failing, the caller gets 503', got)


def reload_live(run):
    t = run.test
    run.reload(backends_conf('round-robin', members(run.a.uri, run.b.uri)),
               'A and B')
    m = run.marks()
    deadline = time.monotonic() + 10
    base = sum(r['calls'] for r in run.sbcd.backends())
    while base and time.monotonic() < deadline:
        time.sleep(0.2)
        base = sum(r['calls'] for r in run.sbcd.backends())
    t.check(base == 0, 'reload: no call up on any backend before (%d)' %
            base)
    name, held = run.caller(run.rows(100, 'held'), 100, HOLD_LONG)
    deadline = time.monotonic() + 5
    up = 0
    while time.monotonic() < deadline and up < 100:
        up = sum(r['calls'] for r in run.sbcd.backends()) - base
        time.sleep(0.1)
    t.require(up == 100, 'reload: 100 calls up before the reload (%d)' % up)
    b_calls = len(run.b.invites(m[1]))

    rows_before = run.sbcd.backends()
    for bad, what in (('backends = ( { name = "pbx"; members = [ "sip:' +
                       LOOPBACK + ':1" ] } ', 'a syntax error'),
                      (backends_conf('random', members(run.c.uri)),
                       'an unknown algorithm')):
        run.sbcd.set_backends(bad)
        rc, out = run.sbcd.sbcctl('reload', check=False)
        now = run.sbcd.backends()
        t.check(rc != 0 and 'running configuration is kept' in out and
                [r['uri'] for r in now] == [r['uri'] for r in rows_before],
                'reload: a file with %s is refused, nothing changes' % what,
                out)

    run.reload(backends_conf('round-robin', members(run.a.uri, run.c.uri)),
               'B removed, C added, 100 calls up')
    row = [r for r in run.sbcd.backends() if r['uri'] == run.b.uri]
    t.check(len(row) == 1 and not row[0]['in_config'] and
            row[0]['calls'] == b_calls,
            'reload: the removed backend is listed as removed with its %d '
            'calls' % b_calls, row)

    m2 = run.marks()
    got = run.call(run.rows(60, 'after'), rate=200, what='after the reload')
    n = run.counts(m2)
    t.check(all(v == 'OK' for v in got.values()) and n[1] == 0 and
            near(n[2], 30, 4) and near(n[0], 30, 4),
            'reload: new calls go to A and the added C, none to the '
            'removed B %s' % n[:3])

    held.wait(HOLD_LONG / 1000 + 30)
    outcome = run.outcomes(name)
    byes_b = set(run.b.byes())
    b_held = set(cid for cid, _ in run.b.invites(m[1]))
    t.check(len(outcome) == 100 and
            all(v == 'OK' for v in outcome.values()) and
            b_held <= byes_b,
            'reload: none of the 100 calls dropped; the removed backend '
            'got the BYE of each of its %d' % len(b_held),
            '%d outcomes, %d of B without BYE' %
            (len(outcome), len(b_held - byes_b)))
    time.sleep(0.5)
    t.check(not [r for r in run.sbcd.backends() if r['uri'] == run.b.uri],
            'reload: the removed backend is gone once its calls ended')


def wait_state(run, uri, state, limit):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        row = run.sbcd.backend_row(uri)
        if row and row['state'] == state:
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def probing(run):
    t = run.test
    run.reload(backends_conf('round-robin', members(run.a.uri, run.b.uri,
                                                    run.c.uri), probe=1),
               'probing every second')
    t.check(wait_state(run, run.c.uri, 'up', 3) is not None and
            (run.sbcd.backend_row(run.c.uri) or {}).get('last_code') == 200,
            'probing: probes answered 200')
    run.c.pause()
    try:
        took = wait_state(run, run.c.uri, 'down', 5)
        t.check(took is not None and took <= 1 * 2 + 0.5 + 1,
                'probing: a stopped backend is down in %s s (interval 1 x '
                'down_after 2, + a probe timeout, half an interval, + 1 s)' %
                (None if took is None else '%.1f' % took))
        attempts = (run.sbcd.backend_row(run.c.uri) or {}).get('attempts')
        m = run.marks()
        got = run.call(run.rows(60, 'down'), rate=100, what='while down')
        n = run.counts(m)
        t.check(all(v == 'OK' for v in got.values()) and
                n[0] + n[1] == 60 and
                (run.sbcd.backend_row(run.c.uri) or {}).get('attempts') ==
                attempts, 'probing: the 60 calls made while it is down go '
                'to the others %s' % n[:3])
    finally:
        run.c.resume()
    took = wait_state(run, run.c.uri, 'up', 6)
    t.check(took is not None and took <= 1 * 2 + 1.5,
            'probing: back, it is up in %s s (interval 1 x up_after 2, '
            '+ 1.5 s)' % (None if took is None else '%.1f' % took))
    time.sleep(0.5)
    late = [cid for cid, _ in run.c.invites(m[2]) if cid.startswith('down-')]
    t.check(not late, 'probing: none of the calls made while it was down '
            'reached it', late)
    m = run.marks()
    got = run.call(run.rows(60, 'up'), rate=100, what='after it is up')
    n = run.counts(m)
    t.check(all(v == 'OK' for v in got.values()) and near(n[2], 20, 3),
            'probing: it takes calls again %s' % n[:3])


def health_wait(run, want_ok, limit):
    """Seconds until health says want_ok, and the slowest answer."""
    start = time.monotonic()
    slowest = 0
    while time.monotonic() - start < limit:
        rc, line, took = run.sbcd.health()
        slowest = max(slowest, took)
        if (rc == 0) == want_ok and rc is not None:
            return time.monotonic() - start, line, slowest
        time.sleep(0.1)
    return None, line, slowest


def health(run):
    t = run.test
    rc, line, took = run.sbcd.health()
    t.check(rc == 0 and took < 1, 'health: 0 with everything up, in '
            '%.0f ms: %s' % (took * 1000, line))

    pid = run.sbcd.pids()[1]
    os.kill(pid, signal.SIGSTOP)
    try:
        took, line, slowest = health_wait(run, False, 3)
        t.check(took is not None and took <= 2 and slowest < 1 and
                'worker 1' in line,
                'health: worker 1 stopped: non-zero in %s s (%s), each '
                'answer under 1 s' % (took and '%.1f' % took, line))
    finally:
        os.kill(pid, signal.SIGCONT)
    took, line, slowest = health_wait(run, True, 3)
    t.check(took is not None and took <= 2,
            'health: worker 1 running again: 0 in %s s' %
            (took and '%.1f' % took))

    for b in run.all[:3]:
        b.pause()
    try:
        took, line, slowest = health_wait(run, False, 6)
        t.check(took is not None and 'no backend up' in line and
                slowest < 1, 'health: every backend of the set down: '
                'non-zero (%s)' % line)
    finally:
        for b in run.all:
            b.resume()
    took, line, slowest = health_wait(run, True, 5)
    t.check(took is not None, 'health: the backends back: 0 (%s)' % line)


def main(test):
    run = Run(test)
    try:
        for part in (spread_round_robin, spread_weighted, spread_call_id,
                     spread_aor, spread_least_loaded, capacity, failover,
                     reload_live, probing, health):
            test.note(part.__name__)
            part(run)
    finally:
        for b in run.all:
            b.resume()
    run.sbcd.stop()
    for b in run.all:
        b.sipp.stop()


if __name__ == '__main__':
    sbcit.run('backends', main, direct_ok=False)
