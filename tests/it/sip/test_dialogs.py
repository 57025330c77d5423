#!/usr/bin/env python3
"""Dialogs: keepalive for the whole call, BYE to both legs, limits, CDRs.

SIPp plays both parties (scenarios dialog_caller.xml and
dialog_callee.xml): a caller on sbcd's access side calls the backend.
Each part runs its own sbcd with the dialog settings it needs:

- seed 000: pings every 2 s; the calls last more than 10 intervals; both
  parties answer every ping and see the CSeqs rise; then the caller's BYE
  reaches the callee (with a CSeq above sbcd's pings) and is answered 200;
- a dead callee (silent; answering 481): both legs get a BYE within two
  ping intervals, the CDR names the callee leg;
- seed 002: 500 calls reach max_duration together; every one of the 1,000
  legs gets exactly one BYE, and there are 500 CDRs; again with a callee
  that answers BYE at once;
- sbcctl dialog end: both legs get their BYE, CDR reason operator; after
  a log rotation and SIGHUP the next CDR goes to a new file;
- a WebSocket caller (wsclient.py, as a browser) whose connection closes
  during the call: the callee still gets its BYE, the CDR names the
  caller leg;
- a reload that turns pings on: the calls already up are pinged;
- SIGTERM: every call gets BYE on both legs (CDR reason shutdown) before
  sbcd exits;
- kill -9 of the worker that owns the calls: after its restart the calls
  are still pinged, the caller's BYE ends one, sbcctl dialog end another;
- a full dialog table: INVITEs beyond it get 503 and are counted, the
  calls in it go on.
"""

import asyncio
import json
import os
import re
import signal
import time

import sbcit
import sipmsg

REASONS = {200: 'OK', 481: 'Call/Transaction Does Not Exist'}


def reply(code, next_label=None):
    """A SIPp <send> answering the last request with code (then jumping
    to next_label), or nothing."""
    if not code:
        return ''
    jump = ' next="%s"' % next_label if next_label else ''
    return '''  <send%s>
    <![CDATA[

      SIP/2.0 %d %s
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>''' % (jump, code, REASONS[code])


def node(test, ping=1, max_duration=0, workers=2, t1=100, dialogs=None):
    cdr = test.path('cdr-%d.jsonl' % len(test.procs))
    extra = ('dialog = { ping_interval = %d; max_duration = %d; };\n'
             'cdr = { file = "%s"; };\n' % (ping, max_duration, cdr))
    if dialogs:
        extra += 'dialogs = { max = %d; };\n' % dialogs
    s = test.sbcd(workers=workers, t1=t1, extra=extra)
    s.cdr = cdr
    return s


def callee_values(ping_code, bye_reply):
    if isinstance(bye_reply, int):
        bye_reply = reply(bye_reply)
    return {'PING_REPLY': reply(ping_code, 1),
            'PING_NEXT': 2 if ping_code else 1,
            'BYE_REPLY': bye_reply}


def callee(test, s, name, ping_code=200, bye_code=200, calls=1):
    return test.sipp(name, 'dialog_callee.xml', port=s.backend,
                     calls=calls, timeout=120,
                     values=callee_values(ping_code, bye_code))


def caller(test, s, name, pings=0, calls=1, rate=None, limit=None,
           timeout=120):
    """Callers that hang up after `pings` pings; 0: they wait for a BYE."""
    return test.sipp(name, 'dialog_caller.xml',
                     remote='%s:%d' % (sbcit.LOOPBACK, s.access),
                     calls=calls, rate=rate, limit=limit, timeout=timeout,
                     values={'PINGS': pings or 10 ** 9},
                     extra=['-s', 'bob'])


def cdrs(s):
    try:
        with open(s.cdr) as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError:
        return []


def wait_cdrs(s, n, limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        rows = cdrs(s)
        if len(rows) >= n:
            return rows
        time.sleep(0.2)
    return cdrs(s)


def sipp_log(test, sipp):
    """{call-id: [(method, cseq), ...]} from a scenario's log lines."""
    calls = {}
    try:
        with open(test.path(sipp.name + '.log'), errors='replace') as f:
            for line in f:
                m = re.search(r'(\S+) (OPTIONS|BYE) (\d+)\s*$', line)
                if m:
                    calls.setdefault(m.group(1), []).append(
                        (m.group(2), int(m.group(3))))
    except OSError:
        pass
    return calls


def byes_received(test, sipp):
    """{call-id: distinct BYE branches} from SIPp's message trace: a
    retransmission has its branch again, a second BYE a new one."""
    byes = {}
    try:
        with open(test.path(sipp.name + '.msg'), errors='replace') as f:
            text = f.read()
    except OSError:
        return byes
    for block in text.split('message received')[1:]:
        body = block.split('\n\n', 1)[-1].lstrip()
        if not body.startswith('BYE '):
            continue
        cid = re.search(r'(?im)^Call-ID:\s*(\S+)', body)
        br = re.search(r'(?i)branch=([^;\s]+)', body)
        if cid and br:
            byes.setdefault(cid.group(1), set()).add(br.group(1))
    return byes


def dialogs(s):
    return s.sbcctl_json('dialogs')


def seed_000(test):
    """Pings every 2 s for the whole call; the caller's BYE gets through."""
    test.note('seed 000: pings every 2 s, calls held for 11 pings')
    s = node(test, ping=2)
    be = callee(test, s, 's0-callee', calls=3)
    ua = caller(test, s, 's0-caller', pings=11, calls=3, rate=10)
    time.sleep(3)
    live = dialogs(s)
    test.check(live.get('count') == 3 and all(
        d['state'] == 'confirmed' for d in live['dialogs']),
        'sbcctl dialogs lists the 3 calls, confirmed', live)
    ua.expect('seed 000: the callers answer 11 pings and hang up', limit=60)
    be.expect('seed 000: the callee answers every ping and the BYE',
              limit=10)
    seen_a, seen_b = sipp_log(test, ua), sipp_log(test, be)
    for cid, reqs in sorted(seen_b.items()):
        pings = [c for m, c in reqs if m == 'OPTIONS']
        byes = [c for m, c in reqs if m == 'BYE']
        test.check(len(pings) >= 10 and len(seen_a.get(cid, [])) >= 11,
                   'call %s: both parties pinged throughout (callee %d, '
                   'caller %d)' % (cid, len(pings), len(seen_a.get(cid, []))))
        cseqs = [c for _, c in reqs]
        test.check(len(byes) == 1 and cseqs == sorted(set(cseqs)),
                   'call %s: the callee sees its CSeqs rise, the caller\'s '
                   'BYE (CSeq 2) last and above every ping' % cid, reqs)
    rows = wait_cdrs(s, 3, 5)
    test.check(len(rows) == 3 and all(
        r['reason'] == 'caller_bye' and r['ended_by'] == 'caller' and
        r['duration'] >= 20 for r in rows),
        '3 CDRs: caller_bye, each call over 20 s', rows)
    test.check(dialogs(s).get('count') == 0, 'no dialog left')
    s.stop()


def dead_leg(test, ping_code, what):
    """A callee that stops answering: BYE to both legs, CDR says why."""
    test.note('dead callee: %s' % what)
    s = node(test, ping=1)
    be = callee(test, s, 'dead%d-callee' % ping_code, ping_code=ping_code,
                bye_code=ping_code)
    ua = caller(test, s, 'dead%d-caller' % ping_code, pings=0)
    ua.expect('%s: the caller gets a BYE' % what, limit=20)
    be.expect('%s: the callee gets a BYE' % what, limit=20)
    rows = wait_cdrs(s, 1, 10)
    row = rows[0] if rows else {}
    test.check(len(rows) == 1 and row.get('reason') == 'leg_unreachable' and
               row.get('leg') == 'callee' and row.get('ended_by') == 'sbcd',
               '%s: the CDR says leg_unreachable, callee' % what, rows)
    # both pings go at 1 s; the BYEs must come within two intervals
    test.check(row and row['duration'] <= 3.0,
               '%s: the call ended within two ping intervals of its first '
               'ping (%.1f s after the answer)' % (what, row.get('duration',
                                                                  -1)))
    s.stop()


def seed_002(test, instant):
    what = 'seed 002 (%s)' % ('BYE answered at once' if instant else
                              'callee slow')
    test.note('%s: 500 calls reach max_duration together' % what)
    s = node(test, ping=0, max_duration=6, t1=500)
    be = test.sipp('s2-callee-%d' % instant, 'dialog_callee.xml',
                   port=s.backend, calls=500, timeout=120,
                   values=callee_values(200, reply(200) if instant else
                                        '  <pause milliseconds="300"/>\n' +
                                        reply(200)))
    ua = caller(test, s, 's2-caller-%d' % instant, pings=0, calls=500,
                rate=500, limit=500)
    ua.expect('%s: all 500 callers get their BYE' % what, limit=60)
    be.expect('%s: all 500 callees get their BYE' % what, limit=20)
    for side, sipp in (('caller', ua), ('callee', be)):
        byes = byes_received(test, sipp)
        once = sum(1 for b in byes.values() if len(b) == 1)
        test.check(len(byes) == 500 and once == 500,
                   '%s: every %s leg got exactly one BYE (%d legs, %d with '
                   'one)' % (what, side, len(byes), once))
    rows = wait_cdrs(s, 500, 10)
    ids = [r['call_id'] for r in rows]
    test.check(len(rows) == 500 and len(set(ids)) == 500 and all(
        r['reason'] == 'max_duration' for r in rows),
        '%s: 500 CDRs, none missing or doubled, all max_duration' % what,
        '%d rows, %d Call-IDs' % (len(rows), len(set(ids))))
    s.stop()


def operator_end(test):
    test.note('sbcctl dialog end on a live call')
    s = node(test, ping=1)
    be = callee(test, s, 'op-callee')
    ua = caller(test, s, 'op-caller', pings=0)
    time.sleep(1.5)
    live = dialogs(s)['dialogs']
    test.require(len(live) == 1, 'the call is listed', live)
    rc, out = s.sbcctl('dialog', 'end', live[0]['call_id'])
    test.check('ending' in out, 'sbcctl dialog end answers', out)
    ua.expect('operator: the caller gets its BYE', limit=10)
    be.expect('operator: the callee gets its BYE', limit=10)
    rows = wait_cdrs(s, 1, 5)
    test.check(len(rows) == 1 and rows[0]['reason'] == 'operator',
               'the CDR says operator', rows)
    rc, out = s.sbcctl('dialog', 'end', 'no-such-call', check=False)
    test.check(rc != 0, 'sbcctl dialog end of an unknown call fails', out)
    # log rotation: the file moved away, SIGHUP, the next CDR in a new one
    os.rename(s.cdr, s.cdr + '.1')
    os.kill(s.proc.pid, signal.SIGHUP)
    time.sleep(0.5)
    be = callee(test, s, 'op-callee-2')
    caller(test, s, 'op-caller-2', pings=1).expect('a call after SIGHUP',
                                                   limit=10)
    be.expect('its callee', limit=5)
    rows = wait_cdrs(s, 1, 5)
    test.check(len(rows) == 1 and rows[0]['reason'] == 'caller_bye',
               'after SIGHUP the CDR goes to a new file', rows)
    s.stop()


async def ws_call(test, s):
    from wsclient import WsUser
    ua = WsUser('alice', 'example.com', 'pw-alice')
    await ua.connect('ws://%s:%d' % (sbcit.LOOPBACK, s.ws))
    callid = sipmsg.token() + '@ws'
    frm = '<sip:alice@example.com>;tag=%s' % ua.from_tag

    def request(method, uri, to, cseq, extra=(), body=b''):
        headers = [('Via', ua.via())] + list(extra) + [
            ('Max-Forwards', '70'), ('From', frm), ('To', to),
            ('Call-ID', callid), ('CSeq', '%d %s' % (cseq, method)),
            ('Contact', '<%s>' % ua.contact_uri)]
        if body:
            headers.append(('Content-Type', 'application/sdp'))
        return sipmsg.build('%s %s SIP/2.0' % (method, uri), headers, body)

    await ua.send(request('INVITE', 'sip:bob@example.com',
                          '<sip:bob@example.com>', 1, body=sipmsg.sdp()))
    rsp = await ua.recv(5, lambda m: not m.is_request and m.code >= 200)
    test.require(rsp is not None and rsp.code == 200,
                 'the WebSocket caller gets the 200')
    routes = [('Route', r) for r in reversed(rsp.all('record-route'))]
    await ua.send(request('ACK', sipmsg.uri_of(rsp.get('contact')),
                          rsp.get('to'), 1, routes))
    ping = await ua.recv(5, lambda m: m.is_request and m.method == 'OPTIONS')
    test.check(ping is not None, 'the WebSocket caller is pinged')
    if ping is not None:
        await ua.send(sipmsg.response(ping, 200, 'OK'))
    await ua.ws.close()
    return callid


def ws_caller_closes(test):
    test.note('a WebSocket caller\'s connection closes during the call')
    s = node(test, ping=1)
    be = callee(test, s, 'ws-callee')
    callid = asyncio.run(ws_call(test, s))
    be.expect('the callee gets its BYE after the caller\'s WebSocket '
              'closed', limit=15)
    rows = wait_cdrs(s, 1, 15)
    test.check(len(rows) == 1 and rows[0]['call_id'] == callid and
               rows[0]['reason'] == 'leg_unreachable' and
               rows[0]['leg'] == 'caller',
               'the CDR says leg_unreachable, caller', rows)
    s.stop()


def shutdown(test):
    test.note('SIGTERM with calls up')
    s = node(test, ping=1)
    be = callee(test, s, 'term-callee', calls=5)
    ua = caller(test, s, 'term-caller', pings=0, calls=5, rate=50)
    time.sleep(1.5)
    test.require(dialogs(s).get('count') == 5, 'five calls up')
    s.stop()
    ua.expect('SIGTERM: every caller gets its BYE', limit=10)
    be.expect('SIGTERM: every callee gets its BYE', limit=10)
    rows = cdrs(s)
    test.check(len(rows) == 5 and all(r['reason'] == 'shutdown'
                                      for r in rows),
               'five CDRs with reason shutdown', rows)


def reload_pings(test):
    test.note('a reload turns pings on for the calls already up')
    s = node(test, ping=0)
    be = callee(test, s, 'rl-callee')
    ua = caller(test, s, 'rl-caller', pings=2)
    time.sleep(1)
    with open(s.conf) as f:
        text = f.read()
    with open(s.conf, 'w') as f:
        f.write(text.replace('ping_interval = 0;', 'ping_interval = 1;'))
    os.kill(s.proc.pid, signal.SIGHUP)
    ua.expect('after the reload the call up is pinged (2 pings, then the '
              'caller hangs up)', limit=15)
    be.expect('its callee', limit=5)
    s.stop()


def pings_after(test, sipp, since):
    """OPTIONS logged by a scenario after `since` lines of its log."""
    seen = sipp_log(test, sipp)
    return sum(1 for reqs in seen.values() for m, _ in reqs
               if m == 'OPTIONS') - since


def kill_owner(test):
    test.note('kill -9 of the worker that owns the calls')
    s = node(test, ping=1, workers=1)
    be = callee(test, s, 'kill-callee', calls=2)
    hangs_up = caller(test, s, 'kill-caller-bye', pings=6)
    waits = caller(test, s, 'kill-caller-wait', pings=0)
    time.sleep(1.5)
    test.require(dialogs(s).get('count') == 2, 'two calls up')
    before = pings_after(test, be, 0)
    pid = s.worker_pids[0]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = s.pids()
        if now.get(0) and now[0] != pid:
            break
        time.sleep(0.1)
    test.require(s.pids().get(0, pid) != pid, 'the worker is restarted')
    time.sleep(2.5)
    test.check(pings_after(test, be, before) >= 2,
               'the callee is still pinged after the restart')
    hangs_up.expect('after the restart the caller\'s BYE ends its call',
                    limit=20)
    live = [d for d in dialogs(s)['dialogs'] if d['state'] == 'confirmed']
    test.require(len(live) == 1, 'the other call is still up', live)
    s.sbcctl('dialog', 'end', live[0]['call_id'])
    waits.expect('after the restart sbcctl dialog end reaches the caller',
                 limit=10)
    be.expect('both callees got their BYE', limit=10)
    rows = wait_cdrs(s, 2, 5)
    test.check(sorted(r['reason'] for r in rows) ==
               ['caller_bye', 'operator'],
               'CDRs: caller_bye and operator', rows)
    s.worker_pids = s.pids()
    s.stop()


def table_full(test):
    test.note('a full dialog table')
    s = node(test, ping=1, dialogs=10)
    be = callee(test, s, 'full-callee', calls=40)
    ua = caller(test, s, 'full-caller', pings=3, calls=40, rate=40,
                limit=40)
    ua.wait(30)
    good, bad = ua.successful(), ua.failed()
    full = sum(w['counters'].get('dialogs_full', 0) for w in s.workers())
    test.check(good and bad and good + bad == 40 and 10 <= good < 40,
               'calls beyond the table are refused, those in it complete '
               '(%s ok, %s refused)' % (good, bad), ua.errors())
    test.check(full == bad, 'the refused INVITEs are counted (%d)' % full)
    refused = open(test.path('full-caller.msg'), errors='replace').read()
    test.check('SIP/2.0 503' in refused, 'the refusal is a 503')
    be.stop()
    rows = wait_cdrs(s, good, 5)
    test.check(len(rows) == good, '%d CDRs for the calls that went '
               'through' % len(rows))
    s.stop()


def main(test):
    seed_000(test)
    dead_leg(test, 0, 'silent callee')
    dead_leg(test, 481, 'callee answers 481')
    seed_002(test, instant=False)
    seed_002(test, instant=True)
    operator_end(test)
    reload_pings(test)
    ws_caller_closes(test)
    shutdown(test)
    kill_owner(test)
    table_full(test)


if __name__ == '__main__':
    sbcit.run('dialogs', main, direct_ok=False)
