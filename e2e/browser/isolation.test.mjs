// The UI gateway's isolation from the console, attacked from inside a
// proxied page, in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core). Run by e2e/web_test.go (TestGatewayIsolationInBrowser)
// against a real `hearth server` with one running cluster:
//
//   HEARTH_URL=http://127.0.0.1:PORT HEARTH_GATEWAY=http://127.0.0.1:PORT2 \
//   HEARTH_TOKEN=<admin token> HEARTH_CLUSTER=<id> node --test isolation.test.mjs
//
// A script running in the cluster's proxied Spark master UI (what a
// notebook's output or a hostile page would run) tries to read the
// console's pages and CSRF token, call the API, frame the console and post
// to it; and pages of other origins try to open a WebSocket to the gateway.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = (process.env.HEARTH_URL || "").replace(/\/$/, "");
const gateway = (process.env.HEARTH_GATEWAY || "").replace(/\/$/, "");
const token = process.env.HEARTH_TOKEN || "";
const id = process.env.HEARTH_CLUSTER || "";
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

async function api(path) {
  const r = await fetch(base + path, { headers: { Authorization: "Bearer " + token } });
  assert.equal(r.status, 200, `GET ${path}`);
  return r.json();
}

test("a proxied page cannot act as the console", { timeout: 5 * 60_000 }, async (t) => {
  assert.ok(base && gateway && token && id, "HEARTH_URL, HEARTH_GATEWAY, HEARTH_TOKEN and HEARTH_CLUSTER are required");
  assert.notEqual(new URL(base).origin, new URL(gateway).origin);
  const profile = mkdtempSync(join(tmpdir(), "hearth-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  // A page of a foreign site on this host (same site as both ports, so
  // SameSite cookies go along: the gateway's Origin check must refuse it).
  const evil = http.createServer((_, res) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end("<p>evil</p>"); });
  await new Promise((r) => evil.listen(0, "127.0.0.1", r));
  const evilURL = `http://127.0.0.1:${evil.address().port}`;
  t.after(async () => {
    await context.close();
    evil.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(30_000);
  const wsErrors = {};
  page.on("websocket", (ws) => ws.on("socketerror", (e) => { wsErrors[new URL(ws.url()).searchParams.get("from")] = e; }));
  const grants = [];
  page.on("request", (r) => { if (r.url().includes("/hearth/grant")) grants.push(r.url()); });

  const before = await api("/api/v1/clusters");

  // Log in to the console; its page holds the CSRF token.
  await page.goto(base + "/login");
  await page.fill('input[name="token"]', token);
  await page.click('button:has-text("Log in")');
  await page.waitForSelector("h1:has-text('Clusters')");
  await page.goto(`${base}/clusters/${id}`);
  const csrf = await page.getAttribute('input[name="csrf"] >> nth=0', "value");
  assert.ok(csrf && csrf.length > 20, "the console page carries a CSRF token");

  // The console's link leads to the gateway's origin, through one grant,
  // to the clean URL of the real master UI.
  assert.equal(await page.getAttribute("#spark-ui", "href"), `${gateway}/clusters/${id}/ui/`);
  await page.click("#spark-ui");
  await page.waitForURL(`${gateway}/clusters/${id}/ui/`);
  await page.waitForSelector("text=Spark Master at");
  assert.equal(grants.length, 1, "one grant on the way in");
  const gw = (await context.cookies(gateway)).find((c) => c.name === "hearth_gateway");
  assert.ok(gw, "the gateway set its own cookie");
  assert.equal(gw.httpOnly, true);
  assert.equal(gw.sameSite, "Lax");
  // The grant cannot be replayed.
  const replay = await fetch(grants[0], { redirect: "manual", headers: { Accept: "text/html" } });
  assert.equal(replay.status, 403, "a used grant is refused");

  // The attack, run inside the proxied page.
  const got = await page.evaluate(async ({ base, id, csrf }) => {
    const out = {};
    const attempt = async (name, fn) => {
      try {
        out[name] = "GOT: " + String(await fn()).slice(0, 200);
      } catch (e) {
        out[name] = "refused: " + (e && e.message);
      }
    };
    await attempt("read a console page", async () => (await fetch(base + "/clusters/" + id, { credentials: "include" })).text());
    await attempt("read the console's CSRF token", async () => {
      const text = await (await fetch(base + "/", { credentials: "include" })).text();
      const m = text.match(/name="csrf" value="([^"]+)"/);
      if (!m) throw new Error("no token in " + text.length + " bytes");
      return m[1];
    });
    await attempt("call /api/v1/clusters", async () => {
      const r = await fetch(base + "/api/v1/clusters", { credentials: "include" });
      return r.status + " " + await r.text();
    });
    await attempt("read /api/v1/clusters without CORS", async () => {
      const r = await fetch(base + "/api/v1/clusters", { mode: "no-cors", credentials: "include" });
      const text = await r.text();
      if (r.type === "opaque" && text === "") throw new Error("opaque response");
      return text;
    });
    await attempt("frame a console page", () => new Promise((resolve, reject) => {
      const f = document.createElement("iframe");
      f.src = base + "/clusters/" + id;
      f.onload = () => {
        try {
          const d = f.contentDocument;
          if (!d || !d.documentElement.innerHTML.includes("csrf")) throw new Error("no console document");
          resolve(d.documentElement.innerHTML);
        } catch (e) { reject(e); }
      };
      document.body.appendChild(f);
      setTimeout(() => reject(new Error("no load")), 10_000);
    }));
    out.cookies = document.cookie;
    // Blind writes: create a cluster with the API, terminate with the
    // console's form (even holding the real CSRF token).
    await fetch(base + "/api/v1/clusters", { method: "POST", mode: "no-cors", credentials: "include",
      headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ Name: "evil" }) }).catch(() => {});
    await fetch(base + "/clusters/" + id + "/terminate", { method: "POST", mode: "no-cors", credentials: "include",
      body: new URLSearchParams({ csrf }) }).catch(() => {});
    await fetch(base + "/clusters/" + id + "/terminate", { method: "POST", mode: "no-cors", credentials: "include",
      headers: { "X-CSRF-Token": csrf } }).catch(() => {});
    return out;
  }, { base, id, csrf });
  t.diagnostic(JSON.stringify(got, null, 1));
  for (const name of ["read a console page", "read the console's CSRF token", "call /api/v1/clusters",
    "read /api/v1/clusters without CORS", "frame a console page"]) {
    assert.match(got[name], /^refused: /, `${name}: ${got[name]}`);
  }
  assert.doesNotMatch(got.cookies, /hearth_/, "the page's script sees no Hearth cookie");
  // Nothing changed.
  const after = await api("/api/v1/clusters");
  assert.equal(JSON.stringify(after.Clusters.map((c) => c.Id)), JSON.stringify(before.Clusters.map((c) => c.Id)), "no cluster created");
  const c = await api(`/api/v1/clusters/${id}`);
  assert.equal(c.Cluster.Status.State, "WAITING", "the cluster was not terminated");

  // Cross-origin WebSockets to the gateway are refused (403) — from the
  // console's pages and from a foreign site's, though the browser holds a
  // gateway cookie; the same WebSocket from a gateway page passes the
  // gateway (the master UI itself speaks no WebSocket).
  const wsTo = gateway.replace(/^http/, "ws") + `/clusters/${id}/ui/ws`;
  const open = (p, from) => p.evaluate((u) => new Promise((resolve) => {
    const ws = new WebSocket(u);
    ws.onopen = () => { ws.close(); resolve("open"); };
    ws.onclose = (e) => resolve("closed " + e.code);
    setTimeout(() => resolve("no answer"), 10_000);
  }), wsTo + "?from=" + from);
  await page.goto(evilURL + "/");
  assert.equal(await open(page, "evil"), "closed 1006");
  await page.goto(`${gateway}/clusters/${id}/ui/`);
  await open(page, "gateway");
  // A console page's own CSP (connect-src 'self') already keeps its
  // scripts from opening one; with CSP bypassed, the gateway refuses it.
  await page.goto(base + "/");
  assert.notEqual(await open(page, "console-csp"), "open");
  const second = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  t.after(() => second.close());
  const loose = await second.newContext({ bypassCSP: true });
  const consolePage = await loose.newPage();
  consolePage.on("websocket", (ws) => ws.on("socketerror", (e) => { wsErrors[new URL(ws.url()).searchParams.get("from")] = e; }));
  await consolePage.goto(base + "/login");
  assert.equal(await open(consolePage, "console"), "closed 1006");
  await new Promise((r) => setTimeout(r, 500));
  t.diagnostic(JSON.stringify(wsErrors));
  assert.match(wsErrors.console || "", /Unexpected response code: 403/, "WebSocket from the console's origin");
  assert.match(wsErrors.evil || "", /Unexpected response code: 403/, "WebSocket from a foreign origin");
  assert.doesNotMatch(wsErrors.gateway || "", /response code: 40[13]/, "WebSocket from the gateway's own page");
});
