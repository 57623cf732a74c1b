// The gateway command queue, shared by the pages that talk to a gateway through it (a session's
// transcript, an agent's files): queue a command for the gateway supervisor, then poll it until the
// gateway answered. One copy, so both pages retry, back off and report a refusal the same way.
// Loaded before the page's own script (both deferred, so in document order): window.MCGatewayCommands.
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) {
      return input.value;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // An idempotency key for a write the user may retry: kept by the caller until it is answered.
  function newKey() {
    return window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
  }

  function client(gatewayId) {
    function queue(method, params, key) {
      return fetch("/api/v1/gateways/" + gatewayId + "/commands/", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ method: method, params: params, idempotency_key: key || "" })
      }).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            throw new Error((body.error && body.error.message) || "The command was refused.");
          }
          return body;
        });
      });
    }

    // Polls the queued command: every 0.3 s at first, then slower (up to 3 s), for about a minute.
    function waitFor(command, tries, delay) {
      delay = delay || 300;
      if (command.state === "succeeded" || command.state === "failed") {
        return Promise.resolve(command);
      }
      if (tries <= 0) {
        return Promise.reject(new Error("The gateway did not answer; is it connected?"));
      }
      return new Promise(function (resolve) { setTimeout(resolve, delay); }).then(function () {
        return fetch("/api/v1/gateway-commands/" + command.id + "/", { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (next) { return waitFor(next, tries - 1, Math.min(delay * 1.3, 3000)); });
      });
    }

    // Queues a command and resolves with it once the gateway answered (succeeded or failed).
    function run(method, params, key) {
      return queue(method, params, key).then(function (command) { return waitFor(command, 40); });
    }

    return { queue: queue, waitFor: waitFor, run: run };
  }

  window.MCGatewayCommands = { client: client, newKey: newKey };
})();
