// Alerts pages. The rule editor shows only the chosen condition's parameters (and sends only
// those); alert events arriving live (live.js dispatches each as "mc:event") refresh the sidebar
// badge. The incident list and timeline are live regions (live.js).
// No inline scripts anywhere: the CSP forbids them.
"use strict";
(function () {
  var select = document.querySelector("[data-condition-select]");
  if (select) {
    var show = function () {
      document.querySelectorAll("fieldset[data-condition]").forEach(function (fieldset) {
        var chosen = fieldset.dataset.condition === select.value;
        fieldset.hidden = !chosen;
        fieldset.disabled = !chosen;
      });
    };
    select.addEventListener("change", show);
    show();
  }

  document.body.addEventListener("mc:event", function (event) {
    var verb = event.detail && event.detail.event && event.detail.event.verb;
    if (typeof verb === "string" && verb.indexOf("alert.") === 0 && verb.indexOf("alert.rule_") !== 0) {
      document.body.dispatchEvent(new CustomEvent("mc:alert"));
    }
  });
})();
