// The command palette: Ctrl-K / Cmd-K opens it, "?" (outside text fields) lists the shortcuts.
// A combobox over a listbox (aria-activedescendant): the sidebar's pages and boards filtered by
// what is typed, then search results from /api/v1/search/ (tasks, agents, boards). Arrow keys move,
// Enter opens, Escape closes (the <dialog>). Options are built with textContent, never as HTML.
(function () {
  "use strict";

  var palette = document.getElementById("command-palette");
  var input = document.getElementById("palette-input");
  var list = document.getElementById("palette-list");
  var status = document.getElementById("palette-status");
  var shortcuts = document.getElementById("shortcuts-dialog");
  if (!palette || !input || !list || typeof palette.showModal !== "function") {
    return;
  }
  var SEARCH_DELAY_MS = 150;
  var KIND_LABELS = { task: "Task", agent: "Agent", board: "Board" };
  var options = [];
  var active = -1;
  var searchTimer = null;
  var searchTicket = 0;

  function local() {
    var seen = {};
    var found = [];
    document.querySelectorAll("nav.nav a.nav-item, nav.sidebar-boards a.nav-item").forEach(function (link) {
      var label = link.textContent.replace(/\s+/g, " ").trim().replace(/[,:]?\s*(unread|firing)?:?\s*\d*$/i, "");
      var href = link.getAttribute("href");
      if (!href || seen[href]) {
        return;
      }
      seen[href] = true;
      found.push({ label: label, kind: link.closest(".sidebar-boards") ? "Board" : "Page", url: href });
    });
    return found;
  }

  function render(items) {
    options = items;
    list.textContent = "";
    items.forEach(function (item, index) {
      var li = document.createElement("li");
      li.id = "palette-option-" + index;
      li.setAttribute("role", "option");
      li.className = "palette-option";
      li.dataset.url = item.url;
      var label = document.createElement("span");
      label.className = "palette-label";
      label.textContent = item.label;
      var kind = document.createElement("span");
      kind.className = "badge";
      kind.textContent = item.kind;
      li.appendChild(label);
      li.appendChild(kind);
      li.addEventListener("mousedown", function (event) {
        event.preventDefault();
        go(index);
      });
      list.appendChild(li);
    });
    status.textContent = items.length ? items.length + " result" + (items.length === 1 ? "" : "s") : "Nothing found.";
    select(items.length ? 0 : -1);
  }

  function select(index) {
    var previous = document.getElementById("palette-option-" + active);
    if (previous) {
      previous.setAttribute("aria-selected", "false");
    }
    active = index;
    var current = document.getElementById("palette-option-" + index);
    if (current) {
      current.setAttribute("aria-selected", "true");
      current.scrollIntoView({ block: "nearest" });
      input.setAttribute("aria-activedescendant", current.id);
    } else {
      input.setAttribute("aria-activedescendant", "");
    }
  }

  function go(index) {
    var item = options[index];
    if (item) {
      window.location.assign(item.url);
    }
  }

  function matching(text) {
    var wanted = text.toLowerCase();
    return local().filter(function (item) {
      return !wanted || item.label.toLowerCase().indexOf(wanted) !== -1;
    });
  }

  function update() {
    var text = input.value.trim();
    var pages = matching(text);
    render(pages);
    window.clearTimeout(searchTimer);
    if (text.length < 2) {
      return;
    }
    var ticket = ++searchTicket;
    searchTimer = window.setTimeout(function () {
      var query = "?limit=8&kind=task&kind=agent&kind=board&q=" + encodeURIComponent(text);
      fetch("/api/v1/search/" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data || ticket !== searchTicket) {
            return;
          }
          var known = {};
          pages.forEach(function (item) {
            known[item.url] = true;
          });
          var hits = data.results
            .filter(function (hit) {
              return !known[hit.url];
            })
            .map(function (hit) {
              return { label: hit.title, kind: KIND_LABELS[hit.kind] || hit.kind, url: hit.url };
            });
          var keep = active;
          render(pages.concat(hits));
          select(keep >= 0 && keep < options.length ? keep : options.length ? 0 : -1);
        })
        .catch(function () {
          status.textContent = "Search is not reachable; pages are still listed.";
        });
    }, SEARCH_DELAY_MS);
  }

  function open() {
    if (shortcuts && shortcuts.open) {
      shortcuts.close();
    }
    if (!palette.open) {
      input.value = "";
      palette.showModal();
    }
    input.focus();
    update();
  }

  input.addEventListener("input", update);
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (options.length) {
        var step = event.key === "ArrowDown" ? 1 : -1;
        select((active + step + options.length) % options.length);
      }
    } else if (event.key === "Home" && options.length && event.ctrlKey) {
      event.preventDefault();
      select(0);
    } else if (event.key === "Enter") {
      event.preventDefault();
      go(active);
    }
  });
  palette.addEventListener("click", function (event) {
    if (event.target === palette) {
      palette.close(); // a click on the backdrop
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].indexOf(target.tagName) !== -1);
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      open();
    } else if (event.key === "?" && !typing && !event.ctrlKey && !event.metaKey && shortcuts && !palette.open) {
      event.preventDefault();
      shortcuts.showModal();
    }
  });
})();
