import fs from "node:fs";
import { chromium, type Browser } from "playwright-core";

// Debian's Chromium (`apt-get install chromium`; .ci/run installs it when missing). Browser
// downloads are impossible here, so no bundled browser is used.
const CHROMIUM = process.env.BROKKR_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Headless Chromium as root, without the background traffic a closed network refuses. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set BROKKR_TEST_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
