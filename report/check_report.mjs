// Opens a darkmatter report.html from file:// in headless Chromium (playwright-core driving the
// system browser) and fails unless it renders cleanly: no console error, no page error, no
// request leaves the machine, every chart container holds a drawn <svg> or <canvas> of
// non-trivial size, and every <video> loads its metadata. Saves a screenshot.
//
// usage: node check_report.mjs REPORT.html SCREENSHOT.png
// (SCREENSHOT.png: the first screen; SCREENSHOT-full.png: the whole page)
// env:   CHROMIUM (default /usr/bin/chromium), REPORT_TIMEOUT_MS (default 30000)
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [htmlArg, shotArg] = process.argv.slice(2);
if (!htmlArg || !shotArg) {
  console.error('usage: node check_report.mjs REPORT.html SCREENSHOT.png');
  process.exit(2);
}
const timeout = Number(process.env.REPORT_TIMEOUT_MS || 30000);
const url = pathToFileURL(resolve(htmlArg)).href;
const problems = [];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // --no-sandbox: the tests may run as root (in a container), where the sandbox refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const error = req.failure()?.errorText ?? '';
    // Chromium cancels a video's first request once it has the headers and reads on with
    // range requests; that shows up as ERR_ABORTED and is not a failure. The videos' own
    // readyState/error is checked below.
    if (error === 'net::ERR_ABORTED' && /\.mp4$/.test(req.url())) return;
    problems.push(`request failed: ${req.url()} (${error})`);
  });
  // Offline: anything but file: and data: URLs is a failure (the report must be self-contained).
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file:') || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    problems.push(`network request: ${u}`);
    return route.abort();
  });

  await page.goto(url, { waitUntil: 'load', timeout });
  await page.waitForFunction(() => document.body.getAttribute('data-charts') === 'done', null, { timeout });

  // Every chart container: a drawn svg/canvas at least 150x80 px with marks in it.
  const charts = await page.$$eval('.chart', (els) => els.map((el) => {
    const g = el.querySelector('svg, canvas');
    const box = g ? g.getBoundingClientRect() : { width: 0, height: 0 };
    const marks = g ? g.querySelectorAll('path, rect, line, circle, symbol, text').length : 0;
    return { id: el.id, drawn: el.getAttribute('data-drawn') === '1', kind: g ? g.tagName.toLowerCase() : 'none',
             width: Math.round(box.width), height: Math.round(box.height), marks };
  }));
  if (charts.length === 0) problems.push('no chart containers in the page');
  for (const c of charts) {
    const ok = c.drawn && c.kind !== 'none' && c.width >= 150 && c.height >= 80 && (c.kind === 'canvas' || c.marks >= 10);
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${c.id}: ${c.kind} ${c.width}x${c.height}, ${c.marks} marks`);
    if (!ok) problems.push(`chart ${c.id} not drawn (${c.kind} ${c.width}x${c.height}, ${c.marks} marks)`);
  }
  // Sections: each shows either drawn content or an explicit "no data" note.
  const sections = await page.$$eval('main section', (els) => els.map((s) => ({
    id: s.id, charts: s.querySelectorAll('.chart').length, tables: s.querySelectorAll('table').length,
    videos: s.querySelectorAll('video, .missing').length, empty: s.querySelectorAll('.empty').length })));
  for (const s of sections) {
    if (s.charts + s.tables + s.videos + s.empty === 0) problems.push(`section ${s.id} is blank`);
  }
  // Videos: metadata loads (the file is found and the codec plays).
  const videos = await page.$$eval('video', (els) => els.length);
  if (videos > 0) {
    try {
      await page.waitForFunction(() => [...document.querySelectorAll('video')].every((v) => v.readyState >= 1 || v.error),
        null, { timeout });
    } catch (e) { problems.push(`videos did not load: ${e.message}`); }
    const states = await page.$$eval('video', (els) => els.map((v) => ({ src: v.getAttribute('src'),
      ready: v.readyState, error: v.error ? v.error.code : 0, w: v.videoWidth, h: v.videoHeight })));
    for (const v of states) {
      const ok = v.ready >= 1 && !v.error && v.w > 0;
      console.log(`${ok ? 'ok  ' : 'FAIL'} video ${v.src}: ${v.w}x${v.h}, readyState ${v.ready}, error ${v.error}`);
      if (!ok) problems.push(`video ${v.src} did not load (error ${v.error}, readyState ${v.ready})`);
    }
  }
  await page.screenshot({ path: shotArg });
  await page.screenshot({ path: shotArg.replace(/\.png$/, '') + '-full.png', fullPage: true });
  console.log(`${charts.length} charts, ${sections.length} sections, ${videos} videos; screenshot ${shotArg}`);
} finally {
  await browser.close();
}
if (problems.length) {
  for (const p of problems) console.error(`problem: ${p}`);
  process.exit(1);
}
console.log('report renders cleanly in Chromium');
