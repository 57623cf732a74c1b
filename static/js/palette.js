// The command palette: Ctrl-K / Cmd-K opens it, "?" (outside text fields) lists the shortcuts.
// A combobox over a listbox (aria-activedescendant): the sidebar's pages and boards filtered by
// what is typed, then search results from /api/v1/search/ (tasks, agents, boards). Arrow keys move,
// Enter opens, Escape closes (the <dialog>). Options are built with textContent, never as HTML.
// Actions (new task, assign, move, wake agent, create webhook) are listed after the pages when the
// person may run them (/overview/palette/, read on first open); choosing one walks its steps in
// the same box (Backspace on an empty box goes back one) and ends in a POST to the page's own
// endpoint, so the same service, role check and toast apply as on the page.
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
  var ROOT_PLACEHOLDER = input.getAttribute("placeholder");
  var stepLabel = document.getElementById("palette-step");
  var form = document.getElementById("palette-form");
  var options = [];
  var active = -1;
  var searchTimer = null;
  var searchTicket = 0;
  var choices = null; // /overview/palette/, read once on first open
  var flow = null; // the action being run: {action, step, values}
  var TASK_URL = /^\/boards\/(\d+)\/tasks\/(\d+)\/$/;

  function loadChoices() {
    if (choices || !palette.dataset.actionsUrl) {
      return;
    }
    choices = { actions: [], boards: [], statuses: [], assignees: [], gateway_agents: [] };
    fetch(palette.dataset.actionsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          choices = data;
          if (palette.open && !flow) {
            update();
          }
        }
      })
      .catch(function () {});
  }

  function boardById(id) {
    return choices.boards.filter(function (board) {
      return board.id === id;
    })[0];
  }

  // Each action: its steps, then where the form goes and what it carries.
  var FLOWS = {
    "new-task": {
      steps: [
        { name: "board", prompt: "On which board?", items: function () { return choices.boards; } },
        { name: "title", prompt: "Title of the new task", text: true },
      ],
      submit: function (v) {
        return { url: v.board.new_task_url, fields: { title: v.title, priority: "medium" } };
      },
    },
    assign: {
      steps: [
        { name: "task", prompt: "Which task? Type to search", tasks: true },
        {
          name: "assignee",
          prompt: "Assign to whom?",
          items: function (v) {
            return choices.assignees.filter(function (item) {
              return item.organization === null || item.organization === v.task.organization;
            });
          },
        },
      ],
      submit: function (v) {
        return { url: v.task.url + "assign/", fields: { assignee: v.assignee.value } };
      },
    },
    move: {
      steps: [
        { name: "task", prompt: "Which task? Type to search", tasks: true },
        { name: "status", prompt: "Move it to…", items: function () { return choices.statuses; } },
      ],
      submit: function (v) {
        return { url: v.task.url + "move/", fields: { status: v.status.value, next: "task" } };
      },
    },
    wake: {
      steps: [{ name: "agent", prompt: "Wake which agent?", items: function () { return choices.gateway_agents; } }],
      submit: function (v) {
        var key = window.crypto && window.crypto.randomUUID ? window.crypto.randomUUID() : String(Date.now());
        return { url: v.agent.wake_url, fields: { idempotency_key: key } };
      },
    },
    "create-webhook": {
      steps: [
        {
          name: "board",
          prompt: "A webhook into which board?",
          items: function () {
            return choices.boards.filter(function (board) {
              return board.webhook_url;
            });
          },
        },
        { name: "description", prompt: "What sends to it? (e.g. GitHub)", text: true },
      ],
      submit: function (v) {
        return { url: v.board.webhook_url, fields: { description: v.description } };
      },
    },
  };

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
      li.appendChild(label);
      if (item.kind) {
        var kind = document.createElement("span");
        kind.className = "badge";
        kind.textContent = item.kind;
        li.appendChild(kind);
      }
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
    if (flow) {
      choose(item);
    } else if (item && item.action) {
      start(item.action);
    } else if (item) {
      window.location.assign(item.url);
    }
  }

  function filtered(items, text) {
    var wanted = text.toLowerCase();
    return items.filter(function (item) {
      return !wanted || item.label.toLowerCase().indexOf(wanted) !== -1;
    });
  }

  function matching(text) {
    var actions = choices
      ? choices.actions.map(function (action) {
          return { label: action.label + "…", kind: "Action", action: action.id };
        })
      : [];
    return filtered(local(), text).concat(filtered(actions, text));
  }

  function showStep() {
    var step = FLOWS[flow.action].steps[flow.step];
    input.value = "";
    input.setAttribute("placeholder", step.prompt);
    stepLabel.textContent = flow.title + " › " + step.prompt;
    stepLabel.hidden = false;
    update();
  }

  function start(action) {
    var label = choices.actions.filter(function (a) {
      return a.id === action;
    })[0];
    flow = { action: action, title: label ? label.label : action, step: 0, values: {} };
    showStep();
  }

  function reset() {
    flow = null;
    input.setAttribute("placeholder", ROOT_PLACEHOLDER);
    stepLabel.textContent = "";
    stepLabel.hidden = true;
  }

  function back() {
    if (flow.step === 0) {
      reset();
      input.value = "";
      update();
    } else {
      flow.step -= 1;
      showStep();
    }
  }

  function choose(item) {
    var definition = FLOWS[flow.action];
    var step = definition.steps[flow.step];
    if (step.text) {
      var text = input.value.trim();
      if (!text) {
        status.textContent = "Type something first; Backspace goes back.";
        return;
      }
      flow.values[step.name] = text;
    } else if (item) {
      flow.values[step.name] = item;
    } else {
      return;
    }
    if (flow.step + 1 < definition.steps.length) {
      flow.step += 1;
      showStep();
    } else {
      submit(definition.submit(flow.values));
    }
  }

  // A real form POST to the page's endpoint: its CSRF check, its service, its toast.
  function submit(request) {
    Array.prototype.slice.call(form.querySelectorAll("input[data-field]")).forEach(function (field) {
      field.remove();
    });
    Object.keys(request.fields).forEach(function (name) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = name;
      field.value = request.fields[name];
      field.dataset.field = "";
      form.appendChild(field);
    });
    form.setAttribute("action", request.url);
    status.textContent = "Working…";
    form.submit();
  }

  function searchTasks(text) {
    window.clearTimeout(searchTimer);
    if (text.length < 2) {
      render([]);
      status.textContent = "Type two letters or more of the task's title.";
      return;
    }
    var ticket = ++searchTicket;
    searchTimer = window.setTimeout(function () {
      fetch("/api/v1/search/?limit=8&kind=task&q=" + encodeURIComponent(text), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data || ticket !== searchTicket || !flow) {
            return;
          }
          var tasks = [];
          data.results.forEach(function (hit) {
            var parts = TASK_URL.exec(hit.url || "");
            var board = parts && boardById(Number(parts[1]));
            if (board) { // a board the person may change
              tasks.push({ label: hit.title, kind: board.label, url: hit.url, organization: board.organization });
            }
          });
          render(tasks);
        })
        .catch(function () {
          status.textContent = "Search is not reachable.";
        });
    }, SEARCH_DELAY_MS);
  }

  function updateStep(text) {
    var step = FLOWS[flow.action].steps[flow.step];
    if (step.text) {
      render([]);
      status.textContent = text ? "Enter to " + (flow.step + 1 === FLOWS[flow.action].steps.length ? "create" : "continue") + "; Backspace on an empty box goes back." : step.prompt;
    } else if (step.tasks) {
      searchTasks(text);
    } else {
      render(filtered(step.items(flow.values), text));
    }
  }

  function update() {
    var text = input.value.trim();
    if (flow) {
      updateStep(text);
      return;
    }
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
      reset();
      input.value = "";
      palette.showModal();
    }
    loadChoices();
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
    } else if (event.key === "Backspace" && flow && !input.value) {
      event.preventDefault();
      back();
    }
  });
  palette.addEventListener("close", reset);
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
