// Small DOM and time helpers shared by vidqa's widgets (player.js, review.js). Self-contained: vidqa inlines it
// into each widget's one ES module (vidqa.widgets.assets.inline_modules). Text is always set with textContent.

function pad(n, w) { return String(n).padStart(w, "0"); }

// hh:mm:ss.mmm of a media time in seconds (negative or unknown times read as 0)
export function hms(t) {
  if (!Number.isFinite(t) || t < 0) t = 0;
  const ms = Math.round(t * 1000);
  return `${pad(Math.floor(ms / 3600000), 2)}:${pad(Math.floor((ms % 3600000) / 60000), 2)}:` +
    `${pad(Math.floor((ms % 60000) / 1000), 2)}.${pad(ms % 1000, 3)}`;
}

// How a key is named in the widgets' help lines
export function keyName(k) {
  if (k === " ") return "Space";
  return k.length === 1 ? k.toUpperCase() : k;
}

// An element with a class and text (never HTML)
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// The Jupyter server's page config (base URL, server root ...), or {} outside Jupyter
export function pageConfig() {
  try {
    const node = document.getElementById("jupyter-config-data");
    return node ? JSON.parse(node.textContent || "{}") : {};
  } catch (_e) {
    return {};
  }
}

// A place where keys type text (a widget's own keys must not fire there). A range slider is not one.
export function isEditable(target) {
  if (!target || target.nodeType !== 1) return false;
  const tag = target.tagName;
  if (tag === "INPUT") return (target.type || "text") !== "range";
  return tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

// Point a <video> at `urls` (one <source> each, tried in order); false when it already has exactly those. When the
// last source fails too (no URL played), `onError` gets a message for the user.
export function setVideoSources(video, urls, mime, onError) {
  const current = Array.from(video.querySelectorAll("source")).map((s) => s.getAttribute("src"));
  if (JSON.stringify(current) === JSON.stringify(urls)) return false;
  video.pause();
  video.replaceChildren();
  for (const u of urls) {
    const s = document.createElement("source");
    s.src = u;
    s.type = mime || "video/mp4";
    video.append(s);
  }
  if (urls.length) {
    video.querySelector("source:last-child").addEventListener("error", () => {
      onError(`The browser could not load the video from ${urls.join(" or ")}. ` +
        "In Voilà, allow-list media files (file_allowlist, see notebooks/voila.json).");
    });
    video.load();
  }
  return true;
}
