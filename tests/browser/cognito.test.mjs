// The console signing people in with Cognito (moto server, TOTP checked), in headless Chromium
// on a desktop and a phone: a temporary password asks for a new one, an authenticator app is
// added from the account page (QR code and key), the next sign-in asks for its code, and
// "sign out everywhere" ends the session. scripts/browser-tests.sh starts `boxpilot demo
// --identity cognito` on moto and sets BOXPILOT_COGNITO_URL and the demo users' temporary
// passwords.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { assertNoHorizontalOverflow, viewports, withPage } from './support.mjs';

const base = process.env.BOXPILOT_COGNITO_URL;
const shots = process.env.BOXPILOT_SCREENSHOTS;

// Each viewport takes its own demo user: the test changes its password and adds a second factor.
const runs = {
  desktop: {
    options: viewports.desktop,
    user: 'demo-operator',
    password: process.env.BOXPILOT_COGNITO_OPERATOR_PASSWORD,
  },
  phone: {
    options: viewports.phone,
    user: 'demo-viewer',
    password: process.env.BOXPILOT_COGNITO_VIEWER_PASSWORD,
  },
};

/// RFC 4648 base32, as authenticator apps read the key.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.toUpperCase().replace(/[=\s]/g, '')) {
    const i = alphabet.indexOf(c);
    assert.ok(i >= 0, `not base32: ${text}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/// The code an authenticator app shows now (RFC 6238: HMAC-SHA1, 30 s, 6 digits).
function totp(secret, offsetSteps = 0) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + offsetSteps));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const at = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/// A code that stays valid for a few seconds: near the end of a 30 s step, wait for the next one
/// (moto, like Cognito, accepts the current step's code only).
async function freshCode(secret) {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 200));
  return totp(secret);
}

async function errorText(page) {
  await page.waitForFunction(() => document.querySelector('[role=alert]:not(:empty)')?.textContent.trim().length > 0);
  return page.locator('[role=alert]:not(:empty)').first().textContent();
}

for (const [name, run] of Object.entries(runs)) {
  test(`${name}: new password, authenticator app, code at sign-in, sign out everywhere (Cognito)`, async () => {
    assert.ok(base && run.password, 'BOXPILOT_COGNITO_URL and the demo users\' temporary passwords are needed');
    const newPassword = `Own-Password-${name}-42`;
    await withPage(run.options, async ({ page }) => {

      // The temporary password: the identity provider asks for a new one.
      await page.goto(base + '/login');
      await page.fill('#login-username', run.user);
      await page.fill('#login-password', run.password);
      await page.click('button[type=submit]');
      await page.waitForSelector('form[data-challenge=NewPassword]', { timeout: 20_000 });
      assert.match(await page.textContent('h1'), /new password/i);
      await page.fill('#challenge-answer', newPassword);
      await page.fill('#challenge-repeat', newPassword + 'x');
      await page.click('form[data-challenge] button[type=submit]');
      assert.match(await errorText(page), /differ/);
      await page.fill('#challenge-answer', newPassword);
      await page.fill('#challenge-repeat', newPassword);
      await page.click('form[data-challenge] button[type=submit]');
      await page.waitForSelector('[data-device]', { timeout: 20_000 });

      // The account page: add an authenticator app from its QR code or key.
      await page.locator(name === 'phone' ? 'a.mobile-user' : 'a.user').first().click();
      await page.waitForURL('**/account');
      await page.waitForFunction(() => /Off/.test(document.querySelector('[data-totp-state]')?.textContent || ''));
      await page.getByRole('button', { name: 'Add an authenticator app' }).click();
      await page.waitForSelector('img.totp-qr');
      await page.waitForFunction(() => document.querySelector('img.totp-qr').naturalWidth > 0);
      const secret = await page.getAttribute('code.totp-key', 'data-secret');
      assert.ok(secret && secret.length >= 8, `a key to type: ${secret}`);
      const uri = await page.getAttribute('a.totp-open', 'href');
      assert.ok(uri.startsWith('otpauth://totp/') && uri.includes(`secret=${secret}`), uri);
      await assertNoHorizontalOverflow(page, name);
      if (shots) await page.screenshot({ path: `${shots}/${name}-totp-setup.png`, fullPage: true });
      await page.fill('#totp-code', totp(secret, 20));
      await page.getByRole('button', { name: 'Turn on' }).click();
      assert.match(await errorText(page), /code is not right/);
      await page.fill('#totp-code', await freshCode(secret));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await page.waitForFunction(() => /^On/.test(document.querySelector('[data-totp-state]')?.textContent || ''));

      // Signing in again asks for the code; a wrong one is refused.
      await page.locator('button.sign-out:visible').first().click();
      await page.waitForURL('**/login');
      await page.fill('#login-username', run.user);
      await page.fill('#login-password', newPassword);
      await page.click('button[type=submit]');
      await page.waitForSelector('form[data-challenge=TotpCode]', { timeout: 20_000 });
      await assertNoHorizontalOverflow(page, name);
      await page.fill('#challenge-answer', totp(secret, 20));
      await page.click('form[data-challenge] button[type=submit]');
      assert.match(await errorText(page), /code is not right/);
      await page.fill('#challenge-answer', await freshCode(secret));
      await page.click('form[data-challenge] button[type=submit]');
      await page.waitForSelector('[data-device]', { timeout: 20_000 });

      // Sign out everywhere: back to the login page, and the session is gone on the server.
      await page.goto(base + '/account');
      await page.getByRole('button', { name: 'Sign out everywhere' }).click();
      await page.waitForURL('**/login', { timeout: 10_000 });
      const session = await page.evaluate(async () => (await fetch('/api/auth/session', { method: 'POST' })).json());
      assert.equal(session, null);
    });
  });
}
