/*
 * The browser softphone of sbcd's WebRTC end-to-end test (test_webrtc.py).
 *
 * A JsSIP user agent over WSS, the way a web phone talks to sbcd, with
 * what the test needs to see inside the browser: driver.mjs calls the
 * functions of window.sbc (page.evaluate) and hands their results to the
 * Python test as JSON.
 *
 * - register(url, uri, password): one UA, one WebSocket, REGISTER.
 * - call(target, {bundlePolicy, codecs}): an outgoing call; codecs (names,
 *   as ['PCMU', 'telephone-event']) keeps only those in the SDP the page
 *   sends (its m=audio formats and their rtpmap, fmtp and rtcp-fb
 *   lines), the peer connection itself still able to take any of its
 *   own; autoAnswer({bundlePolicy}) answers every incoming call. Audio
 *   only, no ICE servers.
 * - Media stays on loopback: the SDP the page sends keeps only its UDP
 *   candidates on 127.0.0.1 (no other interface, no mDNS name), and its
 *   m= port and c= name that candidate.
 * - Each call is polled every 20 ms until its first packet in and out
 *   (setup time from the INVITE, sent or received, to the first media).
 * - stats(): getStats() of the call (inbound-rtp, outbound-rtp, states,
 *   the selected candidate pair, the codec of each: its codec report's
 *   mimeType) and what the page saw (SDPs,
 *   events, times); tone(): the loudest frequency of the received audio
 *   (Web Audio analyser), to tell the far end's tone from ours.
 * - wait(what, ms): until the call is incoming, confirmed, ended or has
 *   media.
 */
'use strict';

const LOOPBACK = '127.0.0.1';
const POLL_MS = 20;
// The fake microphone's tone as it is: no processing that could take a
// steady sine for noise or change its level.
const MEDIA = { audio: { echoCancellation: false, noiseSuppression: false,
                         autoGainControl: false },
                video: false };

const sbc = {
  ua: null,
  calls: [],             // every call of this page, the last one current
  events: [],            // [{t, what, ...}] for the test's log
  answerOptions: null,   // null: incoming calls are not answered
  audioContext: null,
};
window.sbc = sbc;


function note(what, detail) {
  const ev = Object.assign({ t: Math.round(performance.now()), what }, detail);
  sbc.events.push(ev);
  console.log('sbc: ' + JSON.stringify(ev));
}


function current() {
  return sbc.calls.length ? sbc.calls[sbc.calls.length - 1] : null;
}


function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}


/* Until pred() is true (true) or ms have passed (false). */
async function until(pred, ms) {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end)
      return false;
    await sleep(POLL_MS);
  }
  return true;
}


// -- SDP: media on loopback only ------------------------------------------

function candidateOf(line) {
  // a=candidate:<foundation> <component> <transport> <priority> <addr> <port> typ <type>
  const f = line.substring('a=candidate:'.length).split(' ');
  return { component: f[1], transport: (f[2] || '').toLowerCase(),
           address: f[4], port: f[5] };
}


function loopbackSection(lines) {
  const kept = [];
  const out = lines.filter((line) => {
    if (!line.startsWith('a=candidate:'))
      return true;
    const c = candidateOf(line);
    const keep = c.transport === 'udp' && c.address === LOOPBACK;
    if (keep)
      kept.push(c);
    return keep;
  });
  const rtp = kept.find((c) => c.component === '1');
  if (!rtp)
    return out;
  return out.map((line) => {
    if (line.startsWith('m=')) {
      const f = line.split(' ');
      f[1] = rtp.port;
      return f.join(' ');
    }
    if (line.startsWith('c='))
      return 'c=IN IP4 ' + LOOPBACK;
    return line;
  });
}


/* The SDP with only its UDP candidates on 127.0.0.1, each m-section's
   port and address those of its RTP candidate there. */
function loopbackOnly(sdp) {
  const lines = sdp.split('\r\n');
  const out = [];
  let section = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      out.push(...loopbackSection(section));
      section = [];
    }
    section.push(line);
  }
  out.push(...loopbackSection(section));
  return out.join('\r\n');
}


/* The SDP with its m=audio sections offering only the codecs named in
   names (case-insensitive encoding names: 'opus', 'PCMU',
   'telephone-event'), in the order the SDP had them; the rtpmap, fmtp
   and rtcp-fb lines of the formats dropped go too. */
function keepCodecs(sdp, names) {
  const want = names.map((n) => n.toLowerCase());
  const lines = sdp.split('\r\n');
  const out = [];
  let section = [];
  const flush = () => {
    if (!section.length || !section[0].startsWith('m=audio ')) {
      out.push(...section);
      return;
    }
    const keep = new Set();
    for (const line of section) {
      const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
      if (m && want.includes(m[2].toLowerCase()))
        keep.add(m[1]);
    }
    for (const line of section) {
      if (line.startsWith('m=')) {
        const f = line.split(' ');
        out.push(f.slice(0, 3).concat(f.slice(3).filter((pt) => keep.has(pt)))
          .join(' '));
        continue;
      }
      const m = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(line);
      if (!m || keep.has(m[2]))
        out.push(line);
    }
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      flush();
      section = [];
    }
    section.push(line);
  }
  flush();
  return out.join('\r\n');
}


function sdpDirection(sdp) {
  const m = /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(sdp || '');
  return m ? m[1] : 'sendrecv';
}


// -- media: first packets, stats, the tone heard -------------------------

async function rtpStats(pc) {
  const out = { inbound: null, outbound: null, pair: null, codec: null,
                codecMime: null, outCodecMime: null, dtlsState: null };
  const report = await pc.getStats();
  const byId = {};
  report.forEach((s) => { byId[s.id] = s; });
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      out.inbound = { packetsReceived: s.packetsReceived,
                      bytesReceived: s.bytesReceived,
                      packetsLost: s.packetsLost,
                      audioLevel: s.audioLevel,
                      totalAudioEnergy: s.totalAudioEnergy };
      const codec = byId[s.codecId];
      if (codec) {
        out.codec = codec.mimeType + '/' + codec.clockRate;
        out.codecMime = codec.mimeType;
      }
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      out.outbound = { packetsSent: s.packetsSent, bytesSent: s.bytesSent };
      const codec = byId[s.codecId];
      if (codec)
        out.outCodecMime = codec.mimeType;
    } else if (s.type === 'transport') {
      out.dtlsState = s.dtlsState;
      const pair = byId[s.selectedCandidatePairId];
      if (pair) {
        const l = byId[pair.localCandidateId] || {};
        const r = byId[pair.remoteCandidateId] || {};
        out.pair = { local: l.address + ':' + l.port,
                     remote: r.address + ':' + r.port, state: pair.state };
      }
    }
  });
  return out;
}


/* Every 20 ms until the call's first packet in and out: the times from
   its INVITE (sent or received). */
async function watchFirstMedia(call, pc) {
  while (call.state !== 'ended' &&
         (call.firstRxMs === null || call.firstTxMs === null)) {
    try {
      const s = await rtpStats(pc);
      const now = performance.now();
      if (call.firstRxMs === null && s.inbound && s.inbound.packetsReceived > 0) {
        call.firstRxMs = Math.round(now - call.inviteAt);
        note('first packet in', { ms: call.firstRxMs });
      }
      if (call.firstTxMs === null && s.outbound && s.outbound.packetsSent > 0) {
        call.firstTxMs = Math.round(now - call.inviteAt);
        note('first packet out', { ms: call.firstTxMs });
      }
    } catch (e) {
      return;                   // the connection is closed
    }
    await sleep(POLL_MS);
  }
}


function audioContext() {
  if (!sbc.audioContext)
    sbc.audioContext = new AudioContext();
  return sbc.audioContext;
}


/* A Web Audio analyser on the received audio. Chromium feeds a remote
   WebRTC stream to Web Audio only while a media element plays it too
   (muted here). */
function listen(call, stream) {
  const el = new Audio();
  el.muted = true;
  el.srcObject = stream;
  el.play().catch((e) => note('audio element', { error: String(e) }));
  const ctx = audioContext();
  ctx.resume().catch(() => {});
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0.5;
  ctx.createMediaStreamSource(stream).connect(analyser);
  call.element = el;
  call.analyser = analyser;
}


function watchConnection(call, pc) {
  pc.addEventListener('track', (e) => {
    if (e.track.kind !== 'audio' || call.analyser)
      return;
    listen(call, e.streams[0] || new MediaStream([e.track]));
  });
  pc.addEventListener('connectionstatechange', () =>
    note('connection', { state: pc.connectionState }));
  watchFirstMedia(call, pc);
}


// -- calls ----------------------------------------------------------------

function newCall(session, direction, request, options) {
  const call = {
    session, direction,
    codecs: (options && options.codecs) || null,
    callId: request ? request.call_id : null,
    state: direction === 'incoming' ? 'incoming' : 'calling',
    cause: null, originator: null, status: null,
    inviteAt: performance.now(), inviteWall: Date.now(),
    confirmedMs: null, firstRxMs: null, firstTxMs: null,
    localSdp: [], remoteSdp: [], analyser: null, element: null,
  };
  sbc.calls.push(call);
  return call;
}


function sessionHandlers(call) {
  return {
    peerconnection: (e) => watchConnection(call, e.peerconnection),
    sending: (e) => {
      call.callId = e.request.call_id;
      call.inviteAt = performance.now();
      call.inviteWall = Date.now();
      note('INVITE sent', { callId: call.callId });
    },
    sdp: (e) => {
      if (e.originator === 'local') {
        e.sdp = loopbackOnly(e.sdp);
        if (call.codecs)
          e.sdp = keepCodecs(e.sdp, call.codecs);
        call.localSdp.push(e.sdp);
      } else {
        call.remoteSdp.push(e.sdp);
        note('remote sdp', { type: e.type, direction: sdpDirection(e.sdp) });
      }
    },
    progress: (e) => note('progress', { code: e.response && e.response.status_code }),
    accepted: () => { call.state = 'accepted'; },
    confirmed: () => {
      call.state = 'confirmed';
      call.confirmedMs = Math.round(performance.now() - call.inviteAt);
      note('confirmed', { ms: call.confirmedMs });
    },
    ended: (e) => ended(call, e),
    failed: (e) => ended(call, e),
  };
}


function ended(call, e) {
  call.state = 'ended';
  call.cause = e.cause;
  call.originator = e.originator;
  call.status = e.message && e.message.status_code ? e.message.status_code : null;
  note('ended', { cause: e.cause, originator: e.originator, status: call.status });
}


function pcConfig(options) {
  const config = { iceServers: [] };
  if (options && options.bundlePolicy)
    config.bundlePolicy = options.bundlePolicy;
  return config;
}


function incoming(e) {
  if (e.originator !== 'remote')
    return;
  const session = e.session;
  const call = newCall(session, 'incoming', e.request);
  const handlers = sessionHandlers(call);
  for (const name of Object.keys(handlers)) {
    if (name !== 'sending')
      session.on(name, handlers[name]);
  }
  note('incoming', { callId: call.callId, from: session.remote_identity.uri.toString() });
  if (!sbc.answerOptions)
    return;
  session.answer({
    mediaConstraints: MEDIA,
    pcConfig: pcConfig(sbc.answerOptions),
  });
}


// -- what the driver calls -------------------------------------------------

sbc.register = async function (url, uri, password, options) {
  JsSIP.debug.enable('JsSIP:*');
  const socket = new JsSIP.WebSocketInterface(url);
  const config = {
    sockets: [socket], uri, register: true, session_timers: false,
    register_expires: 600, user_agent: 'sbcd-it JsSIP ' + JsSIP.version,
    display_name: (options && options.display) || undefined,
  };
  if (password)
    config.password = password;
  const ua = new JsSIP.UA(config);
  sbc.ua = ua;
  let result = null;
  ua.on('registered', () => { result = { ok: true }; note('registered'); });
  ua.on('registrationFailed', (e) => {
    result = { ok: false, cause: e.cause,
               status: e.response ? e.response.status_code : null };
    note('registration failed', result);
  });
  ua.on('disconnected', () => note('websocket disconnected'));
  ua.on('newRTCSession', incoming);
  ua.start();
  if (!await until(() => result !== null, (options && options.timeout) || 10000))
    return { ok: false, cause: 'no answer to REGISTER' };
  return result;
};


sbc.autoAnswer = function (options) {
  sbc.answerOptions = options || {};
  return { ok: true };
};


sbc.call = function (target, options) {
  const call = newCall(null, 'outgoing', null, options);
  call.session = sbc.ua.call(target, {
    mediaConstraints: MEDIA,
    pcConfig: pcConfig(options),
    eventHandlers: sessionHandlers(call),
  });
  return { ok: true };
};


sbc.hangup = function () {
  const call = current();
  if (!call || call.state === 'ended')
    return { ok: false, error: 'no call up' };
  call.session.terminate();
  return { ok: true };
};


sbc.summary = function (call) {
  if (!call)
    return null;
  return {
    direction: call.direction, callId: call.callId, state: call.state,
    codecs: call.codecs,
    cause: call.cause, originator: call.originator, status: call.status,
    inviteWall: call.inviteWall, confirmedMs: call.confirmedMs,
    firstRxMs: call.firstRxMs, firstTxMs: call.firstTxMs,
    localSdp: call.localSdp, remoteSdp: call.remoteSdp,
    remoteDirection: sdpDirection(call.remoteSdp[call.remoteSdp.length - 1]),
  };
};


/* Until the current call is `what`: incoming, confirmed, ended, media. */
sbc.wait = async function (what, ms) {
  const checks = {
    incoming: () => current() && current().direction === 'incoming',
    confirmed: () => current() && ['confirmed', 'ended'].includes(current().state),
    ended: () => current() && current().state === 'ended',
    media: () => current() && (current().firstRxMs !== null ||
                               current().state === 'ended'),
  };
  const ok = await until(checks[what], ms);
  return { ok, call: sbc.summary(current()) };
};


sbc.stats = async function () {
  const call = current();
  const out = { call: sbc.summary(call), rtp: null, connectionState: null,
                iceConnectionState: null };
  const pc = call && call.session && call.session.connection;
  if (pc) {
    out.connectionState = pc.connectionState;
    out.iceConnectionState = pc.iceConnectionState;
    try {
      out.rtp = await rtpStats(pc);
    } catch (e) {
      out.error = String(e);
    }
  }
  return out;
};


/* The loudest frequency (Hz) of the received audio between 100 and
   4000 Hz, its level and the median level there (dBFS). */
sbc.tone = function () {
  const call = current();
  if (!call || !call.analyser)
    return { ok: false, error: 'no received audio track' };
  const an = call.analyser;
  const bins = new Float32Array(an.frequencyBinCount);
  an.getFloatFrequencyData(bins);
  const hz = an.context.sampleRate / an.fftSize;
  const lo = Math.ceil(100 / hz), hi = Math.floor(4000 / hz);
  let peak = lo;
  for (let i = lo; i <= hi; i++) {
    if (bins[i] > bins[peak])
      peak = i;
  }
  const band = Array.from(bins.slice(lo, hi + 1)).sort((a, b) => a - b);
  return { ok: true, peakHz: Math.round(peak * hz), peakDb: bins[peak],
           medianDb: band[band.length >> 1],
           contextState: an.context.state };
};


sbc.events_since = function (n) {
  return sbc.events.slice(n || 0);
};


document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('state').textContent =
    typeof JsSIP === 'undefined' ? 'no JsSIP' : 'ready';
});
