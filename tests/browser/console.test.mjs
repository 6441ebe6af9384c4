// Browser tests of the console in Debian's headless Chromium, driven by playwright-core.
// Runs against a live `boxpilot demo` (scripts/browser-tests.sh starts one):
//   BOXPILOT_URL, BOXPILOT_USER, BOXPILOT_PASSWORD, BOXPILOT_TOOLS_DIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inkedPixels, logIn as logInAs, viewports, withPage } from './support.mjs';

const base = process.env.BOXPILOT_URL;
const user = process.env.BOXPILOT_USER;
const password = process.env.BOXPILOT_PASSWORD;
const shots = process.env.BOXPILOT_SCREENSHOTS; // a folder, to look at the pages

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: log in, open a box, see the chart and a live point, log out`, async () => {
    assert.ok(base && user && password, 'BOXPILOT_URL, BOXPILOT_USER and BOXPILOT_PASSWORD are needed');
    await withPage(options, async ({ page, context, browser }) => {
      const wasmFetched = [];
      page.on('request', (r) => { if (r.url().endsWith('.wasm')) wasmFetched.push(new URL(r.url()).pathname); });

      await page.goto(base + '/');
      await page.waitForURL('**/login', { timeout: 20_000 });

      // A wrong password is shown, and nothing is stored in the browser.
      await page.fill('#login-username', user);
      await page.fill('#login-password', 'definitely-wrong');
      await page.click('button[type=submit]');
      await page.waitForFunction(() => document.querySelector('#login-error')?.textContent.trim().length > 0);
      assert.match(await page.textContent('#login-error'), /wrong username or password/i);

      // The login page runs on the first wasm module alone (scripts/split-console.sh).
      assert.equal(wasmFetched.length, 1, `one wasm module on the login page: ${wasmFetched}`);
      assert.match(wasmFetched[0], /^\/boxpilot-console-[0-9a-f]{16}_bg\.wasm$/);

      await page.fill('#login-password', password);
      await page.click('button[type=submit]');
      await page.waitForSelector('[data-device]', { timeout: 20_000 });
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
      assert.equal(stored, '{}{}', 'no token in localStorage or sessionStorage');
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === '__Host-boxpilot-session');
      assert.ok(session && session.httpOnly && session.secure && session.sameSite === 'Strict', JSON.stringify(cookies));

      // The fleet view lists boxes with their state, and MQTT goes live.
      assert.ok((await page.locator('[data-device]').count()) >= 10, 'the demo fleets are listed');
      await page.waitForSelector('[data-mqtt-state=live]', { timeout: 20_000 });
      if (shots) await page.screenshot({ path: `${shots}/${name}-fleet.png`, fullPage: true });
      // Once the fleet is listed, the box page's code (a module of its own) is fetched ahead.
      const devicePageModule = (p) => /^\/split_device_page-[0-9a-f]{16}\.wasm$/.test(p);
      for (let i = 0; i < 200 && !wasmFetched.some(devicePageModule); i++) await page.waitForTimeout(100);
      assert.ok(wasmFetched.some(devicePageModule), `the box page's module was fetched ahead: ${wasmFetched}`);

      // Open one box: the chart has ink, then a live point arrives without reload.
      await page.locator('[data-device]').first().click();
      await page.waitForURL('**/devices/**');
      await page.waitForSelector('canvas#telemetry-chart[data-points]', { timeout: 20_000 });
      await page.waitForFunction(() => Number(document.querySelector('canvas#telemetry-chart').dataset.points) > 0, null, { timeout: 20_000 });
      assert.ok((await inkedPixels(page, 'canvas#telemetry-chart')) > 500, 'the chart canvas is not blank');
      const before = Number(await page.getAttribute('canvas#telemetry-chart', 'data-live-points'));
      await page.waitForFunction(
        (n) => Number(document.querySelector('canvas#telemetry-chart').dataset.livePoints) > n, before, { timeout: 20_000 });
      if (shots) await page.screenshot({ path: `${shots}/${name}-device.png`, fullPage: true });

      // Log out: back to the login page, and the session is gone on the server too.
      await page.locator('button.sign-out:visible').first().click();
      await page.waitForURL('**/login', { timeout: 10_000 });
      const after = await page.evaluate(async () => (await fetch('/api/v1/devices')).status);
      assert.equal(after, 401);
    });
  });
}

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: a page whose code cannot be fetched says so, and loads on a second try`, async () => {
    await withPage(options, async ({ page }) => {
      // The connection drops whenever the box page's code is fetched (ahead, then on opening).
      await page.route(/\/split_device_page-[0-9a-f]{16}\.wasm$/, (route) => route.abort('internetdisconnected'));
      await logIn(page);
      await page.locator('[data-device]').first().click();
      await page.waitForURL('**/devices/**');
      await page.waitForSelector('[data-page-load-failed]', { timeout: 20_000 });
      assert.match(await page.textContent('[data-page-load-failed] [role=alert]'), /check the connection/);
      if (shots) await page.screenshot({ path: `${shots}/${name}-page-load-failed.png`, fullPage: true });
      // The rest of the app still works, and trying again once the connection is back opens the box.
      await page.unroute(/\/split_device_page-[0-9a-f]{16}\.wasm$/);
      await page.click('[data-page-load-failed] button');
      await page.waitForSelector('canvas#telemetry-chart[data-points]', { timeout: 20_000 });
    });
  });
}

const logIn = (page) => logInAs(page, base, user, password);

const rowIds = (page) => page.$$eval('[data-command-id]', (rows) => rows.map((r) => r.dataset.commandId));

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: an operator sends set_setpoint and sees it succeed; an out-of-range value is refused`, async () => {
    assert.ok(base && user && password, 'BOXPILOT_URL, BOXPILOT_USER and BOXPILOT_PASSWORD are needed');
    await withPage(options, async ({ page }) => {
      const issued = [];
      page.on('request', (r) => { if (r.url().endsWith('/api/commands/issue')) issued.push(r.postData()); });
      await logIn(page);

      // Open a box that is online (the demo's simulated boxes answer commands).
      await page.waitForSelector('[data-device]:has([data-online=true])', { timeout: 20_000 });
      await page.locator('[data-device]:has([data-online=true])').first().click();
      await page.waitForURL('**/devices/**');
      const form = page.locator('[data-commands] form[data-command=set_setpoint]');
      await form.waitFor({ timeout: 20_000 });
      // Operators see no support-only command.
      assert.equal(await page.locator('[data-commands] form[data-command=diagnostics]').count(), 0);
      assert.equal(await page.locator('[data-commands] form[data-command=reboot]').count(), 1);
      const box = await page.locator('[data-commands]').boundingBox();
      assert.ok(box.width <= options.viewport.width, `the card fits the screen (${box.width} px)`);

      // Out of range: a clear message, nothing sent.
      const input = form.locator('input[name=value]');
      await input.fill('99');
      await form.locator('button[data-send]').click();
      await page.waitForFunction(() =>
        document.querySelector('form[data-command=set_setpoint] [data-param-error]')?.textContent.trim().length > 0);
      assert.match(await form.locator('[data-param-error]').textContent(), /between -30 and 30 °C/);
      assert.equal(await input.getAttribute('aria-invalid'), 'true');
      await page.waitForTimeout(300);
      assert.deepEqual(issued, [], 'nothing was sent');

      // A valid value: a new row appears and reaches `succeeded`.
      const before = new Set(await rowIds(page));
      const value = (Math.round(Math.random() * 100) / 10 - 5).toFixed(1);
      await input.fill(value);
      await form.locator('button[data-send]').click();
      await page.waitForFunction(
        (known) => [...document.querySelectorAll('[data-command-id]')].some((r) => !known.includes(r.dataset.commandId)),
        [...before], { timeout: 10_000 });
      const id = (await rowIds(page)).find((x) => !before.has(x));
      assert.equal(issued.length, 1);
      const row = page.locator(`[data-command-id="${id}"]`);
      await page.waitForSelector(`[data-command-id="${id}"][data-state=succeeded]`, { timeout: 20_000 });
      assert.match(await row.textContent(), /Succeeded/);
      assert.match(await row.textContent(), new RegExp(`value: ${Number(value)}`));
      assert.match(await row.textContent(), new RegExp(`by ${user}`));
      if (shots) await page.screenshot({ path: `${shots}/${name}-commands.png`, fullPage: true });

      // reboot is dangerous: it asks first, and Cancel sends nothing.
      await page.locator('[data-commands] form[data-command=reboot] button[data-send]').click();
      await page.waitForSelector('[data-confirm]');
      await page.click('[data-confirm-cancel]');
      await page.waitForSelector('[data-confirm]', { state: 'detached' });
      assert.equal(issued.length, 1, 'cancelled: nothing sent');
    });
  });
}

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: an operator opens the audit and sees the command it sent, with a CSV export`, async () => {
    assert.ok(base && user && password, 'BOXPILOT_URL, BOXPILOT_USER and BOXPILOT_PASSWORD are needed');
    await withPage(options, async ({ page }) => {
      await logIn(page);

      // Send a command through the REST API with the session cookie (same path, same audit).
      const first = page.locator('[data-device]').first();
      const device = await first.getAttribute('data-device');
      const fleet = await first.evaluate((el) => el.closest('[data-fleet]').dataset.fleet);
      const sent = await page.evaluate(async (d) => {
        const r = await fetch(`/api/v1/devices/${d}/commands`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'set_setpoint', params: { value: 4.5 } }),
        });
        return { status: r.status, body: await r.json() };
      }, device);
      assert.equal(sent.status, 201, JSON.stringify(sent.body));

      // The navigation (top bar on desktop, bottom bar on a phone) opens the audit.
      await page.locator('a[href="/audit"]:visible').first().click();
      await page.waitForURL('**/audit');
      await page.waitForSelector('[data-audit]');
      await page.selectOption('#audit-fleet', fleet);
      const row = page.locator(`[data-audit-row][data-command-id="${sent.body.id}"]`);
      await row.waitFor({ timeout: 20_000 });
      const state = await row.getAttribute('data-state');
      assert.ok(['created', 'sent', 'accepted', 'succeeded', 'failed', 'timed_out', 'expired'].includes(state), state);
      const text = await row.textContent();
      assert.match(text, /set_setpoint/);
      assert.match(text, new RegExp(user));
      assert.match(text, new RegExp(device));
      const box = await row.boundingBox();
      if (name === 'phone') assert.ok(box.width <= options.viewport.width, `the card fits the screen (${box.width} px)`);

      // Filters apply on the server: another issuer hides it.
      await page.fill('#audit-issuer', 'nobody-else');
      await page.press('#audit-issuer', 'Enter');
      await row.waitFor({ state: 'detached', timeout: 10_000 });
      await page.fill('#audit-issuer', user);
      await page.press('#audit-issuer', 'Enter');
      await row.waitFor({ timeout: 10_000 });
      if (shots) await page.screenshot({ path: `${shots}/${name}-audit.png`, fullPage: true });

      // The CSV link has the same filters; the cookie authenticates the download.
      const href = await page.getAttribute('[data-audit-csv]', 'href');
      assert.match(href, new RegExp(`fleet=${fleet}.*issuer=${user}.*format=csv`));
      const csv = await page.evaluate(async (h) => {
        const r = await fetch(h);
        return { status: r.status, disposition: r.headers.get('content-disposition'), body: await r.text() };
      }, href);
      assert.equal(csv.status, 200);
      assert.equal(csv.disposition, `attachment; filename="boxpilot-audit-${fleet}.csv"`);
      assert.ok(csv.body.startsWith('issued_at_utc,fleet,device,command,params,issuer,state,final_at_utc,detail\r\n'));
      assert.ok(csv.body.includes(`user:${user}`));
    });
  });
}

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: an operator sets a desired value and sees the box reconcile it`, async () => {
    assert.ok(base && user && password, 'BOXPILOT_URL, BOXPILOT_USER and BOXPILOT_PASSWORD are needed');
    await withPage(options, async ({ page }) => {
      await logIn(page);
      await page.waitForSelector('[data-device]:has([data-online=true])', { timeout: 20_000 });
      await page.locator('[data-device]:has([data-online=true])').first().click();
      await page.waitForURL('**/devices/**');
      const card = page.locator('[data-desired-state]');
      await card.waitFor({ timeout: 20_000 });
      const box = await card.boundingBox();
      assert.ok(box.width <= options.viewport.width, `the card fits the screen (${box.width} px)`);

      // A key the simulated box supports: pending first, then reported and in sync.
      const value = (Math.round(Math.random() * 100) / 10 - 5).toFixed(1);
      await card.locator('input[name=desired-key]').fill('setpoint_c');
      await card.locator('input[name=desired-value]').fill(value);
      await card.locator('button[data-desired-set]').click();
      const row = card.locator('tr[data-key=setpoint_c]');
      await page.waitForFunction((v) => {
        const r = document.querySelector('[data-desired-state] tr[data-key=setpoint_c]');
        return r && !r.classList.contains('pending') && r.querySelectorAll('td')[1].textContent.startsWith(String(Number(v)));
      }, value, { timeout: 20_000 });
      assert.match(await row.textContent(), new RegExp(String(Number(value))));
      // A key it does not support stays pending, and can be removed.
      await card.locator('input[name=desired-key]').fill('defrost');
      await card.locator('input[name=desired-value]').fill('true');
      await card.locator('button[data-desired-set]').click();
      await card.locator('tr[data-key=defrost].pending').waitFor({ timeout: 10_000 });
      assert.match(await card.locator('[data-desired-summary]').textContent(), /pending/);
      if (shots) await page.screenshot({ path: `${shots}/${name}-desired.png`, fullPage: true });
      await card.locator('tr[data-key=defrost] button').click();
      await card.locator('tr[data-key=defrost]').waitFor({ state: 'detached', timeout: 10_000 });
    });
  });
}

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: an operator starts a rollout to the online boxes of a fleet and sees it complete`, async () => {
    assert.ok(base && user && password, 'BOXPILOT_URL, BOXPILOT_USER and BOXPILOT_PASSWORD are needed');
    await withPage(options, async ({ page }) => {
      await logIn(page);
      await page.locator('a[href="/rollouts"]:visible').first().click();
      await page.waitForURL('**/rollouts');
      const form = page.locator('[data-rollout-form]');
      await form.waitFor({ timeout: 20_000 });

      // Bad input is explained in the form, and nothing starts.
      await form.locator('select[name=command]').selectOption('set_setpoint');
      await form.locator('input[name=value]').fill('4');
      await form.locator('input[name=rate]').fill('0');
      await form.locator('button[data-rollout-start]').click();
      await form.locator('[data-rollout-error]').waitFor();
      assert.match(await form.locator('[data-rollout-error]').textContent(), /rate_per_minute/);
      assert.equal(await page.locator('[data-confirm]').count(), 0);

      await form.locator('input[name=rate]').fill('6000');
      await form.locator('select[name=target]').selectOption('online');
      await form.locator('button[data-rollout-start]').click();
      await page.waitForSelector('[data-confirm]');
      assert.match(await page.textContent('[data-confirm]'), /set_setpoint to every online box of fleet/);
      const known = await page.$$eval('[data-rollout-id]', (rows) => rows.map((r) => r.dataset.rolloutId));
      await page.click('[data-confirm-ok]');
      const started = await page.waitForFunction((ids) => {
        const row = [...document.querySelectorAll('[data-rollout-id]')].find((r) => !ids.includes(r.dataset.rolloutId));
        return row && row.dataset.rolloutId;
      }, known, { timeout: 10_000 });
      const row = page.locator(`[data-rollout-id="${await started.jsonValue()}"]`);
      await row.and(page.locator('[data-status=completed]')).waitFor({ timeout: 30_000 });
      const text = await row.textContent();
      const [, done, total] = text.match(/(\d+) of (\d+) boxes done/);
      assert.equal(done, total, text);
      assert.ok(Number(total) >= 1);
      assert.match(await row.locator('[data-count=succeeded]').textContent(), new RegExp(`^${total} succeeded`));
      if (shots) await page.screenshot({ path: `${shots}/${name}-rollouts.png`, fullPage: true });
    });
  });
}
