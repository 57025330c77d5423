#!/usr/bin/env python3
"""REGISTER through sbcd, with SIPp as the users and as the backend.

1. One user behind NAT (Via and Contact claim 192.168.x.y:5060) registers:
   the backend sees the Contact rewritten to sbcd's core address
   (<sip:USER%40DOMAIN@CORE;sbcb=HEX>, nothing of the private address),
   challenges with 401, checks the digest of the second REGISTER and
   grants 600 s. The binding is not in `sbcctl registrations` while the
   200 is held back, and is there after it, with the address the REGISTER
   really came from and the granted expiry. The user gets its own Contact
   back in the 200.
2. The same user registers again from another port (its NAT mapping
   changed): still one binding, now with the new source.
3. 1,000 users register at 300 per second: every one is listed after.

With --direct the users register with the SIPp backend itself (no sbcd):
that proves the scenarios, not sbcd.
"""

import time

import sbcit

GRANT = 600


def registrar_values(test, core_port):
    """The template values of backend_registrar.xml: what Contact the
    backend must see, through sbcd or directly from the user."""
    if test.direct:
        return {'CONTACT_RE': r'&lt;sip:([^@&gt;;]+)@192\.168\.[0-9.]+:5060&gt;',
                'CONTACT_USER': '[$touser]'}
    return {'CONTACT_RE': r'&lt;sip:([^@&gt;;]+)@127\.0\.0\.1:%d'
                          r'(;[^&gt;;]+)*;sbcb=[0-9A-Fa-f]+(;[^&gt;;]+)*&gt;'
                          % core_port,
            'CONTACT_USER': '[$touser]%40[$todom]'}


def check_binding(test, reg, aor, source, grant):
    test.check(reg.get('aor') == aor, 'binding has aor %s (got %s)' %
               (aor, reg.get('aor')))
    test.check(reg.get('source') == source,
               'binding source is where the REGISTER came from, %s '
               '(got %s)' % (source, reg.get('source')))
    test.check(str(reg.get('transport', '')).lower() == 'udp',
               'binding transport udp (got %s)' % reg.get('transport'))
    left = int(reg.get('expires', -1))
    test.check(grant - 15 <= left <= grant,
               'binding expiry is the one the backend granted, %d s '
               '(left: %d s)' % (grant, left))
    test.check(reg.get('conn') is None, 'no connection for UDP (got %s)' %
               reg.get('conn'))
    test.check(reg.get('user_agent') == 'sbcd-it SIPp user',
               'binding keeps the User-Agent (got %r)' %
               reg.get('user_agent'))
    test.check('192.168.' in str(reg.get('contact', '')),
               "binding keeps the user's own Contact (got %s)" %
               reg.get('contact'))


def register(test, name, rows, target, port=0, rate=None, timeout=30):
    inf = sbcit.write_csv(test.path(name + '.csv.in'), rows)
    return test.sipp(name, 'user_register.xml', remote=target, port=port,
                     inf=inf, calls=len(rows), rate=rate, timeout=timeout,
                     values={'EXPIRES': 3600})


def registrar(test, name, backend_port, core_port, calls, hold='',
              timeout=30):
    values = registrar_values(test, core_port)
    values.update({'GRANT': GRANT, 'HOLD': hold})
    return test.sipp(name, 'backend_registrar.xml', port=backend_port,
                     calls=calls, timeout=timeout, values=values)


def wait_file(path, limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            open(path).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def one_user(test, sbcd, target, backend_port, core_port):
    test.note('one user registers, the backend holds its 200 back 1.5 s')
    mark = test.path('auth-seen')
    hold = ('  <nop hide="true"><action><exec command="touch %s"/></action>'
            '</nop>\n  <pause milliseconds="1500"/>' % mark)
    backend = registrar(test, 'reg1-backend', backend_port, core_port, 1,
                        hold=hold)
    time.sleep(0.3)
    alice = [('alice', 'example.com', '192.168.1.10', 'pw-alice')]
    user = register(test, 'reg1-user', alice, target)

    test.require(wait_file(mark, 10),
                 'the backend got the authenticated REGISTER',
                 backend.errors() + user.errors())
    if sbcd:
        regs = sbcd.registrations('alice@example.com')
        test.check(regs == [], 'no binding before the backend answers 200',
                   regs)
    user.expect('user alice registers (401, then 200 with its own Contact)')
    backend.expect('backend saw the Contact rewritten and valid credentials')
    if not sbcd:
        return
    regs = sbcd.registrations('alice@example.com')
    if test.check(len(regs) == 1, 'one binding after the 200', regs):
        check_binding(test, regs[0], 'alice@example.com',
                      '127.0.0.1:%d' % user.port, GRANT)

    test.note('alice registers again from another port (NAT rebinding)')
    backend = registrar(test, 'reg2-backend', backend_port, core_port, 1)
    time.sleep(0.3)
    user2 = register(test, 'reg2-user', alice, target)
    user2.expect('alice registers again')
    backend.expect('backend grants the refresh')
    regs = sbcd.registrations('alice@example.com')
    test.check(len(regs) == 1 and
               regs[0].get('source') == '127.0.0.1:%d' % user2.port,
               'still one binding, now from 127.0.0.1:%d' % user2.port, regs)


def many_users(test, sbcd, target, backend_port, core_port, count=1000):
    test.note('%d users register at 300/s' % count)
    backend = registrar(test, 'bulk-backend', backend_port, core_port, count,
                        timeout=60)
    time.sleep(0.3)
    rows = sbcit.users('r', count)
    user = register(test, 'bulk-users', rows, target, rate=300, timeout=60)
    user.expect('%d users register' % count)
    backend.expect('backend registers %d users' % count)
    if not sbcd:
        return
    regs = sbcd.registrations()
    listed = {r.get('aor') for r in regs}
    missing = [r[0] for r in rows if '%s@%s' % (r[0], r[1]) not in listed]
    test.check(not missing, 'every one of the %d users is listed '
               '(%d bindings in all)' % (count, len(regs)),
               'missing: %s' % ' '.join(missing[:50]))
    test.check(len(regs) == count + 1,
               '%d bindings: the %d users and alice (got %d)' %
               (count + 1, count, len(regs)))
    wrong = [r for r in regs if r.get('aor', '').startswith('r') and
             r.get('source') != '127.0.0.1:%d' % user.port]
    test.check(not wrong, 'every binding has the real source 127.0.0.1:%d' %
               user.port, wrong[:5])


def main(test):
    sbcd = None
    if test.direct:
        backend_port = sbcit.free_port()
        core_port = 0
        target = '127.0.0.1:%d' % backend_port
    else:
        sbcd = test.sbcd()
        backend_port, core_port = sbcd.backend, sbcd.core
        target = '127.0.0.1:%d' % sbcd.access
    one_user(test, sbcd, target, backend_port, core_port)
    many_users(test, sbcd, target, backend_port, core_port)
    if sbcd:
        sbcd.stop()


if __name__ == '__main__':
    sbcit.run('register', main)
