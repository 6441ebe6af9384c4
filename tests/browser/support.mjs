// What the browser tests share: Chromium from Debian driven by playwright-core (from
// $BOXPILOT_TOOLS_DIR, installed by scripts/setup.sh), the two viewports, a page whose uncaught
// errors fail the test, signing in, and checks on what the page shows.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const tools = process.env.BOXPILOT_TOOLS_DIR || path.join(process.env.HOME, '.cache/boxpilot-tools');
const { chromium } = createRequire(path.join(tools, 'node_modules/'))('playwright-core');

export const viewports = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true },
};

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/// Runs `body` with a fresh browser, context and page (`options`: a viewport), then checks that
/// the page threw no uncaught error; the browser is closed whatever happens.
export async function withPage(options, body) {
  const browser = await launch();
  try {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await body({ page, context, browser });
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
    await context.close();
  } finally {
    await browser.close();
  }
}

/// Signs in from the login page and waits for the fleet page.
export async function logIn(page, base, user, password) {
  await page.goto(base + '/');
  await page.waitForURL('**/login', { timeout: 20_000 });
  await page.fill('#login-username', user);
  await page.fill('#login-password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-device]', { timeout: 20_000 });
}

/// Counts the pixels of a canvas that differ from its top-left (background) pixel.
export async function inkedPixels(page, selector) {
  return page.evaluate((s) => {
    const c = document.querySelector(s);
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) inked++;
    }
    return inked;
  }, selector);
}

/// Nothing wider than the screen (the page would scroll sideways on a phone).
export async function assertNoHorizontalOverflow(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  }));
  assert.ok(scroll <= inner, `${what}: the page is ${scroll} px wide on a ${inner} px screen`);
}
