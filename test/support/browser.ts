import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Where Debian's `chromium` package (scripts/install-system-packages.sh) puts the browser. */
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** Directory of the screenshots the browser tests keep (gitignored). */
export const SCREENSHOT_DIR = path.resolve(".tmp/dashboard-screenshots");

/**
 * Launches the system's headless Chromium through playwright-core (no browser download):
 * `CHROMIUM_PATH` when set, else Debian's `/usr/bin/chromium`. Fails naming the package to
 * install when there is none.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH || CANDIDATES.find((p) => existsSync(p));
  if (!executablePath) {
    throw new Error("no Chromium found: install Debian's chromium package (bash scripts/install-system-packages.sh) or set CHROMIUM_PATH");
  }
  // --no-sandbox: CI and these machines run tests as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** Saves a full-page screenshot of `page` as `<name>.png` under {@link SCREENSHOT_DIR}. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A fresh browser context and page of a dashboard test, and the page's errors as they come. */
export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page and violations of the server's content security policy. */
  errors: string[];
}

/**
 * Opens a page in a fresh context (a laptop's viewport, nothing cached) whose calls wait up to
 * `timeoutMs`, collecting its uncaught errors and content security policy violations (they show
 * as console errors) for the test to check at its end.
 */
export async function openDashboardPage(browser: Browser, timeoutMs: number): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) errors.push(message.text());
  });
  return { context, page, errors };
}
