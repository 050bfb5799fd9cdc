// The board example (examples/board/) in a real browser: Debian's chromium driven by
// playwright-core, on the http backend and behind nginx via FastCGI under the prefix /board.
// Page B watches the board, page A logs in and posts a message with a file, page B sees it
// arrive through its EventSource and downloads the file back; the websocket echo answers where
// the backend can carry one. In CI (CI=true) a missing chromium or nginx fails the run.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Locator, type Page, type Response as PageResponse } from "playwright-core";
import app from "../../examples/board/app.js";
import { serve } from "../helpers/http.js";
import { DIST, Managed, freePort, frontServerAvailable, removeFolder, startFront, tempFolder, waitForPort, type Front } from "../interop/harness.js";

const CHROMIUM = "/usr/bin/chromium";
// Bounds on a hang, not on speed: a browser, nginx and the app share two cores with other tests.
const WAIT = 20_000;
jest.setTimeout(3 * WAIT);
const BOARD_APP = join(DIST, "examples/board/app.js");
const USER = "ana";
const PASSWORD = "open sesame";

function chromiumAvailable(): boolean {
  const found = existsSync(CHROMIUM);
  if (!found && process.env.CI === "true") throw new Error(`chromium is not installed (${CHROMIUM}): the browser test needs it in CI (see .ci/run)`);
  if (!found) console.warn(`browser: chromium is not installed (${CHROMIUM}): the board test is skipped`);
  return found;
}

/** A fresh profile in a temporary folder: no cache, no stored credentials between runs. */
async function launch(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "valum-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  // a failed wait names what it waited for well before jest's own timeout
  context.setDefaultTimeout(WAIT);
  return {
    context,
    async close() {
      await context.close();
      removeFolder(profile);
    },
  };
}

/**
 * Waits until the element's whole text is `expected` (or matches it): on the DOM, never on time.
 * A failure names what the element held instead.
 */
async function waitForText(locator: Locator, expected: string | RegExp): Promise<void> {
  const pattern = typeof expected === "string" ? new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : expected;
  try {
    await locator.filter({ hasText: pattern }).waitFor();
  } catch (error) {
    throw new Error(`waited for ${String(pattern)}, the element holds ${JSON.stringify(await locator.textContent())}`, { cause: error });
  }
}

/** The static files the page loaded, with their Content-Encoding. */
function encodings(page: Page): Map<string, string | undefined> {
  const seen = new Map<string, string | undefined>();
  page.on("response", (response: PageResponse) => {
    const name = new URL(response.url()).pathname.split("/").pop()!;
    if (name === "app.js" || name === "style.css") seen.set(name, response.headers()["content-encoding"]);
  });
  return seen;
}

/** A board being served, as a scenario needs it. */
interface Board {
  /** Its URL, ending with `/`. */
  base: string;
  /** The same board under another origin (localhost for 127.0.0.1). */
  other: string;
  /** Whether the backend carries websockets (the http backend only). */
  websocket: boolean;
  stop(): Promise<void>;
}

/**
 * The whole scenario, against the board `setup` starts.
 */
function scenario(setup: () => Promise<Board>): void {
  let browser: { context: BrowserContext; close(): Promise<void> };
  let base: string;
  let other: string;
  let websocket: boolean;
  let stop: () => Promise<void>;
  let watcher: Page;
  let poster: Page;
  let watcherEncodings: Map<string, string | undefined>;
  const text = `hello from A ${randomBytes(4).toString("hex")}`;
  // every byte value, and bytes that are no UTF-8: the download must give them back unchanged
  const file = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(100_000)]);
  const filename = "données.bin";

  beforeAll(async () => {
    ({ base, other, websocket, stop } = await setup());
    browser = await launch();
    watcher = await browser.context.newPage();
    watcherEncodings = encodings(watcher);
    poster = await browser.context.newPage();
  });

  // the browser first: the server's graceful stop would wait for its open event stream
  afterAll(async () => {
    await browser?.close();
    await stop?.();
  });

  it("page B opens the board: precompressed assets, and the event stream goes live", async () => {
    await watcher.goto(base);
    await waitForText(watcher.locator("#live"), "live");
    // Chromium accepts br: the .br siblings were sent
    expect(watcherEncodings.get("app.js")).toBe("br");
    expect(watcherEncodings.get("style.css")).toBe("br");
  });

  it("page A is refused with a wrong password, then logs in", async () => {
    await poster.goto(base);
    await poster.fill("#login input[name=username]", USER);
    await poster.fill("#login input[name=password]", "not the password");
    await poster.click("#login button");
    await waitForText(poster.locator("#login-status"), "wrong name or password");
    expect(await poster.isVisible("#post")).toBe(false);

    await poster.fill("#login input[name=password]", PASSWORD);
    await poster.click("#login button");
    await poster.waitForSelector("#post", { state: "visible" });
    expect(await poster.textContent("#user")).toBe(USER);
  });

  it("page A posts a message with a file, and page B sees it arrive through server-sent events", async () => {
    await poster.fill("#post textarea[name=text]", text);
    await poster.setInputFiles("#post input[name=file]", { name: filename, mimeType: "application/octet-stream", buffer: file });
    await poster.click("#post button");
    await waitForText(poster.locator("#post-status"), /^posted #\d+$/);

    // B did not reload: the message can only have come through its open EventSource
    const item = watcher.locator("#messages li", { hasText: text });
    await item.waitFor();
    expect(await item.locator("strong").textContent()).toBe(USER);
    expect(await item.locator("a.file").textContent()).toBe(`${filename} (${file.length} bytes)`);
  });

  it("page B downloads the file back byte for byte", async () => {
    const item = watcher.locator("#messages li", { hasText: text });
    const [download] = await Promise.all([watcher.waitForEvent("download"), item.locator("a.file").click()]);
    expect(download.suggestedFilename()).toBe(filename);
    const bytes = readFileSync((await download.path())!);
    expect(bytes.equals(file)).toBe(true);
  });

  it("the JSON API answers another origin (CORS, with a preflight for Authorization), which cannot post", async () => {
    // the page is on 127.0.0.1, the API called on localhost: a cross-origin request, with a
    // preflight since it carries Authorization
    const answer = await poster.evaluate(
      async ({ url, authorization }) => {
        const response = await fetch(url, { headers: { Authorization: authorization } });
        return { status: response.status, messages: (await response.json()) as { text: string }[] };
      },
      { url: `${other}api/messages`, authorization: "Basic " + Buffer.from(`${USER}:${PASSWORD}`).toString("base64") },
    );
    expect(answer.status).toBe(200);
    expect(answer.messages.map((m) => m.text)).toContain(text);

    // posting is for the board's own page: the browser says the request is cross-site
    const status = await poster.evaluate(
      async ({ url, authorization }) => {
        const body = new FormData();
        body.append("text", "from another site");
        return (await fetch(url, { method: "POST", headers: { Authorization: authorization }, body })).status;
      },
      { url: `${other}api/messages`, authorization: "Basic " + Buffer.from(`${USER}:${PASSWORD}`).toString("base64") },
    );
    expect(status).toBe(403);
  });

  it("the websocket echo answers on the http backend, and says it is unavailable elsewhere", async () => {
    if (websocket) {
      await waitForText(poster.locator("#echo-status"), "connected");
      await poster.fill("#echo input[name=text]", "ping 🏓");
      await poster.click("#echo button");
      await poster.locator("#echoes li", { hasText: "ping 🏓" }).waitFor();
    } else {
      await waitForText(poster.locator("#echo-status"), "unavailable (it needs the http backend)");
    }
  });
}

if (chromiumAvailable()) {
  describe("board on the http backend", () => {
    scenario(async () => {
      const served = await serve(app);
      return { base: `http://127.0.0.1:${served.port}/`, other: `http://localhost:${served.port}/`, websocket: true, stop: () => served.close() };
    });
  });

  if (frontServerAvailable("nginx")) {
    describe("board behind nginx via FastCGI under /board", () => {
      scenario(async () => {
        const dir = tempFolder("board");
        const port = await freePort();
        // the app as its README runs it, in its own process
        const backend = new Managed("board app", process.execPath, [BOARD_APP, "-p", String(port)], { cwd: DIST, env: { ...process.env, VSGI_BACKEND: "fastcgi" } });
        let front: Front;
        try {
          await waitForPort(port, backend);
          front = await startFront("nginx", dir, [{ backend: "fastcgi", prefix: "/board", upstream: { host: "127.0.0.1", port } }]);
        } catch (error) {
          await backend.stop();
          removeFolder(dir);
          throw error;
        }
        const stop = async (): Promise<void> => {
          await front.stop();
          await backend.stop();
          removeFolder(dir);
        };
        return { base: `http://127.0.0.1:${front.port}/board/`, other: `http://localhost:${front.port}/board/`, websocket: false, stop };
      });
    });
  } else {
    describe("board behind nginx", () => it.skip("nginx is not installed", () => undefined));
  }
} else {
  describe("board in a browser", () => it.skip("chromium is not installed", () => undefined));
}
