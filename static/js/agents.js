// Agents pages: the one-time token dialog, copy buttons and confirmations. No inline script (CSP).
"use strict";
(function () {
  function openTokenDialogs(root) {
    root.querySelectorAll("dialog[data-show-modal]").forEach(function (dialog) {
      if (dialog.dataset.shown) { return; }
      dialog.dataset.shown = "1";
      // Rendered `open` so it shows without JavaScript; reopen as a modal when we can.
      if (typeof dialog.showModal === "function") {
        // close() would queue a "close" event (and remove the dialog); dropping the attribute does not.
        dialog.removeAttribute("open");
        dialog.showModal();
      }
      var input = dialog.querySelector(".token-value");
      if (input) { input.focus(); input.select(); }
      // Once closed, the token leaves the page: nothing to find later in the DOM.
      dialog.addEventListener("close", function () { dialog.remove(); });
    });
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy-from]");
    if (copy) {
      var source = document.querySelector(copy.dataset.copyFrom);
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.value).then(function () { copy.textContent = "Copied"; },
          function () { source.select(); });
      } else if (source) {
        source.select();
      }
      return;
    }
    var confirmer = event.target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { openTokenDialogs(document); });
  document.addEventListener("htmx:load", function (event) { openTokenDialogs(event.target); });
})();
