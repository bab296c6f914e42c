// Launching Firefox and WebKit from Debian, behind one small interface the engine tests use:
// Firefox ESR over WebDriver BiDi with puppeteer-core (no geckodriver), WebKitGTK's MiniBrowser
// through WebKitWebDriver with webdriverio (classic WebDriver), on an Xvfb display of its own when
// there is none (MiniBrowser has no headless mode). See ../../../shared/TOOLCHAIN.md.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, createServer } from "node:net";

export type EngineName = "firefox" | "webkit";

/** One window (tab) of the engine, on a page of the test server. */
export interface EngineWindow {
  goto(url: string): Promise<void>;
  /** The value of a JavaScript expression in the page (awaited if a promise), as JSON. */
  evaluate<T>(expression: string): Promise<T>;
}

export interface Engine {
  /** e.g. "firefox 153.8.0esr" */
  version: string;
  /** A new window of the same browser (same profile, same origin storage). */
  open(): Promise<EngineWindow>;
  close(): Promise<void>;
}

const firefoxPath = process.env.FIREFOX_PATH || "/usr/bin/firefox-esr";
const webkitDriverPath = process.env.WEBKIT_DRIVER_PATH || "/usr/bin/WebKitWebDriver";
const miniBrowserPath =
  process.env.MINIBROWSER_PATH || "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/** What is missing to run `engine` here (with its Debian package), or undefined. */
export function missing(engine: EngineName): string | undefined {
  const need: [string, string][] =
    engine === "firefox"
      ? [[firefoxPath, "firefox-esr"]]
      : [
          [webkitDriverPath, "webkit2gtk-driver"],
          [miniBrowserPath, "webkit2gtk-driver"],
          ...(process.env.DISPLAY ? [] : ([["/usr/bin/Xvfb", "xvfb"]] as [string, string][])),
        ];
  const absent = need.filter(([path]) => !existsSync(path));
  if (absent.length === 0) return undefined;
  return `${absent.map(([path]) => path).join(", ")} not found (apt-get install ${[...new Set(absent.map(([, p]) => p))].join(" ")})`;
}

export function launch(engine: EngineName): Promise<Engine> {
  return engine === "firefox" ? launchFirefox() : launchWebKit();
}

async function launchFirefox(): Promise<Engine> {
  const puppeteer = (await import("puppeteer-core")).default;
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: firefoxPath,
    headless: true,
    protocol: "webDriverBiDi",
  });
  return {
    version: await browser.version(),
    async open() {
      const page = await browser.newPage();
      return {
        async goto(url) {
          await page.goto(url);
        },
        evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
      };
    },
    close: () => browser.close(),
  };
}

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject).listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited (${child.exitCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`WebKitWebDriver did not listen on port ${port} within ${ms} ms`);
}

/** Starts Xvfb on a display it picks itself (-displayfd); resolves with ":N". */
function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  const xvfb = spawn(
    "Xvfb",
    ["-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
    {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let stderr = "";
    xvfb.stderr?.on("data", (chunk) => (stderr += chunk));
    xvfb.once("error", reject);
    xvfb.once("exit", (code) => reject(new Error(`Xvfb exited (${code}): ${stderr.trim()}`)));
    (xvfb.stdio[3] as NodeJS.ReadableStream).once("data", (chunk: Buffer) => {
      resolve({ display: `:${chunk.toString().trim()}`, process: xvfb });
    });
  });
}

function stop(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.pid) child.kill("SIGTERM");
}

async function launchWebKit(): Promise<Engine> {
  const xvfb = process.env.DISPLAY ? undefined : await startXvfb();
  const env = { ...process.env, ...(xvfb ? { DISPLAY: xvfb.display } : {}) };
  const port = await freePort();
  const driver = spawn(webkitDriverPath, [`--port=${port}`], { env, stdio: "ignore" });
  // If vitest ends without close() (a crash, Ctrl-C), the driver and the display go with it.
  const orphans = () => {
    stop(driver);
    stop(xvfb?.process);
  };
  process.once("exit", orphans);
  try {
    await waitForPort(port, driver, 20_000);
    const { remote } = await import("webdriverio");
    const browser = await remote({
      hostname: "127.0.0.1",
      port,
      path: "/",
      logLevel: "error",
      connectionRetryTimeout: 60_000,
      capabilities: {
        browserName: "MiniBrowser",
        "wdio:enforceWebDriverClassic": true,
        "webkitgtk:browserOptions": { binary: miniBrowserPath, args: ["--automation"] },
      } as WebdriverIO.Capabilities,
    });
    await browser.setTimeouts(undefined, 120_000, 120_000);
    let first: string | undefined = await browser.getWindowHandle();
    let current = first;
    const focus = async (handle: string) => {
      if (current !== handle) await browser.switchToWindow(handle);
      current = handle;
    };
    const caps = browser.capabilities as { browserName?: string; browserVersion?: string };
    return {
      version: `${caps.browserName ?? "WebKitGTK"} ${caps.browserVersion ?? "?"}`,
      async open() {
        // The session's first window, then a new one per call.
        const handle = first ?? (await browser.createWindow("tab")).handle;
        first = undefined;
        return {
          async goto(url) {
            await focus(handle);
            await browser.navigateTo(url);
          },
          async evaluate<T>(expression: string) {
            await focus(handle);
            return (await browser.execute(`return (${expression});`)) as T;
          },
        };
      },
      async close() {
        await browser.deleteSession().catch(() => undefined);
        orphans();
        process.off("exit", orphans);
      },
    };
  } catch (error) {
    orphans();
    process.off("exit", orphans);
    throw error;
  }
}
