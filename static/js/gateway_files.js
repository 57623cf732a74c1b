// An agent's workspace files on a gateway (SOUL.md, AGENTS.md, …), through the command queue the
// gateway supervisor runs: agents.files.list and .get to read, agents.files.set to save with the
// hash the file had when it was read (expectedHash), so a change made on the gateway meanwhile is
// refused with FILE_CHANGED instead of being overwritten. Text is set with textContent/value only.
// The queue and its polling are gateway_commands.js's (loaded first).
(function () {
  "use strict";

  var root = document.getElementById("gateway-files");
  if (!root) {
    return;
  }
  var gatewayId = root.dataset.gatewayId;
  var agentKey = root.dataset.agentKey;
  var current = root.dataset.file;
  var list = document.getElementById("gateway-file-list");
  var state = document.getElementById("gateway-files-state");
  var form = document.getElementById("gateway-file-form");
  var label = document.getElementById("gateway-file-label");
  var content = document.getElementById("gateway-file-content");
  var saveState = document.getElementById("gateway-file-save-state");
  var openedHash = null; // the file's hash when it was read; null for a file that did not exist
  var pendingKey = null; // kept until the save is answered: a retry is the same command
  var run = window.MCGatewayCommands.client(gatewayId).run;

  function renderList(files) {
    list.textContent = "";
    files.forEach(function (file) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "?name=" + encodeURIComponent(file.name);
      link.textContent = file.name + (file.missing ? " (not created yet)" : "");
      if (file.name === current) {
        link.setAttribute("aria-current", "page");
      }
      link.addEventListener("click", function (event) {
        event.preventDefault();
        history.replaceState(null, "", link.href);
        open(file.name);
        renderList(files);
      });
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  function open(name) {
    current = name;
    label.textContent = name;
    state.textContent = "Reading " + name + " from the gateway…";
    saveState.textContent = "";
    return run("agents.files.get", { agentId: agentKey, name: name }).then(function (command) {
      if (command.state === "failed") {
        state.textContent = command.error_code + ": " + command.error_message;
        return;
      }
      var file = (command.result && command.result.file) || {};
      openedHash = file.missing ? null : file.hash || null;
      content.value = file.content || "";
      form.hidden = false;
      state.textContent = file.missing ? name + " does not exist yet; saving creates it." : "";
    }).catch(function (error) { state.textContent = error.message; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var params = { agentId: agentKey, name: current, content: content.value };
    if (openedHash) {
      params.expectedHash = openedHash;
    }
    pendingKey = pendingKey || window.MCGatewayCommands.newKey();
    saveState.textContent = "Saving…";
    run("agents.files.set", params, pendingKey).then(function (command) {
      pendingKey = null;
      if (command.state === "failed") {
        saveState.textContent = command.error_code + ": " + command.error_message;
        return;
      }
      var file = (command.result && command.result.file) || {};
      openedHash = file.hash || openedHash;
      saveState.textContent = "Saved " + current + ".";
    }).catch(function (error) { saveState.textContent = error.message; });
  });

  run("agents.files.list", { agentId: agentKey }).then(function (command) {
    if (command.state === "failed") {
      state.textContent = command.error_code + ": " + command.error_message;
      return;
    }
    var files = (command.result && command.result.files) || [];
    renderList(files);
    open(current);
  }).catch(function (error) { state.textContent = error.message; });
})();
