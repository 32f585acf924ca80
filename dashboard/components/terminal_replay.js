// Replaying a finished job: its events fetched once over SSE (follow=false), then applied at
// 1x, 10x or as fast as possible so progress, metrics and the log move together.
function startReplay(t, speed) {
  stopReplay(t, false);
  if (t.es) { t.es.close(); t.es = null; }
  const tape = [];
  const es = new EventSource(t.data.replay_url);
  t.replay = { es, tape, speed, loading: true };
  t.el.rtext.textContent = "loading the job's events…";
  const onEv = (e) => { try { tape.push(JSON.parse(e.data)); } catch (_) { /* skip */ } };
  for (const k of KINDS) es.addEventListener(k, onEv);
  es.addEventListener("end", () => { es.close(); play(t, tape, speed); });
  es.onerror = () => { if (es.readyState === 2) t.el.rtext.textContent = "could not load the events for replay"; };
}

function play(t, tape, speed) {
  if (!t.replay) return;
  t.resetView();
  t.ended = true;
  t.setPaused(false);
  const first = tape.length ? tape[0].ts : 0;
  const span = tape.length ? tape[tape.length - 1].ts - first : 0;
  let i = 0, vt = first;
  const startReal = performance.now();
  t.setConn(`replay ${speed ? speed + "×" : "max"}`, "done");
  const step = () => {
    if (!t.replay) return;
    if (speed) vt = first + ((performance.now() - startReal) / 1000) * speed;
    const budget = speed ? Infinity : 2000;  // at max speed, apply in slices to stay responsive
    let n = 0;
    while (i < tape.length && (speed ? tape[i].ts <= vt : n < budget)) { t.apply(tape[i]); i++; n++; }
    const at = i < tape.length ? (speed ? vt - first : tape[i].ts - first) : span;
    t.el.rtext.textContent = `${fmtDur(at)} of ${fmtDur(span)} · ${i.toLocaleString()}/${tape.length.toLocaleString()} events`;
    if (i < tape.length) t.replay.timer = setTimeout(step, speed ? 50 : 0);
    else { t.replay = null; t.el.rtext.textContent += " · done"; }
  };
  step();
}

function stopReplay(t, restore) {
  if (!t.replay) return;
  if (t.replay.es) t.replay.es.close();
  if (t.replay.timer) clearTimeout(t.replay.timer);
  t.replay = null;
  t.el.rtext.textContent = "stopped";
  if (restore) { t.resetView(); t.connect(0); }
}
