// Board chat and task threads: loads the panel, scrolls back through history, posts, edits,
// deletes and pins with fetch, follows the board stream (live.js re-dispatches each event as
// "mc:event" on <body>), and completes @mentions from the keyboard.
// Markup always comes from the server's partials; text from the network is set with
// textContent only. No inline scripts: the CSP forbids them. A posted or edited message arrives
// whole in its event (detail.message: the service's wire shape, with the server-sanitised
// body_html) and is built from the panel's <template>, so no client fetches anything per message;
// only events without it (older replays, deletes, pins) fetch the message's fragment.
(function () {
  "use strict";

  var CHAT_VERBS = {
    "chat.message_posted": true, "chat.message_edited": true, "chat.message_deleted": true,
    "chat.message_pinned": true, "chat.message_unpinned": true
  };

  function csrfToken(root) {
    var input = root.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) {
      return input.value;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function fragmentNodes(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return Array.prototype.slice.call(template.content.children);
  }

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } }).then(function (r) {
      return r.ok ? r.text() : null;
    });
  }

  function Chat(container, chat) {
    this.container = container;
    this.chat = chat;
    this.list = chat.querySelector(".chat-messages");
    this.boardId = chat.dataset.boardId;
    this.taskId = chat.dataset.taskId || "";
    this.loadingOlder = false;
    this.bindHistory();
    this.bindForms(chat);
    this.bindComposer();
    this.scrollToEnd();
  }

  // The viewer's controls on a pushed message: the same rule as chat.views._decorate (the
  // services check again on every write).
  Chat.prototype.build = function (wire) {
    var template = this.chat.querySelector("template.chat-message-template");
    if (!template) {
      return null;
    }
    var node = template.content.firstElementChild.cloneNode(true);
    var id = String(wire.id);
    node.id = "chat-message-" + id;
    node.dataset.messageId = id;
    node.classList.toggle("pinned", !!wire.pinned);
    node.querySelector(".chat-author").textContent = wire.author_label;
    node.querySelector(".chat-agent-badge").hidden = !wire.author_agent_id;
    var time = node.querySelector("time");
    time.setAttribute("datetime", wire.created_at);
    time.textContent = wire.created_label;
    node.querySelector(".chat-edited").hidden = !wire.edited;
    node.querySelector(".chat-pinned-badge").hidden = !wire.pinned;
    // Sanitised on the server (boards.markdown, the same renderer as the fragment's).
    node.querySelector(".chat-body").innerHTML = wire.body_html;
    var data = this.chat.dataset;
    var own = data.viewerId && String(wire.author_user_id) === data.viewerId;
    var canChange = data.canPost === "true" && (own || data.moderator === "true");
    var canPin = data.canPost === "true" && !wire.task_id;
    var base = this.messageUrl(id);
    var edit = node.querySelector(".chat-edit");
    var remove = node.querySelector(".chat-delete");
    var pin = node.querySelector(".chat-pin");
    if (canChange) {
      var area = edit.querySelector("textarea");
      area.id = "chat-edit-" + id;
      area.value = wire.body;
      edit.querySelector("label").setAttribute("for", area.id);
      edit.querySelector("form").setAttribute("action", base + "edit/");
      remove.setAttribute("action", base + "delete/");
    } else {
      edit.remove();
      remove.remove();
    }
    if (canPin) {
      pin.setAttribute("action", base + "pin/");
      pin.querySelector("input[name=pinned]").value = wire.pinned ? "0" : "1";
      pin.querySelector("button").textContent = wire.pinned ? "Unpin" : "Pin to memory";
    } else {
      pin.remove();
    }
    if (!canChange && !canPin) {
      node.querySelector(".chat-actions").remove();
    }
    return node;
  };

  Chat.prototype.messageUrl = function (id) {
    return "/boards/" + this.boardId + "/chat/" + encodeURIComponent(id) + "/";
  };

  Chat.prototype.nearEnd = function () {
    var list = this.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  };

  Chat.prototype.scrollToEnd = function () {
    this.list.scrollTop = this.list.scrollHeight;
  };

  // --- history: infinite scroll back ---------------------------------------------------------

  Chat.prototype.bindHistory = function () {
    var self = this;
    if ("IntersectionObserver" in window) {
      this.observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            self.loadOlder(entry.target);
          }
        });
      }, { root: this.list, rootMargin: "120px 0px 0px 0px" });
    }
    this.list.addEventListener("click", function (event) {
      var link = event.target.closest(".chat-load-older");
      if (link) {
        event.preventDefault();
        self.loadOlder(link.closest(".chat-history-sentinel"));
      }
    });
    this.watchSentinel();
  };

  Chat.prototype.watchSentinel = function () {
    var sentinel = this.list.querySelector(".chat-history-sentinel");
    if (sentinel && this.observer) {
      this.observer.observe(sentinel);
    }
  };

  Chat.prototype.loadOlder = function (sentinel) {
    if (!sentinel || this.loadingOlder) {
      return;
    }
    var self = this;
    this.loadingOlder = true;
    var url = this.chat.dataset.historyUrl + "?before=" + encodeURIComponent(sentinel.dataset.before) +
      (this.taskId ? "&task=" + encodeURIComponent(this.taskId) : "");
    get(url).then(function (html) {
      self.loadingOlder = false;
      if (html === null) {
        return;
      }
      if (self.observer) {
        self.observer.unobserve(sentinel);
      }
      // Keep the messages on screen where they are while older ones appear above.
      var fromBottom = self.list.scrollHeight - self.list.scrollTop;
      fragmentNodes(html).forEach(function (node) {
        if (!node.id || !document.getElementById(node.id)) {
          self.list.insertBefore(node, sentinel);
        }
      });
      sentinel.remove();
      self.list.scrollTop = self.list.scrollHeight - fromBottom;
      self.watchSentinel();
    }).catch(function () {
      self.loadingOlder = false;
    });
  };

  // --- writes -------------------------------------------------------------------------------

  Chat.prototype.showError = function (text) {
    var error = this.chat.querySelector(".chat-error");
    if (error) {
      error.textContent = text || "";
      error.hidden = !text;
    }
  };

  Chat.prototype.bindForms = function (root) {
    var self = this;
    root.addEventListener("submit", function (event) {
      var form = event.target.closest("form[data-chat-action]");
      if (!form) {
        return;
      }
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        return;
      }
      self.submit(form);
    });
  };

  Chat.prototype.submit = function (form) {
    var self = this;
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
    }
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken(form) },
      body: new FormData(form)
    }).then(function (response) {
      return response.text().then(function (text) {
        return { response: response, text: text };
      });
    }).then(function (result) {
      if (button) {
        button.disabled = false;
      }
      if (!result.response.ok) {
        var message = "Could not send (" + result.response.status + ").";
        try {
          message = JSON.parse(result.text).error.message;
        } catch (err) {
          // not JSON: keep the generic message
        }
        self.showError(message);
        return;
      }
      self.showError("");
      var node = fragmentNodes(result.text)[0];
      if (!node) {
        return;
      }
      if (form.dataset.chatAction === "append") {
        form.reset();
        self.place(node, true);
      } else {
        self.place(node, false);
      }
    }).catch(function () {
      if (button) {
        button.disabled = false;
      }
      self.showError("Could not reach the server; try again.");
    });
  };

  // Insert a fetched message, or replace the one shown; never twice (live and the POST race).
  Chat.prototype.place = function (node, scroll) {
    var existing = node.id ? this.list.querySelector("#" + CSS.escape(node.id)) : null;
    var follow = scroll || this.nearEnd();
    if (existing) {
      existing.replaceWith(node);
      return;
    }
    this.list.querySelectorAll(":scope > .chat-empty").forEach(function (empty) {
      empty.remove();
    });
    var id = parseInt(node.dataset.messageId, 10);
    var items = this.list.querySelectorAll(":scope > [data-message-id]");
    for (var i = 0; i < items.length; i += 1) {
      if (parseInt(items[i].dataset.messageId, 10) > id) {
        this.list.insertBefore(node, items[i]);
        return;
      }
    }
    this.list.appendChild(node);
    if (follow) {
      this.scrollToEnd();
    }
  };

  // --- live ---------------------------------------------------------------------------------

  Chat.prototype.onEvent = function (event) {
    if (!CHAT_VERBS[event.verb] || String(event.board_id) !== String(this.boardId)) {
      return;
    }
    var detail = event.detail || {};
    var thread = detail.thread_task_id === null || detail.thread_task_id === undefined ? "" : String(detail.thread_task_id);
    if (thread !== this.taskId) {
      return;
    }
    var self = this;
    var id = detail.message_id;
    var shown = this.list.querySelector('[data-message-id="' + CSS.escape(String(id)) + '"]');
    var pushed = detail.message && (event.verb === "chat.message_posted" || event.verb === "chat.message_edited")
      ? this.build(detail.message) : null;
    if (pushed) {
      this.place(pushed, false);
    } else if (event.verb === "chat.message_posted" || shown) {
      get(this.messageUrl(id)).then(function (html) {
        var node = html ? fragmentNodes(html)[0] : null;
        if (node) {
          self.place(node, false);
        }
      });
    }
    if (event.verb === "chat.message_pinned" || event.verb === "chat.message_unpinned" ||
        event.verb === "chat.message_deleted" || event.verb === "chat.message_edited") {
      this.refreshMemory();
    }
  };

  Chat.prototype.refreshMemory = function () {
    var memory = this.chat.querySelector(".chat-memory");
    if (!memory) {
      return;
    }
    get(this.chat.dataset.pinnedUrl).then(function (html) {
      var node = html ? fragmentNodes(html)[0] : null;
      if (node) {
        memory.replaceWith(node);
      }
    });
  };

  // --- @mention autocomplete ---------------------------------------------------------------

  Chat.prototype.bindComposer = function () {
    var form = this.chat.querySelector(".chat-composer");
    if (!form) {
      return;
    }
    var self = this;
    var input = form.querySelector("textarea[name=body]");
    var box = form.querySelector(".chat-suggestions");
    var options = [];
    var active = -1;
    var ticket = 0;
    var timer = null;

    function query() {
      var before = input.value.slice(0, input.selectionStart);
      var match = /(^|[^\w@./:-])@([\w.-]{0,40})$/.exec(before);
      return match ? match[2] : null;
    }

    function close() {
      box.hidden = true;
      box.textContent = "";
      options = [];
      active = -1;
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(box.children, function (li, i) {
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && box.children[index]) {
        input.setAttribute("aria-activedescendant", box.children[index].id);
      }
    }

    function choose(index) {
      var option = options[index];
      var prefix = query();
      if (!option || prefix === null) {
        close();
        return;
      }
      var caret = input.selectionStart;
      var start = caret - prefix.length;
      var insert = option.name + " ";
      input.value = input.value.slice(0, start) + insert + input.value.slice(caret);
      input.selectionStart = input.selectionEnd = start + insert.length;
      close();
      input.focus();
    }

    function show(results) {
      box.textContent = "";
      options = results;
      if (!results.length) {
        close();
        return;
      }
      results.forEach(function (result, i) {
        var li = document.createElement("li");
        li.id = box.id + "-" + i;
        li.setAttribute("role", "option");
        li.dataset.name = result.name;
        li.textContent = "@" + result.label;
        li.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(i);
        });
        box.appendChild(li);
      });
      box.hidden = false;
      highlight(0);
    }

    function suggest() {
      var prefix = query();
      if (prefix === null) {
        close();
        return;
      }
      var mine = ++ticket;
      fetch(self.chat.dataset.mentionUrl + "?q=" + encodeURIComponent(prefix), {
        credentials: "same-origin", headers: { "HX-Request": "true" }
      }).then(function (r) {
        return r.ok ? r.json() : { results: [] };
      }).then(function (data) {
        if (mine === ticket) {
          show(data.results || []);
        }
      }).catch(close);
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, 120);
    });
    input.addEventListener("blur", function () {
      window.setTimeout(close, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (!box.hidden && options.length) {
        if (event.key === "ArrowDown") {
          event.preventDefault();
          highlight((active + 1) % options.length);
          return;
        }
        if (event.key === "ArrowUp") {
          event.preventDefault();
          highlight((active - 1 + options.length) % options.length);
          return;
        }
        if (event.key === "Enter" || event.key === "Tab") {
          event.preventDefault();
          choose(active < 0 ? 0 : active);
          return;
        }
        if (event.key === "Escape") {
          event.preventDefault();
          close();
          return;
        }
      }
      // Enter sends, Shift+Enter starts a new line.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (input.value.trim()) {
          form.requestSubmit();
        }
      }
    });
  };

  // --- start --------------------------------------------------------------------------------

  var chats = [];

  document.querySelectorAll("[data-chat-panel]").forEach(function (container) {
    get(container.dataset.chatPanel).then(function (html) {
      var node = html ? fragmentNodes(html)[0] : null;
      if (!node) {
        return;
      }
      container.querySelectorAll(".chat-loading").forEach(function (el) {
        el.remove();
      });
      container.appendChild(node);
      chats.push(new Chat(container, node));
      container.dataset.chatReady = "true";
    });
  });

  document.body.addEventListener("mc:event", function (event) {
    var received = event.detail && event.detail.event;
    if (!received) {
      return;
    }
    chats.forEach(function (chat) {
      chat.onEvent(received);
    });
  });
})();
