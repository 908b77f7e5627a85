// The website in a real browser: Debian's Chromium driven by playwright-core.
// Run by the Rust e2e test `website` (tests/tests/website.rs), which starts
// the server and passes: VITALS_URL, VITALS_BIN (the `vitals` binary),
// VITALS_WORK (a scratch folder), VITALS_ARTIFACTS (screenshots go there).
// Prints one JSON line of measurements at the end; exits 1 on any failure.
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { randomUUID } from "node:crypto";

const url = process.env.VITALS_URL;
const bin = process.env.VITALS_BIN;
const work = process.env.VITALS_WORK;
const shots = process.env.VITALS_ARTIFACTS;
mkdirSync(shots, { recursive: true });

const problems = [];
// Pages whose 401s are the point (a stranger; a deleted dashboard).
const expect401 = new Set();
const children = [];
const fail = (m) => { throw new Error(m); };
const until = async (what, f, ms = 10000) => {
  const t = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t > ms) fail(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function newPage(ctx, name) {
  const page = await ctx.newPage();
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (expect401.has(name) && m.text().includes("status of 401")) return;
    problems.push(`${name}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    if (!r.url().includes("/live")) problems.push(`${name}: request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("request", (r) => { if (!r.url().startsWith(url)) problems.push(`${name}: third-party request ${r.url()}`); });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  return page;
}

const out = {};
try {
  // ---- landing: both example sources move within 10 s --------------------
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await newPage(ctx, "landing");
  const t0 = Date.now();
  const resp = await page.goto(`${url}/`);
  const h = resp.headers();
  for (const [k, want] of [["content-security-policy", "frame-ancestors 'none'"],
    ["content-security-policy", "script-src 'self'"], ["x-content-type-options", "nosniff"],
    ["referrer-policy", "no-referrer"]]) {
    if (!(h[k] ?? "").includes(want)) fail(`header ${k} lacks ${want}: ${h[k]}`);
  }
  if ((h["content-security-policy"] ?? "").includes("unsafe-inline")) fail("CSP allows inline code");
  for (const s of ["prometheus", "otel"]) {
    await until(`${s} example`, async () => (await page.textContent(`#ex-${s} .now`)).startsWith("CPU"), 10000);
  }
  out.examples_ms = Date.now() - t0;
  const first = await page.textContent("#ex-otel .now");
  await page.waitForTimeout(2500);
  const pathsMoved = await page.evaluate(() => document.querySelectorAll(".example canvas").length);
  if (pathsMoved < 2) fail("the example charts did not draw");
  out.example_first = first;
  await page.screenshot({ path: `${shots}/landing.png`, fullPage: true });

  // ---- consent: Proceed disabled until ticked ------------------------------
  const proceed = page.getByRole("button", { name: "Proceed" });
  if (!(await proceed.isDisabled())) fail("Proceed is enabled before the box is ticked");
  await page.getByLabel("I have read and agree").focus();
  await page.keyboard.press("Space"); // keyboard reachable
  await until("Proceed enabled", async () => !(await proceed.isDisabled()));
  await proceed.click();
  const code = (await until("pairing code", async () => (await page.textContent("#code")).trim(), 5000));
  await page.screenshot({ path: `${shots}/paired.png`, fullPage: true });

  // ---- the agent, paired with that code, uploads --------------------------
  execFileSync(bin, ["pair", code, "--server", url, "--data-dir", `${work}/agent`]);
  const agent = spawn(bin, ["agent", "--server", url, "--data-dir", `${work}/agent`, "--interval-ms", "500"],
    { stdio: "ignore" });
  children.push(agent);

  const dash = await newPage(ctx, "dashboard");
  await dash.goto(`${url}/dashboard`);
  await until("stats from the agent", async () => {
    const t = await dash.textContent("#cards");
    return /[1-9]\d* samples today/.test(t ?? "");
  }, 20000);
  await until("live rows", async () => Number(await dash.evaluate(() => document.body.dataset.liveRows ?? 0)) >= 4, 15000);
  await until("last sample age", async () => /Last sample [0-3] s ago/.test(await dash.textContent("#age")), 5000);
  await dash.reload();
  await until("history after reload", async () => Number(await dash.evaluate(() => document.body.dataset.points ?? 0)) >= 2, 10000);
  await dash.waitForTimeout(1500);
  await dash.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });

  // ---- another browser context cannot see it -------------------------------
  const other = await browser.newContext();
  expect401.add("stranger");
  const stranger = await newPage(other, "stranger");
  await stranger.goto(`${url}/dashboard`);
  await until("signed-out notice", async () => stranger.isVisible("#signed-out"));
  if (await stranger.isVisible("#board")) fail("a stranger sees the board");
  const st = await stranger.evaluate(async () => (await fetch("/api/v1/me/stats")).status);
  if (st !== 401) fail(`a stranger's stats request answered ${st}`);

  // ---- 360 px wide ----------------------------------------------------------
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  for (const [name, path] of [["phone-landing", "/"], ["phone-privacy", "/privacy"]]) {
    const p = await newPage(phone, name);
    await p.goto(`${url}${path}`);
    await p.waitForTimeout(1500);
    const w = await p.evaluate(() => document.documentElement.scrollWidth);
    if (w > 362) fail(`${path} is ${w} px wide at 360`);
    await p.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  }
  const phoneDash = await phone.newPage();
  await phone.addCookies(await ctx.cookies());
  await phoneDash.goto(`${url}/dashboard`);
  await phoneDash.waitForTimeout(2000);
  const pw = await phoneDash.evaluate(() => document.documentElement.scrollWidth);
  if (pw > 362) fail(`/dashboard is ${pw} px wide at 360`);
  await phoneDash.screenshot({ path: `${shots}/phone-dashboard.png`, fullPage: true });

  // ---- privacy: the same text and version as the API -------------------------
  const priv = await newPage(ctx, "privacy");
  await priv.goto(`${url}/privacy`);
  const policy = await (await fetch(`${url}/api/v1/policy`)).json();
  const text = await priv.textContent("main");
  if (!text.includes(policy.version)) fail("the privacy page shows another policy version");
  if (!text.includes("midnight")) fail("the privacy page lacks the erasure promise");

  // ---- delete ---------------------------------------------------------------
  dash.on("dialog", (d) => d.accept());
  expect401.add("dashboard");
  await dash.click("#delete");
  await until("deleted notice", async () => (await dash.textContent("#status")).startsWith("Deleted"));
  const after = await dash.evaluate(async () => (await fetch("/api/v1/me/stats")).status);
  if (after !== 401) fail(`after delete the stats answered ${after}`);
  await dash.screenshot({ path: `${shots}/deleted.png`, fullPage: true });
  agent.kill();

  // ---- a full day at 1 Hz: load and draw time ----------------------------
  const reg = await (await fetch(`${url}/api/v1/instances`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ consent: { accepted: true, policy_version: policy.version } }),
  })).json();
  const auth = { authorization: `Bearer ${reg.token}`, "content-type": "application/json" };
  const now = Date.now();
  const N = 86400;
  const dayStart = Number(process.env.VITALS_DAY_START_MS);
  const step = Math.max(1, Math.min(1000, Math.floor((now - dayStart - 5000) / N)));
  const t0ms = now - 2000 - step * N;
  const per = 2500;
  for (let i = 0; i < N; i += per) {
    const n = Math.min(per, N - i);
    const cpu = [], ram = [], disc = [];
    for (let k = 0; k < n; k++) {
      const ts = t0ms + (i + k) * step;
      const v = 50 + 40 * Math.sin((i + k) / 500);
      cpu.push({ ts, usage_pct: v, cores_pct: [v] });
      ram.push({ ts, used_bytes: 4e9 + (i + k), total_bytes: 16e9, swap_used_bytes: 0, swap_total_bytes: 0 });
      disc.push({ ts, mount: "/", used_bytes: 5e10, total_bytes: 1e11, read_bps: 0, write_bps: 0 });
    }
    for (;;) {
      const r = await fetch(`${url}/api/v1/ingest`, { method: "POST", headers: auth,
        body: JSON.stringify({ batch_id: randomUUID(), cpu, ram, disc }) });
      if (r.status === 200) break;
      if (r.status === 429) { await new Promise((s) => setTimeout(s, 1000)); continue; }
      fail(`seeding answered ${r.status}: ${await r.text()}`);
    }
  }
  const link = await (await fetch(`${url}/api/v1/me/web-link`, { method: "POST", headers: auth })).json();
  const big = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const bp = await newPage(big, "full-day");
  const g0 = Date.now();
  await bp.goto(`${url}${link.url}`);
  await until("a full day drawn", async () => bp.evaluate(() => document.body.dataset.loadedMs), 15000);
  out.full_day_total_ms = Date.now() - g0;
  out.full_day_script_ms = Number(await bp.evaluate(() => document.body.dataset.loadedMs));
  out.full_day_points_drawn = Number(await bp.evaluate(() => document.body.dataset.points));
  out.full_day_samples = N;
  await bp.screenshot({ path: `${shots}/full-day.png`, fullPage: true });

  // Responsiveness with a full day drawn while live points arrive: an agent
  // uploads for this instance; long main-thread tasks are recorded.
  await bp.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
      .observe({ type: "longtask", buffered: false });
  });
  mkdirSync(`${work}/big-agent`, { recursive: true });
  const { writeFileSync } = await import("node:fs");
  writeFileSync(`${work}/big-agent/agent.token`, reg.token, { mode: 0o600 });
  const bigAgent = spawn(bin, ["agent", "--server", url, "--data-dir", `${work}/big-agent`, "--interval-ms", "250"],
    { stdio: "ignore" });
  children.push(bigAgent);
  await until("live rows on the full day", async () =>
    Number(await bp.evaluate(() => document.body.dataset.liveRows ?? 0)) >= 20, 20000);
  const long = await bp.evaluate(() => window.__long);
  out.full_day_live_rows = Number(await bp.evaluate(() => document.body.dataset.liveRows));
  out.full_day_long_tasks = long.length;
  out.full_day_longest_task_ms = Math.round(Math.max(0, ...long));
  bigAgent.kill();

  if (problems.length) fail(`problems:\n${problems.join("\n")}`);
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`FAILED: ${e.message}`);
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  for (const c of children) c.kill();
  await browser.close();
}
