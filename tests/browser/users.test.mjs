// Browser test of the users page (admins) in headless Chromium on desktop and phone: the admin
// reaches it (top bar on a desktop, account page on a phone), adds a user and sees its one-time
// password, changes its groups, disables it; the new user's password works until then. Runs
// against the built-in demo that scripts/browser-tests.sh starts (BOXPILOT_URL,
// BOXPILOT_ADMIN_USER, BOXPILOT_ADMIN_PASSWORD).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { viewports, withPage } from './support.mjs';

const base = process.env.BOXPILOT_URL;
const admin = process.env.BOXPILOT_ADMIN_USER;
const adminPassword = process.env.BOXPILOT_ADMIN_PASSWORD;
const shots = process.env.BOXPILOT_SCREENSHOTS;

async function submitLogin(page, user, password) {
  await page.goto(base + '/login');
  await page.fill('#login-username', user);
  await page.fill('#login-password', password);
  await page.click('button[type=submit]');
}

for (const [name, options] of Object.entries(viewports)) {
  test(`${name}: an admin adds a user, changes its groups and disables it`, async () => {
    assert.ok(base && admin && adminPassword, 'BOXPILOT_URL and the demo admin are needed');
    const newUser = `tester-${name}`;
    await withPage(options, async ({ page, browser }) => {
      await submitLogin(page, admin, adminPassword);
      await page.waitForSelector('[data-device]', { timeout: 20_000 });

      // Desktop: the top bar's link. Phone: the account page's.
      if (name === 'desktop') {
        await page.locator('nav.topnav a[href="/users"]').click();
      } else {
        await page.locator('a.mobile-user').click();
        await page.waitForURL('**/account');
        await page.getByRole('link', { name: 'Manage users' }).click();
      }
      await page.waitForURL('**/users');
      await page.waitForSelector(`[data-user="${admin}"]`);

      // A bad group is refused with its reason; then the user is added.
      await page.fill('#new-username', newUser);
      await page.fill('#new-groups', 'pilot');
      await page.getByRole('button', { name: 'Add user' }).click();
      await page.waitForFunction(() => /unknown group/.test(document.querySelector('[data-add-user] [role=alert]')?.textContent || ''));
      await page.fill('#new-username', newUser);
      await page.fill('#new-groups', 'viewer, fleet:north');
      await page.getByRole('button', { name: 'Add user' }).click();
      await page.waitForSelector('[data-new-password]');
      const password = await page.getAttribute('[data-new-password]', 'data-new-password');
      assert.ok(password && password.length >= 20, password);
      const card = page.locator(`[data-user="${newUser}"]`);
      await card.waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= page.viewportSize().width, `the page scrolls sideways (${width}px)`);
      if (shots) await page.screenshot({ path: `${shots}/${name}-users.png`, fullPage: true });

      // Its groups change; then it is disabled.
      await card.locator('input').fill('operator, fleet:north');
      await card.getByRole('button', { name: 'Save groups' }).click();
      await page.waitForFunction((u) => document.querySelector(`[data-user="${u}"] input`).value === 'operator, fleet:north', newUser);
      await card.getByRole('button', { name: 'Disable' }).click();
      await page.waitForSelector(`[data-user="${newUser}"][data-enabled=false]`);

      // The new user: the password works only while enabled.
      const other = await browser.newContext(options);
      const second = await other.newPage();
      await submitLogin(second, newUser, password);
      await second.waitForFunction(() => /disabled/.test(document.querySelector('#login-error')?.textContent || ''));
      await page.locator(`[data-user="${newUser}"]`).getByRole('button', { name: 'Enable' }).click();
      await page.waitForSelector(`[data-user="${newUser}"][data-enabled=true]`);
      await submitLogin(second, newUser, password);
      await second.waitForSelector('[data-device]', { timeout: 20_000 });
    });
  });
}
