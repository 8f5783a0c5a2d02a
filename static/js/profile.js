// Profile survey: show each slider's value, and the self-describe box only when chosen.
(function () {
  "use strict";
  function sync() {
    document.querySelectorAll("[data-output-for]").forEach(function (out) {
      const input = document.getElementById(out.dataset.outputFor);
      if (input) out.textContent = input.value;
    });
    document.querySelectorAll("[data-describe-for]").forEach(function (row) {
      const select = document.getElementById(row.dataset.describeFor);
      if (select) row.hidden = select.value !== "self_describe";
    });
  }
  document.addEventListener("input", sync);
  document.addEventListener("change", sync);
  document.addEventListener("DOMContentLoaded", sync);
})();
