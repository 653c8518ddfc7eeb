/**
 * Headless Chromium for the web tests and the benchmark: Debian's `chromium` package driven by playwright-core
 * (no browser download). WebGPU comes from SwiftShader (a software Vulkan driver inside the chromium package),
 * enabled by --enable-unsafe-webgpu with ANGLE and Vulkan on SwiftShader; each launch gets an empty profile.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', // root in CI containers
  '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-vulkan=swiftshader',
];

/** Why the browser cannot run here, or undefined. */
export function chromiumProblem(): string | undefined {
  return fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: install Debian's browser with "apt-get install -y chromium" (or set CHROMIUM_PATH)`;
}

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every console line of the page so far ("type: text"). */
  readonly console: string[];
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile and one page. */
export async function launchBrowser(): Promise<Browser> {
  const problem = chromiumProblem();
  if (problem) throw new Error(problem);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-train-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const lines: string[] = [];
  const onConsole = (m: ConsoleMessage) => lines.push(`${m.type()}: ${m.text()}`);
  context.on('page', (p) => p.on('console', onConsole));
  page.on('console', onConsole);
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    console: lines,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
