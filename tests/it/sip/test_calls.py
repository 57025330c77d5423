#!/usr/bin/env python3
"""Calls through sbcd, both ways, with SIPp as the users and the backend.

Three user agents (SIPp, each on its own port) register ten users each
(a0001.., b0001.., c0001..), all behind NAT (their Via and Contact claim
192.168.x.y:5060). Then, each flow with SIPp on both sides:

- the backend calls every user, INVITE to sip:USER%40DOMAIN@CORE (the
  AOR form sbcd resolves to every binding of the AOR): each INVITE must
  reach the user agent that registered that user, with the user's
  registered Contact as Request-URI; every call has a re-INVITE from each
  side and the user ends it with BYE;
- the users call the backend (UDP, then TCP): the backend gets the
  Request-URI the user sent; re-INVITE both ways, the backend ends it;
- CANCEL after 180, and 486, each way.

Every in-dialog request follows the Record-Route set of sbcd, which must
face each side with its own address. With --direct the same scenarios
run user agent to backend, no sbcd: that proves the scenarios.
"""

import random

import sbcit
import test_register

DOMAIN = 'example.com'
AGENTS = ('a', 'b', 'c')
PER_AGENT = 10


def rr_check(test, port):
    """CHECK_RR: the Record-Route has sbcd's address on this side (port),
    loose routing. Nothing in direct mode."""
    if test.direct:
        return ''
    return ('      <ereg regexp="&lt;sip:([^@&gt;]*@)?127\\.0\\.0\\.1:%d;'
            '[^&gt;]*lr" search_in="msg" check_it="true" assign_to="rr"/>\n'
            '      <log message="Record-Route facing this side: [$rr]"/>'
            % port)


def user_ruri_re(test, prefix):
    """What a user agent must see as Request-URI: through sbcd the Contact
    the user registered; directly, what the backend sent."""
    if test.direct:
        return r'^INVITE sip:(%s[0-9]+)%%40example\.com@127\.0\.0\.1:[0-9]+ ' \
            % prefix
    return r'^INVITE sip:(%s[0-9]+)@192\.168\.[0-9]+\.[0-9]+:5060[; ]' % prefix


BACKEND_RURI_RE = r'^INVITE sip:(echo)@example\.com '


class Setup:
    """Where everything is: sbcd's ports, or the backend's alone."""

    def __init__(self, test):
        self.test = test
        if test.direct:
            self.sbcd = None
            self.backend = sbcit.free_port()
            self.access = self.backend          # users talk to it directly
            self.core = 0
        else:
            self.sbcd = test.sbcd()
            self.backend = self.sbcd.backend
            self.access = self.sbcd.access
            self.core = self.sbcd.core
        self.agents = {p: sbcit.free_port() for p in AGENTS}
        self.users = {p: sbcit.users(p, PER_AGENT, DOMAIN) for p in AGENTS}

    def callee(self, name, scenario, prefix, calls):
        """A user agent's SIPp answering calls on its registered port."""
        test = self.test
        return test.sipp(name, scenario, port=self.agents[prefix],
                         calls=calls, timeout=30,
                         keys={'me': '192.168.77.%d:5060' %
                               (1 + AGENTS.index(prefix))},
                         values={'RURI_RE': user_ruri_re(test, prefix),
                                 'USER_RE': prefix + '[0-9]+',
                                 'CHECK_RR': rr_check(test, self.access)},
                         extra=['-aa'])

    def backend_callee(self, name, scenario, calls, transport='u1'):
        """The backend answering calls (over UDP behind sbcd; directly, over
        the users' transport)."""
        return self.test.sipp(name, scenario, port=self.backend, calls=calls,
                              timeout=30,
                              transport=transport if self.test.direct
                              else 'u1',
                              keys={'me': '127.0.0.1:%d' % self.backend},
                              values={'RURI_RE': BACKEND_RURI_RE,
                                      'USER_RE': 'echo',
                                      'CHECK_RR': rr_check(self.test,
                                                           self.core)})

    def backend_callers(self, name, scenario, users):
        """The backend calls users: one SIPp through sbcd (from the
        backend's address), or one per user agent in direct mode."""
        test = self.test
        groups = {}
        for u in users:
            groups.setdefault(self.core or self.agents[u[0][0]], []).append(u)
        runs = []
        for i, (port, rows) in enumerate(sorted(groups.items())):
            own = sbcit.free_port() if test.direct else self.backend
            csv = [('%s%%40%s' % (u[0], DOMAIN), '127.0.0.1:%d' % port,
                    u[0], DOMAIN, 'backend', '127.0.0.1:%d' % own)
                   for u in rows]
            random.shuffle(csv)
            inf = sbcit.write_csv(test.path('%s-%d.csv.in' % (name, i)), csv)
            runs.append(test.sipp(
                '%s-%d' % (name, i), scenario, remote='127.0.0.1:%d' % port,
                port=own, inf=inf,
                calls=len(csv), rate=20, timeout=30,
                values={'CHECK_RR': rr_check(test, self.core)}))
        return runs

    def user_caller(self, name, scenario, users, transport='u1'):
        """Users call the backend (echo@example.com) from one SIPp."""
        test = self.test
        csv = [('echo', DOMAIN, 'echo', DOMAIN, u[0], u[2] + ':5060')
               for u in users]
        inf = sbcit.write_csv(test.path(name + '.csv.in'), csv)
        return test.sipp(name, scenario, remote='127.0.0.1:%d' % self.access,
                         inf=inf, calls=len(csv), rate=20, timeout=30,
                         transport=transport,
                         values={'CHECK_RR': rr_check(test, self.access)})


def register_all(s):
    test = s.test
    test.note('three user agents register %d users each' % PER_AGENT)
    backend = test_register.registrar(test, 'reg-backend', s.backend, s.core,
                                      PER_AGENT * len(AGENTS))
    runs = [test_register.register(test, 'reg-' + p, s.users[p],
                                   '127.0.0.1:%d' % s.access,
                                   port=s.agents[p], rate=50)
            for p in AGENTS]
    for p, run in zip(AGENTS, runs):
        run.expect('agent %s registers its users' % p)
    backend.expect('backend registers them all')
    regs = s.sbcd.registrations()
    wrong = []
    for p in AGENTS:
        src = '127.0.0.1:%d' % s.agents[p]
        for u in s.users[p]:
            found = [r for r in regs if r.get('aor') == u[0] + '@' + DOMAIN]
            if len(found) != 1 or found[0].get('source') != src:
                wrong.append((u[0], src, found))
    test.check(not wrong, 'each user has one binding, from its agent\'s port',
               wrong[:5])


def backend_calls_users(s):
    test = s.test
    test.note('the backend calls all %d users' % (PER_AGENT * len(AGENTS)))
    callees = [s.callee('b2u-' + p, 'callee_call.xml', p, PER_AGENT)
               for p in AGENTS]
    everyone = [u for p in AGENTS for u in s.users[p]]
    callers = s.backend_callers('b2u-backend', 'caller_call.xml', everyone)
    for run in callers:
        run.expect('backend calls users (re-INVITE both ways, user hangs up)')
    for p, run in zip(AGENTS, callees):
        run.expect('agent %s gets exactly the calls for its users' % p)


def users_call_backend(s):
    test = s.test
    for transport, label in (('u1', 'UDP'), ('t1', 'TCP')):
        test.note('users call the backend over %s' % label)
        users = s.users['a'][:5] + s.users['b'][:5]
        backend = s.backend_callee('u2b-%s-backend' % label, 'callee_call.xml',
                                   len(users), transport)
        caller = s.user_caller('u2b-%s' % label, 'caller_call.xml', users,
                               transport)
        caller.expect('users call the backend over %s (re-INVITE both ways, '
                      'backend hangs up)' % label)
        backend.expect('backend gets the calls with the R-URI the users sent '
                       '(%s)' % label)


def cancel_and_busy(s):
    test = s.test
    for flow, what in (('cancel', 'CANCEL after 180'), ('busy', '486')):
        test.note('%s, backend to user' % what)
        users = s.users['b'][:3]
        callee = s.callee('b2u-%s-b' % flow, 'callee_%s.xml' % flow, 'b',
                          len(users))
        for run in s.backend_callers('b2u-%s-backend' % flow,
                                     'caller_%s.xml' % flow, users):
            run.expect('backend to user: %s' % what)
        callee.expect('user gets %s' % what)

        test.note('%s, user to backend' % what)
        backend = s.backend_callee('u2b-%s-backend' % flow,
                                   'callee_%s.xml' % flow, len(users))
        caller = s.user_caller('u2b-%s' % flow, 'caller_%s.xml' % flow,
                               users)
        caller.expect('user to backend: %s' % what)
        backend.expect('backend gets %s' % what)


def main(test):
    s = Setup(test)
    if s.sbcd:
        register_all(s)
    backend_calls_users(s)
    users_call_backend(s)
    cancel_and_busy(s)
    if s.sbcd:
        s.sbcd.stop()


if __name__ == '__main__':
    sbcit.run('calls', main)
