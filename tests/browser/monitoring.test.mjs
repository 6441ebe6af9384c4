// Browser tests of the monitoring page (support and admin) in Debian's headless Chromium, driven
// by playwright-core, on desktop and phone viewports. Runs against a live `boxpilot demo`
// (scripts/browser-tests.sh starts one): BOXPILOT_URL, BOXPILOT_ADMIN_USER,
// BOXPILOT_ADMIN_PASSWORD, and BOXPILOT_USER / BOXPILOT_PASSWORD (the demo operator).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalOverflow, inkedPixels, logIn as logInAs, viewports, withPage } from './support.mjs';

const base = process.env.BOXPILOT_URL;
const admin = process.env.BOXPILOT_ADMIN_USER;
const adminPassword = process.env.BOXPILOT_ADMIN_PASSWORD;
const operator = process.env.BOXPILOT_USER;
const operatorPassword = process.env.BOXPILOT_PASSWORD;
const shots = process.env.BOXPILOT_SCREENSHOTS; // a folder, to look at the pages

const noAdmin = !(base && admin && adminPassword)
  && 'BOXPILOT_URL, BOXPILOT_ADMIN_USER and BOXPILOT_ADMIN_PASSWORD are not set (scripts/browser-tests.sh sets them)';
const noOperator = !(base && operator && operatorPassword)
  && 'BOXPILOT_URL, BOXPILOT_USER and BOXPILOT_PASSWORD are not set (scripts/browser-tests.sh sets them)';

const logIn = (page, user, password) => logInAs(page, base, user, password);

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: an admin opens Monitoring: pipeline health, dead letters, costs, and an alert rule added and deleted`,
    { skip: noAdmin }, async () => {
      await withPage(options, async ({ page, browser }) => {
        await logIn(page, admin, adminPassword);

        // The navigation (top bar on desktop, bottom bar on a phone) has Monitoring for admins.
        await page.locator('a[href="/monitoring"]:visible').first().click();
        await page.waitForURL('**/monitoring**');
        await page.waitForSelector('[data-monitoring]');
        await page.waitForFunction(() => document.querySelector('[data-monitoring] [data-fleet-picker]')?.value, null, { timeout: 20_000 });
        const fleet = await page.locator('[data-monitoring] [data-fleet-picker]').inputValue();
        assert.ok(fleet, 'a demo fleet is chosen');

        // Pipeline: the demo boxes' messages are counted, and the boxes are ranked.
        await page.waitForSelector('[data-health-tile=received]', { timeout: 20_000 });
        await page.waitForFunction(
          () => Number(document.querySelector('[data-health-tile=received]')?.dataset.value) > 0,
          null, { timeout: 30_000, polling: 500 });
        const lost = page.locator('[data-health-tile=lost]');
        assert.match(await lost.textContent(), /Lost messages/);
        assert.ok(Number.isFinite(Number(await lost.getAttribute('data-value'))));
        for (const tile of ['accepted', 'rejected', 'duplicates', 'dropped', 'latency']) {
          assert.equal(await page.locator(`[data-health-tile=${tile}]`).count(), 1, tile);
        }
        await page.waitForSelector('[data-box-row]', { timeout: 20_000 });
        const firstBox = page.locator('[data-box-row]').first();
        const device = await firstBox.getAttribute('data-device');
        if (device !== '-') {
          assert.equal(await firstBox.locator('a').getAttribute('href'), `/devices/${device}`);
        }
        // The dead letters render: the empty state or rows (publishing a bad message needs a
        // box's credentials, which a browser does not have).
        await page.waitForSelector('[data-dead-letters-empty], [data-dead-letter]', { timeout: 20_000 });
        const box = await firstBox.boundingBox();
        assert.ok(box.width <= options.viewport.width, `the box line fits the screen (${box.width} px)`);
        await assertNoHorizontalOverflow(page, 'pipeline');
        if (shots) await page.screenshot({ path: `${shots}/${name}-monitoring-pipeline.png`, fullPage: true });

        // Another window reloads the counts.
        await page.click('[data-window="5m"]');
        await page.waitForSelector('[data-window="5m"][aria-pressed=true]');
        await page.waitForSelector('[data-health-tile=received]', { timeout: 20_000 });

        // Costs: a total in dollars and a chart with ink; the tab is in the URL.
        await page.click('[data-tab=costs]');
        await page.waitForURL('**/monitoring?tab=costs');
        const total = page.locator('[data-cost-total]');
        await total.waitFor({ timeout: 20_000 });
        assert.match(await total.textContent(), /\$\d/);
        await page.waitForSelector('canvas[data-cost-chart][data-points]');
        assert.ok((await inkedPixels(page, 'canvas[data-cost-chart]')) > 500, 'the cost chart is not blank');
        assert.ok((await page.locator('[data-cost-line]').count()) >= 1, 'the line items are listed');
        assert.match(await page.textContent('[data-cost-assumptions]'), /prices as of/);
        await page.click('[data-period=month]');
        await page.waitForSelector('[data-cost-projection]', { timeout: 20_000 });
        assert.match(await page.textContent('[data-cost-projection]'), /\$\d/);
        await assertNoHorizontalOverflow(page, 'costs');
        if (shots) await page.screenshot({ path: `${shots}/${name}-monitoring-costs.png`, fullPage: true });

        // Alerts: the firing list (or its empty state), then a rule added, switched off, deleted.
        await page.click('[data-tab=alerts]');
        await page.waitForURL('**/monitoring?tab=alerts');
        await page.waitForSelector('[data-alerts-empty], [data-active-alerts] [data-alert]', { timeout: 20_000 });
        const form = page.locator('[data-rule-form]');
        await form.waitFor({ timeout: 20_000 });
        const id = `ui-${name}-${Date.now()}`;
        await form.locator('input[name=rule-id]').fill(id);
        await form.locator('select[name=rule-kind]').selectOption('loss_ratio_above');
        // A threshold the server refuses is explained next to the form.
        await form.locator('input[name=percent]').fill('150');
        await form.locator('button[data-rule-save]').click();
        await form.locator('[data-rule-error]').waitFor({ timeout: 10_000 });
        assert.match(await form.locator('[data-rule-error]').textContent(), /percent/);
        assert.equal(await page.locator(`[data-rule-row][data-rule-id="${id}"]`).count(), 0);

        await form.locator('input[name=percent]').fill('50');
        await form.locator('button[data-rule-save]').click();
        const row = page.locator(`[data-rule-row][data-rule-id="${id}"]`);
        await row.waitFor({ timeout: 10_000 });
        assert.match(await row.textContent(), /Lost messages/);
        assert.match(await row.textContent(), /percent 50 %/);
        assert.equal(await row.getAttribute('data-enabled'), 'true');
        const card = await row.boundingBox();
        assert.ok(card.width <= options.viewport.width, `the rule fits the screen (${card.width} px)`);
        await assertNoHorizontalOverflow(page, 'alerts');
        if (shots) await page.screenshot({ path: `${shots}/${name}-monitoring-alerts.png`, fullPage: true });

        await row.locator('[data-rule-toggle]').click();
        await page.locator(`[data-rule-row][data-rule-id="${id}"][data-enabled=false]`).waitFor({ timeout: 10_000 });

        // Delete asks first; Cancel keeps the rule, confirming removes it.
        await page.locator(`[data-rule-row][data-rule-id="${id}"] [data-rule-delete]`).click();
        await page.waitForSelector('[data-confirm]');
        await page.click('[data-confirm-cancel]');
        await page.waitForSelector('[data-confirm]', { state: 'detached' });
        assert.equal(await page.locator(`[data-rule-row][data-rule-id="${id}"]`).count(), 1);
        await page.locator(`[data-rule-row][data-rule-id="${id}"] [data-rule-delete]`).click();
        await page.waitForSelector('[data-confirm]');
        assert.match(await page.textContent('[data-confirm]'), new RegExp(id));
        await page.click('[data-confirm-ok]');
        await page.locator(`[data-rule-row][data-rule-id="${id}"]`).waitFor({ state: 'detached', timeout: 10_000 });
      });
    });
}

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: an operator has no Monitoring link, and the page says it is not for them`,
    { skip: noOperator }, async () => {
      await withPage(options, async ({ page }) => {
        await logIn(page, operator, operatorPassword);
        await page.waitForSelector('a[href="/audit"]:visible');
        assert.equal(await page.locator('a[href="/monitoring"]').count(), 0, 'no Monitoring link');
        // Typing the address gives a clear message, and no monitoring call is made.
        const calls = [];
        page.on('request', (r) => { if (r.url().includes('/api/monitoring/')) calls.push(r.url()); });
        await page.goto(base + '/monitoring');
        await page.waitForSelector('[data-monitoring-denied]', { timeout: 20_000 });
        assert.equal(await page.locator('[data-tab]').count(), 0);
        assert.deepEqual(calls, []);
      });
    });
}
