#!/usr/bin/env python3
"""sbcd starts on a keepalived VIP that has not arrived yet (seed 003).

An access listener on 192.0.2.10 (TEST-NET-1, an address this host does
not hold) is bound with IP_FREEBIND by every worker: sbcd starts, every
worker runs, `sbcctl status` lists the listener, and the loopback
listeners serve. Nothing is ever sent to that address.
"""

import sbcit

VIP = '192.0.2.10'


def main(test):
    port = sbcit.free_port()
    s = test.sbcd(listen=['udp:%s:%d' % (VIP, port),
                          'tcp:%s:%d' % (VIP, port)])
    _, status = s.sbcctl('status')
    test.check('%s' % VIP in status and str(port) in status,
               'sbcctl status lists the VIP listeners', status)
    workers = s.workers()
    test.check(len(workers) == 2 and
               all(w.get('state') == 'running' for w in workers),
               'both workers run with the VIP bound', workers)
    s.stop()


if __name__ == '__main__':
    sbcit.run('vip', main, direct_ok=False, uses_sipp=False)
