/*
 * The browser of sbcd's WebRTC end-to-end test (test_webrtc.py): headless
 * Chromium, the system's (/usr/bin/chromium; playwright-core never
 * downloads one), driven through playwright-core, with page.html and
 * page.js (a JsSIP phone) in each tab.
 *
 * The Python test talks to this program through its standard input and
 * output, one JSON object a line each way. A command is
 *   {"id": N, "cmd": NAME, "tab": TAB, ...arguments}
 * and its reply {"id": N, "ok": true|false, ...} (with "error" when a
 * command could not run). Commands run concurrently, so one tab may wait
 * for an incoming call while another places it.
 *
 *   open {tab}                              a new tab with the phone
 *   register {tab, url, uri, password?}     JsSIP UA over WSS, REGISTER
 *   auto_answer {tab, bundlePolicy?}        answer every incoming call
 *   call {tab, target, bundlePolicy?, codecs?}
 *                                           an outgoing call (codecs: the
 *                                           only ones its offer names)
 *   wait {tab, what, timeout}               incoming|confirmed|ended|media
 *   stats {tab}                             getStats() and the call's record
 *   tone {tab}                              the loudest received frequency
 *   hangup {tab}                            BYE (or CANCEL)
 *   events {tab, since?}                    what the page noted, in order
 *   close_tab {tab}                         the tab closes: no BYE, the
 *                                           WebSocket just goes away
 *   quit                                    the browser closes, then this
 *
 * Options: --chromium PATH; --workdir DIR, where a copy of the page and
 * JsSIP bundled for it go (default $TMPDIR/sbcd-webrtc-page); --audio WAV,
 * the fake microphone's sound (default: Chromium's beep). Page console
 * lines and the browser's errors go to standard error.
 */

import { copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));

const { values: opts } = parseArgs({
  options: {
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    workdir: { type: 'string' },
    audio: { type: 'string' },
  },
});

const tabs = new Map();
let browser = null;
let closing = false;
const pending = new Set();       // commands still running


function log(text) {
  process.stderr.write(`[${new Date().toISOString()}] ${text}\n`);
}


function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}


/* JsSIP for the browser (its npm package ships CommonJS only), and the
   page beside it in the work directory. */
function preparePage(workdir) {
  mkdirSync(workdir, { recursive: true });
  esbuild.buildSync({
    entryPoints: [join(HERE, 'node_modules', 'jssip', 'lib', 'JsSIP.js')],
    bundle: true, format: 'iife', globalName: 'JsSIP',
    platform: 'browser', outfile: join(workdir, 'jssip.js'), logLevel: 'error',
  });
  for (const name of ['page.html', 'page.js'])
    copyFileSync(join(HERE, name), join(workdir, name));
  return pathToFileURL(join(workdir, 'page.html')).href;
}


function chromiumArgs() {
  const args = [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection',
    '--ignore-certificate-errors',
    '--no-sandbox',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--autoplay-policy=no-user-gesture-required',
    '--allow-file-access-from-files',
  ];
  if (opts.audio)
    args.push('--use-file-for-fake-audio-capture=' + resolve(opts.audio));
  return args;
}


function tab(name) {
  const page = tabs.get(name);
  if (!page)
    throw new Error(`no tab ${name}`);
  return page;
}


async function openTab(name, url) {
  if (tabs.has(name))
    throw new Error(`tab ${name} is open`);
  const context = browser.contexts()[0] || await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => log(`${name} console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log(`${name} page error: ${e}`));
  page.on('close', () => log(`${name} closed`));
  await page.goto(url);
  await page.waitForFunction(() => window.sbc && typeof JsSIP !== 'undefined');
  tabs.set(name, page);
  return {};
}


/* Run fn(arg) in the tab (fn is serialized: it sees only the page). */
function inTab(name, fn, arg) {
  return tab(name).evaluate(fn, arg);
}


const commands = {
  open: (c, url) => openTab(c.tab, url),
  register: (c) => inTab(c.tab, (a) => window.sbc.register(a.url, a.uri, a.password, a),
                         { url: c.url, uri: c.uri, password: c.password,
                           display: c.display, timeout: c.timeout }),
  auto_answer: (c) => inTab(c.tab, (a) => window.sbc.autoAnswer(a),
                            { bundlePolicy: c.bundlePolicy }),
  call: (c) => inTab(c.tab, (a) => window.sbc.call(a.target, a),
                     { target: c.target, bundlePolicy: c.bundlePolicy,
                       codecs: c.codecs }),
  wait: (c) => inTab(c.tab, (a) => window.sbc.wait(a.what, a.timeout),
                     { what: c.what, timeout: c.timeout || 10000 }),
  stats: (c) => inTab(c.tab, () => window.sbc.stats()),
  tone: (c) => inTab(c.tab, () => window.sbc.tone()),
  hangup: (c) => inTab(c.tab, () => window.sbc.hangup()),
  events: (c) => inTab(c.tab, (n) => window.sbc.events_since(n), c.since || 0),
  close_tab: async (c) => {
    await tab(c.tab).close({ runBeforeUnload: false });
    tabs.delete(c.tab);
    return {};
  },
};


async function run(cmd, url) {
  const out = { id: cmd.id };
  try {
    const fn = commands[cmd.cmd];
    if (!fn)
      throw new Error(`unknown command ${cmd.cmd}`);
    const result = await fn(cmd, url);
    Object.assign(out, { ok: true }, result);
    if (result && result.ok === false)
      out.ok = false;
  } catch (e) {
    Object.assign(out, { ok: false, error: String(e && e.message || e) });
  }
  reply(out);
}


async function quit(code) {
  closing = true;
  try {
    if (browser)
      await browser.close();
  } finally {
    process.exit(code);
  }
}


async function main() {
  const workdir = resolve(opts.workdir || join(tmpdir(), 'sbcd-webrtc-page'));
  const url = preparePage(workdir);
  browser = await chromium.launch({
    executablePath: opts.chromium, headless: true, args: chromiumArgs(),
  });
  log(`chromium ${browser.version()} from ${opts.chromium}, page ${url}`);
  browser.on('disconnected', () => {
    if (closing)
      return;
    log('the browser went away');
    process.exit(3);
  });
  reply({ id: 0, ok: true, ready: true, version: browser.version() });

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (!line.trim())
      return;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      reply({ id: null, ok: false, error: `not JSON: ${line}` });
      return;
    }
    if (cmd.cmd === 'quit') {
      reply({ id: cmd.id, ok: true });
      quit(0);
      return;
    }
    const job = run(cmd, url).finally(() => pending.delete(job));
    pending.add(job);
  });
  lines.on('close', async () => {
    await Promise.allSettled([...pending]);
    quit(0);
  });
}


for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'])
  process.on(sig, () => quit(1));

main().catch((e) => {
  log(`driver: ${e && e.stack || e}`);
  quit(2);
});
