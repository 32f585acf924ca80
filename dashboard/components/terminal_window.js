// The terminal's bounded window on a log of any size. The browser holds at most a ring of
// `keep` lines (twice that after "load earlier") and draws at most MAX_ROWS of them, so a
// million-line job costs the page what a few thousand lines do. A finished job does not
// stream its log at all: its last lines come from the gateway's paged logs route, and older
// pages are fetched from it on demand.

const MAX_ROWS = 2000;   // DOM rows, whatever the job's size
const PAGE = 1000;       // lines per "load earlier" fetch

function linesUrl(t, query) {
  return `${t.data.lines_url}&${query}`;
}

async function fetchLines(t, query) {
  const answer = await fetch(linesUrl(t, query));
  if (!answer.ok) throw new Error(`the gateway answered ${answer.status} for the log lines`);
  return answer.json();
}

// a finished job: its newest `keep` lines in one request, however long its log
async function fetchTail(t) {
  const keep = Math.min(t.data.keep || 5000, 10000);
  t.loading = "loading the last lines…";
  t.dirty = true; t.schedule();
  try {
    const page = await fetchLines(t, `tail=${keep}`);
    t.addLines(page.lines || [], page.attempt || 0);
    t.total = Math.max(page.total || 0, t.lines.length);
    t.dropped = Math.max(0, (page.lines.length ? page.lines[0].n : 1) - 1);
    t.loading = null;
  } catch (err) {
    t.loading = String(err.message || err);
  }
  t.dirty = true; t.schedule();
}

// a finished job's lines the projector stored after the tail was read (it may lag the job's end)
async function catchUp(t) {
  const last = t.lines[t.lines.length - 1];
  if (!t.tailMode || !last || t.trimmedNewest) return;
  try {
    const page = await fetchLines(t, `after_line=${last.n}&limit=10000&attempt=${last.attempt}`);
    t.addLines(page.lines || [], last.attempt);
    t.total = Math.max(t.total, page.total || 0);
  } catch (_) { /* the tail already shown stands */ }
  t.dirty = true; t.schedule();
}

// the page of lines just before the oldest line held, prepended to the ring
async function loadEarlier(t) {
  if (t.fetching || !t.lines.length || !t.data.lines_url) return;
  const first = t.lines[0], from = Math.max(0, first.n - 1 - PAGE);
  t.fetching = true;
  try {
    const page = await fetchLines(t, `after_line=${from}&limit=${first.n - 1 - from}&attempt=${first.attempt}`);
    const older = (page.lines || []).filter((l) => l.n < first.n).map((l) => t.classify(l, first.attempt));
    t.lines.unshift(...older);
    t.dropped = Math.max(0, older.length ? older[0].n - 1 : 0);
    if (t.frozenEnd != null) t.frozenEnd += older.length;
    const cap = 2 * (t.data.keep || 5000);
    if (t.lines.length > cap) {  // over the bound: give up the newest lines (refetched on "jump to newest")
      const cut = t.lines.length - cap;
      t.lines.splice(cap, cut);
      t.trimmedNewest += cut;
      if (t.frozenEnd != null) t.frozenEnd = Math.min(t.frozenEnd, cap);
    }
    t.below = Math.max(0, t.below + older.length - PAGE);
  } catch (err) {
    t.loading = String(err.message || err);
  }
  t.fetching = false;
  t.dirty = true; t.schedule();
}

// "show older": widen the window, then slide it up, then fetch the page before the ring
function showOlder(t, start) {
  if (!t.paused) t.setPaused(true);
  if (start > 0 && t.window < MAX_ROWS) t.window = Math.min(MAX_ROWS, t.window + 500);
  else if (start > 0) t.below += Math.min(500, start);
  else if (t.dropped > 0) { loadEarlier(t); return; }
  t.dirty = true; t.schedule();
}

function jumpToNewest(t) {
  t.below = 0;
  t.window = 500;
  if (t.trimmedNewest && t.tailMode) {  // the newest lines were given up for older ones
    t.lines = []; t.maxN = {}; t.trimmedNewest = 0;
    fetchTail(t);
  } else if (t.trimmedNewest) {
    t.resetView();
    t.connect(0);
  }
  t.setPaused(false);
}
