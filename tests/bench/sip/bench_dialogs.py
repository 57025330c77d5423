#!/usr/bin/env python3
"""Dialog benchmark: what tracking and keepalive cost sbcd (workers=2).

In one run, on loopback, with bench_sip.py's method (SIPp -> proxy ->
SIPp, rising rates, 8 s per step, zero-failure rate = the highest step
where every call succeeded):

- baseline: a build of sbcd without dialog tracking (--baseline DIR: a
  build of the tree before dialogs), short calls (INVITE, 180, 200, ACK,
  BYE at once);
- tracked: this build, the same short calls: every call is an early then
  a confirmed dialog in the shared table and a CDR line;
- pinged: this build, calls held for two keepalive rounds (ping_interval
  1 s: an OPTIONS to each leg every second, answered 200, then the
  caller's BYE), so at N calls/s about 2N dialogs are up and 2N OPTIONS/s
  go out; the scenarios are the integration test's (dialog_caller.xml,
  dialog_callee.xml).

Then the shared memory a dialog takes, from the segment's layout line.

Usage: bench_dialogs.py --build DIR [--baseline DIR] [--quick].
"""

import argparse
import os
import re
import shutil
import sys
import time

import bench_sip as bs

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, '..', '..', 'it', 'sip', 'scenarios')
sys.path.insert(0, os.path.join(HERE, '..', '..', 'it', 'sip'))
import test_dialogs as td  # noqa: E402  (the scenarios' slot fillers)


def render(run, name, values):
    with open(os.path.join(SCENARIOS, name)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace('@%s@' % k, str(v))
    path = os.path.join(run.tmp, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def sweep(run, proxy, rates, seconds, uas, uac, label):
    best, bad = None, None
    bs.load(run, proxy, uas, uac, 50, 50, '%s-warmup' % label)
    for rate in rates:
        r = bs.load(run, proxy, uas, uac, rate * seconds, rate,
                    '%s-%d' % (label, rate))
        r['rate'] = rate
        print('  %-14s %5d calls/s: %d ok, %d failed, %d retransmissions' %
              (label, rate, r['ok'], r['failed'], r['retrans']), flush=True)
        if r['failed']:
            bad = r
            break
        best = r
    return best, bad


def shm_per_dialog(log):
    """(bytes of segment per dialog, slots, record size) from the layout
    line: 'dialogs max N in S slots x B B = X MiB'."""
    with open(log, errors='replace') as f:
        m = re.search(r'dialogs max (\d+) in (\d+) slots x (\d+) B', f.read())
    if not m:
        return None
    n, slots, rec = (int(g) for g in m.groups())
    return (slots * (rec + 8)) / n, slots, rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--baseline', help='a build of sbcd without dialogs')
    ap.add_argument('--quick', action='store_true')
    opts = ap.parse_args()
    opts.build = os.path.abspath(opts.build)
    if opts.baseline:
        opts.baseline = os.path.abspath(opts.baseline)
    if not shutil.which('sipp'):
        print('SKIP: sipp is not installed')
        return 77
    if opts.quick:
        rates, held, seconds = [50, 100], [20, 40], 2
    else:
        rates = [1000, 2000, 3000, 3500, 4000, 4500, 5000, 6000]
        held = [250, 500, 1000, 1500, 2000, 2500, 3000, 3500]
        seconds = 8

    run = bs.Run()
    rows = []
    short_uas = ['-sf', os.path.join(HERE, 'call_uas.xml')]
    try:
        uac = render(run, 'dialog_caller.xml', {'PINGS': 2})
        uas = render(run, 'dialog_callee.xml', td.callee_values(200, 200))
        held_uac = ['-sf', uac, '-s', 'bob', '-default_behaviors',
                    'all,-abortunexp']
        held_uas = ['-sf', uas]
        cdr = os.path.join(run.tmp, 'cdr.jsonl')
        cases = []
        if opts.baseline:
            cases.append(('baseline', opts.baseline, '', rates, short_uas,
                          bs.CALL_UAC))
        cases.append(('tracked', opts.build, bs.NO_PROBES +
                      '\ncdr = { file = "%s"; };' % cdr, rates, short_uas,
                      bs.CALL_UAC))
        cases.append(('pinged', opts.build, bs.NO_PROBES +
                      '\ndialog = { ping_interval = 1; };\n'
                      'cdr = { file = "%s"; };' % cdr, held, held_uas,
                      held_uac))
        layout = None
        for label, build, extra, rs, a_uas, a_uac in cases:
            p = bs.Sbcd(run, 'sbcd-' + label, build, 2, extra,
                        level='info')
            if not p.start():
                print('FAIL: sbcd (%s) did not start' % label)
                return 1
            best, bad = sweep(run, p, rs, seconds, a_uas, a_uac, label)
            p.stop()
            if label != 'baseline':
                layout = shm_per_dialog(p.log) or layout
            rows.append((label, best, bad))
        print()
        head = ('sbcd workers=2', 'zero-fail calls/s', 'next step failed',
                'dialogs up', 'pings/s', 'proxy µs/call', 'SIPp µs/call')
        body = []
        for label, best, bad in rows:
            up = best['rate'] * 2 if best and label == 'pinged' else 0
            body.append((
                label, str(best['rate']) if best else '-',
                '%d of %d at %d/s' % (bad['failed'], bad['ok'] +
                                      bad['failed'], bad['rate'])
                if bad else 'none',
                '~%d' % up if up else '-',
                '~%d' % (up * 2) if up else '-',
                '%.0f' % bs.us_per(best['proxy_cpu'], best['ok'])
                if best else '-',
                '%.0f' % bs.us_per(best['sipp_cpu'], best['ok'])
                if best else '-'))
        widths = [max(len(r[i]) for r in [head] + body)
                  for i in range(len(head))]
        for r in [head] + body:
            print('  '.join(c.ljust(w) for c, w in zip(r, widths)))
        if layout:
            print('\nshared memory per dialog: %.0f B (a %d B record and '
                  'its 8 B slot word, %d slots for dialogs.max)' %
                  (layout[0], layout[2], layout[1]))
    finally:
        run.close()
    return 0 if all(best for _, best, _ in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
