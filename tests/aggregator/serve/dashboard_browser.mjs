// The dashboard as an operator uses it, in Debian's Chromium driven by puppeteer-core: the real
// footfall-aggregator (ingest-file fills a SQLite store, serve answers), sign-in, portfolio, a changed date
// range, the comparison, live occupancy moving while new presence is ingested, a CSV and the PDF downloaded,
// the phone width and print, another tenant refused, failed sign-ins slowed. Prints one JSON object of what it
// saw; test_serve_browser.cpp asserts on it. Run by that test: FOOTFALL_BIN (footfall-aggregator), WORK (a
// scratch folder), SHOTS (where the screenshots go).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const puppeteer = require('puppeteer-core');

const bin = process.env.FOOTFALL_BIN;
const work = process.env.WORK;
const shots = process.env.SHOTS || work;
mkdirSync(shots, { recursive: true });
const result = { console_errors: [] };
const DAY = 86_400_000;

// --- the store: three sites of two tenants, 21 days, one day of mall-7 without any data ---
const today = Math.floor(Date.now() / DAY) * DAY;
const missingDay = today - 3 * DAY;
const iso = (t) => new Date(t).toISOString();
const hex = (n, width = 32) => n.toString(16).padStart(width, '0');
let serial = 1;
const lines = [];
function visit(t, dwellMin, zones) {
  const id = serial++;
  return {
    device: hex(id * 7919), key_epoch: 1, arrival: iso(t), departure: iso(t + dwellMin * 60_000), dwell_s: dwellMin * 60,
    zones, entry_zone: zones[0], exit_zone: zones[zones.length - 1],
    strongest_zone: [{ from: iso(t), zone: zones[0] }],
    probes: [{ probe: 'probe-01', zone: zones[0], first_seen: iso(t), last_seen: iso(t + dwellMin * 60_000), frames: 12,
               rssi_max: -50, rssi_mean: -60 }],
    randomized: true, fingerprint: hex(id, 32), visit_id: hex(id * 31, 32),
  };
}
function presence(tenant, site, at, total, zones) {
  const id = serial++;
  return `footfall/v1/${tenant}/${site}/presence\t` + JSON.stringify({
    batch_id: `${site}-${id}-0`, tenant, site, seq: id, sent_at: iso(at), changes: [],
    occupancy: { at: iso(at), total, zones },
  });
}
const sites = [['acme', 'mall-7', 40], ['acme', 'mall-9', 25], ['globex', 'plaza-1', 30]];
for (const [tenant, site, base] of sites) {
  for (let day = today - 20 * DAY; day <= today; day += DAY) {
    if (site === 'mall-7' && day === missingDay) continue;
    const visits = [];
    const n = base + ((day / DAY) % 7) * 3;
    for (let i = 0; i < n; ++i) {
      const inside = i % 4 !== 0;  // every fourth device only passes by
      visits.push(visit(day + 9 * 3600_000 + i * 600_000, inside ? 12 + (i % 5) * 9 : 1,
                        inside ? ['entrance', 'food-court'] : ['entrance']));
    }
    const id = serial++;
    lines.push(`footfall/v1/${tenant}/${site}/visits\t` + JSON.stringify({
      batch_id: `${site}-${id}-0`, tenant, site, seq: id, sent_at: iso(day + 20 * 3600_000), visits }));
    lines.push(presence(tenant, site, day + 12 * 3600_000, n, { entrance: Math.floor(n / 3), 'food-court': n - Math.floor(n / 3) }));
  }
}
writeFileSync(path.join(work, 'feed.tsv'), lines.join('\n') + '\n');
const hash = (pw) => execFileSync(bin, ['hash-password', '--iterations', '2000'], { input: pw + '\n' }).toString().trim();
const config = path.join(work, 'aggregator.json');
writeFileSync(config, JSON.stringify({
  store: { path: path.join(work, 'agg.db') },
  publish: { enabled: false },
  tenants: { acme: { sites: { 'mall-7': {}, 'mall-9': {} } }, globex: { sites: { 'plaza-1': {} } } },
  serve: {
    port: 0, live_interval_s: 1, max_connections: 8,
    users: { alice: { tenant: 'acme', password_hash: hash('alice-secret') },
             bob: { tenant: 'globex', password_hash: hash('bob-secret') } },
  },
}, null, 1));
const ingested = JSON.parse(execFileSync(bin, ['ingest-file', '--config', config, path.join(work, 'feed.tsv')],
  { stdio: ['ignore', 'pipe', 'inherit'] }).toString());
result.ingested = { visits: ingested.visits_stored, occupancy: ingested.occupancy_samples, malformed: ingested.malformed };

// --- the server ---
const server = spawn(bin, ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
let serverOut = '';
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('serve did not print its address within 20 s')), 20_000);
  server.stdout.on('data', (d) => {
    serverOut += d;
    const m = serverOut.match(/listening on (http:\/\/[0-9.]+:[0-9]+)/);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  server.on('exit', (code) => reject(new Error(`serve exited (${code})`)));
});
// Whatever fails below, the server does not outlive the script.
process.on('exit', () => server.kill('SIGKILL'));
process.on('uncaughtException', (e) => { console.error(e); process.exit(1); });
process.on('unhandledRejection', (e) => { console.error(e); process.exit(1); });

// A raw request (no browser): status and body.
function raw(method, target, { body = '', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(base + target, { method, headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Distinct colours and the share of pixels unlike the corner's: a screenshot of a page, not a blank.
function pngContent(file) {
  const png = readFileSync(file);
  const width = png.readUInt32BE(16), height = png.readUInt32BE(20), colour = png[25];
  const channels = colour === 6 ? 4 : 3;
  const idat = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at), type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const data = inflateSync(Buffer.concat(idat));
  const stride = width * channels, out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; ++y) {
    const filter = data[y * (stride + 1)];
    for (let x = 0; x < stride; ++x) {
      const v = data[y * (stride + 1) + 1 + x];
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      let p = v;
      if (filter === 1) p = v + a; else if (filter === 2) p = v + b; else if (filter === 3) p = v + ((a + b) >> 1);
      else if (filter === 4) { const q = a + b - c, pa = Math.abs(q - a), pb = Math.abs(q - b), pc = Math.abs(q - c);
        p = v + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c); }
      out[y * stride + x] = p & 255;
    }
  }
  const colours = new Set();
  let differing = 0;
  const bg = out.readUIntBE(0, 3);
  for (let i = 0; i < out.length; i += channels) {
    const rgb = out.readUIntBE(i, 3);
    colours.add(rgb);
    if (rgb !== bg) ++differing;
  }
  return { width, height, colours: colours.size, non_background: differing / (width * height) };
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${path.join(work, 'chromium')}`],
});
const shotsTaken = {};
const refusals = ['/sites/plaza-1', '/sites/plaza-1/days.csv', '/sites/mall-7?from=2026-13-01&to=x', '/sites/mall-7',
                  '/live?site=mall-7'];
async function shoot(page, name, options = {}) {
  const file = path.join(shots, name + '.png');
  await page.screenshot({ path: file, ...options });
  shotsTaken[name] = pngContent(file);
}
function watch(page) {
  // The refusals the test asks for itself are logged by Chromium as failed loads: those are expected.
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const at = m.location().url ? new URL(m.location().url) : null;
    if (at && refusals.includes(at.pathname + at.search)) return;
    result.console_errors.push(m.text() + ' ' + (m.location().url || ''));
  });
  page.on('pageerror', (e) => result.console_errors.push(String(e)));
  page.on('requestfailed', (r) => { if (!r.url().includes('/live')) result.console_errors.push('failed: ' + r.url()); });
}
const waitFor = async (page, fn, arg, timeout = 20_000) => page.waitForFunction(fn, { timeout, polling: 100 }, arg);

try {
  const page = await browser.newPage();
  watch(page);
  await page.setViewport({ width: 1280, height: 900 });

  // Sign in: the portfolio asks for it first.
  await page.goto(base + '/portfolio');
  result.redirected_to_sign_in = new URL(page.url()).pathname === '/sign-in';
  await shoot(page, 'sign-in');
  await page.type('#user', 'alice');
  await page.type('#password', 'alice-secret');
  await Promise.all([page.waitForNavigation(), page.click('#sign-in-button')]);
  result.after_sign_in = new URL(page.url()).pathname;
  const cookies = await page.cookies();
  const session = cookies.find((c) => c.name === 'footfall_session');
  result.cookie = session ? { httpOnly: session.httpOnly, sameSite: session.sameSite } : null;

  // Portfolio: both sites of acme, none of globex, a total row; sorting by visitors.
  result.portfolio_sites = await page.$$eval('#league tbody tr th', (ths) => ths.map((t) => t.textContent));
  result.portfolio_total = await page.$eval('#league tfoot tr', (tr) => tr.textContent);
  await page.click('#league thead th:nth-child(2)');
  const asc = await page.$$eval('#league tbody tr td:nth-child(2)', (tds) => tds.map((t) => Number(t.getAttribute('data-value'))));
  await page.click('#league thead th:nth-child(2)');
  const desc = await page.$$eval('#league tbody tr td:nth-child(2)', (tds) => tds.map((t) => Number(t.getAttribute('data-value'))));
  result.sorted = { first: asc, second: desc };
  await waitFor(page, () => Number(document.getElementById('live').getAttribute('data-updates') || 0) >= 1);
  result.portfolio_live_rows = await page.$$eval('#live-table tbody tr', (trs) => trs.length);
  await shoot(page, 'portfolio');

  // Site page, then a date range changed in the page that holds the missing day.
  await Promise.all([page.waitForNavigation(), page.click('#league tbody a[href^="/sites/mall-7"]')]);
  const from = iso(today - 9 * DAY).slice(0, 10), to = iso(today - 1 * DAY).slice(0, 10);
  await page.$eval('#from', (e, v) => { e.value = v; }, from);
  await page.$eval('#to', (e, v) => { e.value = v; }, to);
  await Promise.all([page.waitForNavigation(), page.click('#show')]);
  const url = new URL(page.url());
  result.range = { from: url.searchParams.get('from'), to: url.searchParams.get('to') };
  result.comparison = await page.$$eval('#comparison-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.children).map((c) => c.textContent)));
  result.comparison_marks = await page.$eval('svg[data-chart="comparison-visitors"]', (s) => s.querySelectorAll('.mark').length);
  result.missing_days = await page.$$eval('li[data-missing]', (lis) => lis.map((l) => l.getAttribute('data-missing')));
  result.expected_missing = iso(missingDay).slice(0, 10);
  // The days table of the report: the missing day's row holds dashes, its neighbours counts.
  const missingRow = (missingDay - (today - 9 * DAY)) / DAY;
  result.missing_day_cells = await page.$$eval('#days table tbody tr', (trs, i) =>
    [trs[i - 1], trs[i]].map((tr) => Array.from(tr.children).slice(1, 3).map((c) => c.textContent)), missingRow);
  result.report_charts = await page.$$eval('svg.chart', (s) => s.length);

  // Live: a new presence sample, ingested through the aggregator, reaches the open page.
  await waitFor(page, () => Number(document.getElementById('live').getAttribute('data-updates') || 0) >= 1);
  result.live_before = await page.$eval('#live-total', (e) => e.textContent);
  writeFileSync(path.join(work, 'presence.tsv'), presence('acme', 'mall-7', Date.now(), 123, { entrance: 23, 'food-court': 100 }) + '\n');
  execFileSync(bin, ['ingest-file', '--config', config, path.join(work, 'presence.tsv')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor(page, () => document.getElementById('live-total').textContent === '123');
  result.live_after = await page.$eval('#live-total', (e) => e.textContent);
  result.live_zones = await page.$$eval('#live-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
  await shoot(page, 'site');
  await page.$eval('#comparison', (e) => e.scrollIntoView());
  await shoot(page, 'comparison', { clip: await page.$eval('#comparison', (e) => { const r = e.getBoundingClientRect();
    return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height }; }) });

  // Downloads: a CSV (the days of the range) and the PDF.
  const csv = await page.evaluate(async (href) => { const r = await fetch(href);
    return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), text: await r.text() }; },
  await page.$eval('#downloads a[href*="/days.csv"]', (a) => a.getAttribute('href')));
  result.csv = { status: csv.status, type: csv.type, disposition: csv.disposition, header: csv.text.split('\r\n')[0],
                 rows: csv.text.trim().split('\r\n').length - 1 };
  const pdf = await page.evaluate(async (href) => { const r = await fetch(href); const b = new Uint8Array(await r.arrayBuffer());
    return { status: r.status, magic: String.fromCharCode(...b.slice(0, 4)), bytes: b.length }; },
  await page.$eval('#pdf', (a) => a.getAttribute('href')));
  result.pdf = pdf;

  // Another tenant's site: refused as unknown.
  result.other_tenant_site = await page.evaluate(async () => (await fetch('/sites/plaza-1')).status);
  result.other_tenant_csv = await page.evaluate(async () => (await fetch('/sites/plaza-1/days.csv')).status);
  result.bad_range = await page.evaluate(async () => { const r = await fetch('/sites/mall-7?from=2026-13-01&to=x'); return [r.status, await r.text()]; });

  // Print: the navigation and the live part are not printed.
  await page.emulateMediaType('print');
  result.print_hidden = await page.$$eval('header.top nav, #range, #live, #downloads', (els) => els.every((e) => getComputedStyle(e).display === 'none'));
  await page.emulateMediaType('screen');

  // A phone: 400 px wide, the page does not scroll sideways (tables scroll in their box), text readable.
  await page.setViewport({ width: 400, height: 860, deviceScaleFactor: 1 });
  await page.reload();
  await page.evaluate(() => window.scrollTo(0, 0));
  result.phone = await page.evaluate(() => ({
    min_chart_text_px: Math.min(...Array.from(document.querySelectorAll('svg.chart text'))
      .map((t) => t.getBoundingClientRect().height).filter((h) => h > 0)),
    scroll_width: document.documentElement.scrollWidth,
    // The outermost elements wider than the screen (their parent fits): what makes the page scroll sideways.
    too_wide: Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > 402 &&
      e.parentElement.getBoundingClientRect().right <= 402).slice(0, 5).map((e) => e.tagName + '.' + e.className + '#' + e.id + ' ' + getComputedStyle(e).display + ' ' +
      Math.round(e.getBoundingClientRect().width) + ' in ' + Math.round(e.parentElement.getBoundingClientRect().width)),
    min_font_px: Math.min(...Array.from(document.querySelectorAll('td, th, p, label')).filter((e) => e.offsetParent)
      .map((e) => parseFloat(getComputedStyle(e).fontSize))),
  }));
  await shoot(page, 'phone');

  // Bob of globex sees plaza-1 only.
  const other = await browser.createBrowserContext();
  const bobPage = await other.newPage();
  watch(bobPage);
  await bobPage.goto(base + '/sign-in');
  await bobPage.type('#user', 'bob');
  await bobPage.type('#password', 'bob-secret');
  await Promise.all([bobPage.waitForNavigation(), bobPage.click('#sign-in-button')]);
  result.bob_sites = await bobPage.$$eval('#league tbody tr th', (ths) => ths.map((t) => t.textContent));
  result.bob_mall_7 = await bobPage.evaluate(async () => (await fetch('/sites/mall-7')).status);
  result.bob_live_mall_7 = await bobPage.evaluate(async () => (await fetch('/live?site=mall-7')).status);
  await other.close();
} finally {
  await browser.close();
}

// Without a browser: failed sign-ins slowed, no session no data, a request too large.
const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
result.wrong_password = (await raw('POST', '/sign-in', { body: 'user=alice&password=nope', headers: form })).status;
result.again_at_once = (await raw('POST', '/sign-in', { body: 'user=alice&password=alice-secret', headers: form })).status;
result.no_session_csv = (await raw('GET', '/sites/mall-7/days.csv')).status;
result.no_session_page = (await raw('GET', '/sites/mall-7')).status;
result.too_large = (await raw('POST', '/sign-in', { body: 'x'.repeat(40_000), headers: form })).status;
result.unknown_path = (await raw('GET', '/assets/nothing.js')).status;

// serve.max_connections (8): eight idle connections held open, the ninth is refused with 503. The closed
// browser's live streams end at their next event's write, within serve.live_interval_s (1 s): most of the
// time this wait covers it (the C++ side allows one more refusal for when it does not).
await new Promise((resolve) => setTimeout(resolve, 1500));
const port = Number(new URL(base).port);
const idle = await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve) => {
  const socket = connect(port, '127.0.0.1', () => resolve(socket));
})));
// The server accepts in the order the connections arrived, so the ninth finds the eight open.
result.over_cap = await raw('GET', '/sign-in').then((r) => r.status, (e) => 'error: ' + e.message);
idle.forEach((socket) => socket.destroy());

server.kill('SIGTERM');
result.server_exit = await new Promise((resolve) => server.on('exit', (code) => resolve(code)));
const summary = serverOut.trim().split('\n').pop();
try { result.server_counters = JSON.parse(summary); } catch { result.server_counters = null; }
result.screenshots = shotsTaken;

// TLS: the same server with a certificate speaks HTTPS and marks the session cookie Secure.
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
  '-keyout', path.join(work, 'key.pem'), '-out', path.join(work, 'cert.pem')], { stdio: 'ignore' });
const tlsConfig = JSON.parse(readFileSync(config));
tlsConfig.serve.tls = { cert_file: path.join(work, 'cert.pem'), key_file: path.join(work, 'key.pem') };
writeFileSync(config, JSON.stringify(tlsConfig));
const tlsServer = spawn(bin, ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'ignore'] });
process.on('exit', () => tlsServer.kill('SIGKILL'));
const tlsBase = await new Promise((resolve) => {
  let out = '';
  tlsServer.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (https:\/\/[0-9.]+:[0-9]+)/); if (m) resolve(m[1]); });
});
result.tls = await new Promise((resolve, reject) => {
  const req = httpsRequest(tlsBase + '/sign-in', { method: 'POST', rejectUnauthorized: false, headers: form }, (res) => {
    res.resume();
    res.on('end', () => resolve({ status: res.statusCode, cookie: (res.headers['set-cookie'] || [''])[0].replace(/=[0-9a-f]+;/, '=…;') }));
  });
  req.on('error', reject);
  req.end('user=alice&password=alice-secret');
});
result.plain_to_tls = await new Promise((resolve) => {
  const req = request(tlsBase.replace('https', 'http') + '/sign-in', (res) => { res.resume(); resolve('answered ' + res.statusCode); });
  req.on('error', () => resolve('refused'));
  req.end();
});
tlsServer.kill('SIGTERM');
console.log(JSON.stringify(result));
