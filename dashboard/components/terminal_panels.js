// The terminal's side panels: progress, metric and GPU charts drawn from the events the
// terminal holds. Loaded before terminal.js into the same module (see terminal.py).

function esc(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function fmtDur(s) {
  if (s == null || !isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${r}s` : `${r}s`;
}
function fmtNum(v) {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return (Math.round(v * 1e4) / 1e4).toString();
}

function drawProgress(t) {
  const p = t.progress;
  if (!p) return;
  const pct = p.total ? Math.min(100, (100 * p.step) / p.total) : null;
  t.el.fill.style.width = `${pct == null ? 0 : pct}%`;
  const parts = [];
  if (p.stage) parts.push(p.stage);
  if (p.epoch != null) parts.push(`epoch ${fmtNum(p.epoch)}`);
  parts.push(p.total ? `${p.unit || "step"} ${p.step.toLocaleString()}/${p.total.toLocaleString()} (${pct.toFixed(1)}%)` : `${p.unit || "step"} ${p.step.toLocaleString()}`);
  if (p.rate) parts.push(`${p.rate >= 100 ? Math.round(p.rate) : p.rate.toPrecision(3)} ${p.unit || "step"}/s`);
  if (p.eta_s != null && !t.ended) parts.push(`ETA ${fmtDur(p.eta_s)}`);
  t.el.ptext.textContent = parts.join(" · ");
}

function drawMetrics(t) {
  const ms = t.metrics;
  if (!ms.length) {
    t.el.mtable.innerHTML = `<div class="empty">No metrics yet: training jobs report loss, learning rate and samples/s here.</div>`;
    t.el.mcharts.innerHTML = "";
    return;
  }
  const keys = [];
  for (const m of ms) for (const k of Object.keys(m.values)) if (!keys.includes(k)) keys.push(k);
  const recent = ms.slice(-8).reverse();
  t.el.mtable.innerHTML = `<table><tr><th>step</th>${keys.map((k) => `<th>${esc(k)}</th>`).join("")}</tr>` +
    recent.map((m) => `<tr><td>${m.step ?? "–"}</td>${keys.map((k) => `<td>${k in m.values ? fmtNum(m.values[k]) : ""}</td>`).join("")}</tr>`).join("") + "</table>";
  // a value recorded at several steps is a chart; one recorded once is a number (a one-point
  // sparkline has no meaningful range)
  const points = (k) => ms.filter((m) => k in m.values).map((m, i) => [m.step ?? i, m.values[k]]);
  const series = keys.filter((k) => points(k).length > 1);
  const single = keys.filter((k) => points(k).length === 1);
  t.el.mcharts.innerHTML =
    (single.length ? `<div class="now" data-role="mvalues">${single.map((k) => `${esc(k)} <b>${fmtNum(points(k)[0][1])}</b>`).join(" · ")}</div>` : "") +
    series.slice(0, 6).map((k) => chart(k, [{ name: k, pts: points(k) }], null, "step")).join("");
}

function drawGpu(t) {
  const g = t.gpu;
  if (!g.length) {
    t.el.gcharts.innerHTML = `<div class="empty">No GPU samples yet: the executor samples the job's GPUs while it runs.</div>`;
    return;
  }
  const t0 = g[0].ts;
  const indices = [];
  for (const s of g) for (const x of s.gpus) if (!indices.includes(x.index)) indices.push(x.index);
  if (!indices.length) {
    t.el.gtitle.textContent = "Host (no GPU on this job)";
    const cpu = [{ name: "CPU %", pts: g.filter((s) => s.cpu != null).map((s) => [s.ts - t0, s.cpu]) }];
    const ram = [{ name: "RAM used (GB)", pts: g.filter((s) => s.ram != null).map((s) => [s.ts - t0, s.ram / 1024]) }];
    const total = g[g.length - 1].ramTotal;
    t.el.gcharts.innerHTML = chart("CPU utilisation %", cpu, [0, 100]) +
      chart("RAM used (GB)" + (total ? ` of ${(total / 1024).toFixed(1)}` : ""), ram, [0, total ? total / 1024 : null]);
    return;
  }
  t.el.gtitle.textContent = `GPU ${indices.join(", ")}`;
  const util = indices.map((i) => ({ name: `GPU ${i}`, pts: g.map((s) => [s.ts - t0, (s.gpus.find((x) => x.index === i) || {}).util_pct]).filter((p) => p[1] != null) }));
  const mem = indices.map((i) => ({ name: `GPU ${i}`, pts: g.map((s) => [s.ts - t0, ((s.gpus.find((x) => x.index === i) || {}).mem_used_mb ?? null) / 1024]).filter((p) => p[1] != null && isFinite(p[1])) }));
  const last = g[g.length - 1].gpus;
  const totals = last.map((x) => x.mem_total_mb).filter((v) => v);
  const memMax = totals.length ? Math.max(...totals) / 1024 : null;
  const now = last.map((x) => `GPU ${x.index}: ${x.util_pct ?? "–"}% · ${x.mem_used_mb != null ? (x.mem_used_mb / 1024).toFixed(1) : "–"} / ${x.mem_total_mb ? (x.mem_total_mb / 1024).toFixed(1) : "–"} GB`).join("  ");
  t.el.gcharts.innerHTML = `<div class="now">${esc(now)}</div>` + chart("GPU utilisation %", util, [0, 100]) +
    chart("GPU memory used (GB)", mem, [0, memMax]);
}

// a small SVG line chart: series [{name, pts: [[x, y], ...]}], yRange [min, max] or null
const COLORS = ["#4e9af1", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2"];
function chart(title, series, yRange, xLabel = "seconds") {
  const W = 260, H = 90, P = 4;
  const all = series.flatMap((s) => s.pts);
  if (!all.length) return "";
  let x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
  let y0 = yRange && yRange[0] != null ? yRange[0] : Math.min(...all.map((p) => p[1]));
  let y1 = yRange && yRange[1] != null ? yRange[1] : Math.max(...all.map((p) => p[1]));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 = y0 + 1; y0 = y0 - 1; }
  const sx = (x) => P + ((x - x0) / (x1 - x0)) * (W - 2 * P);
  const sy = (y) => H - P - ((y - y0) / (y1 - y0)) * (H - 2 * P);
  const paths = series.map((s, i) => s.pts.length === 1 ?
    `<circle cx="${sx(s.pts[0][0]).toFixed(1)}" cy="${sy(s.pts[0][1]).toFixed(1)}" r="3" fill="${COLORS[i % COLORS.length]}"/>` : s.pts.length ?
    `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${s.pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ")}"/>` : "").join("");
  const last = series.map((s, i) => s.pts.length ? `<span style="color:${COLORS[i % COLORS.length]}">${esc(s.name)} ${fmtNum(s.pts[s.pts.length - 1][1])}</span>` : "").join(" ");
  return `<div class="chart"><div class="ctitle">${esc(title)} <span class="range">y ${fmtNum(y0)} – ${fmtNum(y1)} · ` +
    `x ${esc(xLabel)} ${fmtNum(x0)} – ${fmtNum(x1)}</span></div>` +
    `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none">${paths}</svg><div class="legend">${last}</div></div>`;
}

