// The personal dashboard: today's history (downsampled by the server),
// live rows over GET /api/v1/me/live, statistics cards, sessions, CSV
// export and deletion. Every request carries only the session cookie.
import type uPlot from "uplot";
import { COLOURS, byId, clock, el, mountColour, pct, percentChart, throttled } from "./common";

interface Stats {
  count: number;
  avg: number | null;
  median: number | null;
  min: number | null;
  max: number | null;
  p95: number | null;
}
interface StatsResponse {
  quota?: { daily_limit: number; rows_today: { cpu: number; ram: number; disc: number }; reached: boolean };
  day: string;
  tz: string;
  cpu: Stats;
  ram: Stats;
  disc: Record<string, Stats>;
  sessions: { start: number; end: number; cpu: Stats; ram: Stats; disc: Record<string, Stats> }[];
}

/// Points asked of the server per series (about two per pixel of a wide chart).
const MAX_POINTS = 3000;
const SYNC = "vitals-dashboard";

class Series {
  // Seconds and values, in time order.
  xs: number[] = [];
  ys: number[] = [];
  push(t: number, v: number) {
    const n = this.xs.length;
    if (n && t <= this.xs[n - 1]) return;
    this.xs.push(t);
    this.ys.push(v);
  }
}

const status = byId("status");
function say(text: string, kind: "info" | "warn" = "info") {
  status.textContent = text;
  status.className = kind;
  status.hidden = false;
}

async function api<T>(path: string): Promise<T | null> {
  const r = await fetch(path, { credentials: "same-origin" });
  if (r.status === 401) return null;
  if (!r.ok) throw new Error(`${path} answered ${r.status}`);
  return (await r.json()) as T;
}

function card(name: string, s: Stats | undefined, colour: string): HTMLElement {
  const c = el("section", { class: "card stat" });
  const h = el("h3", {}, name);
  h.style.borderColor = colour;
  c.append(h);
  const dl = el("dl");
  for (const [k, label] of [
    ["avg", "average"],
    ["median", "median"],
    ["min", "min"],
    ["max", "max"],
    ["p95", "p95"],
  ] as const) {
    dl.append(el("dt", {}, label), el("dd", {}, pct(s?.[k])));
  }
  c.append(dl, el("p", { class: "small" }, `${s?.count ?? 0} samples today`));
  return c;
}

function renderStats(st: StatsResponse, mounts: string[]) {
  const q = byId("quota");
  q.hidden = !st.quota?.reached;
  if (st.quota?.reached) {
    q.textContent = `Today's limit of ${st.quota.daily_limit.toLocaleString()} rows per table is reached: ` +
      "the server refuses new samples until midnight Europe/Warsaw; your app keeps them queued meanwhile.";
  }
  const cards = byId("cards");
  cards.replaceChildren(
    card("CPU", st.cpu, COLOURS.cpu),
    card("Memory", st.ram, COLOURS.ram),
    ...mounts.map((m, i) => card(`Disk ${m}`, st.disc[m], mountColour(i))),
  );
  const body = byId("sessions").querySelector("tbody")!;
  body.replaceChildren(
    ...st.sessions.map((s) => {
      const tr = el("tr");
      tr.append(
        el("td", {}, `${clock(s.start)}–${clock(s.end)}`),
        el("td", {}, `${pct(s.cpu.avg)} / ${pct(s.cpu.median)}`),
        el("td", {}, `${pct(s.ram.avg)} / ${pct(s.ram.median)}`),
        el("td", {}, Object.entries(s.disc).map(([m, d]) => `${m} ${pct(d.avg)}`).join(", ") || "–"),
      );
      return tr;
    }),
  );
  byId("sessions-count").textContent = String(st.sessions.length);
}

async function main() {
  const started = performance.now();
  const stats = await api<StatsResponse>("/api/v1/me/stats").catch((e) => {
    say(`The server could not be reached: ${e.message}`, "warn");
    return undefined;
  });
  if (stats === undefined) return;
  if (stats === null) {
    byId("signed-out").hidden = false;
    byId("board").hidden = true;
    return;
  }
  const day = stats.day;
  byId("day").textContent = `${stats.day} (${stats.tz})`;
  const mounts = Object.keys(stats.disc).sort();
  if (mounts.length === 0) mounts.push("/");

  // History of today, three charts with a shared cursor.
  const cpu = new Series();
  const ram = new Series();
  const disc = new Map(mounts.map((m) => [m, new Series()]));
  const load = async (metric: string, target: Series, mount?: string) => {
    const q = new URLSearchParams({ metric, max_points: String(MAX_POINTS) });
    if (mount) q.set("mount", mount);
    const r = await api<{ points: [number, number][] }>(`/api/v1/me/series?${q}`);
    for (const [t, v] of r?.points ?? []) target.push(t / 1000, v);
  };
  await Promise.all([
    load("cpu", cpu),
    load("ram", ram),
    ...mounts.map((m) => load("disc", disc.get(m)!, m)),
  ]);
  const cpuChart = percentChart(byId("chart-cpu"), [{ label: "CPU", colour: COLOURS.cpu }], { sync: SYNC });
  const ramChart = percentChart(byId("chart-ram"), [{ label: "memory", colour: COLOURS.ram }], { sync: SYNC });
  const discChart = percentChart(
    byId("chart-disc"),
    mounts.map((m, i) => ({ label: m, colour: mountColour(i) })),
    { sync: SYNC },
  );
  let range: "5m" | "1h" | "today" = "today";
  let zoomed = false;
  const setRange = (u: uPlot) => {
    if (zoomed) return;
    const now = Date.now() / 1000;
    const span = range === "5m" ? 300 : range === "1h" ? 3600 : null;
    const min = span ? now - span : (u.data[0][0] as number | undefined) ?? now - 60;
    u.setScale("x", { min, max: now });
  };
  const discData = (): uPlot.AlignedData => {
    // Mounts are sampled together: align on the first mount's times.
    const base = disc.get(mounts[0])!;
    const cols = mounts.map((m) => {
      const s = disc.get(m)!;
      const at = new Map(s.xs.map((t, i) => [t, s.ys[i]]));
      return base.xs.map((t) => at.get(t) ?? null);
    });
    return [base.xs, ...cols] as uPlot.AlignedData;
  };
  const draw = () => {
    // Keep a drag-zoom across live updates; otherwise show the range.
    const keep = zoomed ? [cpuChart, ramChart, discChart].map((u) => [u.scales.x.min, u.scales.x.max]) : null;
    cpuChart.setData([cpu.xs, cpu.ys]);
    ramChart.setData([ram.xs, ram.ys]);
    discChart.setData(discData());
    [cpuChart, ramChart, discChart].forEach((u, i) => {
      if (keep && keep[i][0] != null) u.setScale("x", { min: keep[i][0]!, max: keep[i][1]! });
      else setRange(u);
    });
  };
  draw();
  renderStats(stats, mounts);
  const ms = Math.round(performance.now() - started);
  document.body.dataset.loadedMs = String(ms);
  document.body.dataset.points = String(cpu.xs.length);

  // Range buttons, zoom by drag (uPlot's own), double-click to reset.
  for (const b of document.querySelectorAll<HTMLButtonElement>("#range button")) {
    b.addEventListener("click", () => {
      range = b.dataset.range as typeof range;
      zoomed = false;
      for (const x of document.querySelectorAll("#range button")) x.setAttribute("aria-pressed", String(x === b));
      draw();
    });
  }
  for (const u of [cpuChart, ramChart, discChart]) {
    u.over.addEventListener("mouseup", () => (zoomed = true));
    u.over.addEventListener("dblclick", () => {
      zoomed = false;
      draw();
    });
  }

  // Live rows.
  let last = Math.max(cpu.xs.at(-1) ?? 0, ram.xs.at(-1) ?? 0) * 1000;
  const redraw = throttled(draw);
  const es = new EventSource("/api/v1/me/live");
  es.addEventListener("sample", (e) => {
    const s = JSON.parse((e as MessageEvent).data);
    const t = s.ts / 1000;
    if (s.metric === "cpu") cpu.push(t, s.usage_pct);
    else if (s.metric === "ram") ram.push(t, s.total_bytes > 0 ? (100 * s.used_bytes) / s.total_bytes : 0);
    else if (s.metric === "disc" && disc.has(s.mount))
      disc.get(s.mount)!.push(t, s.total_bytes > 0 ? (100 * s.used_bytes) / s.total_bytes : 0);
    last = Math.max(last, s.ts);
    document.body.dataset.liveRows = String(Number(document.body.dataset.liveRows ?? 0) + 1);
    redraw();
  });
  const age = byId("age");
  setInterval(() => {
    age.textContent = last ? `Last sample ${Math.max(0, Math.round((Date.now() - last) / 1000))} s ago` : "No samples yet today";
  }, 1000);

  // Statistics every 10 s; the day's roll and deletion are said in words.
  setInterval(async () => {
    const st = await api<StatsResponse>("/api/v1/me/stats").catch(() => undefined);
    if (st === null) {
      say("This dashboard's data no longer exists (deleted). Agree again on the home page to start anew.", "warn");
      es.close();
      return;
    }
    if (!st) return;
    if (st.day !== day) {
      say(`It is a new day (${st.day}): yesterday's data was erased at midnight Europe/Warsaw, as promised.`);
      cpu.xs = []; cpu.ys = []; ram.xs = []; ram.ys = [];
      for (const s of disc.values()) { s.xs = []; s.ys = []; }
      draw();
    }
    renderStats(st, mounts);
  }, 10_000);

  byId("delete").addEventListener("click", async () => {
    if (!window.confirm("Delete all of this machine's data on the server now? This cannot be undone.")) return;
    const r = await fetch("/api/v1/me", { method: "DELETE", credentials: "same-origin" });
    if (r.status === 204) {
      es.close();
      byId("board").hidden = true;
      say("Deleted: your instance and every sample of today are gone from the server. Uploads from your app or agent are refused from now on.");
    } else {
      say(`The server answered ${r.status}; nothing was deleted. Try again.`, "warn");
    }
  });
}

void main();
