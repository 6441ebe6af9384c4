// Login page first paint on a throttled phone profile (a benchmark, not a test: it prints figures
// and never fails on a time). Run by scripts/bench.sh against a running `boxpilot serve` that
// serves dist/:
//
//   BOXPILOT_URL=http://127.0.0.1:PORT node tests/browser/first_paint.mjs [--long]
//
// Each load: a fresh browser context (cold cache), 390x844 phone viewport, CDP
// Emulation.setCPUThrottlingRate {rate: 4} and Network.emulateNetworkConditions (1.6 Mbit/s down,
// 750 kbit/s up, 150 ms latency). Measured from navigation start:
//   - FCP: PerformanceObserver 'paint', first-contentful-paint (the static shell of index.html);
//   - interactive: the login form rendered by the wasm app is present and enabled (#login-username).
// Median of 5 loads (15 with --long or BOXPILOT_LONG=1). Goals: FCP <= 1.5 s, interactive <= 3 s.
import { createRequire } from 'node:module';
import path from 'node:path';

const tools = process.env.BOXPILOT_TOOLS_DIR || path.join(process.env.HOME, '.cache/boxpilot-tools');
const { chromium } = createRequire(path.join(tools, 'node_modules/'))('playwright-core');
const base = process.env.BOXPILOT_URL;
const long = process.argv.includes('--long') || ['1', 'true', 'yes'].includes(process.env.BOXPILOT_LONG || '');
const runs = Number(process.env.BOXPILOT_FIRST_PAINT_RUNS || (long ? 15 : 5));
const GOAL_FCP = 1500;
const GOAL_INTERACTIVE = 3000;
const NETWORK = {
  offline: false,
  latency: 150, // ms
  downloadThroughput: (1.6 * 1e6) / 8, // bytes/s
  uploadThroughput: (750 * 1e3) / 8,
};

if (!base) {
  console.error('BOXPILOT_URL is needed (a running `boxpilot serve` serving dist/)');
  process.exit(2);
}

// Runs in the page before any of its scripts.
function probe() {
  window.__bp = {};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.name === 'first-contentful-paint' && window.__bp.fcp === undefined) window.__bp.fcp = e.startTime;
    }
  }).observe({ type: 'paint', buffered: true });
  const ready = () => {
    const el = document.querySelector('#login-username');
    if (el && !el.disabled && el.getClientRects().length > 0) {
      window.__bp.interactive = performance.now();
      return true;
    }
    return false;
  };
  const watch = new MutationObserver(() => {
    if (window.__bp.interactive === undefined && ready()) watch.disconnect();
  });
  watch.observe(document, { subtree: true, childList: true, attributes: true });
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

async function load(browser) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 3,
    isMobile: true,
    hasTouch: true,
  });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const transfers = [];
    page.on('response', (r) => {
      const h = r.headers();
      transfers.push({ url: r.url(), encoding: h['content-encoding'] || 'identity', length: Number(h['content-length'] || 0) });
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.clearBrowserCache');
    await cdp.send('Network.emulateNetworkConditions', NETWORK);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    await page.addInitScript(probe);
    await page.goto(base + '/login', { waitUntil: 'commit', timeout: 60_000 });
    await page.waitForFunction(() => window.__bp && window.__bp.interactive !== undefined, null, {
      timeout: 60_000,
      polling: 100,
    });
    const m = await page.evaluate(() => {
      const resources = performance.getEntriesByType('resource').map((r) => ({
        name: r.name.split('/').pop(),
        transfer: r.transferSize,
        encoded: r.encodedBodySize,
        decoded: r.decodedBodySize,
        end: r.responseEnd,
      }));
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        fcp: window.__bp.fcp,
        interactive: window.__bp.interactive,
        resources,
        html: nav ? { transfer: nav.transferSize, end: nav.responseEnd } : null,
      };
    });
    if (errors.length) m.errors = errors;
    m.transfers = transfers;
    return m;
  } finally {
    await context.close();
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic'],
});
const results = [];
try {
  console.log(`== login page first paint, phone 390x844, CPU /4, 1.6 Mbit/s down / 750 kbit/s up / 150 ms, cold cache, ${runs} loads of ${base}/login`);
  for (let i = 0; i < runs; i++) {
    const m = await load(browser);
    results.push(m);
    const wasm = m.resources.find((r) => r.name.endsWith('.wasm'));
    console.log(`load ${i + 1}: FCP ${m.fcp?.toFixed(0)} ms, interactive ${m.interactive.toFixed(0)} ms` +
      (wasm ? `, wasm ${wasm.encoded} bytes on the wire (${wasm.decoded} decoded), received at ${wasm.end.toFixed(0)} ms` : '') +
      (m.errors ? `, page errors: ${m.errors.join('; ')}` : ''));
  }
} finally {
  await browser.close();
}
const last = results[results.length - 1];
console.log('resources of the last load (encoding as served):');
for (const t of last.transfers) {
  const r = last.resources.find((x) => t.url.endsWith(x.name));
  console.log(`  ${t.url.replace(base, '')}: ${t.encoding}, ${r ? `${r.encoded} bytes, done at ${r.end.toFixed(0)} ms` : `${t.length} bytes`}`);
}
const fcp = median(results.map((r) => r.fcp ?? Infinity));
const interactive = median(results.map((r) => r.interactive));
console.log(`median FCP ${fcp.toFixed(0)} ms (goal <= ${GOAL_FCP}: ${fcp <= GOAL_FCP ? 'MET' : 'MISSED'}), ` +
  `median interactive ${interactive.toFixed(0)} ms (goal <= ${GOAL_INTERACTIVE}: ${interactive <= GOAL_INTERACTIVE ? 'MET' : 'MISSED'})`);
console.log(`RESULT first_paint fcp_ms=${fcp.toFixed(0)} interactive_ms=${interactive.toFixed(0)} runs=${runs} ` +
  `fcp_met=${fcp <= GOAL_FCP} interactive_met=${interactive <= GOAL_INTERACTIVE}`);
