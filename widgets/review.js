// vidqa review widget (anywidget front-end). Plain ES module: no build step, no network imports; vidqa inlines
// ./tiers.js into it (vidqa.widgets.assets.inline_modules), so the line below never reaches the browser as is.
//
// For each question: the video loops its window, the referenced boxes are drawn over the frames, the evidence is
// listed (transcript words, audio events with their times, OCR lines); prompt, answer, options, window and category
// are editable; Accept / Reject (with a reason) / Skip, all by keyboard. All user/model text is set with
// textContent or an input's value, never innerHTML.
import { el, hms, isEditable, keyName, pageConfig, setVideoSources } from "./dom.js";
import { renderTiers } from "./tiers.js";

const ACTION_LABELS = {
  accept: "accept (with your edits)",
  reject: "reject (type a reason, Enter)",
  skip: "skip",
  edit: "edit the prompt (Tab: next field, Enter: done, Esc: undo edits)",
  play_pause: "play/pause",
  replay: "window start",
  loop: "loop on/off",
  back: "−1 s",
  forward: "+1 s",
  set_start: "window start = playhead",
  set_end: "window end = playhead",
  next: "next item",
  prev: "previous item",
};
const REASONS = ["the answer is heard (audio-only answerable)", "wrong gold answer", "ambiguous question",
  "the question gives the answer away", "needs no audio", "needs no video", "bad window", "cue not visible"];

const secs = (t) => (Number.isFinite(Number(t)) && t !== null ? `${Number(t).toFixed(2)} s` : "?");


export default {
  render({ model, el: host }) {
    const cleanups = [];
    const listen = (target, type, fn, opts) => {
      target.addEventListener(type, fn, opts);
      cleanups.push(() => target.removeEventListener(type, fn, opts));
    };
    const send = (msg) => model.send(msg);

    // ---- DOM ------------------------------------------------------------------------------------------------
    const root = el("div", "vidqa-review");
    root.tabIndex = 0;
    root.setAttribute("data-lm-suppress-shortcuts", "true");
    root.setAttribute("role", "application");
    root.setAttribute("aria-label", "vidqa question review");

    const errorBar = el("div", "vidqa-rv-error");
    const errorText = el("span", "vidqa-rv-error-text");
    const errorClose = el("button", "vidqa-rv-error-close", "×");
    errorClose.tabIndex = -1;
    errorClose.title = "Dismiss";
    errorBar.append(errorText, errorClose);

    const head = el("div", "vidqa-rv-head");
    const title = el("span", "vidqa-rv-title");
    const who = el("span", "vidqa-rv-who");
    const nameBox = el("form", "vidqa-rv-name");
    const nameInput = document.createElement("input");
    nameInput.type = "text";
    nameInput.className = "vidqa-rv-name-input";
    nameInput.placeholder = "Your name (stored with each verdict), Enter";
    nameBox.append(el("span", "", "Reviewer:"), nameInput);
    const counts = el("span", "vidqa-rv-counts");
    head.append(title, who, nameBox, counts);

    const main = el("div", "vidqa-rv-main");
    const left = el("div", "vidqa-rv-left");
    const stage = el("div", "vidqa-rv-stage");
    const video = document.createElement("video");
    video.className = "vidqa-rv-video";
    video.preload = "auto";
    video.playsInline = true;
    video.tabIndex = -1;
    const overlay = el("div", "vidqa-rv-overlay");
    const timer = el("div", "vidqa-rv-timer", "00:00:00.000");
    const loopBadge = el("div", "vidqa-rv-loop");
    stage.append(video, overlay, timer, loopBadge);
    const controls = el("div", "vidqa-rv-controls");
    const playBtn = el("button", "vidqa-rv-btn vidqa-rv-play", "▶ Play");
    playBtn.tabIndex = -1;
    const loopBtn = el("button", "vidqa-rv-btn vidqa-rv-loopbtn", "⟲ Loop");
    loopBtn.tabIndex = -1;
    const seekBar = document.createElement("input");
    seekBar.type = "range";
    seekBar.className = "vidqa-rv-seek";
    seekBar.min = "0";
    seekBar.step = "0.01";
    seekBar.value = "0";
    seekBar.tabIndex = -1;
    controls.append(playBtn, loopBtn, seekBar);
    const tiersBox = el("div", "vidqa-rv-tiers");
    left.append(stage, controls, tiersBox);

    const side = el("div", "vidqa-rv-side");
    const meta = el("div", "vidqa-rv-meta");
    const dropBox = el("div", "vidqa-rv-drop");
    const form = el("div", "vidqa-rv-form");
    const field = (label, input, cls) => {
      const row = el("label", `vidqa-rv-field ${cls || ""}`);
      row.append(el("span", "vidqa-rv-label", label), input);
      return row;
    };
    const promptEl = document.createElement("textarea");
    promptEl.className = "vidqa-rv-prompt";
    promptEl.rows = 3;
    const answerEl = document.createElement("input");
    answerEl.type = "text";
    answerEl.className = "vidqa-rv-answer";
    const optionsBox = el("div", "vidqa-rv-options");
    const startEl = document.createElement("input");
    startEl.type = "number";
    startEl.step = "0.1";
    startEl.min = "0";
    startEl.className = "vidqa-rv-start";
    const endEl = document.createElement("input");
    endEl.type = "number";
    endEl.step = "0.1";
    endEl.min = "0";
    endEl.className = "vidqa-rv-end";
    const windowRow = el("span", "vidqa-rv-window");
    windowRow.append(startEl, el("span", "", " to "), endEl, el("span", "vidqa-rv-unit", " s"));
    const catEl = document.createElement("select");
    catEl.className = "vidqa-rv-category";
    const answerField = field("Gold answer", answerEl, "vidqa-rv-answer-field");
    const optionsField = field("Options (1–9: mark the answer)", optionsBox, "vidqa-rv-options-field");
    form.append(field("Prompt", promptEl), answerField, optionsField, field("Window", windowRow),
      field("Category", catEl));
    const editedBadge = el("div", "vidqa-rv-edited");
    const evidence = el("div", "vidqa-rv-evidence");
    const actions = el("div", "vidqa-rv-actions");
    const acceptBtn = el("button", "vidqa-rv-btn vidqa-rv-accept", "Accept");
    const rejectBtn = el("button", "vidqa-rv-btn vidqa-rv-reject", "Reject…");
    const skipBtn = el("button", "vidqa-rv-btn vidqa-rv-skip", "Skip");
    const prevBtn = el("button", "vidqa-rv-btn vidqa-rv-prev", "◀");
    const nextBtn = el("button", "vidqa-rv-btn vidqa-rv-next", "▶");
    for (const b of [acceptBtn, rejectBtn, skipBtn, prevBtn, nextBtn]) b.tabIndex = -1;
    actions.append(acceptBtn, rejectBtn, skipBtn, el("span", "vidqa-rv-spacer"), prevBtn, nextBtn);
    const reasonBox = el("form", "vidqa-rv-reason");
    const reasonInput = document.createElement("input");
    reasonInput.type = "text";
    reasonInput.className = "vidqa-rv-reason-input";
    reasonInput.placeholder = "Why reject? Enter to reject, Esc to cancel";
    const reasonList = document.createElement("datalist");
    reasonList.id = `vidqa-rv-reasons-${Math.random().toString(36).slice(2, 8)}`;
    for (const r of REASONS) { const o = document.createElement("option"); o.value = r; reasonList.append(o); }
    reasonInput.setAttribute("list", reasonList.id);
    reasonBox.append(reasonInput, reasonList);
    side.append(meta, dropBox, form, editedBadge, actions, reasonBox, evidence);
    main.append(left, side);

    const queueHead = el("div", "vidqa-rv-queue-head", "Queue");
    const queue = el("ul", "vidqa-rv-queue");
    const status = el("div", "vidqa-rv-status");
    const help = el("div", "vidqa-rv-help");
    root.append(errorBar, head, main, queueHead, queue, status, help);
    host.append(root);

    // ---- state ----------------------------------------------------------------------------------------------
    let cur = null; // model "current": {question, evidence, video, drops, editable}
    let optionEls = [];
    let answerIndex = null;
    let loopOn = true;
    let pendingSeek = null;
    let rafHandle = null;
    const tl = renderTiers(tiersBox, [], { onSeek: (t) => seekFromTiers(t), emptyText: "No cues near this window." });

    const setStatus = (text) => { status.textContent = text || model.get("status") || ""; };
    const q = () => (cur && cur.question) || null;
    const isMC = () => !!(q() && Array.isArray(q().options) && q().options.length);

    // ---- form ---------------------------------------------------------------------------------------------
    function windowValues() {
      const s = parseFloat(startEl.value);
      const e = parseFloat(endEl.value);
      return { start: s, end: e, ok: Number.isFinite(s) && Number.isFinite(e) && e > s };
    }

    function markAnswer(i) {
      if (!isMC() || i < 0 || i >= optionEls.length) return;
      answerIndex = i;
      optionEls.forEach((o, k) => {
        o.row.classList.toggle("correct", k === i);
        o.radio.checked = k === i;
      });
      answerEl.value = optionEls[i].input.value;
      refreshEdited();
    }

    function fillForm() {
      const qq = q();
      form.classList.toggle("off", !qq);
      if (!qq) {
        promptEl.value = ""; answerEl.value = ""; startEl.value = ""; endEl.value = "";
        optionsBox.replaceChildren();
        optionEls = [];
        refreshEdited();
        return;
      }
      promptEl.value = qq.question || "";
      answerEl.value = qq.answer || "";
      startEl.value = String(qq.t_start);
      endEl.value = String(qq.t_end);
      const cats = [...(model.get("categories") || [])];
      if (qq.category && !cats.includes(qq.category)) cats.unshift(qq.category);
      catEl.replaceChildren(...cats.map((c) => { const o = el("option", "", c); o.value = c; return o; }));
      catEl.value = qq.category || "";
      optionEls = [];
      const rows = [];
      (qq.options || []).forEach((text, i) => {
        const row = el("div", "vidqa-rv-option");
        const radio = document.createElement("input");
        radio.type = "radio";
        radio.name = `vidqa-rv-answer-${qq.id}`;
        radio.tabIndex = -1;
        const num = el("span", "vidqa-rv-option-num", `${i + 1}`);
        const input = document.createElement("input");
        input.type = "text";
        input.className = "vidqa-rv-option-input";
        input.value = text;
        radio.addEventListener("change", () => markAnswer(i));
        input.addEventListener("input", () => {
          if (i === answerIndex) answerEl.value = input.value;
          refreshEdited();
        });
        row.append(radio, num, input);
        rows.push(row);
        optionEls.push({ row, radio, input });
      });
      optionsBox.replaceChildren(...rows);
      optionsField.style.display = isMC() ? "" : "none";
      answerEl.readOnly = isMC();
      answerEl.title = isMC() ? "Multiple choice: mark the right option (1–9 or its radio button); edit an option's text to change it." : "";
      answerIndex = isMC() ? (qq.answer_index ?? null) : null;
      if (answerIndex !== null) markAnswer(answerIndex);
      refreshEdited();
    }

    function formChanges() {
      const qq = q();
      if (!qq) return {};
      const ch = {};
      const prompt = promptEl.value.trim();
      if (prompt !== String(qq.question || "").trim()) ch.question = prompt;
      if (isMC()) {
        const opts = optionEls.map((o) => o.input.value.trim());
        if (JSON.stringify(opts) !== JSON.stringify(qq.options)) ch.options = opts;
        if (answerIndex !== null) {
          const ans = opts[answerIndex];
          if (ans !== qq.answer) ch.answer = ans;
          if (answerIndex !== qq.answer_index) ch.answer_index = answerIndex;
        }
      } else {
        const ans = answerEl.value.trim();
        if (ans !== String(qq.answer || "").trim()) ch.answer = ans;
      }
      const s = parseFloat(startEl.value);
      const e = parseFloat(endEl.value);
      if (!(Math.abs(s - qq.t_start) < 1e-4)) ch.t_start = Number.isFinite(s) ? s : startEl.value;
      if (!(Math.abs(e - qq.t_end) < 1e-4)) ch.t_end = Number.isFinite(e) ? e : endEl.value;
      if (catEl.value && catEl.value !== qq.category) ch.category = catEl.value;
      return ch;
    }

    function refreshEdited() {
      const ch = formChanges();
      const keys = Object.keys(ch);
      editedBadge.textContent = keys.length ? `Edited: ${keys.join(", ")} (Esc in a field undoes)` : "";
      editedBadge.classList.toggle("on", keys.length > 0);
      acceptBtn.textContent = keys.length ? `Accept with edits (${keyName(km().accept || "a")})` : `Accept (${keyName(km().accept || "a")})`;
      const w = windowValues();
      tl.setWindow(w.ok ? { start: w.start, end: w.end } : null);
    }
    for (const input of [promptEl, answerEl, startEl, endEl, catEl]) listen(input, "input", refreshEdited);
    listen(catEl, "change", refreshEdited);

    // ---- evidence -------------------------------------------------------------------------------------------
    function section(name, children) {
      const box = el("div", "vidqa-rv-ev-section");
      box.append(el("div", "vidqa-rv-ev-title", name), ...children);
      return box;
    }
    function timeButton(t, text) {
      const b = el("button", "vidqa-rv-ev-time", text || secs(t));
      b.tabIndex = -1;
      b.title = "Seek here";
      b.addEventListener("click", (e) => { e.stopPropagation(); seekTo(Number(t)); root.focus(); });
      return b;
    }
    function renderEvidence() {
      const ev = (cur && cur.evidence) || null;
      evidence.replaceChildren();
      if (!ev) return;
      const a = ev.audio || {};
      const audioLine = el("div", "vidqa-rv-ev-line");
      audioLine.append(timeButton(a.start), el("span", "vidqa-rv-ev-kind", a.kind || "audio"),
        el("span", "", `${secs(a.start)} – ${secs(a.end)}`));
      if (a.text) audioLine.append(el("q", "vidqa-rv-ev-text", a.text));
      const audioKids = [audioLine];
      const words = ev.words || [];
      if (words.some((w) => w.cue)) {
        const line = el("div", "vidqa-rv-ev-words");
        for (const w of words) {
          const s = el("span", `vidqa-rv-word${w.cue ? " cue" : ""}`, w.word);
          s.title = `${secs(w.start)} – ${secs(w.end)}`;
          s.addEventListener("click", () => { seekTo(w.start); root.focus(); });
          line.append(s, document.createTextNode(" "));
        }
        audioKids.push(line);
      }
      for (const e of ev.audio_events || []) {
        const line = el("div", `vidqa-rv-ev-line vidqa-rv-ev-audio${e.cue ? " cue" : ""}`);
        line.append(timeButton(e.start), el("span", "vidqa-rv-ev-kind", e.kind),
          el("span", "", `${secs(e.start)} – ${secs(e.end)}`),
          el("span", "vidqa-rv-ev-conf", e.confidence !== null && e.confidence !== undefined ? `conf ${Number(e.confidence).toFixed(2)}` : ""));
        audioKids.push(line);
      }
      evidence.append(section("Audio cue", audioKids));

      const v = ev.visual || {};
      const vLine = el("div", "vidqa-rv-ev-line");
      const bits = [v.count, v.colour, v.label || v.shape].filter((x) => x !== null && x !== undefined && x !== "");
      vLine.append(timeButton(v.start), el("span", "vidqa-rv-ev-kind", v.kind || "visual"),
        el("span", "", `${bits.join(" ")} · ${secs(v.start)} – ${secs(v.end)}`));
      if (v.text) vLine.append(el("q", "vidqa-rv-ev-text", v.text));
      const vKids = [vLine];
      for (const o of ev.ocr || []) {
        const line = el("div", `vidqa-rv-ev-line vidqa-rv-ev-ocr${o.cue ? " cue" : ""}`);
        line.append(timeButton(o.start), el("span", "vidqa-rv-ev-kind", "OCR"), el("q", "vidqa-rv-ev-text", o.text));
        vKids.push(line);
      }
      const nBoxes = (ev.boxes || []).length;
      vKids.push(el("div", "vidqa-rv-ev-note", nBoxes ? `${nBoxes} box(es) drawn on the video while they are on screen` : "No box to draw."));
      evidence.append(section("Visual cue", vKids));

      if ((ev.transcript || []).length) {
        evidence.append(section("Transcript", ev.transcript.map((l) => {
          const line = el("div", "vidqa-rv-ev-line");
          line.append(timeButton(l.start), el("span", "vidqa-rv-ev-text", l.text));
          return line;
        })));
      }
      if (ev.note) {
        const line = el("div", "vidqa-rv-ev-line vidqa-rv-ev-notetext");
        line.append(timeButton(ev.note.t), el("span", "vidqa-rv-ev-text", ev.note.text || ""));
        evidence.append(section("Voice note", [line]));
      }
    }

    // ---- boxes over the frames ------------------------------------------------------------------------------
    function contentRect() {
      const W = video.clientWidth;
      const H = video.clientHeight;
      const vw = video.videoWidth || W;
      const vh = video.videoHeight || H;
      if (!W || !H || !vw || !vh) return null;
      const scale = Math.min(W / vw, H / vh);
      const w = vw * scale;
      const h = vh * scale;
      return { x: video.offsetLeft + (W - w) / 2, y: video.offsetTop + (H - h) / 2, w, h };
    }
    let shownBoxes = "";
    function drawBoxes(t) {
      const boxes = ((cur && cur.evidence && cur.evidence.boxes) || []).filter((b) => b.box && t >= b.start - 0.02 && t <= b.end + 0.02);
      const r = contentRect();
      const key = r ? `${boxes.map((b) => `${b.kind}${b.box}`).join("|")}@${r.x},${r.y},${r.w},${r.h}` : "";
      if (key === shownBoxes) return;
      shownBoxes = key;
      overlay.replaceChildren();
      if (!r) return;
      for (const b of boxes) {
        const [x0, y0, x1, y1] = b.box;
        const d = el("div", `vidqa-rv-box vidqa-rv-box-${b.kind}`);
        d.style.left = `${r.x + x0 * r.w}px`;
        d.style.top = `${r.y + y0 * r.h}px`;
        d.style.width = `${Math.max(2, (x1 - x0) * r.w)}px`;
        d.style.height = `${Math.max(2, (y1 - y0) * r.h)}px`;
        d.append(el("span", "vidqa-rv-box-label", b.label));
        overlay.append(d);
      }
    }

    // ---- video ----------------------------------------------------------------------------------------------
    function setSources() {
      return setVideoSources(video, model.get("video_urls") || [], model.get("mime"), (message) => {
        model.set("error", message);
        model.save_changes();
      });
    }
    const seekTo = (t) => {
      const d = video.duration || (cur && cur.video && cur.video.duration) || 0;
      const target = Math.max(0, d ? Math.min(d, t) : t);
      if (video.readyState >= 1) video.currentTime = target;
      else pendingSeek = target;
    };
    function seekFromTiers(t) {
      const w = windowValues();
      if (loopOn && w.ok && (t < w.start - 1e-3 || t > w.end + 1e-3)) {
        loopOn = false;
        renderLoop();
        setStatus("Loop off: you seeked outside the window (O turns it back on).");
      }
      seekTo(t);
      root.focus();
    }
    const play = () => video.play().catch((err) => setStatus(`Playback did not start (${err.name}): press ${keyName(km().play_pause || " ")} to play.`));
    const togglePlay = () => { if (video.paused) play(); else video.pause(); };
    function startWindow(autoplay) {
      const w = windowValues();
      if (!w.ok) return;
      seekTo(w.start);
      if (autoplay) play();
    }
    function tick() {
      const t = video.currentTime;
      const w = windowValues();
      if (loopOn && w.ok && !video.paused && (t >= w.end || t < w.start - 0.5)) {
        video.currentTime = w.start;
      }
      timer.textContent = hms(video.currentTime);
      if (!seekBar.matches(":active")) seekBar.value = String(video.currentTime);
      tl.update(video.currentTime);
      drawBoxes(video.currentTime);
    }
    function loop() {
      tick();
      rafHandle = video.paused ? null : requestAnimationFrame(loop);
    }
    listen(video, "play", () => { playBtn.textContent = "❚❚ Pause"; if (rafHandle === null) rafHandle = requestAnimationFrame(loop); });
    listen(video, "pause", () => { playBtn.textContent = "▶ Play"; tick(); });
    listen(video, "seeked", tick);
    listen(video, "timeupdate", tick);
    listen(video, "loadedmetadata", () => {
      seekBar.max = String(video.duration || 0);
      if (pendingSeek !== null) { video.currentTime = pendingSeek; pendingSeek = null; }
      tick();
    });
    const resize = new ResizeObserver(() => { shownBoxes = ""; tick(); });
    resize.observe(video);
    cleanups.push(() => resize.disconnect());
    listen(playBtn, "click", () => { togglePlay(); root.focus(); });
    listen(video, "click", () => { togglePlay(); root.focus(); });
    listen(loopBtn, "click", () => { loopOn = !loopOn; renderLoop(); root.focus(); });
    listen(seekBar, "input", () => seekTo(parseFloat(seekBar.value)));
    listen(seekBar, "change", () => root.focus());
    function renderLoop() {
      const w = windowValues();
      loopBadge.textContent = loopOn && w.ok ? `⟲ ${w.start.toFixed(2)}–${w.end.toFixed(2)} s` : "";
      loopBadge.classList.toggle("on", loopOn && w.ok);
      loopBtn.classList.toggle("on", loopOn);
    }
    listen(startEl, "input", renderLoop);
    listen(endEl, "input", renderLoop);

    // ---- verdicts -------------------------------------------------------------------------------------------
    function needName() {
      if ((model.get("reviewer") || "").trim()) return false;
      model.set("error", "Enter your name as reviewer first (top of the widget), then press Enter.");
      model.save_changes();
      nameInput.focus();
      return true;
    }
    function canJudge() {
      if (!q()) { setStatus("Nothing to review here."); return false; }
      if (cur && cur.editable === false) { setStatus(cur.why_not || "This item cannot be reviewed here."); return false; }
      return !needName();
    }
    function accept() {
      if (!canJudge()) return;
      send({ type: "verdict", id: q().id, verdict: "accept", changes: formChanges() });
    }
    function skip() {
      if (!canJudge()) return;
      send({ type: "verdict", id: q().id, verdict: "skip" });
    }
    function openReason() {
      if (!canJudge()) return;
      reasonBox.classList.add("on");
      reasonInput.value = "";
      setTimeout(() => reasonInput.focus(), 0);
    }
    function closeReason() {
      reasonBox.classList.remove("on");
      root.focus();
    }
    listen(reasonBox, "submit", (e) => {
      e.preventDefault();
      const reason = reasonInput.value.trim();
      if (!reason) { setStatus("Type a reason (or pick one from the list), then Enter; Esc cancels."); return; }
      send({ type: "verdict", id: q().id, verdict: "reject", reason });
      closeReason();
    });
    listen(acceptBtn, "click", () => { accept(); root.focus(); });
    listen(rejectBtn, "click", openReason);
    listen(skipBtn, "click", () => { skip(); root.focus(); });
    function step(dir) {
      const items = model.get("queue_state") || [];
      if (!items.length) return;
      const id = q() ? q().id : null;
      let i = items.findIndex((it) => it.id === id);
      i = i < 0 ? 0 : Math.max(0, Math.min(items.length - 1, i + dir));
      send({ type: "select", id: items[i].id });
    }
    listen(prevBtn, "click", () => { step(-1); root.focus(); });
    listen(nextBtn, "click", () => { step(1); root.focus(); });
    listen(nameBox, "submit", (e) => {
      e.preventDefault();
      send({ type: "reviewer", name: nameInput.value });
      root.focus();
    });

    // ---- keys -------------------------------------------------------------------------------------------------
    const km = () => model.get("keymap") || {};
    function actionFor(e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return null;
      for (const [action, key] of Object.entries(km())) {
        if (!key) continue;
        if (e.key === key || (key.length === 1 && e.key.length === 1 && e.key.toLowerCase() === key.toLowerCase())) return action;
      }
      return null;
    }
    listen(root, "keydown", (e) => {
      if (isEditable(e.target)) {
        e.stopPropagation(); // JupyterLab must not see keys typed into the form
        if (e.target === reasonInput || e.target === nameInput) {
          if (e.key === "Escape") { e.preventDefault(); if (e.target === reasonInput) closeReason(); else root.focus(); }
          return;
        }
        if (e.key === "Escape") { e.preventDefault(); fillForm(); renderLoop(); setStatus("Edits undone."); root.focus(); }
        else if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); refreshEdited(); renderLoop(); root.focus(); }
        return;
      }
      if (!e.ctrlKey && !e.metaKey && !e.altKey && /^[1-9]$/.test(e.key) && isMC()) {
        e.preventDefault();
        e.stopPropagation();
        markAnswer(Number(e.key) - 1);
        return;
      }
      const action = actionFor(e);
      if (!action) return;
      e.preventDefault();
      e.stopPropagation();
      if (e.repeat && ["accept", "reject", "skip"].includes(action)) return;
      if (action === "accept") accept();
      else if (action === "reject") openReason();
      else if (action === "skip") skip();
      else if (action === "edit") { promptEl.focus(); promptEl.select(); }
      else if (action === "play_pause") togglePlay();
      else if (action === "replay") startWindow(false);
      else if (action === "loop") { loopOn = !loopOn; renderLoop(); }
      else if (action === "back") seekTo(video.currentTime - 1);
      else if (action === "forward") seekTo(video.currentTime + 1);
      else if (action === "set_start") { startEl.value = video.currentTime.toFixed(2); refreshEdited(); renderLoop(); }
      else if (action === "set_end") { endEl.value = video.currentTime.toFixed(2); refreshEdited(); renderLoop(); }
      else if (action === "next") step(1);
      else if (action === "prev") step(-1);
    });

    // ---- queue ------------------------------------------------------------------------------------------------
    function renderQueue() {
      const items = model.get("queue_state") || [];
      const id = q() ? q().id : null;
      const rows = items.map((it) => {
        const row = el("li", `vidqa-rv-item vidqa-rv-st-${it.status}${it.id === id ? " current" : ""}`);
        row.dataset.qid = String(it.id);
        row.dataset.status = String(it.status);
        row.append(el("span", "vidqa-rv-item-id", `#${it.id}`), el("span", `vidqa-rv-badge vidqa-rv-st-${it.status}`, it.verdict ? `${it.status} (${it.verdict})` : it.status),
          el("span", "vidqa-rv-item-cat", it.category), el("span", "vidqa-rv-item-time", `${secs(it.t_start)}–${secs(it.t_end)}`),
          el("span", "vidqa-rv-item-text", it.question));
        if (it.drop_reason) row.append(el("div", "vidqa-rv-item-drop", `dropped: ${it.drop_reason}`));
        row.addEventListener("click", () => { send({ type: "select", id: it.id }); root.focus(); });
        return row;
      });
      if (!rows.length) rows.push(el("li", "vidqa-rv-empty", model.get("round") === 2 ? "No item is waiting for a second review." : "No drafts to review."));
      queue.replaceChildren(...rows);
      const cur_ = queue.querySelector(".current");
      if (cur_ && cur_.scrollIntoView) cur_.scrollIntoView({ block: "nearest" });
      const c = model.get("counts") || {};
      counts.textContent = Object.entries(c).map(([k, n]) => `${n} ${k}`).join(" · ");
      const total = model.get("queue_total") || items.length;
      queueHead.textContent = total > items.length ? `Queue (${items.length} of ${total} shown)` : `Queue (${total})`;
    }

    // ---- model wiring -----------------------------------------------------------------------------------------
    function renderCurrent() {
      const prevId = q() ? q().id : null;
      const prevVideo = cur && cur.video ? cur.video.id : null;
      cur = model.get("current") || null;
      if (cur && !cur.question) cur = null;
      const qq = q();
      meta.replaceChildren();
      dropBox.replaceChildren();
      dropBox.classList.remove("on");
      if (!qq) {
        meta.append(el("span", "", "Nothing selected."));
      } else {
        meta.append(el("span", "vidqa-rv-meta-id", `#${qq.id}`), el("span", `vidqa-rv-badge vidqa-rv-st-${qq.status}`, qq.status),
          el("span", "", `${qq.template} v${qq.template_version} · ${qq.answer_type} · ${qq.source} · confidence ${Number(qq.confidence).toFixed(2)}`));
        if (cur.video) meta.append(el("div", "vidqa-rv-meta-video", `${cur.video.title} (${cur.video.id})`));
        const drops = cur.drops || [];
        if (qq.drop_reason || drops.length) {
          dropBox.classList.add("on");
          dropBox.append(el("div", "vidqa-rv-drop-title", qq.status === "dropped" ? "Dropped by the generator" : "Was dropped before"));
          for (const d of drops.length ? drops : [{ check: "", reason: qq.drop_reason }]) {
            dropBox.append(el("div", "vidqa-rv-drop-reason", d.check ? `${d.check}: ${d.reason}` : d.reason));
          }
        }
      }
      const editable = !!qq && cur.editable !== false;
      for (const b of [acceptBtn, rejectBtn, skipBtn]) b.disabled = !editable;
      fillForm();
      renderEvidence();
      renderTierData();
      shownBoxes = "";
      renderLoop();
      renderQueue();
      if (qq && (qq.id !== prevId || (cur.video && cur.video.id !== prevVideo))) {
        const changed = setSources();
        if (changed) pendingSeek = qq.t_start;
        startWindow(true);
      }
      tick();
    }
    function renderTierData() {
      const view = model.get("tier_view") || {};
      const w = windowValues();
      tl.setTiers(model.get("tiers") || [], { start: view.start, end: view.end, window: w.ok ? { start: w.start, end: w.end } : null });
      tl.update(video.currentTime);
    }
    const renderError = () => {
      const msg = model.get("error") || "";
      errorText.textContent = msg;
      errorBar.classList.toggle("on", !!msg);
    };
    const renderStatus = () => { status.textContent = model.get("status") || ""; };
    const renderHead = () => {
      const r = model.get("round") || 1;
      title.textContent = r === 2 ? "Second review (blind)" : "Review drafts";
      const name = (model.get("reviewer") || "").trim();
      who.textContent = name ? `reviewer: ${name}` : "";
      nameBox.classList.toggle("on", !name);
    };
    const renderHelp = () => {
      const k = km();
      const parts = Object.keys(ACTION_LABELS).filter((a) => k[a]).map((a) => `${keyName(k[a])}: ${ACTION_LABELS[a]}`);
      parts.push("1–9: mark the right option", "click a tier item or a time: seek", "click the video: play/pause");
      help.textContent = `Keys (click the widget first) — ${parts.join(" · ")}`;
    };
    const onCustom = (msg) => {
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "seek") seekTo(Number(msg.t) || 0);
      else if (msg.type === "focus") root.focus();
    };
    const bindings = [
      ["change:current", renderCurrent],
      ["change:tiers", renderTierData],
      ["change:queue_state", renderQueue],
      ["change:counts", renderQueue],
      ["change:video_urls", () => { if (setSources() && q()) { pendingSeek = q().t_start; startWindow(true); } }],
      ["change:error", renderError],
      ["change:status", renderStatus],
      ["change:reviewer", renderHead],
      ["change:round", renderHead],
      ["change:keymap", renderHelp],
      ["msg:custom", onCustom],
    ];
    for (const [ev, fn] of bindings) model.on(ev, fn);
    cleanups.push(() => { for (const [ev, fn] of bindings) model.off(ev, fn); });
    listen(errorClose, "click", () => { model.set("error", ""); model.save_changes(); root.focus(); });

    renderHead();
    renderHelp();
    renderError();
    renderStatus();
    setSources();
    renderCurrent();
    const cfg = pageConfig();
    send({ type: "hello", base_url: cfg.baseUrl || "/", app_url: cfg.appUrl || "", pathname: window.location.pathname });
    setTimeout(() => { if (!isEditable(document.activeElement)) root.focus({ preventScroll: true }); }, 0);

    return () => {
      for (const fn of cleanups) fn();
      if (rafHandle !== null) cancelAnimationFrame(rafHandle);
      tl.destroy();
      video.pause();
      video.replaceChildren();
      video.load();
    };
  },
};
