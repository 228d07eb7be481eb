// Hearth console: live regions, log following, form helpers. Plain
// JavaScript, no build step; every page works without it, only less live.
"use strict";

(function () {
  // Live regions: a page with data-refresh="N" re-fetches itself every N
  // seconds and swaps in each element marked data-live="name", so forms
  // elsewhere on the page keep what the user typed. It stops once the new
  // page no longer asks for refreshing (the cluster or step has ended).
  function live() {
    const root = document.querySelector("[data-refresh]");
    if (!root) return;
    const every = Number(root.getAttribute("data-refresh")) * 1000 || 3000;
    let timer = setTimeout(tick, every);
    async function tick() {
      if (document.hidden) { timer = setTimeout(tick, every); return; }
      let doc;
      try {
        const resp = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
        if (resp.redirected && new URL(resp.url).pathname === "/login") { location.reload(); return; }
        if (!resp.ok) { timer = setTimeout(tick, every); return; }
        doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      } catch (e) {
        timer = setTimeout(tick, every);
        return;
      }
      for (const el of document.querySelectorAll("[data-live]")) {
        const fresh = doc.querySelector('[data-live="' + el.getAttribute("data-live") + '"]');
        if (fresh && fresh.innerHTML !== el.innerHTML) {
          el.innerHTML = fresh.innerHTML;
          bindConfirms(el);
        }
      }
      if (doc.querySelector("[data-refresh]")) {
        timer = setTimeout(tick, every);
      } else if (root.hasAttribute("data-reload-when-final")) {
        // The end state removes whole sections (the add-step form).
        location.reload();
      } else {
        root.removeAttribute("data-refresh");
      }
    }
  }

  // Log following: <pre data-log="URL"> shows a step's log stream and keeps
  // asking for the bytes after what it has (the server waits for new ones
  // while the step runs), until the step has ended and the stream is read.
  function follow(pre) {
    const url = pre.getAttribute("data-log");
    let offset = 0;
    let failures = 0;
    async function next() {
      let body;
      try {
        const resp = await fetch(url + "?wait=1&offset=" + offset, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (resp.status === 401) { pre.dataset.status = "log in again to follow this log"; return; }
        body = await resp.json();
        if (!resp.ok) throw new Error(body.message || resp.statusText);
      } catch (e) {
        failures++;
        pre.dataset.status = "cannot read the log: " + e.message;
        setTimeout(next, Math.min(30000, 1000 * failures));
        return;
      }
      failures = 0;
      if (body.data) {
        const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(document.createTextNode(body.data));
        if (atBottom) pre.scrollTop = pre.scrollHeight;
      }
      offset = body.next;
      if (body.ended) {
        pre.dataset.status = "complete";
        pre.classList.add("ended");
        if (!pre.textContent) pre.textContent = "(empty)";
        return;
      }
      pre.dataset.status = "following (" + body.state + ")";
      next();
    }
    next();
  }

  // Forms marked data-confirm ask before they submit.
  function bindConfirms(root) {
    for (const form of root.querySelectorAll("form[data-confirm]")) {
      form.addEventListener("submit", (ev) => {
        if (!confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
      });
    }
  }

  // The create-cluster form shows the equivalent CLI command and spec as
  // the user edits it (the server computes both: one source of truth).
  function preview() {
    const form = document.querySelector("form[data-preview]");
    if (!form) return;
    const cmd = document.getElementById("cli-command");
    const spec = document.getElementById("cli-spec");
    const err = document.getElementById("cli-error");
    let pending;
    async function update() {
      const params = new URLSearchParams(new FormData(form));
      params.delete("csrf");
      try {
        const resp = await fetch(form.getAttribute("data-preview") + "?" + params, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        const body = await resp.json();
        err.hidden = !body.error;
        err.textContent = body.error || "";
        if (body.command) cmd.textContent = body.command;
        if (body.spec) spec.textContent = body.spec;
      } catch (e) { /* the preview is a convenience */ }
    }
    form.addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(update, 200); });
    form.addEventListener("change", update);
  }

  // Metrics: #metrics[data-metrics=URL] gets live charts of the samples at
  // URL (control.MetricsView), fetched again every sampling interval. The
  // charts are uPlot's (vendored in /static). #metrics records how many
  // points it drew (data-points) and how many times (data-updates).
  function charts() {
    const box = document.getElementById("metrics");
    if (!box || typeof uPlot === "undefined") return;
    const url = box.getAttribute("data-metrics");
    const palette = ["#d9480f", "#1971c2", "#2f9e44", "#9c36b5", "#e8590c", "#0c8599", "#5f3dc4", "#c2255c"];
    const plots = {};
    let updates = 0;

    // aligned turns [{label, points: [[t, v]...]}] into uPlot's columns on
    // the union of the series' times (seconds), null where one has no point.
    function aligned(series) {
      const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
      const index = new Map(times.map((t, i) => [t, i]));
      const cols = series.map((s) => {
        const col = new Array(times.length).fill(null);
        for (const [t, v] of s.points) col[index.get(t)] = v;
        return col;
      });
      return [times, ...cols];
    }

    // draw charts series in element id; with total, a last series sums the
    // others at each time (the cluster's figure).
    function draw(id, series, total) {
      const el = document.getElementById(id);
      if (!el) return 0;
      const data = aligned(series);
      if (total && series.length > 1) {
        series = [...series, { label: "cluster" }];
        data.push(data[0].map((_, i) => data.slice(1).reduce((sum, col) => col[i] == null ? sum : (sum ?? 0) + col[i], null)));
      }
      const labels = series.map((s) => s.label).join("|");
      let p = plots[id];
      if (!p || p.labels !== labels) {
        if (p) p.plot.destroy();
        const opts = {
          width: Math.max(300, el.clientWidth || 420), height: 200,
          scales: { x: { time: true } },
          series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true }))],
          axes: [{}, { size: 50 }],
        };
        p = plots[id] = { plot: new uPlot(opts, data, el), labels };
      } else {
        p.plot.setData(data);
      }
      return data[0].length * series.length;
    }

    // Times are put in buckets of the sampling interval, so that the
    // nodes' samples (each agent keeps its own clock) line up.
    let every = 5;
    const t = (iso) => Math.round(Date.parse(iso) / 1000 / every) * every;
    const name = (n) => n.Role.toLowerCase() + " " + n.NodeId.slice(2, 8);

    async function tick() {
      let v;
      try {
        const resp = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!resp.ok) throw new Error(resp.statusText);
        v = await resp.json();
      } catch (e) {
        setTimeout(tick, 5000);
        return;
      }
      every = v.IntervalSeconds || 5;
      const nodes = v.Nodes.filter((n) => n.Samples.length > 0);
      let points = 0;
      points += draw("chart-cpu", nodes.map((n) => ({ label: name(n), points: n.Samples.map((s) => [t(s.Time), s.NodeCpuPercent]) })), true);
      points += draw("chart-mem", nodes.map((n) => ({ label: name(n), points: n.Samples.map((s) => [t(s.Time), s.NodeRssMB]) })), true);
      const workers = v.Nodes.filter((n) => v.Cluster.some((c) => c.WorkerCoresUsed && n.NodeId in c.WorkerCoresUsed));
      points += draw("chart-cores", workers.map((n) => ({
        label: name(n),
        points: v.Cluster.filter((c) => c.WorkerCoresUsed && n.NodeId in c.WorkerCoresUsed).map((c) => [t(c.Time), c.WorkerCoresUsed[n.NodeId]]),
      })), true);
      points += draw("chart-apps", [
        { label: "running", points: v.Cluster.map((c) => [t(c.Time), c.AppsRunning]) },
        { label: "pending", points: v.Cluster.map((c) => [t(c.Time), c.AppsPending]) },
      ]);
      const last = v.Cluster[v.Cluster.length - 1];
      if (last) {
        document.getElementById("metric-counters").textContent =
          (last.IsIdle ? "Idle" : "Busy") + " · applications running " + last.AppsRunning + ", pending " + last.AppsPending +
          " · steps running " + last.StepsRunning + " · workers " + last.AliveWorkers +
          " · cores " + last.CoresUsed + "/" + last.CoresTotal + " · memory " + last.MemoryUsedMB + "/" + last.MemoryTotalMB + " MB";
      }
      box.dataset.points = String(points);
      box.dataset.updates = String(++updates);
      setTimeout(tick, Math.max(1000, (v.IntervalSeconds || 5) * 1000));
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", () => {
    charts();
    live();
    bindConfirms(document);
    preview();
    document.querySelectorAll("pre[data-log]").forEach(follow);
  });
})();
