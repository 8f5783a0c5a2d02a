// Edit task: live word diff of the editor against the original, and the character edit
// distance (the stored distance is computed again on the server; this is for display).
// The diff is jsdiff's (static/vendor/jsdiff, loaded before this file): Myers' algorithm,
// O((N+M)D) time and linear memory, so a long text with a small edit is instant. A
// rewrite so large that it would take longer than DIFF_TIMEOUT_MS is reported instead.
(function () {
  "use strict";
  function t(key, fallback) { return window.chorusT ? window.chorusT(key, null, fallback) : fallback; }
  const DIFF_TIMEOUT_MS = 300;
  // The distance keeps two rows of memory; its time grows with length x length.
  const MAX_DISTANCE_CELLS = 25000000;

  function wordDiff(a, b) {
    // Words and the whitespace between them are tokens, so a changed line break shows.
    // undefined: jsdiff gave up at the timeout.
    return window.Diff.diffWordsWithSpace(a, b, { timeout: DIFF_TIMEOUT_MS });
  }

  function levenshtein(a, b) {
    const x = Array.from(a), y = Array.from(b);  // code points, as Python counts them
    if (x.length * y.length > MAX_DISTANCE_CELLS) return null;
    let prev = new Uint32Array(y.length + 1), cur = new Uint32Array(y.length + 1);
    for (let j = 0; j <= y.length; j++) prev[j] = j;
    for (let i = 1; i <= x.length; i++) {
      cur[0] = i;
      for (let j = 1; j <= y.length; j++) {
        cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      }
      [prev, cur] = [cur, prev];
    }
    return prev[y.length];
  }

  function render(box) {
    const original = JSON.parse(document.getElementById("original-text").textContent);
    const editor = box.querySelector("[data-editor]");
    const pane = box.querySelector("[data-diff]");
    const dist = box.querySelector("[data-edit-distance]");
    const edited = editor.value.replace(/\r\n/g, "\n");
    const parts = wordDiff(original, edited);
    pane.textContent = "";
    if (parts === undefined) {
      pane.textContent = t("diff_too_long", "The text is too long for a live diff; your edit is still saved.");
    } else {
      for (const part of parts) {
        const el = document.createElement(part.added ? "ins" : part.removed ? "del" : "span");
        el.textContent = part.value;  // text, never HTML
        pane.appendChild(el);
      }
    }
    const d = levenshtein(original, edited);
    dist.textContent = d === null ? t("distance_later", "(computed when saved)") : String(d);
  }

  function init(root) {
    const box = root.querySelector && root.querySelector("[data-edit]");
    if (!box) return;
    const editor = box.querySelector("[data-editor]");
    let timer = 0;
    editor.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { render(box); }, 120);
    });
    box.querySelector("[data-edit-reset]").addEventListener("click", function () {
      editor.value = JSON.parse(document.getElementById("original-text").textContent);
      render(box);
      editor.focus();
    });
    render(box);
  }
  if (window.htmx) htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
