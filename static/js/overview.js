// Overview: re-renders the numbers and the fleet when the organization's stream reports a change.
//
// live.js owns the websocket and announces every event as "mc:event" on <body>; this file decides
// which server-rendered fragment an event makes stale and fetches it again, at most once per
// REFRESH_DELAY_MS however many events arrive (no polling: nothing is fetched without an event).
(function () {
  "use strict";

  var REFRESH_DELAY_MS = 700;
  var sections = {
    numbers: document.getElementById("overview-numbers"),
    fleet: document.getElementById("overview-fleet"),
    onboarding: document.getElementById("overview-onboarding"),
  };
  // The events that can check off a step of the first-run checklist (overview/onboarding.py).
  var ONBOARDING_PREFIXES = ["board", "agent", "gateway", "webhook", "invitation", "member"];
  var feed = document.getElementById("activity-feed");
  var boardOnly = feed ? feed.dataset.boardOnly : "";
  var stale = new Set();
  var timer = null;
  var inFlight = {};

  function affected(verb) {
    var prefix = verb.split(".")[0];
    var names = ONBOARDING_PREFIXES.indexOf(prefix) !== -1 ? ["onboarding"] : [];
    return names.concat(affectedFigures(prefix));
  }

  function affectedFigures(prefix) {
    if (prefix === "task" || prefix === "approval") {
      return ["numbers", "fleet"];
    }
    if (prefix === "webhook" || prefix === "delivery") {
      return ["numbers", "fleet"];
    }
    if (prefix === "agent") {
      return ["fleet"];
    }
    return [];
  }

  function refresh(name) {
    var section = sections[name];
    if (!section || !section.dataset.fragmentUrl) {
      return;
    }
    var ticket = (inFlight[name] || 0) + 1;
    inFlight[name] = ticket;
    fetch(section.dataset.fragmentUrl, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        // Only the newest answer may write, so a slow response cannot undo a later one.
        if (html === null || inFlight[name] !== ticket) {
          return;
        }
        section.innerHTML = html;
        if (name === "numbers" && window.MissionCharts) {
          window.MissionCharts.drawAll();
        }
        section.dispatchEvent(new CustomEvent("mc:overview-refreshed", { bubbles: true, detail: { section: name } }));
      })
      .catch(function () {
        // The next event tries again; the page stays as it was.
      });
  }

  function flush() {
    timer = null;
    stale.forEach(refresh);
    stale.clear();
  }

  document.body.addEventListener("mc:event", function (message) {
    var event = message.detail && message.detail.event;
    if (!event || typeof event.verb !== "string") {
      return;
    }
    affected(event.verb).forEach(function (name) {
      if (name !== "onboarding" && boardOnly && event.board_id && String(event.board_id) !== boardOnly) {
        return;
      }
      stale.add(name);
    });
    if (stale.size && timer === null) {
      timer = window.setTimeout(flush, REFRESH_DELAY_MS);
    }
  });
})();
