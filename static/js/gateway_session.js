// A gateway session's transcript: the history through the command queue (chat.history, run by
// the gateway supervisor), then the run live through /ws/gateways/<id>/session/: assistant text
// as it streams, tool calls with their arguments and results, usage, errors.
// Text from the network is set with textContent only. No inline scripts: the CSP forbids them.
// The queue and its polling are gateway_commands.js's (loaded first).
(function () {
  "use strict";

  var root = document.getElementById("gateway-session");
  if (!root) {
    return;
  }
  var gatewayId = root.dataset.gatewayId;
  var sessionKey = root.dataset.sessionKey;
  var list = document.getElementById("transcript");
  var state = document.getElementById("transcript-state");
  var live = document.getElementById("session-live");
  var runs = {}; // runId -> the assistant <li> being streamed
  var tools = {}; // toolCallId -> its <li>
  var commands = window.MCGatewayCommands.client(gatewayId);

  function textOf(content) {
    if (typeof content === "string") {
      return content;
    }
    if (Array.isArray(content)) {
      return content.map(function (part) {
        return part && part.type === "text" ? part.text || "" : "";
      }).join("");
    }
    return "";
  }

  function entry(kind, label, text) {
    var item = document.createElement("li");
    item.className = "feed-item transcript-" + kind;
    var who = document.createElement("strong");
    who.className = "transcript-who";
    who.textContent = label;
    var body = document.createElement("div");
    body.className = "transcript-text";
    body.textContent = text || "";
    item.appendChild(who);
    item.appendChild(body);
    list.appendChild(item);
    return item;
  }

  function setText(item, text) {
    item.querySelector(".transcript-text").textContent = text;
  }

  function toolEntry(id, name, args) {
    var item = tools[id];
    if (!item) {
      item = entry("tool", "Tool " + (name || "call"), "");
      tools[id] = item;
    }
    if (args !== undefined) {
      var argsEl = document.createElement("code");
      argsEl.className = "transcript-tool-args";
      argsEl.textContent = JSON.stringify(args);
      item.querySelector(".transcript-text").appendChild(argsEl);
    }
    return item;
  }

  function toolResult(id, name, text) {
    var item = toolEntry(id, name);
    var result = document.createElement("pre");
    result.className = "transcript-tool-result";
    result.textContent = (text || "").slice(0, 2000);
    item.appendChild(result);
  }

  function renderHistory(messages) {
    (messages || []).forEach(function (message) {
      if (message.role === "user") {
        entry("user", "You", textOf(message.content));
      } else if (message.role === "assistant") {
        (Array.isArray(message.content) ? message.content : []).forEach(function (part) {
          if (part.type === "toolCall") {
            toolEntry(part.id, part.name, part.arguments);
          }
        });
        var text = textOf(message.content);
        if (text) {
          entry("assistant", "Assistant", text);
        }
      } else if (message.role === "toolResult") {
        toolResult(message.toolCallId, message.toolName, textOf(message.content));
      }
    });
  }

  function reloadHistory() {
    commands.run("chat.history", { sessionKey: sessionKey })
      .then(function (command) {
        if (command.state !== "succeeded" || Object.keys(runs).length) {
          return; // a new run started meanwhile: keep what is streaming
        }
        list.textContent = "";
        tools = {};
        renderHistory(command.result && command.result.messages);
        list.dataset.history = "complete";
      })
      .catch(function () {});
  }

  function loadHistory() {
    commands.run("chat.history", { sessionKey: sessionKey })
      .then(function (command) {
        if (command.state === "failed") {
          state.textContent = "No history: " + command.error_message;
          return;
        }
        renderHistory(command.result && command.result.messages);
        state.textContent = list.children.length ? "" : "No messages yet.";
      })
      .catch(function (error) { state.textContent = error.message; });
  }

  function onChat(payload) {
    var runId = payload.runId || "run";
    if (payload.state === "delta" || payload.state === "final") {
      var item = runs[runId] || (runs[runId] = entry("assistant", "Assistant", ""));
      var text = textOf(payload.message && payload.message.content);
      if (!text && payload.deltaText) {
        text = item.querySelector(".transcript-text").textContent + payload.deltaText;
      }
      if (text) {
        setText(item, text);
      }
      if (payload.state === "final") {
        item.dataset.final = "true";
        delete runs[runId];
        // The run's tool arguments and results are in the history: read it again, whole.
        reloadHistory();
      }
    } else if (payload.state === "error") {
      entry("error", "Error", payload.errorMessage || "The run failed.");
    }
    state.textContent = "";
  }

  function onAgent(payload) {
    var data = payload.data || {};
    if (payload.stream === "tool") {
      var id = data.toolCallId || data.id || "tool";
      if (data.phase === "start") {
        toolEntry(id, data.name || data.toolName, data.args);
      } else if (data.phase === "result") {
        toolResult(id, data.name || data.toolName, textOf(data.result && data.result.content));
      }
    } else if (payload.stream === "item" && data.kind === "tool") {
      // OpenClaw announces each tool call as an item: its name, a title ("Ls ."), its status.
      var call = toolEntry(data.toolCallId || data.itemId, data.name);
      call.dataset.status = data.status || data.phase || "";
      if (data.title) {
        var title = call.querySelector(".transcript-tool-title") || document.createElement("span");
        title.className = "transcript-tool-title";
        title.textContent = data.title + (data.status ? " (" + data.status + ")" : "");
        call.querySelector(".transcript-text").prepend(title);
      }
    } else if (payload.stream === "usage") {
      var usage = root.querySelector(".transcript-usage") || document.createElement("p");
      usage.className = "muted transcript-usage";
      usage.textContent = "Usage: " + Object.keys(data).map(function (k) { return k + " " + data[k]; }).join(", ");
      root.insertBefore(usage, list.nextSibling);
    } else if (payload.stream === "lifecycle" && data.phase === "error") {
      entry("error", "Error", data.error || "The run failed.");
    }
  }

  function connect(delay) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(
      scheme + location.host + "/ws/gateways/" + gatewayId + "/session/?key=" + encodeURIComponent(sessionKey)
    );
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "gateway.subscribed") {
        live.dataset.state = "live";
        live.textContent = "Live";
        if (!list.dataset.loaded) {
          list.dataset.loaded = "true";
          loadHistory();
        }
      } else if (data.type === "gateway.stream") {
        if (data.event === "chat") {
          onChat(data.payload || {});
        } else if (data.event === "agent") {
          onAgent(data.payload || {});
        }
      }
    };
    socket.onclose = function () {
      live.dataset.state = "offline";
      live.textContent = "Reconnecting…";
      setTimeout(function () { connect(Math.min((delay || 500) * 2, 10000)); }, delay || 500);
    };
  }

  var composer = document.getElementById("transcript-composer");
  if (composer) {
    var pendingKey = null; // kept until the send is accepted: a retry reuses it, never two runs
    var sendState = document.getElementById("transcript-send-state");
    composer.addEventListener("submit", function (event) {
      event.preventDefault();
      var field = composer.querySelector("textarea");
      var text = field.value.trim();
      if (!text) {
        return;
      }
      pendingKey = pendingKey || window.MCGatewayCommands.newKey();
      sendState.textContent = "Sending…";
      commands.run("chat.send", { sessionKey: sessionKey, message: text }, pendingKey)
        .then(function (command) {
          if (command.state === "failed") {
            sendState.textContent = command.error_code + ": " + command.error_message;
            return;
          }
          pendingKey = null;
          field.value = "";
          sendState.textContent = "";
          entry("user", "You", text);
        })
        .catch(function (error) { sendState.textContent = error.message; });
    });
  }

  connect(500);
})();
