// Alerts pages: the rule editor shows the chosen condition's parameters; the incidents list and
// the header badge refresh when an alert event arrives on the live stream (live.js dispatches
// every event as "mc:event" on <body>). No inline scripts anywhere: the CSP forbids them.
"use strict";
(function () {
  var select = document.querySelector("[data-condition-select]");
  if (select) {
    var show = function () {
      document.querySelectorAll("fieldset[data-condition]").forEach(function (fieldset) {
        var chosen = fieldset.dataset.condition === select.value;
        fieldset.hidden = !chosen;
        // Hidden groups are not sent: only the chosen condition's parameters reach the server.
        fieldset.disabled = !chosen;
      });
    };
    select.addEventListener("change", show);
    show();
  }

  var rows = document.getElementById("incident-rows");
  var pending = null;
  function refreshRows() {
    if (!rows || pending) {
      return;
    }
    pending = fetch(rows.dataset.rowsUrl, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) {
          rows.innerHTML = html;
          if (window.htmx) { window.htmx.process(rows); }
        }
      })
      .catch(function () { /* the next alert event tries again */ })
      .finally(function () { pending = null; });
  }

  document.body.addEventListener("mc:event", function (event) {
    var verb = event.detail && event.detail.verb;
    if (typeof verb === "string" && verb.indexOf("alert.") === 0 && verb.indexOf("alert.rule_") !== 0) {
      refreshRows();
      document.body.dispatchEvent(new CustomEvent("mc:alert"));
    }
  });
})();
