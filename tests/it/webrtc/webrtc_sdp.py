"""What an SDP says of its first stream's transport, as the WebRTC tests
and the WebRTC benchmark read the relay's SDPs: the proto, the address
and port (its host candidate's, when there is one), and the ICE and DTLS
attributes a browser needs (ufrag, pwd, fingerprint, setup, ice-lite,
rtcp-mux, BUNDLE)."""


def sdp_read(body):
    """An SDP's first audio stream: proto, addr, port (a host candidate's
    when there is one), ufrag, pwd, fingerprint, setup, ice_lite,
    rtcp_mux, bundle."""
    a = {'proto': None, 'addr': None, 'port': None, 'ufrag': None,
         'pwd': None, 'fingerprint': None, 'setup': None,
         'ice_lite': False, 'rtcp_mux': False, 'bundle': False,
         'cand': None}
    keys = {'ice-ufrag': 'ufrag', 'ice-pwd': 'pwd',
            'fingerprint': 'fingerprint', 'setup': 'setup'}
    for line in body.decode('utf-8', 'replace').splitlines():
        line = line.strip()
        if line.startswith('m='):
            if a['port'] is not None:
                break
            f = line[2:].split()
            a['port'], a['proto'] = int(f[1]), f[2]
            continue
        if line.startswith('c=IN IP4 '):
            a['addr'] = line.split()[2]
        if not line.startswith('a='):
            continue
        name, _, value = line[2:].partition(':')
        if name == 'ice-lite':
            a['ice_lite'] = True
        elif name == 'rtcp-mux':
            a['rtcp_mux'] = True
        elif name == 'group' and value.startswith('BUNDLE'):
            a['bundle'] = True
        elif name in keys and a[keys[name]] is None:
            a[keys[name]] = value.strip()
        elif name == 'candidate' and a['cand'] is None:
            f = value.split()
            if len(f) >= 8 and f[2].lower() == 'udp' and f[7] == 'host':
                a['cand'] = (f[4], int(f[5]))
    if a['cand']:
        a['addr'], a['port'] = a['cand']
    return a
