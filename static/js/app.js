// Small progressive enhancements; every page works without them. Loaded as a file so the
// Content-Security-Policy needs no inline script.

function enhance(root) {
  // A select marked data-autosubmit sends its form on change: its button is then not needed.
  for (const select of root.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // Buttons that only exist for browsers without scripts (htmx or the above does their job).
  for (const button of root.querySelectorAll("[data-autosubmit-button]")) {
    button.hidden = true;
  }
}

// A form marked data-track-changes tells the server which field changed (so, for instance,
// picking another protocol brings its usual session count) before htmx sends it.
document.addEventListener(
  "change",
  (event) => {
    const form = event.target.form;
    if (form && form.hasAttribute("data-track-changes") && form.elements.changed) {
      form.elements.changed.value = event.target.name;
    }
  },
  true,
);

if (window.htmx) {
  htmx.onLoad(enhance); // the page, and every fragment htmx swaps in
} else {
  document.addEventListener("DOMContentLoaded", () => enhance(document));
}
