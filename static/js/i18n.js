// The sentences scripts write into the page, in the page's language. The server puts
// them in <script type="application/json" id="chorus-i18n"> (data, so the CSP allows
// it); chorusT("key", {n: 2}) returns one with its %(name)s placeholders filled, or the
// English fallback given when a page has no catalog.
(function () {
  "use strict";
  let catalog = null;
  function load() {
    if (catalog === null) {
      const el = document.getElementById("chorus-i18n");
      try { catalog = el ? JSON.parse(el.textContent) : {}; } catch (err) { catalog = {}; }
    }
    return catalog;
  }
  window.chorusT = function (key, params, fallback) {
    let text = load()[key];
    if (typeof text !== "string") text = fallback || key;
    return text.replace(/%\((\w+)\)s/g, function (m, name) {
      return params && name in params ? String(params[name]) : m;
    });
  };
})();
