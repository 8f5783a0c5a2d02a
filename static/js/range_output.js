// Show a range slider's value in the <output> right after it (issue 8: replaces inline
// oninput handlers, which the Content-Security-Policy blocks). Delegated on the document,
// so sliders swapped in later by htmx work too.
document.addEventListener("input", function (event) {
  var el = event.target;
  if (el && el.matches && el.matches("input[type=range][data-range-output]")) {
    var out = el.nextElementSibling;
    if (out && out.tagName === "OUTPUT") { out.value = el.value; }
  }
});
