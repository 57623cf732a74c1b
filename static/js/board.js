// Kanban behaviour: drag a card to another column (or another place in its column) and the move is
// posted through htmx; the server re-renders the columns. Keyboard users open a card's menu (a
// <details> of plain submit buttons that works without this file) and keep focus on the card
// after the columns re-render. No inline scripts: the CSP forbids them.
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

  // The columns are replaced after a move: put focus back on the moved card, not on <body>.
  // The task id rides on the move's own request: any other htmx request on the page (a count,
  // a panel) in between must neither clear it nor settle it first.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest(".move-form");
    var card = form && form.closest("[data-task-id]");
    if (card && event.detail.xhr) {
      event.detail.xhr.mcMovedTaskId = card.dataset.taskId;
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var movedTaskId = event.detail.xhr ? event.detail.xhr.mcMovedTaskId : undefined;
    if (!movedTaskId) {
      return;
    }
    var card = document.getElementById("task-" + movedTaskId);
    var link = card && card.querySelector("[data-card-link]");
    if (link) {
      link.focus();
    }
  });

  // Escape closes an open card menu and returns focus to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var menu = event.target.closest && event.target.closest("details.card-menu[open]");
    if (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    }
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
