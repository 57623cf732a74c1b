// Kanban behaviour: drag a card to another column (or another place in its column) and the move is
// posted through htmx; the server re-renders the columns. Keyboard users have the "Move to" select
// on each card, a plain form that works without this file. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  var HEX = /^#[0-9a-fA-F]{6}$/;

  function paintTags(root) {
    // Tag colours come from data attributes; CSSOM writes are allowed where inline styles are not.
    (root || document).querySelectorAll("[data-color]").forEach(function (el) {
      if (HEX.test(el.dataset.color)) {
        el.style.setProperty("--tag-color", el.dataset.color);
      }
    });
  }

  var dragged = null;

  function columnOf(el) {
    return el && el.closest ? el.closest(".cards") : null;
  }

  function dropIndex(list, y) {
    var cards = Array.prototype.filter.call(list.querySelectorAll(":scope > .task-card"), function (c) {
      return c !== dragged;
    });
    for (var i = 0; i < cards.length; i += 1) {
      var box = cards[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) {
        return i;
      }
    }
    return cards.length;
  }

  function clearTargets() {
    document.querySelectorAll(".cards.drop-target").forEach(function (el) {
      el.classList.remove("drop-target");
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest('.task-card[draggable="true"]');
    if (!card) {
      return;
    }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.taskId);
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    var list = columnOf(event.target);
    if (!dragged || !list) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!list.classList.contains("drop-target")) {
      clearTargets();
      list.classList.add("drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var list = columnOf(event.target);
    if (!dragged || !list) {
      return;
    }
    event.preventDefault();
    var card = dragged;
    var form = card.querySelector(".move-form");
    var status = list.dataset.status;
    var position = dropIndex(list, event.clientY);
    clearTargets();
    if (!form || !window.htmx) {
      return;
    }
    // Show the card where it was dropped at once; the server's answer replaces the columns.
    var siblings = Array.prototype.filter.call(list.querySelectorAll(":scope > .task-card"), function (c) {
      return c !== card;
    });
    list.insertBefore(card, siblings[position] || null);
    card.dataset.status = status;
    window.htmx.ajax("POST", form.getAttribute("action"), {
      source: card,
      target: "#board-columns",
      swap: "outerHTML",
      values: { status: status, position: String(position) },
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    paintTags(document);
  });
  document.body.addEventListener("htmx:load", function (event) {
    paintTags(event.detail.elt);
  });
  document.body.addEventListener("mc:card-updated", function (event) {
    if (event.detail && event.detail.card) {
      paintTags(event.detail.card);
    }
  });
})();
