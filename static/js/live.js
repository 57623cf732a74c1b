// Live updates for Mission Control pages (board, task detail, activity feed, agents, overview).
//
// live.js keeps the socket; htmx does the swapping. A live region declares what it follows and
// where it refreshes from (core/templatetags/live_regions.py writes the attributes):
//   <section {% live_region "usage-summary" follows="usage." %}> gives
//   data-live-follows="usage." hx-get="<this page>" hx-select="#usage-summary" hx-swap="outerHTML"
//   hx-sync="this:drop" hx-trigger="live-refresh"
// When an event whose verb starts with one of the region's prefixes arrives (on a task page: an
// event about that task; data-live-board: an event of that board), live.js dispatches
// "live-refresh" on the region and htmx fetches and swaps it. A region without an hx-get is
// refused (logged, never refreshed): there would be nothing to fetch.
// Board cards and feed items are inserted one by one (by position, newest first), not swapped.
// A board with body[data-toast-webhooks] shows a toast linking to each webhook payload that lands.
//
// Connects to the page's stream (body[data-live-url], else /ws/activity/ on pages with a live
// region, an activity feed or agent presence badges), shows the connection state in #live-status,
// reconnects with exponential backoff and jitter, and resumes from the last event id it saw so the
// server replays what was missed. Events re-render server-side partials; nothing here builds markup
// by hand. Every event is announced as "mc:event" on <body> (detail.event) for pages with their own
// reactions (alerts.js, chat.js). Wire format: docs/realtime.md. No inline scripts: the CSP forbids
// them.
(function () {
  "use strict";

  var body = document.body;
  var feed = document.getElementById("activity-feed");
  var url = body.dataset.liveUrl;
  var REGION_SELECTOR = "[data-live-follows]";
  var pageTaskId = body.dataset.taskId || null;
  if (!url && (feed || document.querySelector(REGION_SELECTOR) || document.querySelector("[data-agent-id][data-presence]"))) {
    url = "/ws/activity/";
  }
  if (!url || !("WebSocket" in window)) {
    return;
  }

  var boardId = body.dataset.boardId || null;
  // A filtered board shows a subset: cards already shown are updated, moved or removed, but a
  // card the page does not show is not added (it may not match the filter).
  var filtering = /[?&](q|assignee|tag)=[^&]/.test(window.location.search);
  var indicator = document.getElementById("live-status");
  var BASE_DELAY_MS = 500;
  var MAX_DELAY_MS = 30000;
  // Close codes after which reconnecting cannot help (docs/realtime.md).
  var FINAL_CODES = { 4401: "signed out", 4403: "no access" };

  var socket = null;
  var attempt = 0;
  var everLive = false;
  var leaving = false;
  var retryTimer = null;
  var lastEventId = initialCursor();
  var seen = new Set();
  var cardRequests = new Map();

  function initialCursor() {
    var cursor = parseInt(body.dataset.lastEventId || "", 10);
    if (isNaN(cursor)) {
      cursor = null;
    }
    if (feed) {
      feed.querySelectorAll("[data-event-position]").forEach(function (item) {
        var position = parseInt(item.dataset.eventPosition, 10);
        if (!isNaN(position) && (cursor === null || position > cursor)) {
          cursor = position;
        }
      });
    }
    return cursor;
  }

  function setState(state, detail) {
    if (!indicator) {
      return;
    }
    indicator.dataset.state = state;
    indicator.textContent = detail ? state + " (" + detail + ")" : state;
    indicator.title = "Live updates: " + state;
  }

  // The cursor is the event's position (commit order), not its id: an event that commits after
  // a later-numbered one still gets the larger position, so resuming after it skips nothing.
  function remember(id, position) {
    seen.add(id);
    if (seen.size > 5000) {
      seen.delete(seen.values().next().value);
    }
    if (typeof position === "number" && (lastEventId === null || position > lastEventId)) {
      lastEventId = position;
      if (indicator) {
        indicator.dataset.lastEventId = String(position);
      }
    }
  }

  function streamUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var target = scheme + "//" + window.location.host + url;
    if (lastEventId !== null) {
      target += (target.indexOf("?") === -1 ? "?" : "&") + "last_event_id=" + lastEventId;
    }
    return target;
  }

  function connect() {
    retryTimer = null;
    if (leaving) {
      return;
    }
    setState(everLive ? "reconnecting" : "connecting");
    try {
      socket = new WebSocket(streamUrl());
    } catch (err) {
      scheduleReconnect();
      return;
    }
    socket.addEventListener("open", function () {
      attempt = 0;
      everLive = true;
      setState("live");
    });
    socket.addEventListener("message", function (message) {
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (err) {
        return;
      }
      handleMessage(data);
    });
    socket.addEventListener("close", function (event) {
      socket = null;
      if (leaving) {
        return;
      }
      if (FINAL_CODES[event.code]) {
        setState("offline", FINAL_CODES[event.code]);
        return;
      }
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (retryTimer !== null || leaving) {
      return;
    }
    // Full jitter over an exponentially growing ceiling: a restarted server is not hit by every
    // page at the same instant.
    var ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * Math.pow(2, attempt));
    var delay = ceiling / 2 + Math.random() * (ceiling / 2);
    attempt += 1;
    setState(navigator.onLine === false ? "offline" : "reconnecting");
    retryTimer = window.setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (retryTimer !== null) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
    }
    attempt = 0;
    if (socket === null) {
      connect();
    }
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
    }
  }

  function handleMessage(data) {
    if (data.type === "event" && data.event) {
      handleEvent(data.event);
    } else if (data.type === "hello") {
      if (lastEventId === null && typeof data.last_event_id === "number") {
        lastEventId = data.last_event_id;
      }
    } else if (data.type === "ping") {
      send({ type: "pong" });
    } else if (data.type === "replay.done" && data.truncated) {
      // More was missed than the server keeps for replay: start over from a fresh page.
      window.location.reload();
    }
  }

  function handleEvent(event) {
    if (typeof event.id !== "number" || seen.has(event.id)) {
      return;
    }
    remember(event.id, event.position);
    var taskId = taskIdOf(event);
    if (boardId && taskId !== null && String(event.board_id) === String(boardId) &&
        document.getElementById("board-columns")) {
      refreshCard(taskId);
    }
    markStaleRegions(event, taskId);
    if (body.dataset.toastWebhooks && event.verb === "webhook.received") {
      toastWebhook(event);
    }
    if (event.verb === "agent.presence_changed" && event.detail) {
      updatePresence(event.detail.agent_id || event.target.id, event.detail.presence);
    }
    if (feed && (!feed.dataset.boardOnly || String(event.board_id) === feed.dataset.boardOnly) && !skippedInFeed(event.verb)) {
      addFeedItem(event);
    }
    // Pages with their own live parts (alerts.js, chat.js) listen for this rather than open a socket.
    body.dispatchEvent(new CustomEvent("mc:event", { detail: { event: event } }));
  }

  // data-skip-verbs: a verb prefix this feed leaves out (the overview's feed: "auth.", sign-ins).
  function skippedInFeed(verb) {
    var prefix = feed.dataset.skipVerbs;
    return Boolean(prefix) && verb.indexOf(prefix) === 0;
  }

  function follows(region, event, taskId) {
    var prefixes = region.dataset.liveFollows.split(/\s+/).filter(Boolean);
    var matches = prefixes.some(function (prefix) {
      return event.verb.indexOf(prefix) === 0;
    });
    if (!matches) {
      return false;
    }
    var boardOnly = region.dataset.liveBoard;
    if (boardOnly && event.board_id && String(event.board_id) !== boardOnly) {
      return false;
    }
    if (pageTaskId === null || taskId === String(pageTaskId)) {
      return true;
    }
    // usage.reported names every task a batch of reports was about.
    var taskIds = (event.detail && event.detail.task_ids) || [];
    return taskIds.map(String).indexOf(String(pageTaskId)) !== -1;
  }

  // Several events in a burst (a move writes two) cost one request per region. A region whose
  // refresh is still on the wire is not asked again (htmx would abort it, or queue a request on
  // the element its own answer is about to replace): it stays stale and is refreshed once more
  // when that answer is in, so the last event is always reflected.
  var REFRESH_DELAY_MS = 150;
  var staleRegions = new Set();
  var refreshing = new Set();
  var refreshTimer = null;

  function markStaleRegions(event, taskId) {
    document.querySelectorAll(REGION_SELECTOR).forEach(function (region) {
      if (follows(region, event, taskId)) {
        staleRegions.add(region.id);
      }
    });
    scheduleRefresh();
  }

  function scheduleRefresh() {
    if (staleRegions.size && refreshTimer === null) {
      refreshTimer = window.setTimeout(refreshStaleRegions, REFRESH_DELAY_MS);
    }
  }

  // The region is looked up by id when the timer fires: an earlier swap may have replaced it.
  function refreshStaleRegions() {
    refreshTimer = null;
    staleRegions.forEach(function (id) {
      if (refreshing.has(id)) {
        return;
      }
      staleRegions.delete(id);
      var region = document.getElementById(id);
      if (region && declaresSource(region) && window.htmx) {
        window.htmx.trigger(region, "live-refresh");
      }
    });
  }

  // requestConfig.elt is the region that asked, also after an outerHTML swap replaced it.
  function refreshedRegionId(event) {
    var config = event.detail && event.detail.requestConfig;
    var region = config && config.elt;
    return region && region.matches && region.matches(REGION_SELECTOR) ? region.id : null;
  }

  body.addEventListener("htmx:beforeRequest", function (event) {
    var id = refreshedRegionId(event);
    if (id) {
      refreshing.add(id);
    }
  });

  body.addEventListener("htmx:afterRequest", function (event) {
    var id = refreshedRegionId(event);
    if (id && refreshing.delete(id)) {
      scheduleRefresh();
    }
  });

  function declaresSource(region) {
    if (region.hasAttribute("hx-get") && region.getAttribute("hx-trigger") === "live-refresh") {
      return true;
    }
    if (window.console) {
      window.console.error("live region #" + region.id + " declares no hx-get with hx-trigger=\"live-refresh\": not refreshed");
    }
    return false;
  }

  // Keyboard users keep their place. htmx refocuses an element that has an id; a card's link and
  // menu buttons have none, so the card's link takes the focus back.
  var focusedCardId = null;

  body.addEventListener("htmx:beforeSwap", function (event) {
    var region = event.detail.elt;
    focusedCardId = null;
    if (region && region.matches && region.matches(REGION_SELECTOR) && region.contains(document.activeElement)) {
      var card = document.activeElement.id ? null : document.activeElement.closest("[id^='task-']");
      focusedCardId = card ? card.id : null;
    }
  });

  body.addEventListener("htmx:afterSettle", function () {
    if (focusedCardId === null) {
      return;
    }
    var card = document.getElementById(focusedCardId);
    var cardLink = card ? card.querySelector("[data-card-link]") : null;
    focusedCardId = null;
    if (cardLink && (document.activeElement === body || document.activeElement === null)) {
      cardLink.focus();
    }
  });

  // Only for events that just happened: a replay after a reconnect does not pop old toasts.
  var TOAST_MAX_AGE_MS = 60000;

  function toastWebhook(event) {
    var created = Date.parse(event.created_at || "");
    if (!window.MC || (!isNaN(created) && Date.now() - created > TOAST_MAX_AGE_MS)) {
      return;
    }
    var detail = event.detail || {};
    var payloadId = detail.payload_id || (event.target && event.target.id);
    var text = detail.title ? "Created “" + detail.title + "”" : (detail.event ? detail.event + " event" : "");
    window.MC.toast({
      title: (detail.webhook_name || event.actor.label || "A webhook") + " sent a payload",
      text: text,
      href: payloadId ? "/webhooks/payloads/" + encodeURIComponent(payloadId) + "/" : null,
      linkText: "View payload",
      kind: "info",
    });
  }

  function taskIdOf(event) {
    if (event.target && event.target.type === "task" && event.target.id) {
      return String(event.target.id);
    }
    if (event.detail && event.detail.task_id) {
      return String(event.detail.task_id);
    }
    return null;
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function activate(element) {
    if (window.htmx && typeof window.htmx.process === "function") {
      window.htmx.process(element);
    }
  }

  function refreshCard(taskId) {
    // Only the newest request per card may write, so slow responses cannot undo a later move.
    var ticket = (cardRequests.get(taskId) || 0) + 1;
    cardRequests.set(taskId, ticket);
    var path = "/boards/" + boardId + "/tasks/" + encodeURIComponent(taskId) + "/card/";
    fetch(path, { credentials: "same-origin" })
      .then(function (response) {
        if (cardRequests.get(taskId) !== ticket) {
          return null;
        }
        if (response.status === 404) {
          removeCard(taskId);
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html && cardRequests.get(taskId) === ticket) {
          placeCard(taskId, fragment(html));
        }
      })
      .catch(function () {
        // A failed fetch leaves the card as it was; the next event for it will try again.
      });
  }

  function removeCard(taskId) {
    var existing = document.getElementById("task-" + taskId);
    if (existing) {
      existing.remove();
      refreshCounts();
      body.dispatchEvent(new CustomEvent("mc:card-removed", { detail: { taskId: taskId } }));
    }
  }

  function refreshCounts() {
    document.querySelectorAll("[data-column]").forEach(function (column) {
      var count = column.querySelector(".count");
      if (count) {
        count.textContent = String(column.querySelectorAll(".cards > [data-task-id]").length);
      }
    });
  }

  function placeCard(taskId, card) {
    if (!card) {
      return;
    }
    var column = document.querySelector('[data-column="' + CSS.escape(card.dataset.status || "") + '"] .cards');
    var existing = document.getElementById("task-" + taskId);
    if (!column) {
      if (existing) {
        existing.remove();
      }
      return;
    }
    if (!existing && filtering) {
      return;
    }
    // Keyboard users keep their place: the focused card stays focused after it is re-rendered.
    var hadFocus = existing && existing.contains(document.activeElement);
    if (existing && existing.parentElement === column) {
      existing.replaceWith(card);
    } else {
      if (existing) {
        existing.remove();
      }
      insertByPosition(column, card);
    }
    activate(card);
    if (hadFocus) {
      var link = card.querySelector("[data-card-link]");
      if (link) {
        link.focus();
      }
    }
    refreshCounts();
    body.dispatchEvent(new CustomEvent("mc:card-updated", { detail: { taskId: taskId, card: card } }));
  }

  function insertByPosition(column, card) {
    var position = parseFloat(card.dataset.position);
    if (!isNaN(position)) {
      var cards = column.querySelectorAll(":scope > [data-task-id]");
      for (var i = 0; i < cards.length; i += 1) {
        var other = parseFloat(cards[i].dataset.position);
        if (!isNaN(other) && other > position) {
          column.insertBefore(card, cards[i]);
          return;
        }
      }
    }
    column.appendChild(card);
  }

  function updatePresence(agentId, presence) {
    if (!agentId || !presence) {
      return;
    }
    document.querySelectorAll('[data-agent-id="' + CSS.escape(String(agentId)) + '"]').forEach(function (el) {
      if (el.hasAttribute("data-presence")) {
        el.dataset.presence = presence;
      }
      el.querySelectorAll("[data-presence-text], .presence-label").forEach(function (label) {
        label.textContent = presence;
      });
    });
  }

  function feedItemUrl(event) {
    var template = feed.dataset.itemUrl;
    if (template) {
      return template.replace("{id}", String(event.id)).replace("{board_id}", String(event.board_id));
    }
    // Organization-level events (agent presence) have no board: their item lives at the
    // organization feed's URL, not under this board.
    if (event.board_id) {
      return "/boards/" + event.board_id + "/activity/" + event.id + "/item/";
    }
    return "/activity/" + event.id + "/item/";
  }

  function addFeedItem(event) {
    var path = feedItemUrl(event);
    if (!path || feed.querySelector('[data-event-id="' + event.id + '"]')) {
      return;
    }
    fetch(path, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        var item = html ? fragment(html) : null;
        if (!item || feed.querySelector('[data-event-id="' + event.id + '"]')) {
          return;
        }
        item.dataset.eventId = String(event.id);
        feed.querySelectorAll(":scope > .empty-feed").forEach(function (placeholder) {
          placeholder.remove();
        });
        // Newest first, whatever order the fetches finish in.
        var items = feed.querySelectorAll(":scope > [data-event-id]");
        for (var i = 0; i < items.length; i += 1) {
          if (parseInt(items[i].dataset.eventId, 10) < event.id) {
            feed.insertBefore(item, items[i]);
            activate(item);
            return;
          }
        }
        feed.appendChild(item);
        activate(item);
      })
      .catch(function () {
        // The feed is a convenience; the activity page shows everything on reload.
      });
  }

  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", function () {
    setState("offline");
  });
  window.addEventListener("pagehide", function () {
    leaving = true;
    if (socket) {
      socket.close(1000);
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      leaving = false;
      reconnectNow();
    }
  });

  connect();
})();
