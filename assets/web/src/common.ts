// Shared by the pages: colours and units (the same as the desktop app's,
// desktop/src/app/format.rs), and a uPlot time-series chart with a tooltip.
import uPlot from "uplot";

export const COLOURS = {
  cpu: "#4e79a7",
  ram: "#59a14f",
  swap: "#b07aa1",
  disc: "#f28e2b",
  read: "#76b7b2",
  write: "#e15759",
};
const PALETTE = [COLOURS.disc, "#edc948", "#9c755f", COLOURS.write, COLOURS.read, COLOURS.swap];

/// Line colour of the i-th mount.
export function mountColour(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/// `12.3 %`, like the app.
export function pct(v: number | null | undefined): string {
  return v == null || !Number.isFinite(v) ? "–" : `${v.toFixed(1)} %`;
}

/// Local time `HH:MM:SS`.
export function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e as T;
}

export interface LineSpec {
  label: string;
  colour: string;
}

/// A tooltip that follows the cursor: time and each line's value.
function tooltip(): uPlot.Plugin {
  let tip: HTMLDivElement;
  return {
    hooks: {
      init: (u: uPlot) => {
        tip = el("div", { class: "tip", role: "status" });
        tip.hidden = true;
        u.over.appendChild(tip);
      },
      setCursor: (u: uPlot) => {
        const i = u.cursor.idx;
        if (i == null || u.data[0][i] == null) {
          tip.hidden = true;
          return;
        }
        const rows = [clock((u.data[0][i] as number) * 1000)];
        u.series.forEach((s, k) => {
          if (k > 0 && s.show) rows.push(`${s.label}: ${pct(u.data[k][i] as number | null)}`);
        });
        tip.textContent = rows.join("\n");
        tip.hidden = false;
        const left = u.cursor.left ?? 0;
        const top = u.cursor.top ?? 0;
        const flip = left > u.over.clientWidth / 2;
        tip.style.left = flip ? "" : `${left + 12}px`;
        tip.style.right = flip ? `${u.over.clientWidth - left + 12}px` : "";
        tip.style.top = `${Math.max(0, top - 10)}px`;
      },
    },
  };
}

/// A percent chart (0–100) of time in seconds; `sync` shares the cursor.
export function percentChart(
  target: HTMLElement,
  lines: LineSpec[],
  opts: { height?: number; sync?: string; title?: string } = {},
): uPlot {
  const width = Math.max(280, target.clientWidth || 600);
  const o: uPlot.Options = {
    width,
    height: opts.height ?? 200,
    title: opts.title,
    cursor: opts.sync ? { sync: { key: opts.sync } } : {},
    scales: { x: { time: true }, y: { range: [0, 100] } },
    axes: [
      {},
      { values: (_u, ticks) => ticks.map((t) => `${t} %`), size: 56 },
    ],
    legend: { show: true, live: true },
    series: [
      { label: "time", value: (_u, v) => (v == null ? "–" : clock(v * 1000)) },
      ...lines.map((l) => ({
        label: l.label,
        stroke: l.colour,
        width: 1.5,
        value: (_u: uPlot, v: number | null) => pct(v),
        spanGaps: false,
      })),
    ],
    plugins: [tooltip()],
  };
  const data: uPlot.AlignedData = [[], ...lines.map(() => [])];
  const u = new uPlot(o, data, target);
  new ResizeObserver(() => {
    const w = Math.max(280, target.clientWidth);
    if (Math.abs(w - u.width) > 4) u.setSize({ width: w, height: u.height });
  }).observe(target);
  return u;
}

/// Calls `f` at most once per animation frame however often it is asked.
export function throttled(f: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      f();
    });
  };
}
