// Critique task: select text in the response and tag it with a category. Spans are
// sent as [{start, end, category}] with offsets in Python characters (code points) of
// the stored response text, which the server checks again.
(function () {
  "use strict";
  function t(key, params, fallback) {
    return window.chorusT ? window.chorusT(key, params, fallback) : fallback;
  }

  // The DOM text differs from the stored text: HTML parsing turns "\r\n" into "\n" and
  // JS counts UTF-16 units. Map a DOM offset to an offset in the stored string.
  function domToStored(original, domOffset) {
    let dom = 0, stored = 0;
    const chars = Array.from(original);
    for (let k = 0; k < chars.length && dom < domOffset; k++) {
      const c = chars[k];
      if (c === "\r" && chars[k + 1] === "\n") { stored++; continue; }
      dom += c.length;
      stored++;
    }
    return stored;
  }
  function storedToDom(original, storedOffset) {
    const chars = Array.from(original);
    let dom = 0;
    for (let k = 0; k < Math.min(storedOffset, chars.length); k++) {
      if (chars[k] === "\r" && chars[k + 1] === "\n") continue;
      dom += chars[k].length;
    }
    return dom;
  }

  function offsetIn(container, node, offset) {
    // Characters of container's text before (node, offset).
    const range = document.createRange();
    range.selectNodeContents(container);
    range.setEnd(node, offset);
    return range.toString().length;
  }

  function setup(box) {
    const form = box.closest("form");
    const text = box;
    const hidden = form.querySelector("[data-spans]");
    const list = form.querySelector("[data-span-list]");
    const original = JSON.parse(document.getElementById("original-text").textContent);
    let spans = [];
    try { spans = JSON.parse(hidden.value || "[]"); } catch (err) { spans = []; }
    if (!Array.isArray(spans)) spans = [];

    // The text's marks, rebuilt from the spans. Not touched while it shows none and
    // should show none: setup runs once htmx has settled, and a keyboard user may
    // already be selecting (h, Ctrl+Home, Shift+arrows); new text nodes would drop the
    // selection made so far (a browser test lost its first character that way).
    function paint() {
      if (!spans.length && !text.querySelector("mark")) return;
      const plain = text.textContent;
      const marks = spans.map(function (s, i) {
        return { a: storedToDom(original, s.start), b: storedToDom(original, s.end), i: i, c: s.category };
      }).sort(function (x, y) { return x.a - y.a; });
      text.textContent = "";
      let pos = 0;
      for (const m of marks) {
        const a = Math.max(m.a, pos);
        if (a > pos) text.appendChild(document.createTextNode(plain.slice(pos, a)));
        if (m.b > a) {
          const mark = document.createElement("mark");
          mark.dataset.cat = m.c;
          mark.title = m.c;
          mark.textContent = plain.slice(a, m.b);
          text.appendChild(mark);
        }
        pos = Math.max(pos, m.b);
      }
      if (pos < plain.length) text.appendChild(document.createTextNode(plain.slice(pos)));
    }

    function redraw() {
      hidden.value = JSON.stringify(spans.map(function (s) {
        return { start: s.start, end: s.end, category: s.category };
      }));
      paint();
      list.textContent = "";
      spans.forEach(function (s, i) {
        const li = document.createElement("li");
        const label = document.createElement("span");
        label.textContent = s.category + ": “" + Array.from(original).slice(s.start, s.end).join("") + "”";
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = t("remove", null, "Remove");
        remove.setAttribute("aria-label", t("remove_highlight", { n: i + 1 }, "Remove highlight " + (i + 1)));
        remove.addEventListener("click", function () { spans.splice(i, 1); redraw(); });
        li.append(label, " ", remove);
        list.appendChild(li);
      });
    }

    function markSelection(category) {
      const sel = window.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return false;
      const r = sel.getRangeAt(0);
      if (!text.contains(r.startContainer) || !text.contains(r.endContainer)) return false;
      const a = domToStored(original, offsetIn(text, r.startContainer, r.startOffset));
      const b = domToStored(original, offsetIn(text, r.endContainer, r.endOffset));
      if (b <= a) return false;
      spans.push({ start: a, end: b, category: category });
      sel.removeAllRanges();
      redraw();
      return true;
    }

    // Editable only so the keyboard can select (caret + Shift+arrows); text never changes.
    text.addEventListener("beforeinput", function (e) { e.preventDefault(); });
    text.addEventListener("paste", function (e) { e.preventDefault(); });
    text.addEventListener("drop", function (e) { e.preventDefault(); });
    form.querySelectorAll("[data-category]").forEach(function (button) {
      // mousedown would move focus and could drop the selection: keep it.
      button.addEventListener("mousedown", function (e) { e.preventDefault(); });
      button.addEventListener("click", function () { markSelection(button.dataset.category); });
    });
    form.querySelector("[data-span-undo]").addEventListener("click", function () {
      spans.pop();
      redraw();
    });
    box._chorusMark = function (key) {
      const button = form.querySelector('[data-category-key="' + key + '"]');
      return button ? markSelection(button.dataset.category) : false;
    };
    redraw();
  }

  if (window.chorusTasks) {
    window.chorusTasks.handlers.push(function (e, task) {
      const box = task.querySelector("[data-critique-text]");
      if (!box || e.altKey || !/^[1-9]$/.test(e.key)) return false;
      return box._chorusMark ? box._chorusMark(e.key) || true : false;
    });
  }
  function init(root) {
    const box = root.querySelector && root.querySelector("[data-critique-text]");
    if (box) setup(box);
  }
  if (window.htmx) htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
