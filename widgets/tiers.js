// vidqa cue tiers: an ELAN-style timeline (one row per kind of cue) with a playhead; click an item to seek.
// Plain ES module with no imports, shared by the review widget and (later) the player. Widgets inline it into
// their single anywidget module (vidqa.widgets.assets.inline_modules), so it must stay self-contained.
//
//   const tl = renderTiers(container, tiers, { onSeek: (t) => { video.currentTime = t; }, start, end, window });
//   tl.update(video.currentTime);   // move the playhead, mark the items it crosses
//   tl.setTiers(tiers, { start, end, window });
//   tl.destroy();
//
// `tiers` is what vidqa.review.tiers.build_tiers returns: [{id, name, kind, items: [{start, end, label, kind}]}].
// Labels are set with textContent (they come from users and models): never parsed as HTML.

const TIERS_CSS = `
.vidqa-tiers { position: relative; font: 11px/1.2 var(--jp-ui-font-family, system-ui, sans-serif);
  border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px; padding: 2px 0; user-select: none;
  background: var(--jp-layout-color0, #fff); }
.vidqa-tiers-ruler, .vidqa-tier { display: flex; align-items: stretch; }
.vidqa-tier-name { flex: 0 0 110px; box-sizing: border-box; padding: 2px 6px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  color: var(--jp-ui-font-color2, #555); border-right: 1px solid var(--jp-border-color3, #eee); }
.vidqa-tier-lane { position: relative; flex: 1 1 auto; min-height: 18px; cursor: pointer; overflow: hidden;
  border-bottom: 1px solid var(--jp-border-color3, #f0f0f0); }
.vidqa-tiers-ruler .vidqa-tier-lane { height: 14px; cursor: default; }
.vidqa-tier-tick { position: absolute; top: 0; bottom: 0; border-left: 1px solid #ccc; padding-left: 2px;
  color: #888; font-size: 10px; white-space: nowrap; pointer-events: none; }
.vidqa-tier-item { position: absolute; min-width: 3px; box-sizing: border-box;
  border-radius: 3px; padding: 0 3px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
  background: #cfe0fb; border: 1px solid #7ea7e8; color: #123; font-size: 10px; line-height: 12px;
  cursor: pointer; }
.vidqa-tier-item.instant { width: 3px !important; padding: 0; background: #555; border: none; }
.vidqa-tier-item.active { background: #ffe08a; border-color: #c89b00; }
.vidqa-tier-item:hover { filter: brightness(0.93); }
.vidqa-tier[data-kind="audio"] .vidqa-tier-item { background: #d8f0d2; border-color: #7cbf6b; }
.vidqa-tier[data-kind="object"] .vidqa-tier-item { background: #f6d9d4; border-color: #d9826f; }
.vidqa-tier[data-kind="text"] .vidqa-tier-item { background: #e6dcf7; border-color: #9a7fd1; }
.vidqa-tier[data-kind="notes"] .vidqa-tier-item { background: #fdf1c8; border-color: #d9b44a; }
.vidqa-tier[data-kind="count"] .vidqa-tier-item, .vidqa-tier[data-kind="colour"] .vidqa-tier-item {
  background: #dff1f4; border-color: #6fb3c0; }
.vidqa-tiers-window { position: absolute; top: 0; bottom: 0; background: rgba(25, 118, 210, 0.08);
  border-left: 1px dashed rgba(25, 118, 210, 0.6); border-right: 1px dashed rgba(25, 118, 210, 0.6);
  pointer-events: none; }
.vidqa-tiers-playhead { position: absolute; top: 0; bottom: 0; width: 0; border-left: 2px solid #d32f2f;
  pointer-events: none; }
.vidqa-tiers-empty { padding: 4px 8px; color: var(--jp-ui-font-color3, #888); }
`;

const ROW_PX = 16;

function tierEl(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmtTime(t) {
  if (!Number.isFinite(t)) return "";
  const m = Math.floor(t / 60);
  const s = t - m * 60;
  return m ? `${m}:${s.toFixed(1).padStart(4, "0")}` : `${s.toFixed(1)} s`;
}

function tickStep(span) {
  for (const s of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600]) if (span / s <= 12) return s;
  return 7200;
}

export function renderTiers(container, tiers, options = {}) {
  const opts = { ...options };
  const root = tierEl("div", "vidqa-tiers");
  if (!container.querySelector(":scope > style[data-vidqa-tiers]")) {
    const style = document.createElement("style");
    style.setAttribute("data-vidqa-tiers", "");
    style.textContent = TIERS_CSS;
    container.append(style);
  }
  container.append(root);
  let view = { start: 0, end: 1 };
  let itemEls = []; // [{el, item}]
  let overlays = null; // {playhead, window}
  let lanesBox = null;
  let last = null;

  const pct = (t) => `${(100 * (t - view.start)) / Math.max(1e-6, view.end - view.start)}%`;

  function seek(t) {
    if (typeof opts.onSeek === "function") opts.onSeek(Math.max(0, t));
  }

  function build() {
    const list = Array.isArray(tiers) ? tiers : [];
    let lo = Number.isFinite(opts.start) ? opts.start : 0;
    let hi = Number.isFinite(opts.end) ? opts.end : 0;
    if (!Number.isFinite(opts.end)) {
      for (const tier of list) for (const it of tier.items || []) hi = Math.max(hi, Number(it.end) || 0);
    }
    if (!(hi > lo)) hi = lo + 1;
    view = { start: lo, end: hi };
    itemEls = [];
    root.replaceChildren();
    if (!list.length) {
      root.append(tierEl("div", "vidqa-tiers-empty", opts.emptyText || "No cues found in this span."));
      overlays = null;
      return;
    }
    // ruler
    const ruler = tierEl("div", "vidqa-tiers-ruler");
    ruler.append(tierEl("div", "vidqa-tier-name", ""));
    const rulerLane = tierEl("div", "vidqa-tier-lane");
    const step = tickStep(hi - lo);
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) {
      const tick = tierEl("div", "vidqa-tier-tick", fmtTime(t));
      tick.style.left = pct(t);
      rulerLane.append(tick);
    }
    ruler.append(rulerLane);
    root.append(ruler);
    for (const tier of list) {
      const row = tierEl("div", "vidqa-tier");
      row.dataset.tier = String(tier.id || "");
      row.dataset.kind = String(tier.kind || "");
      const name = tierEl("div", "vidqa-tier-name", String(tier.name || tier.id || ""));
      name.title = `${tier.name || tier.id} (${(tier.items || []).length})`;
      const lane = tierEl("div", "vidqa-tier-lane");
      lane.addEventListener("click", (e) => {
        if (e.target !== lane) return;
        const r = lane.getBoundingClientRect();
        seek(view.start + ((e.clientX - r.left) / Math.max(1, r.width)) * (view.end - view.start));
      });
      // overlapping items go to stacked sub-rows (greedy interval packing), so none hides another
      const rowEnds = [];
      const visible = (tier.items || []).filter((it) => Number(it.end) >= view.start && Number(it.start) <= view.end)
        .sort((x, y) => Number(x.start) - Number(y.start));
      const rowOf = new Map();
      for (const it of visible) {
        const s = Number(it.start);
        const en = Number(it.end);
        let sub = rowEnds.findIndex((end) => end <= s + 1e-6);
        if (sub < 0) { sub = rowEnds.length; rowEnds.push(en); } else rowEnds[sub] = en;
        rowOf.set(it, sub);
      }
      const nRows = Math.max(1, rowEnds.length);
      lane.style.height = `${nRows * ROW_PX + 2}px`;
      for (const it of visible) {
        const s = Number(it.start);
        const en = Number(it.end);
        const instant = !(en - s > 1e-3);
        const label = String(it.label ?? "");
        const item = tierEl("div", `vidqa-tier-item${instant ? " instant" : ""}`, instant ? "" : label);
        item.style.left = pct(Math.max(view.start, s));
        if (!instant) item.style.width = `calc(${pct(Math.min(view.end, en))} - ${pct(Math.max(view.start, s))})`;
        item.title = `${label} — ${fmtTime(s)}${instant ? "" : ` to ${fmtTime(en)}`} (click to seek)`;
        item.style.top = `${1 + rowOf.get(it) * ROW_PX}px`;
        item.style.height = `${ROW_PX - 2}px`;
        item.dataset.start = String(s);
        item.dataset.end = String(en);
        item.addEventListener("click", (e) => { e.stopPropagation(); seek(s); });
        lane.append(item);
        itemEls.push({ el: item, start: s, end: en });
      }
      row.append(name, lane);
      root.append(row);
    }
    // overlays span the lanes (not the name column)
    lanesBox = tierEl("div", "");
    lanesBox.style.cssText = "position:absolute;top:0;bottom:0;right:0;pointer-events:none;left:110px";
    const win = tierEl("div", "vidqa-tiers-window");
    const head = tierEl("div", "vidqa-tiers-playhead");
    lanesBox.append(win, head);
    root.append(lanesBox);
    overlays = { playhead: head, window: win };
    setWindow(opts.window);
    if (last !== null) update(last);
  }

  function setWindow(w) {
    opts.window = w;
    if (!overlays) return;
    if (w && Number.isFinite(w.start) && Number.isFinite(w.end) && w.end > w.start) {
      overlays.window.style.display = "";
      overlays.window.style.left = pct(Math.max(view.start, w.start));
      overlays.window.style.width = `calc(${pct(Math.min(view.end, w.end))} - ${pct(Math.max(view.start, w.start))})`;
    } else overlays.window.style.display = "none";
  }

  function update(t) {
    last = Number(t) || 0;
    if (!overlays) return;
    const inView = last >= view.start && last <= view.end;
    overlays.playhead.style.display = inView ? "" : "none";
    overlays.playhead.style.left = pct(last);
    for (const { el, start, end } of itemEls) {
      const on = last >= start - 0.04 && last <= end + 0.04;
      if (el.classList.contains("active") !== on) el.classList.toggle("active", on);
    }
  }

  build();
  return {
    element: root,
    update,
    setWindow,
    get view() { return { ...view }; },
    setTiers(newTiers, newOpts = {}) {
      tiers = newTiers;
      Object.assign(opts, newOpts);
      build();
    },
    destroy() { root.remove(); },
  };
}

export function updateTiers(handle, t) {
  if (handle && typeof handle.update === "function") handle.update(t);
}
