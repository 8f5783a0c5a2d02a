// Profile survey: show each slider's value, and the self-describe box only when chosen.
(function () {
  "use strict";
  // Writes only what changed: sync runs on every input and change (a blur sends one),
  // and a write forces a relayout that moves the page under a click in progress.
  function sync() {
    document.querySelectorAll("[data-output-for]").forEach(function (out) {
      const input = document.getElementById(out.dataset.outputFor);
      if (input && out.textContent !== input.value) out.textContent = input.value;
    });
    document.querySelectorAll("[data-describe-for]").forEach(function (row) {
      const select = document.getElementById(row.dataset.describeFor);
      const hidden = !!select && select.value !== "self_describe";
      if (select && row.hidden !== hidden) row.hidden = hidden;
    });
  }
  document.addEventListener("input", sync);
  document.addEventListener("change", sync);
  document.addEventListener("DOMContentLoaded", sync);
})();
