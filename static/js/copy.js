// Copy buttons (API token): <button data-copy-target="ID"> copies the value of the
// element with that id (or its text). No inline handlers: the CSP blocks them.
function chorusCopyText(key, fallback) {
  return window.chorusT ? window.chorusT(key, null, fallback) : fallback;
}
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-copy-target]");
  if (!button) { return; }
  var source = document.getElementById(button.getAttribute("data-copy-target"));
  if (!source) { return; }
  var text = source.value !== undefined ? source.value : source.textContent;
  var status = document.getElementById(button.getAttribute("data-copy-target") + "-copied");
  function done(message) { if (status) { status.textContent = message; } }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(
      function () { done(chorusCopyText("copied", "Copied.")); },
      function () { source.select && source.select(); done(chorusCopyText("press_copy", "Press Ctrl+C to copy.")); }
    );
  } else {
    // Plain http (a dev server): select it so the person can copy it themselves.
    if (source.select) { source.select(); }
    done(document.execCommand && document.execCommand("copy")
      ? chorusCopyText("copied", "Copied.") : chorusCopyText("press_copy", "Press Ctrl+C to copy."));
  }
});
// Clicking into the key selects all of it.
document.addEventListener("focusin", function (event) {
  if (event.target && event.target.classList && event.target.classList.contains("token-key")) {
    event.target.select();
  }
});
