#!/usr/bin/env python3
"""WebRTC end to end: a browser through sbcd to a softphone.

A real browser, headless Chromium running JsSIP (page.js, driver.mjs),
registers and calls over WSS through sbcd; behind sbcd, as on an
operator's core network, Kamailio is the registrar and proxy (sbcd's one
backend) and baresip a softphone on UDP, registered with Kamailio. sbcd's
RTP relay stands between the browser (access side, 127.0.0.1) and the
core (127.0.0.2): to the browser it must be a WebRTC peer (ICE-lite,
DTLS-SRTP, rtcp-mux, BUNDLE), to baresip a plain RTP one. Each end plays
its own tone, so each direction is known by its frequency: the browser's
fake microphone 440 Hz, baresip 1000 Hz. What is checked:

1. The browser registers over WSS through sbcd (sbcctl registrations has
   it; Kamailio's location table has sbcd's core contact for it), and
   baresip registers with Kamailio.
2. The browser calls baresip (default bundle policy): baresip answers;
   the browser receives RTP (inbound-rtp packetsReceived grows) and hears
   1000 Hz; baresip's recording holds 440 Hz; the browser hangs up:
   baresip's call ends, sbcd writes the CDR, and neither sbcctl dialogs
   nor sbcctl media lists the call any more. Codecs pass through: the
   INVITE baresip got (its SIP trace) names the formats of the browser's
   offer, in its order, with the same rtpmaps, and both ends take Opus
   (the browser's inbound-rtp and outbound-rtp codec audio/opus). The
   relay's statistics, per leg: sbcctl media --json shows the browser's
   side "webrtc", DTLS connected, ICE consent, latched, no SRTP
   authentication failure, packets in and out growing, and baresip's
   side "plain" with packets both ways; the sbcctl media table says
   "webrtc dtls:connected"; the CDR's "media" has the same (its DTLS
   "connected", or "closed" when the browser's close_notify came before
   its BYE) and at least the packets seen during the call.
3. The same with bundlePolicy max-bundle; and calls where the browser
   offers PCMU, then G722, with telephone-event only: that codec at the
   browser both ways, audio both ways, telephone-event in what baresip
   got.
4. baresip calls the browser (Kamailio, then sbcd's core side, then the
   WebSocket): the page answers; audio both ways; baresip hangs up.
5. baresip holds the call and resumes it: the browser sees a=sendonly,
   then sendrecv; baresip's audio stops while it holds and flows again
   after; its recording after the resume holds the browser's tone.
6. No common codec: the browser offers PCMA only (baresip's account takes
   opus, G722 and PCMU): baresip
   refuses with 488, the browser's call fails with it (JsSIP's failed,
   Incompatible SDP), sbcctl dialogs and sbcctl media soon hold nothing
   of it (the relay's session goes within 15 s), sbcd still answers.
7. The browser's tab closes mid-call: baresip gets a BYE (sbcd finds the
   leg gone by its in-dialog OPTIONS, every 2 s here), the binding, the
   dialog and the media session go, and the CDR is written.
For each call it also prints the setup times, from the INVITE to the 200
and to the first media each way (the browser polls getStats every 20 ms;
baresip's side is its recording's first sound, polled every 20 ms); a
time over 2 s fails.

Everything runs in a network namespace of its own with only lo in it
(unshare --net, as root; on the host's network otherwise): Chromium and
baresip gather ICE candidates on every interface, and media must stay on
loopback. Addresses: sbcd's access side and the browser 127.0.0.1, sbcd's
core side and relay 127.0.0.2, Kamailio 127.0.0.3, baresip 127.0.0.4.

--direct runs the harness instead, to prove it apart from sbcd's relay
(the *_scenarios runs of ../sip do the same for SIPp): baresip calls
baresip through Kamailio (tones, recording, auto-answer, hold and resume,
hangup), and a browser tab calls another through two sbcd nodes with
rtp.workers = 0 (browser, sbcd a, Kamailio, sbcd b, browser; media goes
browser to browser on loopback), with both bundle policies and a tab
that closes mid-call. Two nodes, because one sbcd takes a call that
comes back to it through Kamailio (a spiral) for a loop (482).

It needs chromium (skipped, 77, without it), node with this folder's
node_modules (npm ci is run here when they are missing), baresip-core
and kamailio. Usage: test_webrtc.py [--build DIR] [--direct] [--keep].
"""

import fcntl
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'sip'))

import sbcit            # noqa: E402
import webrtc as W      # noqa: E402

BROWSER_TONE = 440      # Hz, the browser's fake microphone
PHONE_TONE = 1000       # Hz, baresip (bob)
OTHER_TONE = 700        # Hz, the second baresip of --direct (carol)
TONE_SLACK = 20         # Hz, the browser analyser's bins are 6 Hz wide
SETUP_LIMIT_MS = 2000   # a setup time over this fails
NODE_PACKAGES = ('playwright-core', 'jssip', 'esbuild')


def uri(user):
    return 'sip:%s@%s' % (user, W.DOMAIN)


# -- before anything -------------------------------------------------------

def node_modules_ready():
    return all(os.path.exists(os.path.join(HERE, 'node_modules', p,
                                           'package.json'))
               for p in NODE_PACKAGES)


def npm_ci():
    """The driver's packages (package-lock.json), installed here by npm ci
    when tests/run.sh has not done it: (ok, npm's output)."""
    if node_modules_ready():
        return True, ''
    print('-- node_modules missing: npm ci in %s' % HERE, flush=True)
    try:
        res = subprocess.run(['npm', 'ci', '--no-audit', '--no-fund'],
                             cwd=HERE, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return res.returncode == 0 and node_modules_ready(), \
        res.stdout + res.stderr


def programs(test):
    missing = [p for p in ('node', 'baresip', 'kamailio', 'kamcmd')
               if not shutil.which(p)]
    test.require(not missing, 'the peers are installed (missing: %s)' %
                 (', '.join(missing) or 'none'))
    test.require(node_modules_ready(), 'the driver\'s node_modules are '
                 'installed (npm ci in %s)' % HERE)
    test.note('network: %s' % ('a namespace of its own, loopback only'
                               if os.environ.get(NETNS_ENV) else
                               'the host\'s (no namespace could be made)'))


# -- what a call shows -----------------------------------------------------

class Timings:
    """The setup times of the run's calls, printed at the end."""

    def __init__(self):
        self.rows = []

    def add(self, what, answer, browser_rx, phone_rx):
        self.rows.append((what, answer, browser_rx, phone_rx))

    def show(self, test):
        def ms(v):
            return '%5d ms' % v if v is not None else '     -  '
        test.note('setup times, from the INVITE (sent by the caller):')
        print('    %-44s %8s %8s %8s' % ('call', '200', 'rx@web', 'rx@sip'))
        for what, answer, browser_rx, phone_rx in self.rows:
            print('    %-44s %s %s %s' % (what[:44], ms(answer),
                                          ms(browser_rx), ms(phone_rx)))


def packets(stats):
    rtp = stats.get('rtp') or {}
    return ((rtp.get('inbound') or {}).get('packetsReceived')) or 0


def call_of(reply):
    return reply.get('call') or {}


def browser_growth(test, tab, what, gap=1.0):
    """Two samples of the tab's inbound-rtp packetsReceived, gap apart:
    check that it grows; (first, second)."""
    first = packets(tab.stats())
    time.sleep(gap)
    second = packets(tab.stats())
    test.check(second > first > 0,
               '%s: the browser\'s inbound-rtp packetsReceived grows (%d, '
               'then %d %.0f s later)' % (what, first, second, gap))
    return first, second


def browser_hears(test, tab, what, freq):
    tone = tab.tone()
    peak = tone.get('peakHz')
    test.check(tone.get('ok') and abs(peak - freq) <= TONE_SLACK,
               '%s: the browser hears %d Hz (loudest received: %s Hz, '
               '%.0f dB over the median)' %
               (what, freq, peak, (tone.get('peakDb') or 0) -
                (tone.get('medianDb') or 0)), tone)


def recording(phone, before, seconds, limit=10):
    """(rate, samples) of the newest recording made since before (a list
    of files) once it holds seconds of audio, or its state at limit."""
    got = [None, []]

    def enough():
        new = phone.new_recordings(before)
        if new:
            got[:] = W.read_wav(new[-1])
        return got[0] and len(got[1]) >= seconds * got[0]
    W.wait_until(enough, limit, 0.1)
    return got[0], got[1]


def phone_hears(test, phone, before, what, freq, other, seconds=2):
    """Check that the newest recording since before holds freq (not
    other) over its last seconds."""
    rate, samples = recording(phone, before, seconds + 0.5)
    tail = samples[-int(seconds * rate):] if rate else []
    ok, text = W.tone_report(tail, rate, freq, other)
    test.check(ok, '%s: %s\'s recording holds %d Hz (%s)' %
               (what, phone.name, freq, text))


def setup_times(test, timings, what, answer_ms, browser_rx_ms, phone_rx_ms):
    """Note the setup times and check each is under SETUP_LIMIT_MS."""
    def text(v):
        return '%d ms' % v if v is not None else 'never'
    test.note('%s: 200 after %s, first RTP at the browser after %s, first '
              'sound at baresip after %s' % (what, text(answer_ms),
                                              text(browser_rx_ms),
                                              text(phone_rx_ms)))
    timings.add(what, answer_ms, browser_rx_ms, phone_rx_ms)
    for name, v in (('first RTP at the browser', browser_rx_ms),
                    ('first sound at baresip', phone_rx_ms)):
        test.check(v is not None and v <= SETUP_LIMIT_MS,
                   '%s: %s within %d ms of the INVITE (%s)' %
                   (what, name, SETUP_LIMIT_MS, text(v)))


def since(t_ms, wall):
    """Milliseconds from t_ms (epoch ms) to wall (epoch s), or None."""
    return int(wall * 1000 - t_ms) if wall else None


# -- the run's parts -------------------------------------------------------

class Rig:
    """Kamailio, sbcd with its relay, baresip as bob, the browser with one
    tab (alice)."""

    def __init__(self, test):
        self.test = test
        self.timings = Timings()
        browser_tone = W.write_tone(test.path('browser-%d.wav' %
                                              BROWSER_TONE),
                                    BROWSER_TONE, rate=48000, seconds=10)
        phone_tone = W.write_tone(test.path('phone-%d.wav' % PHONE_TONE),
                                  PHONE_TONE, rate=8000, seconds=300)
        self.kamailio = W.Kamailio(test)
        self.sbcd = W.Sbcd(test, self.kamailio)
        self.phone = W.Baresip(test, 'bob', 'bob', phone_tone,
                               self.kamailio.uri)
        self.browser = W.Browser(test, audio=browser_tone)
        self.tab = W.Tab(self.browser, 'alice')

    def stop(self):
        self.browser.close()
        self.phone.stop()
        self.sbcd.stop()


def registration(test, rig):
    what = 'registration'
    s, k = rig.sbcd, rig.kamailio
    reply = rig.tab.register(s.wss_url, uri('alice'))
    test.require(reply.get('ok'), '%s: JsSIP registers over WSS through sbcd '
                 '(%s)' % (what, reply.get('cause') or 'registered'),
                 rig.browser.log_tail())
    regs = s.registrations('alice@' + W.DOMAIN)
    test.check(len(regs) == 1 and regs[0].get('transport') == 'wss',
               '%s: sbcctl registrations shows alice over wss' % what, regs)
    core = '@%s:%d' % (W.CORE_IP, s.core)
    contacts = k.contacts('alice')
    test.check(any(core in c for c in contacts),
               '%s: Kamailio has alice at sbcd\'s core address (%s)' %
               (what, ', '.join(contacts) or 'no contact'))
    phone = '@%s:%d' % (W.PHONE_IP, rig.phone.port)
    W.wait_until(lambda: any(phone in c for c in k.contacts('bob')), 10)
    contacts = k.contacts('bob')
    test.check(any(phone in c for c in contacts),
               '%s: baresip is registered with Kamailio (%s)' %
               (what, ', '.join(contacts) or 'no contact'),
               rig.phone.log_tail(12))
    rig.tab.auto_answer()


def reached_phone(phone, mark):
    """An event of an incoming call at baresip since mark: the INVITE got
    there (whether baresip took it or not)."""
    with phone.lock:
        return next((e for e in phone.events[mark:]
                     if e.get('direction') == 'incoming'), None)


def browser_call(test, rig, what, policy=None, codecs=None):
    """The browser calls bob (its offer naming only codecs, if given):
    its call record once answered (or ended), the sound watch of bob's
    recordings, and the mark of bob's events."""
    phone, tab = rig.phone, rig.tab
    mark = phone.mark()
    phone.block_encode_dumps()
    watch = W.SoundWatch(phone)
    reply = tab.call(uri('bob'), policy, codecs)
    test.require(reply.get('ok'), '%s: the browser places the call' % what,
                 reply)
    call = call_of(tab.wait('confirmed', 15))
    event = reached_phone(phone, mark) or \
        phone.wait_event('CALL_CLOSED', mark, 1)
    test.check(event is not None,
               '%s: the INVITE reaches baresip (event %s)' %
               (what, event and event.get('type')))
    test.check(call.get('state') == 'confirmed',
               '%s: baresip answers, the browser confirms (state %s%s)' %
               (what, call.get('state'),
                ', %s %s' % (call.get('status'), call.get('cause'))
                if call.get('cause') else ''),
               phone.log_tail(12))
    return call, watch, mark


def media_checks(test, rig, what, call, watch, start_ms):
    """Audio both ways on a confirmed call, and its setup times; start_ms
    is when the caller sent the INVITE (epoch ms)."""
    tab, phone = rig.tab, rig.phone
    got = call_of(tab.wait('media', 10))
    test.check(rig.sbcd.session_of(call.get('callId')) is not None,
               '%s: sbcctl media lists the call\'s session' % what)
    browser_growth(test, tab, what)
    browser_hears(test, tab, what, PHONE_TONE)
    phone_hears(test, phone, watch.before, what, BROWSER_TONE, PHONE_TONE)
    offset = got.get('inviteWall', start_ms) - start_ms
    answer = call.get('confirmedMs')
    rx = got.get('firstRxMs')
    setup_times(test, rig.timings, what,
                answer + offset if answer is not None else None,
                rx + offset if rx is not None else None,
                since(start_ms, watch.result(0)))


def call_gone(test, rig, what, call_id):
    """After a call: its CDR, and no dialog nor media session left."""
    s = rig.sbcd
    if not call_id:
        return
    row = s.cdr_of(call_id)
    test.check(row is not None, '%s: sbcd wrote its CDR (reason %s, ended '
               'by %s)' % (what, (row or {}).get('reason'),
                           (row or {}).get('ended_by')), row)
    test.check(W.wait_until(lambda: s.dialog_of(call_id) is None, 5, 0.2),
               '%s: sbcctl dialogs no longer lists the call' % what)
    test.check(W.wait_until(lambda: s.session_of(call_id) is None, 5, 0.2),
               '%s: sbcctl media no longer lists its session' % what)


def end_by_browser(test, rig, what, call, mark):
    if call.get('state') == 'confirmed':
        rig.tab.hangup()
        ev = rig.phone.wait_event('CALL_CLOSED', mark, 10)
        test.check(ev is not None, '%s: the browser hangs up, baresip\'s '
                   'call ends (%s)' % (what, ev and ev.get('param')))
    call_gone(test, rig, what, call.get('callId'))


# -- codecs and the relay's statistics --------------------------------------

def offer_passes(test, rig, what, call, codecs=None):
    """The formats of the browser's offer reach baresip unchanged (sbcd's
    relay rewrites the transport, not the codecs); codecs: the browser
    offered those only. (the browser's offer, the one baresip got)."""
    offer = (call.get('localSdp') or [None])[0]
    got = rig.phone.received_offer(call.get('callId'))
    sent_fmts, sent_map = W.audio_formats(offer)
    got_fmts, got_map = W.audio_formats(got)
    test.check(got is not None and sent_fmts and got_fmts == sent_fmts and
               all(got_map.get(pt) == sent_map.get(pt) for pt in sent_fmts),
               '%s: the INVITE baresip got offers the browser\'s formats '
               'unchanged (%s: %s)' % (what, ' '.join(got_fmts),
                                       ', '.join(W.codec_names(got))),
               'browser offered:\n%s\nbaresip got:\n%s' % (offer, got))
    if codecs:
        offered = set(W.codec_names(offer))
        test.check(offered == set(c.lower() for c in codecs),
                   '%s: the browser offered %s only (%s)' %
                   (what, ' and '.join(codecs), ', '.join(sorted(offered))))
    return offer, got


def codec_checks(test, rig, what, call, codecs=None):
    """What the codecs of a browser's call to bob were: its offer passes
    unchanged, telephone-event in it when codecs names it, and the
    browser receives and sends the first of codecs (Opus by default)."""
    offer, got = offer_passes(test, rig, what, call, codecs)
    if codecs and 'telephone-event' in codecs:
        test.check('telephone-event' in W.codec_names(got),
                   '%s: telephone-event is in what baresip got' % what)
    want = 'audio/' + (codecs[0] if codecs else 'opus')
    rtp = rig.tab.stats().get('rtp') or {}
    test.check((rtp.get('codecMime') or '').lower() == want.lower() and
               (rtp.get('outCodecMime') or '').lower() == want.lower(),
               '%s: the browser receives and sends %s (inbound-rtp codec '
               '%s, outbound-rtp codec %s)' % (what, want, rtp.get('codec'),
                                                rtp.get('outCodecMime')))


def leg(session, side):
    return ((session or {}).get('sides') or {}).get(side) or {}


def webrtc_leg(test, what, got, dtls=('connected',)):
    """Check a browser's side of the relay (a dict of sbcctl media
    --json or the CDR)."""
    test.check(got.get('profile') == 'webrtc' and got.get('dtls') in dtls
               and got.get('consent') is True and got.get('latched') is True
               and got.get('srtp_auth_failed') == 0,
               '%s: the browser\'s side is webrtc, DTLS %s, ICE consent, '
               'latched, no SRTP authentication failure (profile %s, dtls '
               '%s, consent %s, latched %s, srtp_auth_failed %s)' %
               (what, ' or '.join(dtls), got.get('profile'), got.get('dtls'),
                got.get('consent'), got.get('latched'),
                got.get('srtp_auth_failed')), got)


def relay_stats(test, rig, what, call_id, gap=0.5):
    """sbcctl media during a call: each side's state and packets in and
    out growing; the table's row. The last sample (a dict of sides)."""
    s = rig.sbcd
    first = s.session_of(call_id)
    time.sleep(gap)
    second = s.session_of(call_id)
    test.require(first is not None and second is not None,
                 '%s: sbcctl media --json has the call\'s session' % what)
    a0, a1 = leg(first, 'access'), leg(second, 'access')
    c0, c1 = leg(first, 'core'), leg(second, 'core')
    webrtc_leg(test, what + ', sbcctl media', a1)
    for side, x0, x1 in (('browser\'s (access)', a0, a1),
                         ('baresip\'s (core)', c0, c1)):
        test.check(all(x1.get(k, 0) > x0.get(k, 0) > 0
                       for k in ('packets_in', 'packets_out')),
                   '%s, sbcctl media: on the %s side packets in and out grow '
                   '(in %s then %s, out %s then %s, %.1f s apart)' %
                   (what, side, x0.get('packets_in'), x1.get('packets_in'),
                    x0.get('packets_out'), x1.get('packets_out'), gap))
    test.check(c1.get('profile') == 'plain' and c1.get('latched') is True,
               '%s, sbcctl media: baresip\'s side is plain and latched '
               '(profile %s, latched %s)' % (what, c1.get('profile'),
                                             c1.get('latched')), c1)
    table = s.media_text()
    rows = [l for l in table if call_id in l]
    test.check(len(rows) == 1 and 'webrtc dtls:connected' in rows[0],
               '%s: the sbcctl media table\'s row says "webrtc '
               'dtls:connected"' % what, '\n'.join(table))
    test.note('%s: sbcctl media:\n    %s' % (what, '\n    '.join(table)))
    return second.get('sides')


def cdr_media(test, rig, what, call_id, seen):
    """The CDR's media of a call whose sessions sbcctl media showed as
    seen (a dict of sides): the same state, at least as many packets."""
    row = rig.sbcd.cdr_of(call_id) or {}
    media = row.get('media') or {}
    acc, core = media.get('access') or {}, media.get('core') or {}
    # the browser's close_notify may reach the relay before its BYE does
    webrtc_leg(test, what + ', CDR', acc, ('connected', 'closed'))
    test.check(core.get('profile') == 'plain',
               '%s, CDR: baresip\'s side is plain (%s)' %
               (what, core.get('profile')), media)
    for side, got, before in (('browser\'s', acc, seen.get('access') or {}),
                              ('baresip\'s', core, seen.get('core') or {})):
        test.check(all(got.get(k, 0) >= before.get(k, 0) > 0
                       for k in ('packets_in', 'packets_out')),
                   '%s, CDR: the %s side\'s packets in %s and out %s, at '
                   'least those sbcctl media showed (%s, %s)' %
                   (what, side, got.get('packets_in'), got.get('packets_out'),
                    before.get('packets_in'), before.get('packets_out')))
    test.note('%s: CDR media access %s' % (what, json.dumps(acc)))


def browser_calls_phone(test, rig, policy=None, codecs=None, stats=False):
    """The browser calls bob (bundle policy, codecs offered); stats:
    check the relay's statistics in sbcctl media and the CDR too."""
    what = 'browser calls baresip, bundlePolicy %s%s' % (
        policy or 'default',
        ', offering %s only' % '+'.join(codecs) if codecs else '')
    test.note(what)
    call, watch, mark = browser_call(test, rig, what, policy, codecs)
    seen = None
    if call.get('state') == 'confirmed':
        media_checks(test, rig, what, call, watch, call['inviteWall'])
        codec_checks(test, rig, what, call, codecs)
        if stats:
            seen = relay_stats(test, rig, what, call['callId'])
    end_by_browser(test, rig, what, call, mark)
    if seen:
        cdr_media(test, rig, what, call['callId'], seen)


def no_common_codec(test, rig):
    """The browser offers PCMA only, which baresip does not take: 488,
    and nothing of the call left in sbcd."""
    what = 'no common codec (the browser offers PCMA only)'
    test.note(what)
    phone, tab, s = rig.phone, rig.tab, rig.sbcd
    mark = phone.mark()
    reply = tab.call(uri('bob'), None, ['PCMA'])
    test.require(reply.get('ok'), '%s: the browser places the call' % what,
                 reply)
    call = call_of(tab.wait('ended', 15))
    call_id = call.get('callId')
    test.check(reached_phone(phone, mark) is not None or
               phone.received_offer(call_id) is not None,
               '%s: the INVITE reaches baresip' % what)
    offer_passes(test, rig, what, call, ['PCMA'])
    finals = phone.sent_finals(call_id)
    test.check(finals and finals[0] in (488, 415, 606),
               '%s: baresip refuses it (its final response %s)' %
               (what, finals or 'none'), phone.log_tail(20))
    test.check(call.get('state') == 'ended' and
               call.get('status') in (488, 415, 606) and
               call.get('status') == (finals or [None])[0],
               '%s: the browser\'s call fails with baresip\'s status (%s, '
               '%s)' % (what, call.get('status'), call.get('cause')),
               rig.browser.log_tail(15))
    start = time.monotonic()

    def nothing():
        return s.dialog_of(call_id) is None and s.session_of(call_id) is None
    gone = W.wait_until(nothing, 15, 0.2)
    took = time.monotonic() - start
    # and not a session made late, by a message the relay took after
    gone = gone and not W.wait_until(lambda: not nothing(), 1, 0.2)
    test.check(gone, '%s: sbcctl dialogs and sbcctl media hold nothing of '
               'it (after %.1f s, and 1 s later)' % (what, took),
               'dialog %s\nmedia %s' % (s.dialog_of(call_id),
                                          s.session_of(call_id)))
    row = s.cdr_of(call_id) or {}
    test.check(row.get('reason') == 'failed' and
               row.get('status') == call.get('status'),
               '%s: sbcd wrote its CDR (reason %s, status %s)' %
               (what, row.get('reason'), row.get('status')), row)
    test.check(s.proc.poll() is None and
               s.sbcctl('status', check=False)[0] == 0,
               '%s: sbcd still runs and answers sbcctl status' % what)


def phone_calls_browser(test, rig):
    what = 'baresip calls the browser'
    test.note(what)
    phone, tab = rig.phone, rig.tab
    mark = phone.mark()
    phone.block_encode_dumps()
    watch = W.SoundWatch(phone)
    start_ms = time.time() * 1000
    phone.dial(uri('alice'))
    got = tab.wait('incoming', 10)
    test.check(got.get('ok'), '%s: the INVITE reaches the browser (through '
               'Kamailio and sbcd\'s core side)' % what, phone.log_tail(12))
    call = call_of(tab.wait('confirmed', 15))
    est = phone.wait_event('CALL_ESTABLISHED', mark, 2)
    test.check(call.get('state') == 'confirmed' and est is not None,
               '%s: the page answers, baresip\'s call is established '
               '(page: %s%s)' % (what, call.get('state'),
                                 ', %s %s' % (call.get('status'),
                                              call.get('cause'))
                                 if call.get('cause') else ''),
               rig.browser.log_tail(15))
    if call.get('state') == 'confirmed':
        media_checks(test, rig, what, call, watch, start_ms)
        phone.hangup()
        ended = call_of(tab.wait('ended', 10))
        test.check(ended.get('state') == 'ended' and
                   ended.get('originator') == 'remote',
                   '%s: baresip hangs up, the browser\'s call ends (%s)' %
                   (what, ended.get('cause')))
    elif est is not None:
        phone.hangup()
    call_gone(test, rig, what, call.get('callId'))


def remote_direction(tab, want, limit=5):
    """Until the tab's last remote SDP says want: True, else False."""
    return W.wait_until(lambda: call_of(tab.stats()).get('remoteDirection')
                        == want, limit, 0.1)


def hold_and_resume(test, rig):
    what = 'baresip holds and resumes'
    test.note(what)
    tab, phone = rig.tab, rig.phone
    call, watch, mark = browser_call(test, rig, what)
    if call.get('state') != 'confirmed':
        end_by_browser(test, rig, what, call, mark)
        return
    tab.wait('media', 10)
    browser_growth(test, tab, what + ', before')
    before_hold = phone.recordings()
    phone.hold()
    test.check(remote_direction(tab, 'sendonly'),
               '%s: the browser gets baresip\'s re-INVITE with a=sendonly'
               % what)
    time.sleep(0.5)
    first = packets(tab.stats())
    time.sleep(1)
    held = packets(tab.stats()) - first
    test.check(held < 10, '%s: baresip\'s audio stops while it holds (%d '
               'packets in 1 s)' % (what, held))
    phone.resume()
    test.check(remote_direction(tab, 'sendrecv'),
               '%s: the browser gets the resume (a=sendrecv)' % what)
    browser_growth(test, tab, what + ', after the resume')
    browser_hears(test, tab, what + ', after the resume', PHONE_TONE)
    phone_hears(test, phone, before_hold, what + ', after the resume',
                BROWSER_TONE, PHONE_TONE)
    end_by_browser(test, rig, what, call, mark)


def tab_closes(test, rig):
    what = 'the tab closes mid-call'
    test.note(what)
    tab, phone, s = rig.tab, rig.phone, rig.sbcd
    call, watch, mark = browser_call(test, rig, what)
    if call.get('state') == 'confirmed':
        tab.wait('media', 5)
        browser_growth(test, tab, what)
    tab.close()
    if call.get('state') == 'confirmed':
        ev = phone.wait_event('CALL_CLOSED', mark, 10)
        test.check(ev is not None, '%s: baresip gets a BYE (%s)' %
                   (what, ev and ev.get('param')))
    test.check(W.wait_until(lambda: not s.registrations('alice@' + W.DOMAIN),
                            10, 0.2),
               '%s: alice\'s binding goes with the WebSocket' % what)
    call_gone(test, rig, what, call.get('callId'))


def part(test, rig, name, fn, *args):
    """One scenario: a Failure in it (a require) stops it, not the run;
    a call it left up is ended."""
    try:
        fn(test, rig, *args)
    except sbcit.Failure as e:
        print('STOP %s: %s' % (name, e), flush=True)
        try:
            rig.tab.hangup()
        except sbcit.Failure:
            pass
        if rig.phone.proc.poll() is None:
            rig.phone.command('hangup')
        time.sleep(1)


def through_sbcd(test):
    rig = Rig(test)
    registration(test, rig)
    part(test, rig, 'default bundle', browser_calls_phone, None, None, True)
    part(test, rig, 'max-bundle', browser_calls_phone, 'max-bundle')
    part(test, rig, 'PCMU only', browser_calls_phone, None,
         ['PCMU', 'telephone-event'])
    part(test, rig, 'G722 only', browser_calls_phone, None,
         ['G722', 'telephone-event'])
    part(test, rig, 'phone calls', phone_calls_browser)
    part(test, rig, 'hold', hold_and_resume)
    part(test, rig, 'no common codec', no_common_codec)
    part(test, rig, 'tab close', tab_closes)
    rig.timings.show(test)
    rig.stop()


# -- --direct: the harness without sbcd's relay -----------------------------

def phone_to_phone(test, kamailio, bob, carol):
    """bob calls carol through Kamailio, holds, resumes, hangs up."""
    what = 'harness: baresip calls baresip'
    test.note(what)
    for p in (bob, carol):
        p.block_encode_dumps()
    marks = bob.mark(), carol.mark()
    befores = bob.recordings(), carol.recordings()
    bob.dial(uri('carol'))
    test.require(carol.wait_event('CALL_ESTABLISHED', marks[1], 10) and
                 bob.wait_event('CALL_ESTABLISHED', marks[0], 5),
                 '%s: carol answers by herself' % what, carol.log_tail())
    phone_hears(test, carol, befores[1], what, PHONE_TONE, OTHER_TONE)
    phone_hears(test, bob, befores[0], what, OTHER_TONE, PHONE_TONE)
    befores = bob.recordings(), carol.recordings()
    bob.hold()
    time.sleep(1.5)
    bob.resume()
    time.sleep(0.5)
    phone_hears(test, carol, befores[1], what + ', after hold and resume',
                PHONE_TONE, OTHER_TONE)
    phone_hears(test, bob, befores[0], what + ', after hold and resume',
                OTHER_TONE, PHONE_TONE)
    bob.hangup()
    test.check(carol.wait_event('CALL_CLOSED', marks[1], 10) is not None,
               '%s: bob hangs up, carol\'s call ends' % what)


class Pair:
    """Two tabs of one browser, each registered through its own sbcd
    (rtp.workers = 0), so that a call between them crosses Kamailio."""

    def __init__(self, test, kamailio, browser):
        self.a = W.Sbcd(test, kamailio, relay=False, tag='sbcd-a')
        self.b = W.Sbcd(test, kamailio, relay=False, tag='sbcd-b')
        self.alice = W.Tab(browser, 'alice')
        self.dave = W.Tab(browser, 'dave')
        for tab, node in ((self.alice, self.a), (self.dave, self.b)):
            reply = tab.register(node.wss_url, uri(tab.name))
            test.require(reply.get('ok'), 'harness: %s registers through '
                         '%s' % (tab.name, node.tag), reply)
        self.dave.auto_answer()


def tab_to_tab(test, pair, policy, close=False):
    what = 'harness: browser calls browser, bundlePolicy %s%s' % (
        policy or 'default', ', caller\'s tab closes' if close else '')
    test.note(what)
    alice, dave = pair.alice, pair.dave
    alice.call(uri('dave'), policy)
    call = call_of(alice.wait('confirmed', 15))
    test.require(call.get('state') == 'confirmed',
                 '%s: dave\'s page answers' % what,
                 '%s %s' % (call.get('status'), call.get('cause')))
    for tab in (alice, dave):
        got = call_of(tab.wait('media', 10))
        test.check(got.get('firstRxMs') is not None,
                   '%s: %s receives RTP, first packet %s ms after the INVITE'
                   % (what, tab.name, got.get('firstRxMs')))
        browser_growth(test, tab, '%s, %s' % (what, tab.name))
        browser_hears(test, tab, '%s, %s' % (what, tab.name), BROWSER_TONE)
    stats = alice.stats().get('rtp') or {}
    test.note('%s: pair %s, codec %s, DTLS %s' %
              (what, stats.get('pair'), stats.get('codec'),
               stats.get('dtlsState')))
    if close:
        alice.close()
    else:
        alice.hangup()
    ended = call_of(dave.wait('ended', 10))
    test.check(ended.get('state') == 'ended' and
               ended.get('originator') == 'remote',
               '%s: dave\'s call ends (%s)' % (what, ended.get('cause')))


def harness(test):
    kamailio = W.Kamailio(test)
    tones = {f: W.write_tone(test.path('tone-%d.wav' % f), f, rate=8000,
                             seconds=300) for f in (PHONE_TONE, OTHER_TONE)}
    bob = W.Baresip(test, 'bob', 'bob', tones[PHONE_TONE], kamailio.uri)
    carol = W.Baresip(test, 'carol', 'carol', tones[OTHER_TONE],
                      kamailio.uri)
    test.require(W.wait_until(lambda: kamailio.contacts('bob') and
                              kamailio.contacts('carol'), 10),
                 'harness: both baresips register with Kamailio')
    phone_to_phone(test, kamailio, bob, carol)
    for phone in (bob, carol):
        phone.stop()
    browser = W.Browser(test, audio=W.write_tone(
        test.path('browser-%d.wav' % BROWSER_TONE), BROWSER_TONE,
        rate=48000, seconds=10))
    pair = Pair(test, kamailio, browser)
    tab_to_tab(test, pair, None)
    tab_to_tab(test, pair, 'max-bundle')
    tab_to_tab(test, pair, None, close=True)
    browser.close()
    pair.a.stop()
    pair.b.stop()


# -- a network of its own -------------------------------------------------

NETNS_ENV = 'SBCD_WEBRTC_NETNS'
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up():
    """Bring lo up (a new network namespace has it down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack('16sH14x', b'lo', 0)
        flags = struct.unpack('16sH14x', fcntl.ioctl(s, SIOCGIFFLAGS,
                                                     req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack('16sH14x', b'lo',
                                                 flags | IFF_UP))


def isolate():
    """Run the rest of the test in a network namespace of its own, where
    lo is the only interface: Chromium and baresip gather ICE candidates
    on every interface of the host, and there nothing but loopback is
    there to take. Needs root (unshare --net); without it the test runs
    on the host's network, the page keeping its SDP to 127.0.0.1."""
    if os.environ.get(NETNS_ENV):
        loopback_up()
        return
    if not shutil.which('unshare') or subprocess.run(
            ['unshare', '--net', 'true'], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        return
    sys.stdout.flush()
    os.environ[NETNS_ENV] = '1'
    os.execvp('unshare', ['unshare', '--net', '--', sys.executable,
                          os.path.abspath(__file__)] + sys.argv[1:])


def main(test):
    programs(test)
    if test.direct:
        harness(test)
    else:
        through_sbcd(test)


if __name__ == '__main__':
    if not os.access(W.CHROMIUM, os.X_OK):
        print('SKIP: %s is not installed (Debian package chromium)' %
              W.CHROMIUM)
        sys.exit(sbcit.SKIP)
    if not os.environ.get(NETNS_ENV):
        ok, out = npm_ci()
        if not ok:
            print('-- npm ci failed:\n' + out[-2000:], flush=True)
    isolate()
    sbcit.run('webrtc', main, uses_sipp=False)
