"""The harness of sbcd's SIP integration tests.

Each test program (test_*.py) runs the real sbcd between real peers: SIPp
(the package sip-tester) as user agents and as the backend, and small
Python peers (sipmsg.py, wsclient.py) where a test needs to look at single
messages. This module gives them what they share:

- Test: one test run. A temporary directory that keeps every config, log,
  SIPp trace and statistics file (kept when a check failed, or always with
  --keep), the processes the run started (each stopped by its PID at the
  end, whatever happened: normal exit, exception, SIGTERM from meson's
  timeout), and the checks, printed one line each as PASS or FAIL.
- Sbcd: sbcd started on a config written for the run, with free ports,
  ready once its control socket answers `status` and it answers OPTIONS on
  the access side; `sbcctl` around it; stopped with SIGTERM, exit 0
  expected.
- Sipp: one SIPp run on a scenario of scenarios/ (a template: @NAME@ filled
  in here), always bounded by -m and -timeout, with its error log, message
  trace and statistics file kept; `expect()` checks its exit status and the
  counts of successful and failed calls.
- CSV generators for SIPp injection files.

"Direct" mode (--direct) runs the same SIPp scenarios user to backend with
no sbcd in between, to prove the scenarios themselves right: a failure
through sbcd is then sbcd's.

Usage of a test program: test_X.py [--build DIR] [--direct] [--keep];
the build directory defaults to $SBCD_BUILD (set by meson).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import sipmsg

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, 'scenarios')
LOOPBACK = '127.0.0.1'
SKIP = 77                     # meson's exit status for a skipped test


class Failure(Exception):
    """A check the rest of the test depends on failed."""


def free_port(udp=True, tcp=True):
    """A port number the kernel gives us, free for UDP and TCP at once.

    The sockets are closed before return, so another program could take
    the port in between: tests bind it right away, and the kernel hands
    out ports in sequence, which makes that rare.
    """
    for _ in range(50):
        first = socket.socket(socket.AF_INET,
                              socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        first.bind((LOOPBACK, 0))
        port = first.getsockname()[1]
        second = None
        try:
            if tcp and udp:
                second = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                second.bind((LOOPBACK, port))
            return port
        except OSError:
            continue
        finally:
            first.close()
            if second:
                second.close()
    raise Failure('no free port')


def render(text, values):
    """Fill the @NAME@ slots of a template; every slot must be filled."""
    for name, value in values.items():
        text = text.replace('@%s@' % name, str(value))
    start = text.find('@')
    while start >= 0:
        end = text.find('@', start + 1)
        name = text[start + 1:end] if end > 0 else ''
        if name.isidentifier() and name.isupper():
            raise Failure('template slot @%s@ not filled' % name)
        start = text.find('@', start + 1)
    return text


def regex_escape(text):
    """POSIX extended regular expression matching text literally."""
    return ''.join('\\' + c if c in '.[]()*+?{}|^$\\' else c for c in text)


def write_csv(path, rows, order='SEQUENTIAL'):
    """A SIPp injection file: the order line, then one row a line."""
    with open(path, 'w') as f:
        f.write(order + '\n')
        for row in rows:
            f.write(';'.join(str(v) for v in row) + '\n')
    return path


def users(prefix, count, domain='example.com', first=1):
    """count users (name, domain, private ip, password): u1001, ...

    Each claims its own private address, 192.168.x.y, as a phone behind
    NAT does; the password is what backend_registrar.xml expects.
    """
    rows = []
    for i in range(first, first + count):
        name = '%s%04d' % (prefix, i)
        ip = '192.168.%d.%d' % (1 + i // 250, 1 + i % 250)
        rows.append((name, domain, ip, 'pw-' + name))
    return rows


class Test:
    """One run of a test program: options, temporary directory, processes,
    checks. Use through run()."""

    def __init__(self, name, argv):
        parser = argparse.ArgumentParser(prog='test_%s.py' % name)
        parser.add_argument('--build', default=os.environ.get('SBCD_BUILD'),
                            help='meson build directory (default: $SBCD_BUILD)')
        parser.add_argument('--direct', action='store_true',
                            help='SIPp user to SIPp backend, no sbcd')
        parser.add_argument('--keep', action='store_true',
                            help='keep the temporary directory')
        parser.add_argument('--secure', action='store_true',
                            help='over TLS and WSS, where the test can')
        self.opts = parser.parse_args(argv)
        self.name = name
        self.direct = self.opts.direct
        self.failures = 0
        self.checks = 0
        self.procs = []
        self.started = time.monotonic()
        self.tmp = tempfile.mkdtemp(prefix='sbcd-sip-%s.' % name)

    # -- checks ---------------------------------------------------------

    def check(self, ok, what, detail=None):
        """Record one check; print it. Returns ok."""
        self.checks += 1
        if ok:
            print('PASS: %s' % what, flush=True)
        else:
            self.failures += 1
            print('FAIL: %s' % what, flush=True)
            if detail:
                for line in str(detail).rstrip().splitlines()[-40:]:
                    print('    | ' + line)
        return ok

    def require(self, ok, what, detail=None):
        """A check the rest of the run depends on: stop the run if false."""
        if not self.check(ok, what, detail):
            raise Failure(what)

    def note(self, text):
        print('-- [%5.1fs] %s' % (time.monotonic() - self.started, text),
              flush=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    # -- processes ------------------------------------------------------

    def spawn(self, argv, log, **kwargs):
        """Start a process with stdout and stderr into log (a file name in
        the temporary directory); it is stopped at the end of the run."""
        out = open(self.path(log), 'ab')
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL,
                                    cwd=self.tmp, **kwargs)
        finally:
            out.close()
        self.procs.append(proc)
        return proc

    def stop_all(self):
        """Stop every process this run started and that still runs: SIGTERM,
        then SIGKILL after 5 s. By PID only."""
        alive = [p for p in self.procs if p.poll() is None]
        for p in alive:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        for p in alive:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def binary(self, name):
        """A program of the build tree: daemon/sbcd, daemon/sbcctl."""
        build = self.opts.build
        if not build:
            raise Failure('no build directory: set SBCD_BUILD or --build')
        path = os.path.join(build, 'daemon', name)
        if not os.access(path, os.X_OK):
            raise Failure('%s is not built' % path)
        return path

    # -- peers ----------------------------------------------------------

    def sbcd(self, **kwargs):
        return Sbcd(self, **kwargs)

    def sipp(self, name, scenario, **kwargs):
        return Sipp(self, name, scenario, **kwargs)


def run(name, main, direct_ok=True, uses_sipp=True):
    """Run main(test) as a test program: exit 0 when every check passed,
    1 when one failed or the run broke, 77 (skip) when SIPp is missing
    (and uses_sipp) or --direct was asked of a test that has no direct
    form (direct_ok)."""
    test = Test(name, sys.argv[1:])

    def on_signal(signum, frame):
        raise SystemExit('stopped by signal %d' % signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    status = 1
    try:
        if uses_sipp and not shutil.which('sipp'):
            print('SKIP: sipp (Debian package sip-tester) is not installed')
            status = SKIP
            return
        if test.direct and not direct_ok:
            print('SKIP: this test has no direct (SIPp-to-SIPp) form')
            status = SKIP
            return
        print('== %s%s, files in %s' % (name, ' (direct: no sbcd)'
                                        if test.direct else '', test.tmp),
              flush=True)
        main(test)
        status = 0 if test.failures == 0 else 1
    except Failure as e:
        print('STOP: %s' % e)
    except SystemExit as e:
        print('STOP: %s' % e)
    except Exception:
        import traceback
        traceback.print_exc()
        print('STOP: the test itself broke')
    finally:
        test.stop_all()
        if status == 0 and not test.opts.keep:
            shutil.rmtree(test.tmp, ignore_errors=True)
        elif status != SKIP:
            print('files kept in %s' % test.tmp)
        if status != SKIP:
            print('%s: %d checks, %d failed, %.1f s' %
                  (name, test.checks, test.failures,
                   time.monotonic() - test.started))
    sys.exit(status)


class Sbcd:
    """The daemon under test, on free loopback ports:

    access  UDP and TCP (users), ws  WebSocket (browsers),
    core    UDP (the backend talks to it), backend  where the backend
    listens (one backend, sip:127.0.0.1:backend).

    backends, if given, is the config's `backends` (and `routes`) text
    instead of that one backend; probe is its `probe` group, by default
    no probes (SIPp backends without -aa cannot answer them).
    """

    def __init__(self, test, workers=2, idle_timeout=5, ws_ping=2, t1=100,
                 log_level='info', extra='', secure=False, listen=(),
                 backends=None, probe='probe = { interval = 0; };'):
        self.test = test
        self.workers_n = workers
        self.access = free_port()
        self.ws = free_port(udp=False)
        self.core = free_port()
        self.backend = free_port()
        self.tls = self.wss = None
        listen = list(listen)
        secure_conf = ''
        if secure:
            self.tls = free_port(udp=False)
            self.wss = free_port(udp=False)
            cert, key = self.certificate()
            listen += ['tls:%s:%d' % (LOOPBACK, self.tls),
                       'wss:%s:%d' % (LOOPBACK, self.wss)]
            secure_conf = ('tls = { certificate = "%s"; key = "%s"; };'
                           % (cert, key))
        more_listen = ''.join(',\n                      "%s"' % l
                              for l in listen)
        self.ctl = test.path('ctl')
        self.conf = test.path('sbcd.conf')
        self.log = 'sbcd.log'
        self.sbcctl_bin = test.binary('sbcctl')
        if backends is None:
            backends = 'backends = [ "sip:%s:%d" ];' % (LOOPBACK,
                                                       self.backend)
        self.backends_text = backends
        with open(self.conf, 'w') as f:
            f.write(f'''# written by sbcit.py for one test run
workers = {workers};
control = {{ socket = "{self.ctl}"; pid_file = "{test.path('pid')}"; }};
access = {{ listen = [ "udp:{LOOPBACK}:{self.access}",
                      "tcp:{LOOPBACK}:{self.access}",
                      "ws:{LOOPBACK}:{self.ws}"{more_listen} ]; }};
{secure_conf}
core = {{ listen = [ "udp:{LOOPBACK}:{self.core}" ]; }};
{backends}
{probe}
sip = {{ t1 = {t1}; }};
connections = {{ idle_timeout = {idle_timeout}; ws_ping_interval = {ws_ping}; }};
log = {{ level = "{log_level}"; }};
{extra}
''')
        test.note('sbcd: access udp/tcp %d, ws %d, core %d, backend %d' %
                  (self.access, self.ws, self.core, self.backend))
        self.proc = test.spawn([test.binary('sbcd'), '-c', self.conf],
                               self.log)
        self.wait_ready()
        self.worker_pids = self.pids()

    def certificate(self):
        """A self-signed P-256 certificate and key for the tls and wss
        listeners, made with openssl in the test's directory."""
        cert, key = self.test.path('cert.pem'), self.test.path('key.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec',
                        '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                        '-nodes', '-days', '2', '-subj', '/CN=sbcd-it',
                        '-keyout', key, '-out', cert],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        return cert, key

    def wait_ready(self, limit=15):
        """Until sbcctl status answers, every worker runs, and sbcd answers
        OPTIONS on the access side, at most limit seconds."""
        deadline = time.monotonic() + limit
        status = running = options = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure('sbcd exited at start with status %d:\n%s' %
                              (self.proc.returncode, self.log_tail()))
            if not status:
                status = self.sbcctl('status', check=False)[0] == 0
            if status and not running:
                running = len(self.pids()) == self.workers_n
            if running and not options:
                options = self.ping(timeout=0.5) == 200
            if options:
                self.test.note('sbcd ready, pid %d' % self.proc.pid)
                return
            time.sleep(0.2)
        raise Failure('sbcd not ready in %d s (sbcctl status: %s, workers '
                      'running: %s, OPTIONS: %s)\n%s' %
                      (limit, status, running, options, self.log_tail()))

    def ping(self, timeout=2.0):
        """Status code of an OPTIONS to sbcd itself (access UDP), or None."""
        with sipmsg.UdpPeer() as peer:
            req = peer.request('OPTIONS', 'sip:%s:%d' % (LOOPBACK, self.access),
                               to='sip:%s:%d' % (LOOPBACK, self.access))
            peer.send(req, (LOOPBACK, self.access))
            rsp = peer.recv_response(req, timeout=timeout)
            return rsp.code if rsp else None

    def log_tail(self, lines=40):
        try:
            with open(self.test.path(self.log), errors='replace') as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return ''

    def log_text(self):
        with open(self.test.path(self.log), errors='replace') as f:
            return f.read()

    def sbcctl(self, *args, check=True, timeout=10):
        """Run sbcctl on this sbcd's control socket: (status, stdout)."""
        argv = [self.sbcctl_bin, '-s', self.ctl] + list(args)
        try:
            res = subprocess.run(argv, capture_output=True, text=True,
                                 timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure('sbcctl %s: no answer in %d s' %
                          (' '.join(args), timeout))
        if check and res.returncode != 0:
            raise Failure('sbcctl %s: exit %d: %s' %
                          (' '.join(args), res.returncode,
                           (res.stderr + res.stdout).strip()))
        return res.returncode, res.stdout

    def sbcctl_json(self, *args):
        out = self.sbcctl('--json', *args)[1]
        try:
            return json.loads(out)
        except ValueError:
            raise Failure('sbcctl %s --json: not JSON: %r' %
                          (' '.join(args), out[:300]))

    def registrations(self, aor=None):
        """Bindings as sbcctl lists them: a list of dicts with aor, contact,
        source (ip:port), transport, conn ("0x..." or null for UDP),
        expires (seconds left), backend (its URI), user_agent."""
        regs = self.sbcctl_json('registrations', *([aor] if aor else []))
        if not isinstance(regs, list):
            raise Failure('sbcctl registrations --json: not an array: %r' %
                          (regs,))
        return regs

    def workers(self):
        """sbcctl workers --json: a list of dicts with index, pid (null
        while the worker is not running), state, incarnation, restarts."""
        rows = self.sbcctl_json('workers')
        if not isinstance(rows, list):
            raise Failure('sbcctl workers --json: not an array: %r' % (rows,))
        return rows

    def set_backends(self, backends):
        """Rewrite the backends text of the config file (a reload is the
        caller's)."""
        with open(self.conf) as f:
            text = f.read()
        with open(self.conf, 'w') as f:
            f.write(text.replace(self.backends_text, backends))
        self.backends_text = backends

    def backends(self):
        """sbcctl backends --json: a list of dicts (set, uri, state,
        in_config, calls, attempts, failures, probes, ...)."""
        rows = self.sbcctl_json('backends')
        if not isinstance(rows, list):
            raise Failure('sbcctl backends --json: not an array: %r' %
                          (rows,))
        return rows

    def backend_row(self, uri):
        """The row of sbcctl backends for uri (in the config), or None."""
        for row in self.backends():
            if row.get('uri') == uri and row.get('in_config'):
                return row
        return None

    def health(self):
        """sbcctl health: (exit status, its one line, seconds it took)."""
        start = time.monotonic()
        argv = [self.sbcctl_bin, '-s', self.ctl, 'health']
        try:
            res = subprocess.run(argv, capture_output=True, text=True,
                                 timeout=5, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, 'no answer in 5 s', time.monotonic() - start
        line = (res.stdout + res.stderr).strip()
        return res.returncode, line, time.monotonic() - start

    def pids(self):
        """{worker index: pid} of the running workers."""
        return {int(row['index']): int(row['pid'])
                for row in self.workers()
                if row.get('pid') and row.get('state') == 'running'}

    def stop(self, expect_same_workers=True):
        """SIGTERM, wait (bounded), check exit 0 and a clean log."""
        test = self.test
        if expect_same_workers:
            now = self.pids()
            test.check(now == self.worker_pids,
                       'no worker died during the test (pids %s)' % now,
                       'at start: %s' % self.worker_pids)
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = 'none: killed after 20 s'
        test.check(rc == 0, 'sbcd stops on SIGTERM with exit 0 (got %s)' % rc,
                   self.log_tail())
        text = self.log_text()
        bad = [l for l in text.splitlines()
               if 'Sanitizer' in l or 'runtime error:' in l]
        test.check(not bad, 'no sanitizer report in the sbcd log',
                   '\n'.join(bad[:20]))


class Sipp:
    """One SIPp process on a scenario template of scenarios/.

    values fill the template's @NAME@ slots; keys are SIPp -key keywords
    ([name] in messages). port is the local port (0: a free one). remote
    is host:port for a UAC. calls (-m) and timeout (-timeout, seconds)
    bound the run. Everything SIPp writes stays in the test's directory:
    NAME.err (unexpected messages), NAME.msg (every message), NAME.csv
    (statistics), NAME.log (log actions), NAME.out (the screen).
    """

    def __init__(self, test, name, scenario, remote=None, port=0,
                 transport='u1', inf=None, calls=1, rate=None, limit=None,
                 timeout=30, recv_timeout=None, values=None, keys=None,
                 extra=()):
        self.test = test
        self.name = name
        self.port = port or free_port()
        self.calls = calls
        with open(os.path.join(SCENARIOS, scenario)) as f:
            text = render(f.read(), values or {})
        self.scenario = test.path(name + '.xml')
        with open(self.scenario, 'w') as f:
            f.write(text)
        argv = ['sipp', '-sf', self.scenario,
                '-i', LOOPBACK, '-bind_local', '-p', str(self.port),
                '-t', transport, '-nostdin',
                '-m', str(calls), '-timeout', '%ds' % timeout,
                '-timeout_error',
                '-trace_err', '-error_file', test.path(name + '.err'),
                '-trace_msg', '-message_file', test.path(name + '.msg'),
                '-trace_stat', '-stf', test.path(name + '.csv'), '-fd', '1',
                '-trace_logs', '-log_file', test.path(name + '.log')]
        if inf:
            argv += ['-inf', inf]
        if rate:
            argv += ['-r', str(rate)]
        if limit:
            argv += ['-l', str(limit)]
        if recv_timeout:
            argv += ['-recv_timeout', '%dms' % int(recv_timeout * 1000)]
        for key, value in (keys or {}).items():
            argv += ['-key', key, str(value)]
        argv += list(extra)
        if remote:
            argv.append(remote)
        self.argv = argv
        self.proc = test.spawn(argv, name + '.out')
        self.started = time.time()
        if not remote:
            self.wait_listening('tcp' if transport.startswith('t')
                                else 'udp')

    def wait_listening(self, proto, limit=10):
        """Until this SIPp (a UAS) has its socket bound (UDP) or listening
        (TCP), so that what is sent to it from now on is not lost."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure('%s: sipp exited at start (%s)\n%s' %
                              (self.name, self.proc.returncode,
                               self.errors()))
            if port_bound(proto, self.port):
                return
            time.sleep(0.05)
        raise Failure('%s: sipp not on port %d after %d s' %
                      (self.name, self.port, limit))

    def alive(self):
        return self.proc.poll() is None

    def wait(self, limit=None):
        """Wait for SIPp to end (it bounds itself with -timeout; limit is
        a last resort): its exit status."""
        try:
            return self.proc.wait(limit)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return 'killed'

    def stop(self):
        """End a SIPp that would wait for more calls (SIGUSR1 makes SIPp
        quit, SIGTERM if it does not)."""
        if self.alive():
            self.proc.send_signal(signal.SIGUSR1)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait(5)

    def stats(self):
        """The last row of SIPp's statistics file, as {column: value}."""
        try:
            with open(self.test.path(self.name + '.csv')) as f:
                lines = [l.rstrip('\n') for l in f if l.strip()]
        except OSError:
            return {}
        if len(lines) < 2:
            return {}
        head = lines[0].split(';')
        return dict(zip(head, lines[-1].split(';')))

    def count(self, column):
        value = self.stats().get(column, '')
        return int(value) if value.isdigit() else None

    def successful(self):
        return self.count('SuccessfulCall(C)')

    def failed(self):
        return self.count('FailedCall(C)')

    def errors(self, lines=30):
        """The end of SIPp's error log and screen, for a failure report."""
        text = ''
        for suffix in ('.err', '.out'):
            try:
                with open(self.test.path(self.name + suffix),
                          errors='replace') as f:
                    body = f.read()
            except OSError:
                continue
            if suffix == '.out':
                body = strip_screen(body)
            tail = body.strip().splitlines()[-lines:]
            if tail:
                text += '%s%s:\n%s\n' % (self.name, suffix, '\n'.join(tail))
        return text

    def expect(self, what, ok=None, limit=None):
        """Wait for the run; check exit status 0 and that ok calls (default:
        calls) succeeded and none failed. Returns True if so."""
        ok = self.calls if ok is None else ok
        rc = self.wait(limit)
        good, bad = self.successful(), self.failed()
        return self.test.check(
            rc == 0 and good == ok and bad == 0,
            '%s: %s/%s calls succeeded, %s failed (sipp exit %s)' %
            (what, good, ok, bad, rc), self.errors())


def port_bound(proto, port):
    """True if a local IPv4 socket is bound to port (UDP) or listens on
    it (TCP), from /proc/net."""
    with open('/proc/net/' + proto) as f:
        next(f)
        for line in f:
            fields = line.split()
            local, state = fields[1], fields[3]
            if int(local.split(':')[1], 16) != port:
                continue
            if proto == 'udp' or state == '0A':
                return True
    return False


def strip_screen(text):
    """SIPp's screen output without its terminal escapes."""
    out = []
    for line in text.splitlines():
        while '\x1b[' in line:
            i = line.index('\x1b[')
            j = i + 2
            while j < len(line) and not line[j].isalpha():
                j += 1
            line = line[:i] + line[j + 1:]
        if line.strip():
            out.append(line)
    return '\n'.join(out)
