// Task pages: time on task, keyboard shortcuts, ranking (drag and drop + keyboard),
// best-worst scaling, rating helpers. Plain JS on top of htmx; every component is (re)initialised by
// htmx.onLoad, which runs for the first page and for every swapped-in task.
(function () {
  "use strict";
  // Translated sentences (static/js/i18n.js), English when a page has none.
  function t(key, params, fallback) {
    return window.chorusT ? window.chorusT(key, params, fallback) : fallback;
  }

  function isTyping(el) {
    if (!el || el.closest("[data-critique-text]")) return false;
    const tag = el.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable ||
      (tag === "INPUT" && !["radio", "checkbox", "button", "submit", "range"].includes(el.type));
  }

  // --- time on task: measured while the task is on screen, sent with the submit -----
  function startTimer(root) {
    const form = root.querySelector ? root.querySelector("[data-task-form]") : null;
    if (form) form.dataset.startedAt = String(performance.now());
    const lease = root.querySelector ? root.querySelector("[data-lease]") : null;
    const left = lease ? parseInt(lease.dataset.leaseSeconds, 10) : NaN;
    if (lease && left >= 0) {
      // Tell the annotator when the reservation runs out; the server has the last word.
      setTimeout(function () {
        if (!document.body.contains(lease)) return;
        lease.textContent = t("lease_expired", null, "Your time for this task ran out. " +
          "Submit anyway: it is kept if nobody else took the task, otherwise you get the next one.");
        lease.classList.add("notice", "warning");
        lease.setAttribute("role", "status");
      }, left * 1000);
    }
  }
  document.addEventListener("submit", function (e) {
    const form = e.target.closest("[data-task-form]");
    if (!form) return;
    const field = form.querySelector("[data-time-spent]");
    const started = parseFloat(form.dataset.startedAt || "0");
    if (field && started) field.value = String(Math.round(performance.now() - started));
  }, true);
  // htmx reads values after the submit event; keep the freshest elapsed time.
  document.addEventListener("htmx:configRequest", function (e) {
    const form = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("[data-task-form]");
    if (!form) return;
    const started = parseFloat(form.dataset.startedAt || "0");
    if (started) e.detail.parameters.time_spent_ms = String(Math.round(performance.now() - started));
  });
  document.addEventListener("htmx:sendError", function () {
    const box = document.getElementById("net-error");
    if (box) box.hidden = false;
  });
  // Page-level messages belong to the page load; the next task brings its own notices.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "task") {
      document.querySelectorAll("main > .messages").forEach(function (m) { m.remove(); });
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    const box = document.getElementById("net-error");
    if (box && e.detail.successful) box.hidden = true;
  });

  // --- keyboard shortcuts -----------------------------------------------------------
  const handlers = [];  // components register (event) => handled?
  function activate(el) {
    if (el.tagName === "DETAILS") {
      el.open = !el.open;
      if (el.open) {
        const first = el.querySelector("input:not([type=hidden]), textarea, button, a");
        if (first && el.id === "skip") first.focus();
      }
      return;
    }
    if (el.tagName === "SUMMARY") { activate(el.parentElement); return; }
    if (el.type === "radio" || el.type === "checkbox") {
      el.checked = true;
      el.dispatchEvent(new Event("change", { bubbles: true }));
      el.focus();
      return;
    }
    if (el.tagName === "BUTTON") { el.click(); return; }
    el.focus();
  }
  document.addEventListener("keydown", function (e) {
    const task = document.querySelector("#task .task");
    if (!task) return;
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      const form = task.querySelector("[data-task-form]");
      if (form) { e.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (e.key === "Escape" && isTyping(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (isTyping(document.activeElement) || e.ctrlKey || e.metaKey) return;
    for (const h of handlers) { if (h(e, task)) { e.preventDefault(); return; } }
    if (e.altKey) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const target = task.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (target) { e.preventDefault(); activate(target); }
  });

  // --- pairwise: a tie has no strength ---------------------------------------------
  document.addEventListener("change", function (e) {
    if (e.target.name !== "choice") return;
    const box = e.target.form && e.target.form.querySelector("[data-strength]");
    if (!box) return;
    const tie = e.target.value === "tie";
    box.querySelectorAll("input").forEach(function (i) { i.disabled = tie; if (tie) i.checked = false; });
  });

  // --- ranking ----------------------------------------------------------------------
  function renumber(list) {
    // After a drag, ranks follow the on-screen order (ties are set with the selects).
    list.querySelectorAll("[data-rank-select]").forEach(function (s, i) { s.value = String(i + 1); });
  }
  function initRanking(root) {
    root.querySelectorAll("[data-ranking]").forEach(function (list) {
      let dragged = null;
      list.addEventListener("dragstart", function (e) {
        dragged = e.target.closest(".rank-card");
        if (dragged) { dragged.classList.add("dragging"); e.dataTransfer.effectAllowed = "move"; }
      });
      list.addEventListener("dragend", function () {
        if (dragged) dragged.classList.remove("dragging");
        dragged = null;
      });
      list.addEventListener("dragover", function (e) {
        if (!dragged) return;
        e.preventDefault();
        const over = e.target.closest(".rank-card");
        if (!over || over === dragged) return;
        const box = over.getBoundingClientRect();
        const after = e.clientY > box.top + box.height / 2;
        list.insertBefore(dragged, after ? over.nextSibling : over);
      });
      list.addEventListener("drop", function (e) { e.preventDefault(); renumber(list); });
    });
  }
  handlers.push(function (e, task) {
    const card = document.activeElement && document.activeElement.closest(".rank-card");
    const list = task.querySelector("[data-ranking]");
    if (!list) return false;
    const cards = Array.from(list.querySelectorAll(".rank-card"));
    if (e.key === "j" || e.key === "k") {
      const i = card ? cards.indexOf(card) : -1;
      const next = cards[Math.max(0, Math.min(cards.length - 1, i + (e.key === "j" ? 1 : -1)))];
      if (next) next.focus();
      return true;
    }
    if (!card) return false;
    if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
      const i = cards.indexOf(card);
      if (e.key === "ArrowUp" && i > 0) list.insertBefore(card, cards[i - 1]);
      if (e.key === "ArrowDown" && i < cards.length - 1) list.insertBefore(cards[i + 1], card);
      renumber(list);
      card.focus();
      return true;
    }
    const n = parseInt(e.key, 10);
    if (!e.altKey && n >= 1 && n <= cards.length) {
      card.querySelector("[data-rank-select]").value = String(n);
      return true;
    }
    return false;
  });
  document.addEventListener("click", function (e) {
    const button = e.target.closest("[data-rank-in-order]");
    if (!button) return;
    const list = button.closest("form").querySelector("[data-ranking]");
    if (list) renumber(list);
  });

  // --- best-worst scaling: j/k move between responses, b/w mark the focused one ------
  handlers.push(function (e, task) {
    const list = task.querySelector("[data-bws]");
    if (!list || e.altKey) return false;
    const cards = Array.from(list.querySelectorAll("[data-bws-card]"));
    const card = document.activeElement && document.activeElement.closest("[data-bws-card]");
    if (e.key === "j" || e.key === "k") {
      const i = card ? cards.indexOf(card) : -1;
      const next = cards[Math.max(0, Math.min(cards.length - 1, i + (e.key === "j" ? 1 : -1)))];
      if (next) next.focus();
      return true;
    }
    if ((e.key === "b" || e.key === "w") && card) {
      const radio = card.querySelector(e.key === "b" ? "[data-bws-best]" : "[data-bws-worst]");
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      return true;
    }
    return false;
  });
  // One response cannot be both: choosing it as best clears it as worst, and back.
  document.addEventListener("change", function (e) {
    const card = e.target.closest && e.target.closest("[data-bws-card]");
    if (!card || !e.target.checked) return;
    const other = card.querySelector(e.target.name === "best" ? "[data-bws-worst]" : "[data-bws-best]");
    if (other) other.checked = false;
    card.closest("[data-bws]").querySelectorAll("[data-bws-card]").forEach(function (c) {
      c.classList.toggle("is-best", c.querySelector("[data-bws-best]").checked);
      c.classList.toggle("is-worst", c.querySelector("[data-bws-worst]").checked);
    });
  });

  // --- rating: number keys rate the current question, sliders mirror a number box ----
  function groups(task) { return Array.from(task.querySelectorAll("[data-rating-group]")); }
  function answered(g) {
    const n = g.querySelector("[data-slider-number]");
    return n ? n.value !== "" : !!g.querySelector("input:checked");
  }
  function focusGroup(g) {
    if (!g) return;
    const el = g.querySelector("input:checked") || g.querySelector("[data-slider-number]") || g.querySelector("input");
    if (el) el.focus();
  }
  handlers.push(function (e, task) {
    const all = groups(task);
    if (!all.length || e.altKey) return false;
    const current = (document.activeElement && document.activeElement.closest("[data-rating-group]")) ||
      all.find(function (g) { return !answered(g); });
    if (e.key === "j" || e.key === "k") {
      const i = current ? all.indexOf(current) : -1;
      focusGroup(all[Math.max(0, Math.min(all.length - 1, i + (e.key === "j" ? 1 : -1)))]);
      return true;
    }
    const n = parseInt(e.key, 10);
    if (!current || isNaN(n)) return false;
    const radio = current.querySelector('input[type=radio][value="' + n + '"]');
    if (!radio) return false;
    radio.checked = true;
    const i = all.indexOf(current);
    const next = all.slice(i + 1).find(function (g) { return !answered(g); });
    focusGroup(next || current);
    return true;
  });
  document.addEventListener("input", function (e) {
    const g = e.target.closest("[data-slider]");
    if (!g) return;
    const range = g.querySelector("[data-slider-range]");
    const number = g.querySelector("[data-slider-number]");
    if (e.target === range) number.value = range.value;
    else if (number.value !== "") range.value = number.value;
  });

  function focusFirst(root) {
    const el = root.querySelector && root.querySelector("[data-autofocus]");
    if (!el || root === document.body) return;
    // htmx runs this after the swap has settled: a shortcut pressed in between ("e" for
    // the editor, "h" for the text) has already put the focus inside the new task, and
    // taking it back would send the next keys elsewhere.
    const active = document.activeElement;
    if (active && active !== document.body && root.contains(active)) return;
    el.focus({ preventScroll: true });
  }

  function init(root) {
    if (root.querySelectorAll) {
      // Screen readers announce the shortcut of each control.
      root.querySelectorAll("[data-key]").forEach(function (el) {
        el.setAttribute("aria-keyshortcuts", el.dataset.key === "?" ? "Shift+?" : el.dataset.key);
      });
    }
    startTimer(root);
    initRanking(root);
    focusFirst(root);
  }
  if (window.htmx) htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
  window.chorusTasks = { handlers: handlers, isTyping: isTyping };
})();
