// Applies the saved light/dark choice before the first paint (loaded without defer in <head>).
// No saved choice: no data-theme attribute, and the stylesheet follows prefers-color-scheme.
(function () {
  "use strict";
  try {
    var saved = window.localStorage.getItem("mc-theme");
    if (saved === "light" || saved === "dark") {
      document.documentElement.dataset.theme = saved;
    }
  } catch (err) {
    // Storage blocked (private mode, policy): the system theme applies.
  }
})();
