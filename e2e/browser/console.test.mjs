// The console and UI gateway as a person uses them, in headless Chromium
// (Debian's /usr/bin/chromium; playwright-core never downloads a browser).
// Run by e2e/web_test.go against a real `hearth server`:
//
//   HEARTH_URL=http://127.0.0.1:PORT HEARTH_GATEWAY=http://127.0.0.1:PORT2 \
//   HEARTH_TOKEN=<admin token> \
//   HEARTH_SCRATCH=<dir> node --test
//
// Screenshots land in artifacts/ (gitignored).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const base = (process.env.HEARTH_URL || "").replace(/\/$/, "");
// The UI gateway's own origin (another port of the same host).
const gatewayBase = (process.env.HEARTH_GATEWAY || "").replace(/\/$/, "");
const token = process.env.HEARTH_TOKEN || "";
const scratch = process.env.HEARTH_SCRATCH || mkdtempSync(join(tmpdir(), "hearth-browser-"));
const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

const minute = 60_000;

// Step programs, written where the server (same host) can read them.
const slowApp = join(scratch, "slow_app.py");
const ticks = join(scratch, "ticks.py");
const boom = join(scratch, "boom.py");
const hello = join(scratch, "hello.sh");

function writePrograms() {
  mkdirSync(scratch, { recursive: true });
  // A Spark application that holds its executors in one long job, so the
  // master shows a running application with a UI and executor logs.
  writeFileSync(slowApp, `
import sys, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("browser-slow-app").getOrCreate()
print("slow app started", flush=True)
secs = int(sys.argv[1]) if len(sys.argv) > 1 else 600
def hold(x):
    import time
    time.sleep(secs)
    return x
print(spark.sparkContext.parallelize(range(2), 2).map(hold).sum(), flush=True)
spark.stop()
`);
  // A program whose output comes a line a second.
  writeFileSync(ticks, `
import time
for i in range(1, 13):
    print("tick %d" % i, flush=True)
    time.sleep(1)
print("ticks done", flush=True)
`);
  writeFileSync(boom, `raise ValueError("boom from the browser test")\n`);
  writeFileSync(hello, `#!/bin/sh\necho "hello from $1"\n`, { mode: 0o755 });
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, name + ".png"), fullPage: true });
}

// Every link on the page stays under the gateway prefix (or is an in-page
// anchor or script link).
async function assertLinksInside(page, prefix) {
  const hrefs = await page.$$eval("a[href]", (as) => as.map((a) => a.href));
  const outside = hrefs.filter((h) => !h.startsWith(prefix) && !h.startsWith("javascript:") && !h.includes("#") &&
    !h.startsWith("https://spark.apache.org"));
  assert.deepEqual(outside, [], `links leaving the gateway on ${page.url()}`);
}

test("the console and the UI gateway, end to end", { timeout: 20 * minute }, async (t) => {
  assert.ok(base, "HEARTH_URL is required");
  assert.ok(gatewayBase, "HEARTH_GATEWAY is required");
  assert.ok(token, "HEARTH_TOKEN is required");
  writePrograms();
  mkdirSync(artifacts, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "hearth-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 1000 },
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on("dialog", (d) => d.accept());
  // Every request the pages make, Spark's scripts' included, must succeed
  // and stay on the server.
  const badResponses = [];
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) badResponses.push(r.status() + " " + r.url());
  });
  page.on("request", (r) => {
    if (!r.url().startsWith(base + "/") && !r.url().startsWith(gatewayBase + "/") && !r.url().startsWith("data:")) badResponses.push("left the server: " + r.url());
  });
  const pageErrors = [];
  page.on("pageerror", (e) => { if (page.url().startsWith(base + "/clusters/") && !page.url().includes("/ui/")) pageErrors.push(e.message); });

  let clusterId;
  // step runs one part of the story; a failing part leaves a screenshot.
  const step = (name, fn) => t.test(name, async () => {
    try {
      await fn();
    } catch (e) {
      await shot(page, "failed-" + name.replace(/[^a-z0-9]+/gi, "-")).catch(() => {});
      throw e;
    }
  });

  await step("log in with the admin token", async () => {
    await page.goto(base + "/");
    assert.match(page.url(), /\/login\?next=/, "an anonymous visit is sent to the login page");
    await page.fill('input[name="token"]', "not-the-token");
    await page.click('button:has-text("Log in")');
    await page.waitForSelector("p.error");
    assert.match(await page.textContent("p.error"), /Wrong admin token/);
    await page.fill('input[name="token"]', token);
    await shot(page, "01-login");
    await page.click('button:has-text("Log in")');
    await page.waitForSelector("h1:has-text('Clusters')");
    const cookies = await context.cookies(base);
    const sess = cookies.find((c) => c.name === "hearth_session");
    assert.ok(sess, "a session cookie is set");
    assert.equal(sess.httpOnly, true);
    assert.equal(sess.sameSite, "Strict");
  });

  await step("create a 1+2 local cluster from the form", async () => {
    await page.click("a:has-text('Create cluster') >> nth=0");
    await page.waitForSelector("form#create-cluster");
    await page.fill('input[name="name"]', "browser test");
    await page.selectOption('select[name="master_type"]', "local.small");
    await page.fill('input[name="core_count"]', "2");
    await page.selectOption('select[name="core_type"]', "local.small");
    await page.fill('input[name="tags"]', "team=web");
    // What EMR's console also asks: applications, bootstrap actions,
    // configurations and a first step.
    await page.check('input[name="app_ganglia"]');
    await page.fill('textarea[name="bootstrap_actions"]', hello + " browser");
    await page.fill('textarea[name="configurations"]', '[{"Classification": "spark-defaults", "Properties": {"spark.hearth.browser": "form"}}]');
    await page.fill('input[name="step_name"]', "first step");
    await page.fill('textarea[name="step_args"]', ticks);
    // The equivalent command follows the form.
    await page.waitForFunction(() => document.getElementById("cli-command").textContent.includes("--steps"));
    const cmd = await page.textContent("#cli-command");
    assert.match(cmd, /hearth create-cluster/);
    assert.match(cmd, /--name 'browser test'/);
    assert.match(cmd, /--instance-type local\.small --instance-count 3/);
    assert.match(cmd, /--tags team=web/);
    assert.match(cmd, /--applications Name=Ganglia/);
    assert.match(cmd, /--bootstrap-actions 'Path=[^']*hello\.sh,Name=Bootstrap action 1,Args=\[browser\]'/);
    assert.match(cmd, /--configurations '\[\{"Classification":"spark-defaults","Properties":\{"spark\.hearth\.browser":"form"\}\}\]'/);
    assert.match(cmd, /--steps 'Type=SPARK,Name=first step,ActionOnFailure=CONTINUE,Args=\[[^']*ticks\.py\]'/);
    await shot(page, "02-create-cluster");
    await page.click('form#create-cluster button[type="submit"]');
    await page.waitForURL(/\/clusters\/j-[A-Z0-9]+$/);
    clusterId = page.url().split("/").pop();
    assert.match(await page.textContent(".flash"), /--instance-type local\.small --instance-count 3/);
  });

  await step("the cluster reaches WAITING on its page", async () => {
    await page.waitForFunction(() => document.getElementById("cluster-state")?.textContent === "WAITING", null, { timeout: 8 * minute });
    await page.waitForSelector("#spark-workers");
    assert.equal(await page.locator("#spark-workers tbody tr").count(), 2);
    assert.equal(await page.locator("#nodes tbody tr").count(), 3);
    // What the form asked for beyond the shape.
    const text = await page.textContent("main");
    assert.match(text, /Ganglia: Hearth does not install Ganglia/);
    assert.match(text, /hello\.sh/);
    assert.match(text, /spark\.hearth\.browser/);
    assert.match(text, /first step/);
    await shot(page, "03-cluster-waiting");
  });

  const gateway = () => `${gatewayBase}/clusters/${clusterId}/ui`;

  await step("a failed step shows its reason", async () => {
    await page.goto(`${base}/clusters/${clusterId}`);
    await page.click("#add-step summary");
    await page.fill('#add-step-form input[name="name"]', "boom");
    await page.fill('#add-step-form textarea[name="args"]', boom);
    await page.click('#add-step-form button[type="submit"]');
    await page.waitForURL(/\/steps\/s-/);
    await page.waitForFunction(() => document.getElementById("step-state")?.textContent === "FAILED", null, { timeout: 3 * minute });
    await page.waitForSelector("#step-failure");
    assert.match(await page.textContent("#step-failure"), /boom from the browser test/);
    await shot(page, "04-step-failed");
  });

  await step("a long-running application appears", async () => {
    await page.goto(`${base}/clusters/${clusterId}`);
    await page.click("#add-step summary");
    await page.fill('#add-step-form input[name="name"]', "slow app");
    // The executors' JVMs print their flags on stdout: something for the
    // executor stdout log page to show.
    await page.fill('#add-step-form textarea[name="args"]',
      ["--conf", "spark.executor.extraJavaOptions=-XX:+PrintCommandLineFlags", slowApp, "600"].join("\n"));
    await page.click('#add-step-form button[type="submit"]');
    await page.waitForURL(/\/steps\/s-/);
    await page.goto(`${base}/clusters/${clusterId}`);
    await page.waitForSelector("#spark-apps a", { timeout: 4 * minute });
  });

  await step("the cluster page draws live metrics while the application runs", async () => {
    await page.goto(`${base}/clusters/${clusterId}`);
    await page.waitForFunction(() => {
      const m = document.getElementById("metrics");
      return m && Number(m.dataset.points) > 0 && Number(m.dataset.updates) >= 1;
    }, null, { timeout: 2 * minute });
    const first = await page.$eval("#metrics", (m) => Number(m.dataset.updates));
    await page.waitForFunction((n) => Number(document.getElementById("metrics").dataset.updates) > n, first, { timeout: minute });
    await page.waitForFunction(() => /applications running 1/.test(document.getElementById("metric-counters").textContent), null, { timeout: minute });
    // Every chart drew something: its canvas has painted pixels.
    for (const id of ["chart-cpu", "chart-mem", "chart-cores", "chart-apps"]) {
      const painted = await page.$eval("#" + id, (el) => {
        const c = el.querySelector("canvas");
        if (!c || !c.width || !c.height) return 0;
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
        return n;
      });
      assert.ok(painted > 100, `${id} has ${painted} painted pixels`);
    }
    await shot(page, "metrics");
  });

  await step("the proxied Spark master UI shows 2 ALIVE workers", async () => {
    await page.click("#spark-ui");
    await page.waitForURL(gateway() + "/");
    await page.waitForSelector("text=Workers (2)");
    const alive = await page.locator("td", { hasText: /^\s*ALIVE\s*$/ }).count();
    assert.equal(alive, 2, "2 ALIVE workers in the master's table");
    assert.match(await page.locator("li", { hasText: "Workers:" }).first().textContent(), /Workers:\s*2 Alive/);
    await page.waitForSelector('a[href*="/proxy/app-"]');
    await assertLinksInside(page, gateway());
    await shot(page, "05-spark-master");
  });

  await step("a worker link, its stdout log link and the application UI stay in the gateway", async () => {
    // A worker running one of the application's executors.
    await page.click('a[href*="/proxy/worker-"] >> nth=0');
    await page.waitForURL((u) => u.href.startsWith(gateway() + "/proxy/worker-"));
    await page.waitForSelector("text=Spark Worker at");
    await page.waitForSelector('a:text-is("stdout")', { timeout: 2 * minute });
    await assertLinksInside(page, gateway());
    await shot(page, "06-spark-worker");

    await page.click('a:text-is("stdout") >> nth=0');
    await page.waitForURL((u) => u.href.startsWith(gateway() + "/proxy/worker-") && u.href.includes("logType=stdout"));
    await page.waitForSelector("text=stdout log page for app-");
    await page.waitForSelector('pre:has-text("-XX:")', { timeout: minute });
    await shot(page, "07-executor-stdout");

    // The master page's Environment and Log links, which Spark writes
    // without the gateway's prefix.
    await page.goto(gateway() + "/");
    await page.click('li:has-text("Status:") a:text-is("Environment")');
    await page.waitForURL(gateway() + "/environment/");
    await page.waitForSelector("text=Spark Properties");
    await page.goto(gateway() + "/");
    await page.click('li:has-text("Status:") a:text-is("Log")');
    await page.waitForURL((u) => u.href.startsWith(gateway() + "/logPage/"));
    await page.waitForSelector("text=Master");

    await page.goto(gateway() + "/");
    await page.click('a[href*="/proxy/app-"] >> nth=0');
    await page.waitForURL((u) => u.href.startsWith(gateway() + "/proxy/app-") && u.pathname.endsWith("/jobs/"));
    await page.waitForSelector("text=Spark Jobs");
    await page.waitForSelector("text=browser-slow-app");
    await assertLinksInside(page, gateway());
    await shot(page, "08-application-jobs");

    // The executors tab is drawn by script from the application's REST API.
    await page.click('a:text-is("Executors")');
    await page.waitForURL((u) => u.href.startsWith(gateway() + "/proxy/app-") && u.pathname.endsWith("/executors/"));
    await page.waitForSelector("#active-executors-table tbody tr >> nth=2", { timeout: minute });
    await page.waitForSelector("text=Loading Executors Page...", { state: "hidden", timeout: minute });
    await shot(page, "09-application-executors");
  });

  await step("cancel the long-running step", async () => {
    await page.goto(`${base}/clusters/${clusterId}`);
    await page.click('#steps tr:has-text("slow app") a >> nth=0');
    await page.waitForSelector("#cancel-step");
    await page.click("#cancel-step");
    await page.waitForFunction(() => document.getElementById("step-state")?.textContent === "CANCELLED", null, { timeout: 2 * minute });
  });

  await step("add a step and watch its output appear live", async () => {
    await page.goto(`${base}/clusters/${clusterId}`);
    await page.click("#add-step summary");
    await page.fill('#add-step-form input[name="name"]', "ticks");
    await page.fill('#add-step-form textarea[name="args"]', ticks);
    await page.click('#add-step-form button[type="submit"]');
    await page.waitForURL(/\/steps\/s-/);
    assert.match(await page.textContent(".flash"), /hearth add-steps --cluster-id j-/);
    // Output arrives while the step still runs, and keeps coming.
    await page.waitForFunction(() => document.getElementById("log-stdout").textContent.includes("tick 2"), null, { timeout: 3 * minute });
    // The state is polled apart from the log stream, so it may lag it by
    // a poll: wait for it to say RUNNING, with the step still unfinished.
    await page.waitForFunction(() => document.getElementById("step-state")?.textContent === "RUNNING", null, { timeout: minute });
    assert.doesNotMatch(await page.textContent("#log-stdout"), /ticks done/, "output shows while the step runs");
    await shot(page, "10-step-live-output");
    await page.waitForFunction(() => document.getElementById("log-stdout").textContent.includes("ticks done"), null, { timeout: minute });
    await page.waitForFunction(() => document.getElementById("step-state")?.textContent === "COMPLETED", null, { timeout: minute });
    assert.match(await page.textContent("#log-stdout"), /tick 1\ntick 2\n[\s\S]*tick 12\nticks done/);
    await shot(page, "11-step-completed");
  });

  await step("terminate with confirmation", async () => {
    await page.goto(`${base}/clusters/${clusterId}`);
    await page.click("#terminate");
    await page.waitForSelector("#confirm-terminate");
    await shot(page, "12-terminate-confirm");
    await page.click("#confirm-terminate");
    await page.waitForURL(`${base}/clusters/${clusterId}`);
    await page.waitForFunction(() => document.getElementById("cluster-state")?.textContent === "TERMINATED", null, { timeout: 3 * minute });
    assert.match(await page.textContent("#cluster-reason"), /USER_REQUEST/);
    await shot(page, "13-terminated");
    await page.goto(base + "/");
    assert.match(await page.textContent(`tr[data-cluster="${clusterId}"]`), /TERMINATED/);
    await shot(page, "14-clusters");
  });

  await step("log out", async () => {
    await page.click('button:has-text("Log out")');
    await page.waitForURL(/\/login/);
    const resp = await page.goto(`${base}/clusters/${clusterId}`);
    assert.match(page.url(), /\/login\?next=/, "the session is gone");
    assert.equal(resp.status(), 200);
  });

  assert.deepEqual(pageErrors, [], "script errors on console pages");
  // The one expected refusal: the wrong token at the start.
  assert.deepEqual(badResponses, [base + "/login"].map((u) => "401 " + u), "failed or off-server requests");
});
