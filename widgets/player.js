// vidqa annotation player (anywidget front-end). Plain ES module: no build step, no network imports.
//
// SPACE stamps the media time (sent to Python at keydown) and records a voice note; SPACE again stops and the
// recording goes to Python as ONE custom message with a binary buffer. All user/model text is set with
// textContent, never innerHTML.

const RATES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];
const ACTION_LABELS = {
  record: "stamp + record (again: stop)",
  play_pause: "play/pause",
  back: "−5 s",
  forward: "+5 s",
  frame_back: "−1 frame",
  frame_forward: "+1 frame",
  slower: "slower",
  faster: "faster",
};
const BUSY_STATES = new Set(["recording", "pending", "transcribing"]);

function hms(t) {
  if (!Number.isFinite(t) || t < 0) t = 0;
  const ms = Math.round(t * 1000);
  const h = Math.floor(ms / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  const r = ms % 1000;
  const p = (n, w) => String(n).padStart(w, "0");
  return `${p(h, 2)}:${p(m, 2)}:${p(s, 2)}.${p(r, 3)}`;
}

function keyName(k) {
  if (k === " ") return "Space";
  return k.length === 1 ? k.toUpperCase() : k;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function pageConfig() {
  try {
    const node = document.getElementById("jupyter-config-data");
    return node ? JSON.parse(node.textContent || "{}") : {};
  } catch (_e) {
    return {};
  }
}

function isEditable(target) {
  if (!target || target.nodeType !== 1) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
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
    const errorClose = el("button", "vidqa-error-close", "×");
    errorClose.title = "Dismiss";
    errorClose.tabIndex = -1;
    errorBar.append(errorText, errorClose);

    const title = el("div", "vidqa-title");
    const main = el("div", "vidqa-main");
    const stage = el("div", "vidqa-stage");
    const video = document.createElement("video");
    video.className = "vidqa-video";
    video.preload = "auto";
    video.playsInline = true;
    video.tabIndex = -1;
    const timer = el("div", "vidqa-timer", "00:00:00.000");
    const rec = el("div", "vidqa-rec");
    const typedBox = el("form", "vidqa-typed");
    const typedLabel = el("span", "vidqa-typed-label");
    const typedInput = document.createElement("input");
    typedInput.type = "text";
    typedInput.className = "vidqa-typed-input";
    typedInput.placeholder = "Type the note, Enter to save, Esc to cancel";
    const typedSave = el("button", "vidqa-btn", "Save");
    typedSave.type = "submit";
    typedBox.append(typedLabel, typedInput, typedSave);
    stage.append(video, timer, rec, typedBox);

    const controls = el("div", "vidqa-controls");
    const playBtn = el("button", "vidqa-btn vidqa-play", "▶ Play");
    playBtn.tabIndex = -1;
    const seekBar = document.createElement("input");
    seekBar.type = "range";
    seekBar.className = "vidqa-seek";
    seekBar.min = "0";
    seekBar.step = "0.001";
    seekBar.value = "0";
    seekBar.tabIndex = -1;
    const rateLabel = el("span", "vidqa-rate", "1×");
    const recBtn = el("button", "vidqa-btn vidqa-recbtn", "● Note");
    recBtn.tabIndex = -1;
    recBtn.title = "Stamp + record a note (same as the record key)";
    controls.append(playBtn, seekBar, rateLabel, recBtn);

    const left = el("div", "vidqa-left");
    left.append(stage, controls);

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

    const status = el("div", "vidqa-status");
    const help = el("div", "vidqa-help");
    const toast = el("div", "vidqa-toast");
    root.append(errorBar, title, main, status, help, toast);
    host.append(root);

    // ---- state ----------------------------------------------------------------------------------------------
    const ids = new Map(); // client stamp id -> note id (from Python's "stamped" reply)
    let recState = "idle"; // idle | starting | recording | typing
    let current = null; // {clientId, t, frame, stopRequested, recorder, stream, startWall}
    let micBroken = micProblem();
    let lastFrameTime = null; // mediaTime of the last presented frame (requestVideoFrameCallback)
    let editing = null; // note id being edited
    let notesDirty = false;
    let toastTimer = null;
    let localStatus = "";

    const fps = () => model.get("fps") || 0;
    const frameOf = (t) => (fps() > 0 ? Math.floor(t * fps() + 1e-3) : null);
    const send = (msg, buffers) => model.send(msg, undefined, buffers);
    const setStatus = (text) => {
      localStatus = text;
      status.textContent = text || model.get("status") || "";
    };

    // ---- video source ---------------------------------------------------------------------------------------
    function setSources() {
      const urls = model.get("video_urls") || [];
      const currentUrls = Array.from(video.querySelectorAll("source")).map((s) => s.getAttribute("src"));
      if (JSON.stringify(currentUrls) === JSON.stringify(urls)) return;
      const t = video.currentTime || 0;
      video.replaceChildren();
      for (const u of urls) {
        const s = document.createElement("source");
        s.src = u;
        s.type = model.get("mime") || "video/mp4";
        video.append(s);
      }
      if (urls.length) {
        const last = video.querySelector("source:last-child");
        last.addEventListener("error", () => {
          model.set("error", `The browser could not load the video from ${urls.join(" or ")}. ` +
            "In Voilà, allow-list media files (file_allowlist, see notebooks/voila.json).");
          model.save_changes();
        });
        video.load();
        if (t) video.currentTime = t;
      }
    }

    // ---- timer overlay ----------------------------------------------------------------------------------------
    function showTime(t, exactFrame) {
      const f = fps();
      let frame = "";
      if (f > 0) frame = ` · frame ${exactFrame ? Math.round(t * f) : Math.floor(t * f + 1e-3)}`;
      timer.textContent = `${hms(t)}${frame}`;
      if (!seekBar.matches(":active")) seekBar.value = String(t);
    }
    let rafHandle = null;
    let vfcHandle = null;
    const hasVFC = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
    function onFrame(_now, meta) {
      lastFrameTime = meta.mediaTime;
      showTime(meta.mediaTime, true);
      vfcHandle = video.requestVideoFrameCallback(onFrame);
    }
    function onRaf() {
      showTime(video.currentTime, false);
      rafHandle = video.paused ? null : requestAnimationFrame(onRaf);
    }
    if (hasVFC) vfcHandle = video.requestVideoFrameCallback(onFrame);
    const refreshTimer = () => showTime(video.currentTime, false);
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
      if (!hasVFC && rafHandle === null) rafHandle = requestAnimationFrame(onRaf);
    });
    listen(video, "ratechange", () => { rateLabel.textContent = `${video.playbackRate}×`; refreshTimer(); });
    listen(video, "timeupdate", () => { if (video.paused) refreshTimer(); reportTime(false); });
    listen(video, "loadedmetadata", () => {
      seekBar.max = String(video.duration || model.get("duration") || 0);
      refreshTimer();
    });

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
      const k = Math.floor(video.currentTime * f + 1e-3);
      seekTo((Math.max(0, k + dir) + 0.5) / f);
    };
    const changeRate = (dir) => {
      let i = RATES.indexOf(video.playbackRate);
      if (i < 0) i = RATES.indexOf(1);
      i = Math.max(0, Math.min(RATES.length - 1, i + dir));
      video.playbackRate = RATES[i];
    };
    listen(playBtn, "click", () => { togglePlay(); root.focus(); });
    listen(video, "click", () => { togglePlay(); root.focus(); });
    listen(seekBar, "input", () => seekTo(parseFloat(seekBar.value)));
    listen(seekBar, "change", () => root.focus());
    listen(recBtn, "click", () => { root.focus(); recordKey(); });

    // ---- recording ----------------------------------------------------------------------------------------------
    // Media time at the instant the key went down. The handler runs a little after the event was created (input
    // dispatch, a busy page: often 10-40 ms), so while playing take back the time elapsed since event.timeStamp.
    function mediaTimeAt(e) {
      const t = video.currentTime;
      if (!e || video.paused || video.seeking || !Number.isFinite(e.timeStamp)) return t;
      const lag = (performance.now() - e.timeStamp) / 1000;
      if (!(lag > 0) || lag > 1) return t;
      return Math.max(0, t - lag * video.playbackRate);
    }

    function stampNow(e) {
      const t = mediaTimeAt(e);
      const clientId = `${session}-${++clientSeq}`;
      const stamp = { clientId, t, frame: frameOf(t), wall: Date.now() };
      send({ type: "stamp", t, frame: stamp.frame, wall_ms: stamp.wall, client_id: clientId,
        current_time: video.currentTime, displayed: lastFrameTime, rate: video.playbackRate, paused: video.paused });
      return stamp;
    }

    function showRec(text) {
      rec.textContent = text;
      rec.classList.toggle("on", !!text);
    }

    let recTicker = null;
    async function startRecording(stamp) {
      current = { ...stamp, stopRequested: false };
      recState = "starting";
      showRec("● starting mic…");
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        micBroken = err && err.name === "NotAllowedError"
          ? "The microphone was refused; notes are typed instead (allow the mic in the browser to record)."
          : `No microphone (${err && err.name ? err.name : err}); notes are typed instead.`;
        model.set("mic_state", "unavailable");
        model.save_changes();
        send({ type: "mic", state: "unavailable", message: micBroken });
        showRec("");
        recState = "idle";
        openTyped(current, true);
        return;
      }
      const mime = pickMime();
      let recorder;
      try {
        recorder = mime ? new MediaRecorder(stream, { mimeType: mime }) : new MediaRecorder(stream);
      } catch (err) {
        stream.getTracks().forEach((tr) => tr.stop());
        micBroken = `Recording is not possible here (${err.message}); notes are typed instead.`;
        send({ type: "mic", state: "unavailable", message: micBroken });
        recState = "idle";
        showRec("");
        openTyped(current, true);
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
      recTicker = setInterval(() => {
        showRec(`● REC ${((performance.now() - rc.startWall) / 1000).toFixed(1)} s — ${keyName(model.get("keymap").record || " ")} to stop`);
      }, 100);
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
      if (micBroken) {
        const t = mediaTimeAt(e);
        openTyped({ clientId: null, t, frame: frameOf(t) }, false);
        return;
      }
      startRecording(stampNow(e));
    }

    // ---- typed notes ----------------------------------------------------------------------------------------------
    let typedFor = null;
    function openTyped(stamp, fromStamp) {
      typedFor = { ...stamp, fromStamp };
      recState = "typing";
      typedLabel.textContent = `${hms(stamp.t)} `;
      typedInput.value = "";
      typedBox.classList.add("on");
      if (micBroken) setStatus(micBroken);
      setTimeout(() => typedInput.focus(), 0);
    }
    function closeTyped() {
      typedBox.classList.remove("on");
      typedFor = null;
      recState = "idle";
      root.focus();
    }
    listen(typedBox, "submit", (e) => {
      e.preventDefault();
      if (!typedFor) return;
      const text = typedInput.value;
      if (typedFor.fromStamp) {
        send({ type: "typed", note_id: ids.get(typedFor.clientId) ?? null, client_id: typedFor.clientId, text });
      } else {
        send({ type: "typed", t: typedFor.t, frame: typedFor.frame, text });
      }
      closeTyped();
    });
    listen(typedInput, "keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Escape") {
        e.preventDefault();
        if (typedFor && typedFor.fromStamp) send({ type: "cancel", note_id: ids.get(typedFor.clientId) ?? null, client_id: typedFor.clientId });
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
    listen(root, "keydown", (e) => {
      if (isEditable(e.target)) { e.stopPropagation(); return; }
      const action = actionFor(e);
      if (!action) return;
      e.preventDefault();
      e.stopPropagation();
      if (action === "record") {
        if (e.repeat) return;
        if (model.get("hold_to_talk") && (recState === "recording" || recState === "starting")) return;
        recordKey(e);
        return;
      }
      if (action === "play_pause") togglePlay();
      else if (action === "back") seekTo(video.currentTime - 5);
      else if (action === "forward") seekTo(video.currentTime + 5);
      else if (action === "frame_back") stepFrame(-1);
      else if (action === "frame_forward") stepFrame(1);
      else if (action === "slower") changeRate(-1);
      else if (action === "faster") changeRate(1);
    });
    listen(root, "keyup", (e) => {
      if (isEditable(e.target)) { e.stopPropagation(); return; }
      const action = actionFor(e);
      if (!action) return;
      e.preventDefault();
      e.stopPropagation();
      if (action === "record" && model.get("hold_to_talk")) stopRecording();
    });

    // ---- notes list ----------------------------------------------------------------------------------------------
    function statusBadge(n) {
      const b = el("span", `vidqa-badge vidqa-st-${n.status}`);
      if (BUSY_STATES.has(n.status)) {
        b.append(el("span", "vidqa-spinner"));
        b.append(document.createTextNode(n.status === "recording" ? " recording" : n.status === "pending" ? " pending" : " transcribing"));
      } else if (n.status === "error") {
        b.textContent = "error";
      } else if (n.status === "typed") {
        b.textContent = "typed";
      } else {
        b.textContent = "✓";
      }
      return b;
    }

    function startEdit(n, textEl, row) {
      if (editing !== null) return;
      editing = n.id;
      const box = el("div", "vidqa-edit");
      const input = document.createElement("input");
      input.type = "text";
      input.className = "vidqa-edit-text";
      input.value = n.text || "";
      const tags = document.createElement("input");
      tags.type = "text";
      tags.className = "vidqa-edit-tags";
      tags.placeholder = "tags, comma separated";
      tags.value = (n.tags || []).join(", ");
      box.append(input, tags);
      textEl.replaceWith(box);
      let done = false;
      const finish = (save) => {
        if (done) return;
        done = true;
        editing = null;
        if (save && (input.value !== (n.text || "") || tags.value !== (n.tags || []).join(", "))) {
          send({ type: "edit", note_id: n.id, text: input.value, tags: tags.value });
        }
        renderNotes();
        root.focus();
      };
      const onKey = (e) => {
        e.stopPropagation();
        if (e.key === "Enter") { e.preventDefault(); finish(true); }
        else if (e.key === "Escape") { e.preventDefault(); finish(false); }
      };
      input.addEventListener("keydown", onKey);
      tags.addEventListener("keydown", onKey);
      box.addEventListener("focusout", () => {
        setTimeout(() => { if (!box.contains(document.activeElement)) finish(true); }, 0);
      });
      input.focus();
      row.classList.add("editing");
    }

    function renderNotes() {
      if (editing !== null) { notesDirty = true; return; }
      notesDirty = false;
      const notes = model.get("notes_state") || [];
      notesTitle.textContent = `Notes (${notes.length})`;
      const rows = [];
      for (const n of notes) {
        const row = el("li", "vidqa-note");
        row.dataset.noteId = String(n.id);
        row.dataset.status = n.status;
        const time = el("button", "vidqa-note-time", hms(n.t));
        time.tabIndex = -1;
        time.title = n.frame !== null && n.frame !== undefined ? `frame ${n.frame} — click to seek` : "click to seek";
        const badge = statusBadge(n);
        const text = el("span", "vidqa-note-text", n.text || (n.status === "recording" ? "…" : n.status === "error" ? "" : ""));
        text.title = "Click to edit";
        const tagBox = el("span", "vidqa-tags");
        for (const t of n.tags || []) tagBox.append(el("span", "vidqa-tag", `#${t}`));
        const del = el("button", "vidqa-note-del", "✕");
        del.title = "Delete (undo possible)";
        del.tabIndex = -1;
        row.append(time, badge, text, tagBox);
        if (n.status === "error") {
          const err = el("div", "vidqa-note-error", n.error || "Transcription failed.");
          row.append(err);
          if (n.has_audio) {
            const retry = el("button", "vidqa-btn vidqa-retry", "Retry");
            retry.tabIndex = -1;
            retry.addEventListener("click", (e) => { e.stopPropagation(); send({ type: "retry", note_id: n.id }); root.focus(); });
            row.append(retry);
          }
        }
        row.append(del);
        time.addEventListener("click", (e) => { e.stopPropagation(); seekTo(n.t); root.focus(); });
        text.addEventListener("click", (e) => { e.stopPropagation(); startEdit(n, text, row); });
        del.addEventListener("click", (e) => {
          e.stopPropagation();
          send({ type: "delete", note_id: n.id });
          showToast(`Deleted the note at ${hms(n.t)}.`, n.id);
          root.focus();
        });
        row.addEventListener("click", () => { seekTo(n.t); root.focus(); });
        rows.push(row);
      }
      if (!notes.length) rows.push(el("li", "vidqa-empty", `No notes yet: press ${keyName((model.get("keymap") || {}).record || " ")} while the video plays.`));
      list.replaceChildren(...rows);
    }

    function showToast(text, noteId) {
      clearTimeout(toastTimer);
      toast.replaceChildren(el("span", "", text));
      const undo = el("button", "vidqa-btn vidqa-undo", "Undo");
      undo.tabIndex = -1;
      undo.addEventListener("click", () => {
        send({ type: "undo", note_id: noteId });
        toast.classList.remove("on");
        root.focus();
      });
      toast.append(undo);
      toast.classList.add("on");
      toastTimer = setTimeout(() => toast.classList.remove("on"), 8000);
    }

    // ---- export / summary ---------------------------------------------------------------------------------------
    function renderActions() {
      const fmts = model.get("export_formats") || ["srt", "vtt", "csv", "json", "eaf"];
      const btns = fmts.map((f) => {
        const b = el("button", "vidqa-btn vidqa-export", f.toUpperCase());
        b.tabIndex = -1;
        b.dataset.fmt = f;
        b.title = `Export the notes as ${f.toUpperCase()} (saved next to the database and downloaded)`;
        b.addEventListener("click", () => { send({ type: "export", fmt: f }); root.focus(); });
        return b;
      });
      const sum = el("button", "vidqa-btn vidqa-summarize", "Summarise");
      sum.tabIndex = -1;
      sum.title = "Summarise the notes with Groq (needs GROQ_API_KEY)";
      sum.addEventListener("click", () => { send({ type: "summarize" }); root.focus(); });
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

    // ---- model wiring -----------------------------------------------------------------------------------------
    const onCustom = (msg) => {
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "stamped") {
        if (msg.client_id) ids.set(msg.client_id, msg.note_id);
      } else if (msg.type === "seek") {
        seekTo(Number(msg.t) || 0);
      } else if (msg.type === "download") {
        download(msg);
      }
    };
    const renderError = () => {
      const msg = model.get("error") || "";
      errorText.textContent = msg;
      errorBar.classList.toggle("on", !!msg);
    };
    const renderStatus = () => { status.textContent = model.get("status") || localStatus || ""; };
    const renderBusy = () => { busy.textContent = model.get("busy") || ""; };
    const renderSummary = () => {
      const s = model.get("summary") || "";
      summaryBox.replaceChildren();
      if (s) summaryBox.append(el("div", "vidqa-summary-title", "Summary"), el("div", "vidqa-summary-text", s));
      summaryBox.classList.toggle("on", !!s);
    };
    const renderTitle = () => {
      title.textContent = model.get("title") || "";
    };
    const renderHelp = () => {
      const km = model.get("keymap") || {};
      const parts = Object.keys(ACTION_LABELS).filter((a) => km[a]).map((a) => `${keyName(km[a])}: ${ACTION_LABELS[a]}`);
      if (model.get("hold_to_talk")) parts[0] = `${keyName(km.record || " ")} (hold): record while held`;
      parts.push("click video: play/pause", "click a note: seek", "click its text: edit");
      if (model.get("lookback")) parts.push(`stamps look back ${model.get("lookback")} s`);
      help.textContent = parts.join(" · ");
    };

    const bindings = [
      ["change:video_urls", setSources],
      ["change:notes_state", renderNotes],
      ["change:error", renderError],
      ["change:status", renderStatus],
      ["change:busy", renderBusy],
      ["change:summary", renderSummary],
      ["change:title", renderTitle],
      ["change:keymap", renderHelp],
      ["change:hold_to_talk", renderHelp],
      ["change:lookback", renderHelp],
      ["change:export_formats", renderActions],
      ["msg:custom", onCustom],
    ];
    for (const [ev, fn] of bindings) model.on(ev, fn);
    cleanups.push(() => { for (const [ev, fn] of bindings) model.off(ev, fn); });
    listen(errorClose, "click", () => { model.set("error", ""); model.save_changes(); root.focus(); });

    setSources();
    renderNotes();
    renderError();
    renderStatus();
    renderBusy();
    renderSummary();
    renderTitle();
    renderHelp();
    renderActions();
    showTime(0, false);
    if (micBroken) {
      send({ type: "mic", state: "unavailable", message: `${micBroken} SPACE opens a text field at the stamp instead.` });
    }
    const cfg = pageConfig();
    send({ type: "hello", base_url: cfg.baseUrl || "/", app_url: cfg.appUrl || "", pathname: window.location.pathname });

    return () => {
      for (const fn of cleanups) fn();
      if (vfcHandle !== null && video.cancelVideoFrameCallback) video.cancelVideoFrameCallback(vfcHandle);
      if (rafHandle !== null) cancelAnimationFrame(rafHandle);
      clearInterval(recTicker);
      clearTimeout(toastTimer);
      if (current && current.recorder) { try { current.recorder.stop(); } catch (_e) { /* */ } }
      video.pause();
      video.removeAttribute("src");
      video.replaceChildren();
      video.load();
    };
  },
};
