#!/usr/bin/env python3
"""A worker killed with SIGKILL under load (DESIGN.md section 1).

500 users register; then SIPp users call the SIPp backend through sbcd
at 50 calls per second for 20 s (1,000 calls of one second each). In the
middle, worker 0 (its pid from `sbcctl workers --json`) gets SIGKILL:

- the supervisor starts a new worker 0 (another pid) within 10 s;
- calls go on: at most 5 % of all calls fail (the ones worker 0 held
  when it died), and every call that started after the new worker 0
  showed up succeeds;
- no registration is lost: as many bindings after as before.

With --direct the same load runs user to backend, no sbcd, no kill: that
proves the scenarios and the per-call bookkeeping.
"""

import os
import signal
import time

import sbcit
import test_register

RATE = 50
CALLS = 1000
USERS = 500
KILL_AFTER = 8.0
MAX_FAILED = 0.05


def call_times(test, run):
    """{call number: start time} and {call number: end time} of the calls
    that got through, from caller_short.xml's log lines."""
    started, done = {}, {}
    try:
        with open(test.path(run.name + '.log'), errors='replace') as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[0] in ('start', 'done'):
                    when = float(parts[-1])
                    (started if parts[0] == 'start' else done)[parts[1]] = \
                        when
    except OSError:
        pass
    return started, done


def parent_of(pid):
    with open('/proc/%d/stat' % pid) as f:
        return int(f.read().rsplit(')', 1)[1].split()[1])


def kill_worker0(test, s):
    """SIGKILL worker 0, wait for its replacement: (kill time, time the
    new worker was seen), or None."""
    before = s.pids()
    old = before.get(0)
    test.require(old is not None, 'sbcctl workers lists worker 0', before)
    test.require(parent_of(old) == s.proc.pid,
                 'worker 0 (pid %d) is a child of our sbcd' % old)
    os.kill(old, signal.SIGKILL)
    killed = time.time()
    test.note('worker 0, pid %d, killed' % old)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        new = s.pids().get(0)
        if new and new != old:
            seen = time.time()
            test.check(True, 'the supervisor restarted worker 0: pid %d -> %d '
                       'in %.1f s' % (old, new, seen - killed))
            return killed, seen
        time.sleep(0.1)
    test.check(False, 'the supervisor restarted worker 0 within 10 s',
               s.pids())
    return None


def main(test):
    calls = 200 if test.direct else CALLS
    if test.direct:
        s = None
        backend_port = sbcit.free_port()
        access, core = backend_port, 0
    else:
        s = test.sbcd(workers=2)
        backend_port, access, core = s.backend, s.access, s.core
        test.note('%d users register' % USERS)
        backend = test_register.registrar(test, 'reg-backend', backend_port,
                                          core, USERS, timeout=60)
        rows = sbcit.users('k', USERS)
        users = test_register.register(test, 'reg-users', rows,
                                       '127.0.0.1:%d' % access, rate=300,
                                       timeout=60)
        users.expect('%d users register' % USERS)
        backend.expect('the backend registers them')
        before = len(s.registrations())
        test.check(before == USERS, '%d bindings before the load (got %d)' %
                   (USERS, before))

    test.note('%d calls at %d/s, users to backend' % (calls, RATE))
    callee = test.sipp('load-backend', 'callee_short.xml', port=backend_port,
                       calls=calls, timeout=90, recv_timeout=10,
                       keys={'me': '127.0.0.1:%d' % backend_port})
    csv = [('echo', 'example.com', 'echo', 'example.com', 'k%04d' % (i + 1),
            '192.168.%d.%d:5060' % (1 + i // 250, 1 + i % 250))
           for i in range(USERS)]
    inf = sbcit.write_csv(test.path('load-users.csv.in'), csv)
    caller = test.sipp('load-users', 'caller_short.xml',
                       remote='127.0.0.1:%d' % access, inf=inf, calls=calls,
                       rate=RATE, limit=400, timeout=90, recv_timeout=10)

    restart = None
    if s:
        time.sleep(KILL_AFTER)
        restart = kill_worker0(test, s)
    rc = caller.wait(120)
    callee.stop()

    started, done = call_times(test, caller)
    failed = sorted(set(started) - set(done), key=int)
    test.check(len(started) == calls, 'all %d calls were started (%d)' %
               (calls, len(started)), caller.errors())
    if s:
        test.check(len(failed) <= MAX_FAILED * calls,
                   'at most %d%% of the calls failed: %d of %d' %
                   (MAX_FAILED * 100, len(failed), calls), caller.errors())
    else:
        test.check(rc == 0 and not failed, 'every call succeeded (sipp exit '
                   '%s, %d failed)' % (rc, len(failed)), caller.errors())
    if restart:
        killed, seen = restart
        late = [n for n in failed if started[n] >= seen]
        after = [n for n in started if started[n] >= seen]
        test.check(after and not late,
                   'every call started after the restart succeeded '
                   '(%d started, %d failed)' % (len(after), len(late)),
                   'failed calls: %s' % ' '.join(late[:30]))
        around = [n for n in failed if killed - 2 <= started[n] < seen]
        test.note('failed calls: %d, of which %d started within 2 s before '
                  'the kill until the restart' % (len(failed), len(around)))
    if s:
        after = len(s.registrations())
        test.check(after == before, 'no registration lost: %d bindings '
                   'after, %d before' % (after, before))
        s.stop(expect_same_workers=False)


if __name__ == '__main__':
    sbcit.run('kill', main)
