// Real headless Chromium (Debian's) through playwright-core, plus axe-core
// for accessibility checks. Never downloads a browser.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Serious or critical axe violations on the current page, as readable lines. */
export async function axeViolations(page) {
  // Injected through CDP-evaluate, which the page's CSP does not restrict.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact}: ${v.id} (${v.help}) at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
}

/** Collects console errors and uncaught page errors (CSP violations show up here). */
export function watchConsole(page) {
  const problems = [];
  page.on('console', m => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', e => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/**
 * For the portal suites: the Twilio-shaped SMS stand-in (numbers take
 * `purchaseDelayMs` to buy), a gateway whose Twilio token is the stand-in's,
 * and Chromium. `stop()` closes all three, also after a failed start.
 */
export async function startPortalStack({ purchaseDelayMs }) {
  const [{ startSmsStandIn, DEFAULT_ACCOUNT }, { startStack }] = await Promise.all([import('../standins/sms.mjs'), import('./harness.mjs')]);
  const parts = {};
  const stop = async () => {
    await parts.browser?.close();
    await parts.stack?.stop();
    await parts.sms?.close();
  };
  try {
    parts.sms = await startSmsStandIn({ port: 0, purchaseDelayMs });
    parts.stack = await startStack({ vars: { TWILIO_AUTH_TOKEN: DEFAULT_ACCOUNT.authToken } });
    parts.browser = await launchBrowser();
  } catch (e) {
    await stop();
    throw e;
  }
  return { ...parts, stop };
}
