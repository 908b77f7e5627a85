// The landing page: two live example charts (Prometheus, OpenTelemetry)
// from GET /api/v1/demo/live, and consent → pairing code.
import type uPlot from "uplot";
import { COLOURS, byId, percentChart, pct, throttled } from "./common";

interface DemoSample {
  source: "prometheus" | "otel";
  metric: "cpu" | "ram" | "disc";
  ts: number;
  value: number;
  labels: Record<string, string>;
}

const KEEP_SECONDS = 300;
const METRICS = ["cpu", "ram", "disc"] as const;

class Example {
  chart: uPlot;
  // Per metric: time (s) → value, merged into aligned columns when drawn.
  series = new Map<string, Map<number, number>>();
  redraw: () => void;
  origin = "";
  constructor(readonly source: string) {
    const box = byId(`ex-${source}`);
    this.chart = percentChart(box.querySelector(".chart") as HTMLElement, [
      { label: "CPU", colour: COLOURS.cpu },
      { label: "memory", colour: COLOURS.ram },
      { label: "disk", colour: COLOURS.disc },
    ], { height: 180 });
    for (const m of METRICS) this.series.set(m, new Map());
    this.redraw = throttled(() => this.draw());
  }
  add(s: DemoSample) {
    // One disk line: the root mount, or the first mount seen.
    if (s.metric === "disc") {
      const m = s.labels.mount ?? "/";
      if (this.discMount === undefined || (m === "/" && this.discMount !== "/")) {
        this.discMount = m;
        this.series.get("disc")!.clear();
      }
      if (m !== this.discMount) return;
    }
    const t = Math.round(s.ts / 1000);
    this.series.get(s.metric)!.set(t, s.value);
    this.origin = s.labels.origin ?? "";
    if (s.metric === "cpu") {
      const now = document.querySelector(`#ex-${this.source} .now`)!;
      now.textContent = `CPU ${pct(s.value)}`;
    }
    this.redraw();
  }
  discMount?: string;
  draw() {
    const cut = Date.now() / 1000 - KEEP_SECONDS;
    const times = new Set<number>();
    for (const m of this.series.values()) {
      for (const t of [...m.keys()]) if (t < cut) m.delete(t);
      for (const t of m.keys()) times.add(t);
    }
    const xs = [...times].sort((a, b) => a - b);
    const cols = METRICS.map((m) => xs.map((t) => this.series.get(m)!.get(t) ?? null));
    this.chart.setData([xs, ...cols] as uPlot.AlignedData);
    const origin = document.querySelector(`#ex-${this.source} .origin`)!;
    origin.textContent = this.origin === "self" ? "this server" : this.origin;
  }
}

function startExamples() {
  const ex = { prometheus: new Example("prometheus"), otel: new Example("otel") };
  const es = new EventSource("/api/v1/demo/live");
  es.addEventListener("sample", (e) => {
    const s = JSON.parse((e as MessageEvent).data) as DemoSample;
    ex[s.source]?.add(s);
  });
  es.addEventListener("sources", (e) => {
    const { sources } = JSON.parse((e as MessageEvent).data) as {
      sources: { source: string; live: boolean }[];
    };
    for (const name of ["prometheus", "otel"]) {
      const live = sources.some((s) => s.source === name && s.live);
      byId(`ex-${name}`).classList.toggle("offline", !live);
    }
  });
}

async function startConsent() {
  const agree = byId<HTMLInputElement>("agree");
  const proceed = byId<HTMLButtonElement>("proceed");
  const error = byId("error");
  let version = "";
  try {
    const p = await (await fetch("/api/v1/policy")).json();
    version = p.version;
    byId("policy-version").textContent = version;
  } catch {
    error.textContent = "The policy could not be loaded; reload the page.";
    error.hidden = false;
  }
  const sync = () => (proceed.disabled = !(agree.checked && version !== ""));
  agree.addEventListener("change", sync);
  sync();
  byId<HTMLFormElement>("consent").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!agree.checked) return;
    proceed.disabled = true;
    error.hidden = true;
    const r = await fetch("/api/v1/pairing", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ consent: { accepted: true, policy_version: version } }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.status !== 201) {
      error.textContent = body?.error?.message ?? `The server answered ${r.status}.`;
      error.hidden = false;
      sync();
      return;
    }
    byId("code").textContent = body.code;
    const server = location.origin;
    byId("agent-cmd").textContent =
      `vitals pair ${body.code} --server ${server} && vitals agent --server ${server}`;
    byId("paired").hidden = false;
    byId("consent").hidden = true;
  });
}

startExamples();
void startConsent();
