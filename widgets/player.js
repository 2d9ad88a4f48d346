// vidqa annotation player (anywidget front-end). Plain ES module: no build step, no network imports.
//
// SPACE stamps the media time (sent to Python at keydown) and records a voice note; SPACE again stops and the
// recording goes to Python as ONE custom message with a binary buffer. All user/model text is set with
// textContent, never innerHTML.
//
// Focus: the player takes the keyboard when it first renders (e.g. after "Run All") and whenever it is clicked; it
// says whether it has the keys. While it has them, no key it handles (and never SPACE) reaches JupyterLab.
//
// Layout slots: `.vidqa-tiers` (under the controls, empty and hidden here) is where a review widget puts its cue
// tiers; the time overlay (`.vidqa-hud`) sits in a corner of the picture or in `.vidqa-hud-outside` above it.

import { el, hms, isEditable, keyName, pageConfig, setVideoSources } from "./dom.js";

const RATES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];
const OVERLAYS = ["top-left", "top-right", "bottom-left", "bottom-right", "outside"];
const ACTION_LABELS = {
  record: "stamp + record (again: stop)",
  play_pause: "play/pause",
  back: "−5 s",
  forward: "+5 s",
  frame_back: "−1 frame",
  frame_forward: "+1 frame",
  slower: "slower",
  faster: "faster",
  overlay: "move the time overlay",
};
const BUSY_STATES = new Set(["recording", "pending", "transcribing"]);
const SPAN_DEFAULT = 2.0; // seconds a note without an end covers (vidqa.annotate.notes.DEFAULT_SPAN_S)
const AUTOFOCUS_WINDOW_MS = 15000;


// mm:ss.mmm for videos under an hour (note rows), hh:mm:ss.mmm otherwise
function clock(t, long) { return long ? hms(t) : hms(t).slice(3); }

// "hh:mm:ss.mmm", "mm:ss.mmm" or seconds -> seconds (NaN when it is not a time)
function parseTime(text) {
  const s = String(text || "").trim();
  if (!s) return NaN;
  const parts = s.split(":");
  if (parts.length > 3 || parts.some((p) => !/^\d+(\.\d*)?$|^\.\d+$/.test(p.trim()))) return NaN;
  return parts.reduce((acc, p) => acc * 60 + parseFloat(p), 0);
}

function button(cls, text, title) {
  const b = el("button", `vidqa-btn ${cls}`, text);
  b.type = "button";
  b.tabIndex = -1;
  if (title) b.title = title;
  return b;
}

function pickMime() {
  if (typeof MediaRecorder === "undefined" || !MediaRecorder.isTypeSupported) return "";
  for (const m of ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"]) {
    if (MediaRecorder.isTypeSupported(m)) return m;
  }
  return "";
}

function micProblem() {
  if (!window.isSecureContext) return "This page is not a secure context (https or localhost), so the browser offers no microphone.";
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return "This browser offers no microphone API.";
  if (typeof MediaRecorder === "undefined") return "This browser cannot record audio (no MediaRecorder).";
  return "";
}

export default {
  render({ model, el: host }) {
    const session = Math.random().toString(36).slice(2, 8);
    let clientSeq = 0;
    const cleanups = [];
    const listen = (target, type, fn, opts) => {
      target.addEventListener(type, fn, opts);
      cleanups.push(() => target.removeEventListener(type, fn, opts));
    };

    // ---- DOM ------------------------------------------------------------------------------------------------
    const root = el("div", "vidqa-player");
    root.tabIndex = 0;
    root.setAttribute("data-lm-suppress-shortcuts", "true");
    root.setAttribute("role", "application");
    root.setAttribute("aria-label", "vidqa annotation player");

    const errorBar = el("div", "vidqa-error");
    const errorText = el("span", "vidqa-error-text");
    const errorClose = button("vidqa-error-close", "×", "Dismiss");
    errorBar.append(errorText, errorClose);

    const head = el("div", "vidqa-head");
    const title = el("div", "vidqa-title");
    const pick = el("div", "vidqa-pick");
    const videoSelect = document.createElement("select");
    videoSelect.className = "vidqa-pick-video";
    videoSelect.title = "Video to annotate";
    const dbSelect = document.createElement("select");
    dbSelect.className = "vidqa-pick-db";
    dbSelect.title = "Database";
    pick.append(el("span", "vidqa-pick-label", "Video"), videoSelect, el("span", "vidqa-pick-label", "Database"), dbSelect);
    const keys = el("div", "vidqa-keys");
    keys.setAttribute("aria-live", "polite");
    head.append(title, pick, keys);

    const main = el("div", "vidqa-main");
    const left = el("div", "vidqa-left");
    const hudOutside = el("div", "vidqa-hud-outside");
    const stage = el("div", "vidqa-stage");
    const video = document.createElement("video");
    video.className = "vidqa-video";
    video.preload = "auto";
    video.playsInline = true;
    video.tabIndex = -1;
    const hud = el("div", "vidqa-hud");
    const timer = el("span", "vidqa-timer");
    const timeText = el("span", "vidqa-time", "00:00:00.000");
    const frameText = el("span", "vidqa-frame");
    timer.append(timeText, frameText);
    const rec = el("span", "vidqa-rec");
    const moveBtn = button("vidqa-hud-move", "⇲", "Move the time overlay (O)");
    hud.append(timer, rec, moveBtn);
    stage.append(video, hud);

    const typedBox = el("form", "vidqa-typed");
    const typedLabel = el("span", "vidqa-typed-label");
    const typedInput = document.createElement("textarea");
    typedInput.className = "vidqa-typed-input";
    typedInput.rows = 2;
    typedInput.placeholder = "Type the note: Enter saves, Shift+Enter new line, Esc cancels (the video waits)";
    const typedSave = el("button", "vidqa-btn", "Save");
    typedSave.type = "submit";
    typedBox.append(typedLabel, typedInput, typedSave);

    const controls = el("div", "vidqa-controls");
    const playBtn = button("vidqa-play", "▶ Play");
    const seekBar = document.createElement("input");
    seekBar.type = "range";
    seekBar.className = "vidqa-seek";
    seekBar.min = "0";
    seekBar.step = "0.001";
    seekBar.value = "0";
    seekBar.tabIndex = -1;
    const rateLabel = el("span", "vidqa-rate", "1×");
    const recBtn = button("vidqa-recbtn", "● Note", "Stamp + record a note (same as the record key)");
    controls.append(playBtn, seekBar, rateLabel, recBtn);
    const tiers = el("div", "vidqa-tiers"); // slot for a review widget's cue tiers (empty here)
    tiers.dataset.slot = "tiers";
    left.append(hudOutside, stage, typedBox, controls, tiers);

    const side = el("div", "vidqa-side");
    const sideHead = el("div", "vidqa-side-head");
    const notesTitle = el("span", "vidqa-notes-title", "Notes");
    const busy = el("span", "vidqa-busy");
    sideHead.append(notesTitle, busy);
    const list = el("ul", "vidqa-notes");
    const actions = el("div", "vidqa-actions");
    const summaryBox = el("div", "vidqa-summary");
    side.append(sideHead, list, actions, summaryBox);
    main.append(left, side);

    const statusRow = el("div", "vidqa-statusrow");
    const status = el("div", "vidqa-status");
    const moreBtn = button("vidqa-status-more", "details", "Show the whole message");
    const helpBtn = button("vidqa-help-toggle", "keys ?", "Show the keys");
    statusRow.append(status, moreBtn, helpBtn);
    const statusDetail = el("div", "vidqa-status-detail");
    const help = el("div", "vidqa-help");
    const toast = el("div", "vidqa-toast");
    const clipAudio = document.createElement("audio");
    clipAudio.className = "vidqa-clip";
    clipAudio.preload = "auto";
    root.append(errorBar, head, main, statusRow, statusDetail, help, toast, clipAudio);
    host.append(root);

    // ---- state ----------------------------------------------------------------------------------------------
    const ids = new Map(); // client stamp id -> note id (from Python's "stamped" reply)
    let recState = "idle"; // idle | starting | recording | typing
    let current = null; // {clientId, t, frame, stopRequested, recorder, stream, startWall}
    let micBroken = micProblem();
    let lastFrameTime = null; // mediaTime of the frame on screen (requestVideoFrameCallback; null after a seek)
    let editing = null; // note id being edited
    let toastTimer = null;
    let localStatus = "";
    let typedFor = null;
    let clipFor = null; // note id whose recording plays
    let currentIds = "";

    const fps = () => model.get("fps") || 0;
    const longVideo = () => (model.get("duration") || 0) >= 3600;
    const frameOf = (t) => (fps() > 0 ? Math.floor(t * fps() + 1e-3) : null);
    const send = (msg, buffers) => model.send(msg, undefined, buffers);
    const setStatus = (text) => {
      localStatus = text;
      renderStatus();
    };
    const focusRoot = () => { root.focus({ preventScroll: true }); updateKeys(); };

    // ---- focus: who has the keys ------------------------------------------------------------------------------
    function keysState() {
      const a = document.activeElement;
      if (a === root) return "on";
      if (root.contains(a)) return isEditable(a) ? "typing" : "on";
      return "off";
    }
    function updateKeys() {
      const st = keysState();
      root.dataset.keys = st;
      keys.textContent = st === "on" ? "⌨ keys active" : st === "typing" ? "⌨ typing (Esc: back to the keys)"
        : "Click the player to use the keys";
      keys.title = st === "on" ? "The player has the keyboard: Space, K, J, L … control it, not the notebook."
        : "The keys go to the page, not to the player: click the player first.";
    }
    listen(root, "focusin", updateKeys);
    listen(root, "focusout", () => setTimeout(updateKeys, 0));
    // A click anywhere on the player (but in a text field or a list box) gives it the keys.
    listen(root, "pointerdown", (e) => {
      if (isEditable(e.target)) return;
      setTimeout(() => { if (!isEditable(document.activeElement)) focusRoot(); }, 0);
    });
    // Autofocus: take the keys when first shown, and take them back if the page moves focus to the notebook on
    // its own right after (JupyterLab does when "Run All" finishes), until the user does anything.
    const renderedAt = performance.now();
    let userActed = false;
    const onUserInput = (e) => { if (e.isTrusted !== false) userActed = true; };
    listen(document, "pointerdown", onUserInput, true);
    listen(document, "keydown", onUserInput, true);
    function grabFocus() {
      if (!model.get("autofocus") || userActed || !root.isConnected) return;
      if (performance.now() - renderedAt > AUTOFOCUS_WINDOW_MS) return;
      const a = document.activeElement;
      if (a === root || root.contains(a)) return;
      if (a && a !== document.body && isEditable(a)) return; // never steal from an editor or a field
      if (a && a.closest && a.closest(".vidqa-player")) return; // another player has the keys
      if (!root.getClientRects().length) return; // not laid out yet
      focusRoot();
    }
    listen(document, "focusin", () => setTimeout(grabFocus, 0), true);
    const focusTimers = [0, 50, 300, 1000, 2500].map((ms) => setTimeout(grabFocus, ms));

    // ---- video source ---------------------------------------------------------------------------------------
    function setSources() {
      const urls = model.get("video_urls") || [];
      // the same video from another URL keeps its place; another video starts at 0
      const keep = video.querySelector("source") && video.dataset.videoId === model.get("video_id")
        ? video.currentTime || 0 : 0;
      const changed = setVideoSources(video, urls, model.get("mime"), (message) => {
        model.set("error", message);
        model.save_changes();
      });
      if (!changed) return;
      video.dataset.videoId = model.get("video_id") || "";
      if (keep && urls.length) video.currentTime = keep;
    }

    // ---- time overlay: one time per frame (the start of the frame on screen) ----------------------------------
    function showTime(t, exact) {
      const f = fps();
      if (f > 0) {
        const k = Math.max(0, exact ? Math.round(t * f) : Math.floor(t * f + 1e-3));
        timeText.textContent = hms(k / f);
        frameText.textContent = `frame ${k}`;
      } else {
        timeText.textContent = hms(t);
        frameText.textContent = "";
      }
      if (!seekBar.matches(":active")) seekBar.value = String(t);
      highlight(t);
    }
    let rafHandle = null;
    let vfcHandle = null;
    const hasVFC = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
    const presented = []; // [expectedDisplayTime, mediaTime] of the last frames put on screen
    function onFrame(_now, meta) {
      lastFrameTime = meta.mediaTime;
      presented.push([meta.expectedDisplayTime, meta.mediaTime]);
      if (presented.length > 12) presented.shift();
      showTime(meta.mediaTime, true);
      vfcHandle = video.requestVideoFrameCallback(onFrame);
    }
    function onRaf() {
      showTime(video.currentTime, false);
      rafHandle = video.paused ? null : requestAnimationFrame(onRaf);
    }
    if (hasVFC) vfcHandle = video.requestVideoFrameCallback(onFrame);
    // Paused after playing, the frame on screen can be one frame ahead of currentTime (frames are queued for
    // display early): the overlay names the frame presented, as it did while playing.
    const shownTime = () => (lastFrameTime !== null && !video.seeking ? lastFrameTime : video.currentTime);
    const refreshTimer = () => showTime(shownTime(), lastFrameTime !== null && !video.seeking);
    const shownFrame = () => {
      const f = fps() || 30;
      return lastFrameTime !== null && !video.seeking ? Math.round(lastFrameTime * f) : Math.floor(video.currentTime * f + 1e-3);
    };
    listen(video, "seeking", () => { lastFrameTime = null; presented.length = 0; });
    listen(video, "emptied", () => { lastFrameTime = null; });
    let lastTimeSent = 0;
    const reportTime = (force) => {
      const now = performance.now();
      if (force || now - lastTimeSent > 1000) {
        lastTimeSent = now;
        send({ type: "time", t: video.currentTime });
      }
    };
    listen(video, "seeked", () => { refreshTimer(); reportTime(true); });
    listen(video, "pause", () => { refreshTimer(); playBtn.textContent = "▶ Play"; reportTime(true); });
    listen(video, "play", () => {
      playBtn.textContent = "❚❚ Pause";
      if (!clipAudio.paused) clipAudio.pause();
      if (!hasVFC && rafHandle === null) rafHandle = requestAnimationFrame(onRaf);
    });
    listen(video, "ratechange", () => { rateLabel.textContent = `${video.playbackRate}×`; refreshTimer(); });
    listen(video, "timeupdate", () => { if (video.paused) refreshTimer(); else highlight(video.currentTime); reportTime(false); });
    listen(video, "loadedmetadata", () => {
      seekBar.max = String(video.duration || model.get("duration") || 0);
      refreshTimer();
    });

    function placeOverlay() {
      let pos = model.get("overlay") || "top-left";
      if (!OVERLAYS.includes(pos)) pos = "top-left";
      root.dataset.overlay = pos;
      const home = pos === "outside" ? hudOutside : stage;
      if (hud.parentNode !== home) home.append(hud);
      hudOutside.classList.toggle("on", pos === "outside");
    }
    function cycleOverlay() {
      const i = OVERLAYS.indexOf(model.get("overlay") || "top-left");
      model.set("overlay", OVERLAYS[(i + 1) % OVERLAYS.length]);
      model.save_changes();
      placeOverlay();
    }
    listen(moveBtn, "click", (e) => { e.stopPropagation(); cycleOverlay(); focusRoot(); });

    // ---- transport --------------------------------------------------------------------------------------------
    const togglePlay = () => {
      if (video.paused) {
        video.play().catch((err) => setStatus(`Playback did not start: ${err.message}`));
      } else video.pause();
    };
    const seekTo = (t) => {
      const d = video.duration || model.get("duration") || 0;
      video.currentTime = Math.max(0, d ? Math.min(d, t) : t);
    };
    const stepFrame = (dir) => {
      video.pause();
      const f = fps() || 30;
      const k = shownFrame();
      seekTo((Math.max(0, k + dir) + 0.5) / f);
    };
    const changeRate = (dir) => {
      let i = RATES.indexOf(video.playbackRate);
      if (i < 0) i = RATES.indexOf(1);
      i = Math.max(0, Math.min(RATES.length - 1, i + dir));
      video.playbackRate = RATES[i];
    };
    listen(playBtn, "click", () => { togglePlay(); focusRoot(); });
    listen(video, "click", () => { togglePlay(); focusRoot(); });
    listen(seekBar, "input", () => seekTo(parseFloat(seekBar.value)));
    listen(seekBar, "change", focusRoot);
    listen(recBtn, "click", () => { focusRoot(); recordKey(); });

    // ---- recording ----------------------------------------------------------------------------------------------
    // The media time of what was on screen when the key went down. While playing, the frame on screen trails the
    // media clock (currentTime) by a frame or two, and the handler runs a little after the event was created: take
    // the frame presented at event.timeStamp (requestVideoFrameCallback's log) plus the time it had been shown,
    // kept inside that frame. Without that log: currentTime minus the dispatch lag. Paused: the frame on screen.
    function mediaTimeAt(e) {
      const t = video.currentTime;
      if (video.paused) return shownTime();
      if (!e || video.seeking || !Number.isFinite(e.timeStamp)) return t;
      const lag = (performance.now() - e.timeStamp) / 1000;
      const f = fps();
      let shown = null;
      for (const p of presented) if (p[0] <= e.timeStamp) shown = p;
      if (shown && f > 0) {
        const within = Math.min(Math.max(0, (e.timeStamp - shown[0]) / 1000 * video.playbackRate), 0.999 / f);
        const seen = shown[1] + within;
        if (Math.abs(seen - t) < 0.5) return seen;
      }
      if (!(lag > 0) || lag > 1) return t;
      return Math.max(0, t - lag * video.playbackRate);
    }

    function stampNow(e, kind) {
      const t = mediaTimeAt(e);
      const clientId = `${session}-${++clientSeq}`;
      const stamp = { clientId, t, frame: frameOf(t), wall: Date.now() };
      send({ type: "stamp", kind: kind || "voice", t, frame: stamp.frame, wall_ms: stamp.wall, client_id: clientId,
        current_time: video.currentTime, displayed: lastFrameTime, rate: video.playbackRate, paused: video.paused });
      return stamp;
    }

    function showRec(text) {
      rec.textContent = text;
      rec.classList.toggle("on", !!text);
      root.classList.toggle("vidqa-recording", !!text);
    }

    function micFailed(stamp, message) {
      micBroken = message;
      model.set("mic_state", "unavailable");
      model.save_changes();
      send({ type: "mic", state: "unavailable", message, short: "No microphone: notes are typed.",
        client_id: stamp.clientId, note_id: ids.get(stamp.clientId) ?? null });
      showRec("");
      recState = "idle";
      openTyped(stamp);
    }

    let recTicker = null;
    async function startRecording(stamp) {
      current = { ...stamp, stopRequested: false };
      recState = "starting";
      showRec("● mic…");
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        micFailed(current, err && err.name === "NotAllowedError"
          ? "The microphone was refused; notes are typed instead (allow the mic in the browser to record)."
          : `No microphone (${err && err.name ? err.name : err}); notes are typed instead.`);
        current = null;
        return;
      }
      const mime = pickMime();
      let recorder;
      try {
        recorder = mime ? new MediaRecorder(stream, { mimeType: mime }) : new MediaRecorder(stream);
      } catch (err) {
        stream.getTracks().forEach((tr) => tr.stop());
        micFailed(current, `Recording is not possible here (${err.message}); notes are typed instead.`);
        current = null;
        return;
      }
      const chunks = [];
      const rc = current;
      rc.recorder = recorder;
      rc.stream = stream;
      rc.startWall = performance.now();
      recorder.addEventListener("dataavailable", (e) => { if (e.data && e.data.size) chunks.push(e.data); });
      recorder.addEventListener("stop", async () => {
        stream.getTracks().forEach((tr) => tr.stop());
        const blob = new Blob(chunks, { type: recorder.mimeType || mime || "audio/webm" });
        const buf = await blob.arrayBuffer();
        // Messages reach Python in order, so the stamp (sent first) is always saved before this arrives;
        // Python maps client_id -> note id when the reply has not come back yet.
        send({ type: "audio", note_id: ids.get(rc.clientId) ?? null, client_id: rc.clientId,
          mime: blob.type || "audio/webm", end: rc.endT, seconds: (performance.now() - rc.startWall) / 1000 }, [buf]);
      });
      recorder.start();
      recState = "recording";
      model.set("mic_state", "recording");
      model.save_changes();
      const tick = () => showRec(`● REC ${((performance.now() - rc.startWall) / 1000).toFixed(1)} s`);
      tick();
      recTicker = setInterval(tick, 100);
      if (rc.stopRequested) stopRecording();
    }

    function stopRecording() {
      if (!current) return;
      if (recState === "starting") { current.stopRequested = true; return; }
      if (recState !== "recording") return;
      current.endT = video.currentTime;
      clearInterval(recTicker);
      showRec("");
      recState = "idle";
      try { current.recorder.stop(); } catch (_e) { /* already stopped */ }
      current = null;
      model.set("mic_state", "idle");
      model.save_changes();
    }

    function recordKey(e) {
      if (recState === "recording" || recState === "starting") { stopRecording(); return; }
      if (recState === "typing") return;
      if (micBroken) { openTyped(stampNow(e, "typed")); return; } // the stamp is saved now, the text follows
      startRecording(stampNow(e, "voice"));
    }

    // ---- typed notes: the video waits while you type ------------------------------------------------------------
    function openTyped(stamp) {
      typedFor = { ...stamp, resume: !video.paused };
      video.pause();
      recState = "typing";
      typedLabel.textContent = `${clock(stamp.t, longVideo())} `;
      typedInput.value = "";
      typedBox.classList.add("on");
      if (micBroken) setStatus("No microphone: notes are typed.");
      renderNotes();
      setTimeout(() => typedInput.focus({ preventScroll: true }), 0);
    }
    function closeTyped() {
      const resume = typedFor && typedFor.resume;
      typedBox.classList.remove("on");
      typedFor = null;
      recState = "idle";
      focusRoot();
      renderNotes();
      if (resume) video.play().catch(() => {});
    }
    function saveTyped() {
      if (!typedFor) return;
      send({ type: "typed", note_id: ids.get(typedFor.clientId) ?? null, client_id: typedFor.clientId,
        text: typedInput.value });
      closeTyped();
    }
    listen(typedBox, "submit", (e) => { e.preventDefault(); saveTyped(); });
    listen(typedInput, "keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); saveTyped(); }
      else if (e.key === "Escape") {
        e.preventDefault();
        if (typedFor) send({ type: "cancel", note_id: ids.get(typedFor.clientId) ?? null, client_id: typedFor.clientId });
        closeTyped();
      }
    });

    // ---- keys -------------------------------------------------------------------------------------------------
    function actionFor(e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return null;
      const km = model.get("keymap") || {};
      for (const [action, key] of Object.entries(km)) {
        if (!key) continue;
        if (e.key === key || (key.length === 1 && e.key.length === 1 && e.key.toLowerCase() === key.toLowerCase())) return action;
      }
      return null;
    }
    const swallow = (e) => { e.preventDefault(); e.stopPropagation(); };
    listen(root, "keydown", (e) => {
      if (isEditable(e.target)) {
        e.stopPropagation(); // typing in the player's own fields: JupyterLab must not see it
        if (e.key === "Escape" && e.target !== typedInput && editing === null) focusRoot();
        return;
      }
      const action = actionFor(e);
      if (!action) { if (e.key === " ") swallow(e); return; } // SPACE never scrolls or reaches the notebook
      swallow(e);
      if (action === "record") {
        if (e.repeat) return;
        if (model.get("hold_to_talk") && (recState === "recording" || recState === "starting")) return;
        recordKey(e);
        return;
      }
      if (e.repeat && action === "overlay") return;
      if (action === "play_pause") togglePlay();
      else if (action === "back") seekTo(video.currentTime - 5);
      else if (action === "forward") seekTo(video.currentTime + 5);
      else if (action === "frame_back") stepFrame(-1);
      else if (action === "frame_forward") stepFrame(1);
      else if (action === "slower") changeRate(-1);
      else if (action === "faster") changeRate(1);
      else if (action === "overlay") cycleOverlay();
    });
    const onKeyUp = (e) => {
      if (isEditable(e.target)) { e.stopPropagation(); return; }
      const action = actionFor(e);
      if (!action) { if (e.key === " ") swallow(e); return; }
      swallow(e);
      if (e.type === "keyup" && action === "record" && model.get("hold_to_talk")) stopRecording();
    };
    listen(root, "keyup", onKeyUp);
    listen(root, "keypress", onKeyUp);

    // ---- notes list ----------------------------------------------------------------------------------------------
    function statusBadge(n) {
      const b = el("span", `vidqa-badge vidqa-st-${n.status}`);
      const typing = typedFor && ids.get(typedFor.clientId) === n.id;
      if (typing) {
        b.className = "vidqa-badge vidqa-st-typing";
        b.textContent = "typing…";
      } else if (BUSY_STATES.has(n.status)) {
        b.append(el("span", "vidqa-spinner"), document.createTextNode(` ${n.status}`));
      } else if (n.status === "error") {
        b.textContent = "error";
      } else if (n.status === "typed") {
        b.textContent = "typed";
      } else {
        b.textContent = "✓";
      }
      return b;
    }

    function spanText(n) {
      const long = longVideo();
      return n.end !== null && n.end !== undefined && n.end > n.t ? `${clock(n.t, long)}–${clock(n.end, long)}` : clock(n.t, long);
    }

    function growArea(ta) {
      ta.style.height = "auto";
      ta.style.height = `${Math.min(ta.scrollHeight + 2, 320)}px`;
    }

    function startEdit(n, row) {
      if (editing !== null) return;
      editing = n.id;
      row.classList.add("editing");
      const long = longVideo();
      const box = el("div", "vidqa-edit");
      const times = el("div", "vidqa-edit-times");
      const timeField = (cls, label, value, hint) => {
        const wrap = el("label", "vidqa-edit-field");
        const input = document.createElement("input");
        input.type = "text";
        input.className = cls;
        input.value = value;
        input.placeholder = hint;
        input.spellcheck = false;
        const now = button(`${cls}-now vidqa-now`, "⌖", `Set ${label} to the playhead`);
        now.addEventListener("click", (e) => { e.preventDefault(); input.value = clock(video.currentTime, long); });
        wrap.append(el("span", "vidqa-edit-label", label), input, now);
        times.append(wrap);
        return input;
      };
      const start = timeField("vidqa-edit-start", "start", clock(n.t, long), "mm:ss.mmm");
      const end = timeField("vidqa-edit-end", "end", n.end !== null && n.end !== undefined ? clock(n.end, long) : "",
        "none");
      const text = document.createElement("textarea");
      text.className = "vidqa-edit-text";
      text.rows = 3;
      text.value = n.text || "";
      text.placeholder = "The note (Enter saves, Shift+Enter new line)";
      const tags = document.createElement("input");
      tags.type = "text";
      tags.className = "vidqa-edit-tags";
      tags.placeholder = "tags, comma separated";
      tags.value = (n.tags || []).join(", ");
      const bar = el("div", "vidqa-edit-bar");
      const save = button("vidqa-edit-save", "Save");
      const cancel = button("vidqa-edit-cancel", "Cancel");
      const msg = el("span", "vidqa-edit-msg");
      bar.append(save, cancel, msg);
      box.append(times, text, tags, bar);
      const body = row.querySelector(".vidqa-note-body");
      body.replaceChildren(box);
      let done = false;
      const finish = (keep) => {
        if (done) return;
        if (keep) {
          const t = parseTime(start.value);
          const e = end.value.trim() ? parseTime(end.value) : null;
          if (!Number.isFinite(t)) { msg.textContent = "The start is not a time (mm:ss.mmm)."; start.focus(); return; }
          if (e !== null && !Number.isFinite(e)) { msg.textContent = "The end is not a time (mm:ss.mmm)."; end.focus(); return; }
          if (e !== null && e <= t) { msg.textContent = "The end must come after the start."; end.focus(); return; }
          const change = {};
          if (text.value !== (n.text || "")) change.text = text.value;
          if (tags.value !== (n.tags || []).join(", ")) change.tags = tags.value;
          if (Math.abs(t - n.t) >= 0.0005) change.t = t;
          const oldEnd = n.end === null || n.end === undefined ? null : n.end;
          if ((e === null) !== (oldEnd === null) || (e !== null && Math.abs(e - oldEnd) >= 0.0005)) change.end = e;
          if (Object.keys(change).length) send({ type: "edit", note_id: n.id, ...change });
        }
        done = true;
        editing = null;
        renderNotes();
        focusRoot();
      };
      for (const input of [start, end, text, tags]) {
        input.addEventListener("keydown", (e) => {
          e.stopPropagation();
          if (e.key === "Enter" && !(e.shiftKey && input === text)) { e.preventDefault(); finish(true); }
          else if (e.key === "Escape") { e.preventDefault(); finish(false); }
        });
      }
      text.addEventListener("input", () => growArea(text));
      save.addEventListener("click", (e) => { e.stopPropagation(); finish(true); });
      cancel.addEventListener("click", (e) => { e.stopPropagation(); finish(false); });
      box.addEventListener("click", (e) => e.stopPropagation());
      box.addEventListener("focusout", () => {
        setTimeout(() => { if (!done && !box.contains(document.activeElement) && root.contains(box)) finish(true); }, 0);
      });
      text.focus({ preventScroll: true });
      text.setSelectionRange(0, 0);
      growArea(text);
    }

    function renderNotes() {
      if (editing !== null) return; // re-rendered when the edit ends
      const notes = model.get("notes_state") || [];
      notesTitle.textContent = `Notes (${notes.length})`;
      const rows = [];
      for (const n of notes) {
        const row = el("li", "vidqa-note");
        row.dataset.noteId = String(n.id);
        row.dataset.status = n.status;
        row.dataset.t = String(n.t);
        row.dataset.end = n.end === null || n.end === undefined ? "" : String(n.end);
        const top = el("div", "vidqa-note-head");
        const time = el("button", "vidqa-note-time", spanText(n));
        time.type = "button";
        time.tabIndex = -1;
        time.title = n.frame !== null && n.frame !== undefined ? `frame ${n.frame} — click to seek` : "click to seek";
        top.append(time, statusBadge(n));
        if (n.has_audio) {
          const play = button("vidqa-note-play", clipFor === n.id && !clipAudio.paused ? "■" : "▶",
            "Play the voice recording");
          play.addEventListener("click", (e) => { e.stopPropagation(); playClip(n.id); focusRoot(); });
          top.append(play);
        }
        const edit = button("vidqa-note-edit", "✎", "Edit the time, end, text and tags");
        const del = button("vidqa-note-del", "✕", "Delete (undo possible)");
        top.append(edit, del);
        const body = el("div", "vidqa-note-body");
        const text = el("div", "vidqa-note-text", n.text || "");
        text.title = "Click to edit";
        body.append(text);
        if ((n.tags || []).length) {
          const tagBox = el("div", "vidqa-tags");
          for (const t of n.tags) tagBox.append(el("span", "vidqa-tag", `#${t}`));
          body.append(tagBox);
        }
        row.append(top, body);
        if (n.status === "error") {
          const err = el("div", "vidqa-note-error", n.error || "Transcription failed.");
          row.append(err);
          if (n.has_audio) {
            const retry = button("vidqa-retry", "Retry");
            retry.addEventListener("click", (e) => { e.stopPropagation(); send({ type: "retry", note_id: n.id }); focusRoot(); });
            err.append(" ", retry);
          }
        }
        time.addEventListener("click", (e) => { e.stopPropagation(); seekTo(n.t); focusRoot(); });
        text.addEventListener("click", (e) => { e.stopPropagation(); startEdit(n, row); });
        edit.addEventListener("click", (e) => { e.stopPropagation(); startEdit(n, row); });
        del.addEventListener("click", (e) => {
          e.stopPropagation();
          send({ type: "delete", note_id: n.id });
          showToast(`Deleted the note at ${clock(n.t, longVideo())}.`, n.id);
          focusRoot();
        });
        row.addEventListener("click", () => { seekTo(n.t); focusRoot(); });
        rows.push(row);
      }
      if (!notes.length) rows.push(el("li", "vidqa-empty", `No notes yet: press ${keyName((model.get("keymap") || {}).record || " ")} while the video plays.`));
      list.replaceChildren(...rows);
      currentIds = "";
      highlight(video.currentTime || 0);
    }

    // The note(s) under the playhead: highlighted, and scrolled into the list's view (never the page's).
    function highlight(t) {
      const on = [];
      for (const row of list.children) {
        if (!row.dataset || row.dataset.t === undefined) continue;
        const s = parseFloat(row.dataset.t);
        const e = row.dataset.end ? parseFloat(row.dataset.end) : NaN;
        const stop = Number.isFinite(e) && e > s ? e : s + SPAN_DEFAULT;
        const hit = s <= t && t < stop;
        row.classList.toggle("current", hit);
        if (hit) on.push(row);
      }
      const key = on.map((r) => r.dataset.noteId).join(",");
      if (key && key !== currentIds && editing === null) {
        const r = on[0];
        const top = r.offsetTop - list.offsetTop;
        if (top < list.scrollTop || top + r.offsetHeight > list.scrollTop + list.clientHeight) {
          list.scrollTop = Math.max(0, top - 4);
        }
      }
      currentIds = key;
    }

    // ---- replaying a voice note ---------------------------------------------------------------------------------
    let clipUrl = null;
    function playClip(noteId) {
      if (clipFor === noteId && !clipAudio.paused) { clipAudio.pause(); return; }
      clipFor = noteId;
      send({ type: "clip", note_id: noteId });
    }
    function gotClip(msg, buffers) {
      if (!buffers || !buffers.length || msg.note_id !== clipFor) return;
      if (clipUrl) URL.revokeObjectURL(clipUrl);
      clipUrl = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime || "audio/webm" }));
      video.pause();
      clipAudio.src = clipUrl;
      clipAudio.dataset.noteId = String(msg.note_id);
      clipAudio.play().catch((err) => setStatus(`The recording did not play: ${err.message}`));
    }
    const clipChanged = () => {
      for (const b of list.querySelectorAll(".vidqa-note-play")) {
        const id = Number(b.closest(".vidqa-note").dataset.noteId);
        b.textContent = id === clipFor && !clipAudio.paused ? "■" : "▶";
      }
    };
    listen(clipAudio, "play", clipChanged);
    listen(clipAudio, "pause", clipChanged);
    listen(clipAudio, "ended", clipChanged);

    function showToast(text, noteId) {
      clearTimeout(toastTimer);
      toast.replaceChildren(el("span", "", text));
      const undo = button("vidqa-undo", "Undo");
      undo.addEventListener("click", () => {
        send({ type: "undo", note_id: noteId });
        toast.classList.remove("on");
        focusRoot();
      });
      toast.append(undo);
      toast.classList.add("on");
      toastTimer = setTimeout(() => toast.classList.remove("on"), 8000);
    }

    // ---- export / summary ---------------------------------------------------------------------------------------
    function renderActions() {
      const fmts = model.get("export_formats") || ["srt", "vtt", "csv", "json", "eaf"];
      const btns = fmts.map((f) => {
        const b = button("vidqa-export", f.toUpperCase(),
          `Export the notes as ${f.toUpperCase()} (saved next to the database and downloaded)`);
        b.dataset.fmt = f;
        b.addEventListener("click", () => { send({ type: "export", fmt: f }); focusRoot(); });
        return b;
      });
      const sum = button("vidqa-summarize", "Summarise", "Summarise the notes with Groq (needs GROQ_API_KEY)");
      sum.addEventListener("click", () => { send({ type: "summarize" }); focusRoot(); });
      actions.replaceChildren(el("span", "vidqa-actions-label", "Export:"), ...btns, sum);
    }

    function download(msg) {
      const blob = new Blob([msg.text], { type: msg.mime || "text/plain" });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = msg.filename || "notes.txt";
      a.style.display = "none";
      root.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
    }

    // ---- picker (the Voilà app): another video, another database ------------------------------------------------
    function renderPicker() {
      const on = !!model.get("picker");
      pick.classList.toggle("on", on);
      if (!on) return;
      const vid = model.get("video_id");
      const long = (model.get("videos") || []).some((v) => (v.duration || 0) >= 3600);
      videoSelect.replaceChildren(...(model.get("videos") || []).map((v) => {
        const o = el("option", "", `${v.title || v.id} (${clock(v.duration || 0, long).replace(/\.\d+$/, "")})`);
        o.value = v.id;
        o.selected = v.id === vid;
        return o;
      }));
      const dbs = model.get("databases") || [];
      dbSelect.replaceChildren(...dbs.map((d) => {
        const o = el("option", "", d.label || d.path);
        o.value = d.path;
        o.title = d.path;
        o.selected = d.path === model.get("db_path");
        return o;
      }));
      dbSelect.disabled = dbs.length < 2;
    }
    listen(videoSelect, "change", () => {
      if (videoSelect.value && videoSelect.value !== model.get("video_id")) send({ type: "open", video: videoSelect.value });
      focusRoot();
    });
    listen(dbSelect, "change", () => {
      if (dbSelect.value && dbSelect.value !== model.get("db_path")) send({ type: "open", db: dbSelect.value });
      focusRoot();
    });
    function videoChanged() {
      if (current && current.recorder) { try { current.recorder.stop(); } catch (_e) { /* */ } }
      if (typedFor) closeTyped();
      clearInterval(recTicker);
      showRec("");
      current = null;
      recState = "idle";
      ids.clear();
      editing = null;
      clipAudio.pause();
      clipFor = null;
      video.pause();
      renderTitle();
      renderPicker();
      renderNotes();
    }

    // ---- model wiring -----------------------------------------------------------------------------------------
    const onCustom = (msg, buffers) => {
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "stamped") {
        if (msg.client_id) ids.set(msg.client_id, msg.note_id);
        if (typedFor && typedFor.clientId === msg.client_id) renderNotes();
      } else if (msg.type === "seek") {
        seekTo(Number(msg.t) || 0);
      } else if (msg.type === "download") {
        download(msg);
      } else if (msg.type === "clip") {
        gotClip(msg, buffers);
      }
    };
    const renderError = () => {
      const msg = model.get("error") || "";
      errorText.textContent = msg;
      errorBar.classList.toggle("on", !!msg);
    };
    function renderStatus() {
      status.textContent = model.get("status") || localStatus || "";
      status.title = status.textContent;
      const detail = model.get("status_detail") || "";
      statusDetail.textContent = detail;
      moreBtn.classList.toggle("on", !!detail && detail !== status.textContent);
      if (!detail) statusDetail.classList.remove("on");
    }
    listen(moreBtn, "click", () => { statusDetail.classList.toggle("on"); focusRoot(); });
    listen(helpBtn, "click", () => { help.classList.toggle("on"); focusRoot(); });
    const renderBusy = () => { busy.textContent = model.get("busy") || ""; busy.title = busy.textContent; };
    const renderSummary = () => {
      const s = model.get("summary") || "";
      summaryBox.replaceChildren();
      if (s) summaryBox.append(el("div", "vidqa-summary-title", "Summary"), el("div", "vidqa-summary-text", s));
      summaryBox.classList.toggle("on", !!s);
    };
    function renderTitle() { title.textContent = model.get("title") || ""; title.title = title.textContent; }
    const renderHelp = () => {
      const km = model.get("keymap") || {};
      const parts = Object.keys(ACTION_LABELS).filter((a) => km[a]).map((a) => `${keyName(km[a])}: ${ACTION_LABELS[a]}`);
      if (model.get("hold_to_talk")) parts[0] = `${keyName(km.record || " ")} (hold): record while held`;
      parts.push("click video: play/pause", "click a note: seek", "click its text or ✎: edit");
      if (model.get("lookback")) parts.push(`stamps look back ${model.get("lookback")} s`);
      help.replaceChildren(...parts.map((p) => el("span", "vidqa-help-item", p)));
    };

    const bindings = [
      ["change:video_urls", setSources],
      ["change:notes_state", renderNotes],
      ["change:error", renderError],
      ["change:status", renderStatus],
      ["change:status_detail", renderStatus],
      ["change:busy", renderBusy],
      ["change:summary", renderSummary],
      ["change:title", renderTitle],
      ["change:video_id", videoChanged],
      ["change:videos", renderPicker],
      ["change:databases", renderPicker],
      ["change:db_path", renderPicker],
      ["change:picker", renderPicker],
      ["change:overlay", placeOverlay],
      ["change:keymap", renderHelp],
      ["change:hold_to_talk", renderHelp],
      ["change:lookback", renderHelp],
      ["change:export_formats", renderActions],
      ["msg:custom", onCustom],
    ];
    for (const [ev, fn] of bindings) model.on(ev, fn);
    cleanups.push(() => { for (const [ev, fn] of bindings) model.off(ev, fn); });
    listen(errorClose, "click", () => { model.set("error", ""); model.save_changes(); focusRoot(); });

    setSources();
    placeOverlay();
    renderNotes();
    renderError();
    renderStatus();
    renderBusy();
    renderSummary();
    renderTitle();
    renderPicker();
    renderHelp();
    renderActions();
    updateKeys();
    showTime(0, false);
    requestAnimationFrame(() => {
      if (root.clientWidth >= 640) help.classList.add("on");
      grabFocus();
    });
    if (micBroken) {
      send({ type: "mic", state: "unavailable", short: "No microphone: notes are typed.",
        message: `${micBroken} SPACE opens a text field at the stamp instead.` });
    }
    const cfg = pageConfig();
    send({ type: "hello", base_url: cfg.baseUrl || "/", app_url: cfg.appUrl || "", pathname: window.location.pathname });

    return () => {
      for (const fn of cleanups) fn();
      for (const h of focusTimers) clearTimeout(h);
      if (vfcHandle !== null && video.cancelVideoFrameCallback) video.cancelVideoFrameCallback(vfcHandle);
      if (rafHandle !== null) cancelAnimationFrame(rafHandle);
      clearInterval(recTicker);
      clearTimeout(toastTimer);
      if (current && current.recorder) { try { current.recorder.stop(); } catch (_e) { /* */ } }
      if (clipUrl) URL.revokeObjectURL(clipUrl);
      clipAudio.pause();
      video.pause();
      video.removeAttribute("src");
      video.replaceChildren();
      video.load();
    };
  },
};
