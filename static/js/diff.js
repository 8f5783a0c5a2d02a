// Edit task: live word diff of the editor against the original, and the character edit
// distance (the stored distance is computed again on the server; this is for display).
(function () {
  "use strict";
  function t(key, fallback) { return window.chorusT ? window.chorusT(key, null, fallback) : fallback; }
  const MAX_CELLS = 4000000;  // beyond this an O(n*m) table would stall the page

  function tokens(s) { return s.match(/\s+|[^\s]+/g) || []; }

  function wordDiff(a, b) {
    const n = a.length, m = b.length;
    if (n * m > MAX_CELLS) return null;
    const w = m + 1;
    const t = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        t[i * w + j] = a[i] === b[j] ? t[(i + 1) * w + j + 1] + 1
          : Math.max(t[(i + 1) * w + j], t[i * w + j + 1]);
      }
    }
    const out = [];
    let i = 0, j = 0;
    function push(op, s) {
      const last = out[out.length - 1];
      if (last && last[0] === op) last[1] += s; else out.push([op, s]);
    }
    while (i < n && j < m) {
      if (a[i] === b[j]) { push("equal", a[i]); i++; j++; }
      else if (t[(i + 1) * w + j] >= t[i * w + j + 1]) { push("delete", a[i]); i++; }
      else { push("insert", b[j]); j++; }
    }
    while (i < n) push("delete", a[i++]);
    while (j < m) push("insert", b[j++]);
    return out;
  }

  function levenshtein(a, b) {
    const x = Array.from(a), y = Array.from(b);  // code points, as Python counts them
    if (x.length * y.length > MAX_CELLS) return null;
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
    const ops = wordDiff(tokens(original), tokens(edited));
    pane.textContent = "";
    if (ops === null) {
      pane.textContent = t("diff_too_long", "The text is too long for a live diff; your edit is still saved.");
    } else {
      for (const [op, s] of ops) {
        const el = document.createElement(op === "insert" ? "ins" : op === "delete" ? "del" : "span");
        el.textContent = s;  // text, never HTML
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
