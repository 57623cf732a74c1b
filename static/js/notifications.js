// The unread count at the end of the sidebar's Notifications link, live over /ws/notifications/.
// The server sends {"type": "notifications", "unread": N} on connect and after every change;
// reconnects with backoff. No inline script: the CSP forbids it.
(function () {
  "use strict";

  var count = document.getElementById("notification-count");
  var label = document.getElementById("notification-count-label");
  if (!count || !label || !("WebSocket" in window)) {
    return;
  }
  var attempt = 0;
  var leaving = false;

  function show(unread) {
    count.dataset.unread = String(unread);
    count.textContent = unread > 99 ? "99+" : String(unread);
    count.hidden = unread === 0;
    label.hidden = unread === 0;
  }

  function connect() {
    if (leaving) {
      return;
    }
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(scheme + "//" + window.location.host + "/ws/notifications/");
    socket.addEventListener("open", function () {
      attempt = 0;
    });
    socket.addEventListener("message", function (message) {
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (err) {
        return;
      }
      if (data.type === "notifications" && typeof data.unread === "number") {
        show(data.unread);
      } else if (data.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      }
    });
    socket.addEventListener("close", function (event) {
      if (leaving || event.code === 4401) {
        return;
      }
      var ceiling = Math.min(30000, 500 * Math.pow(2, attempt));
      attempt += 1;
      window.setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
    });
    window.addEventListener("pagehide", function () {
      leaving = true;
      socket.close(1000);
    }, { once: true });
  }

  connect();
})();
