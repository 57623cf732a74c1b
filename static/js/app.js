// Mission Control page behaviour shared by every page: theme toggle, mobile navigation, toasts,
// confirmation dialogs, copy buttons, one-time dialogs and relative times. Page scripts use
// window.MC.toast(...) and window.MC.confirm(...). No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";

  var root = document.documentElement;
  var THEMES = ["system", "light", "dark"];

  // --- theme ------------------------------------------------------------------------------------
  function currentTheme() {
    return root.dataset.theme || "system";
  }

  function applyTheme(theme) {
    if (theme === "system") {
      delete root.dataset.theme;
    } else {
      root.dataset.theme = theme;
    }
    try {
      if (theme === "system") {
        window.localStorage.removeItem("mc-theme");
      } else {
        window.localStorage.setItem("mc-theme", theme);
      }
    } catch (err) {
      // Storage blocked: the choice lasts for this page only.
    }
    labelThemeToggles();
  }

  function labelThemeToggles() {
    var theme = currentTheme();
    var next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      var label = button.querySelector("[data-theme-label]");
      if (label) {
        label.textContent = "Theme: " + theme;
      }
      button.setAttribute("aria-label", "Colour theme: " + theme + ". Switch to " + next);
    });
  }

  // --- toasts -----------------------------------------------------------------------------------
  var TOAST_MS = 6000;

  function dismissLater(toast) {
    var timer = window.setTimeout(function () { toast.remove(); }, TOAST_MS);
    toast.addEventListener("mouseenter", function () { window.clearTimeout(timer); });
    toast.addEventListener("focusin", function () { window.clearTimeout(timer); });
  }

  // toast({title, text, href, linkText, kind}): kind is info, success, warning or error.
  function toast(options) {
    var region = document.getElementById("toasts");
    var template = document.getElementById("toast-template");
    if (!region || !template) {
      return null;
    }
    var item = template.content.firstElementChild.cloneNode(true);
    item.classList.add("toast-" + (options.kind || "info"));
    item.querySelector(".toast-title").textContent = options.title || "";
    item.querySelector(".toast-text").textContent = options.text || "";
    var link = item.querySelector(".toast-link");
    if (options.href) {
      link.href = options.href;
      link.textContent = options.linkText || "Open";
    } else {
      link.remove();
    }
    region.appendChild(item);
    dismissLater(item);
    return item;
  }

  // --- confirmation -----------------------------------------------------------------------------
  // confirm(question, okLabel) -> Promise<boolean>, on the styled <dialog> of base.html.
  function confirmDialog(question, okLabel) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return Promise.resolve(window.confirm(question));
    }
    dialog.querySelector("#confirm-text").textContent = question;
    dialog.querySelector("#confirm-ok").textContent = okLabel || "Confirm";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("#confirm-ok").focus();
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function () {
        resolve(dialog.returnValue === "confirm");
      }, { once: true });
    });
  }

  // <button data-confirm="Question?"> or <form data-confirm="Question?">: asks first.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-confirm], a[data-confirm]");
    if (!button || button.dataset.confirmed) {
      return;
    }
    if (button.hasAttribute("hx-post") || button.hasAttribute("hx-delete")) {
      return; // htmx asks through htmx:confirm below
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    confirmDialog(button.dataset.confirm, button.dataset.confirmOk || button.textContent.trim()).then(function (ok) {
      if (!ok) {
        return;
      }
      button.dataset.confirmed = "1";
      button.click();
      delete button.dataset.confirmed;
    });
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (!question || form.dataset.confirmed || form.hasAttribute("hx-post")) {
      return;
    }
    event.preventDefault();
    var submitter = event.submitter;
    confirmDialog(question, form.dataset.confirmOk).then(function (ok) {
      if (ok) {
        form.dataset.confirmed = "1";
        if (form.requestSubmit) {
          form.requestSubmit(submitter || undefined);
        } else {
          form.submit();
        }
      }
    });
  });

  // hx-confirm="…" (and data-confirm on an htmx element) use the same dialog.
  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question || (event.detail.elt && event.detail.elt.getAttribute("data-confirm"));
    if (!question) {
      return;
    }
    event.preventDefault();
    confirmDialog(question, event.detail.elt && event.detail.elt.dataset.confirmOk).then(function (ok) {
      if (ok) {
        event.detail.issueRequest(true);
      }
    });
  });

  // --- copy buttons -----------------------------------------------------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http hosts: a temporary textarea and execCommand.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try {
      document.execCommand("copy");
    } finally {
      document.body.removeChild(area);
    }
    return Promise.resolve();
  }

  // <button data-copy="#selector">: copies the element's value (inputs) or text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-from]");
    if (!button) {
      return;
    }
    var source = document.querySelector(button.dataset.copy || button.dataset.copyFrom);
    if (!source) {
      return;
    }
    var text = "value" in source && source.tagName !== "BUTTON" ? source.value : source.textContent;
    var label = button.dataset.label || button.textContent.trim();
    button.dataset.label = label;
    copyText(text).then(function () {
      setButtonText(button, "Copied");
      window.setTimeout(function () { setButtonText(button, label); }, 1500);
    }, function () {
      if (source.select) {
        source.select();
      }
      setButtonText(button, "Select and copy by hand");
    });
  });

  function setButtonText(button, text) {
    var label = button.querySelector("[data-copy-label]");
    (label || button).textContent = text;
  }

  // --- one-time dialogs (new tokens) -------------------------------------------------------------
  function openModalDialogs(scope) {
    scope.querySelectorAll("dialog[data-show-modal]").forEach(function (dialog) {
      if (dialog.dataset.shown) {
        return;
      }
      dialog.dataset.shown = "1";
      // Rendered `open` so it shows without JavaScript; reopen as a modal when we can.
      if (typeof dialog.showModal === "function") {
        dialog.removeAttribute("open");
        dialog.showModal();
      }
      var input = dialog.querySelector("[data-autoselect]");
      if (input) {
        input.focus();
        input.select();
      }
      // Once closed, a secret leaves the page: nothing to find later in the DOM.
      dialog.addEventListener("close", function () { dialog.remove(); });
    });
  }

  // --- relative times ---------------------------------------------------------------------------
  function relative(date) {
    var seconds = Math.round((Date.now() - date.getTime()) / 1000);
    if (seconds < 45) {
      return "just now";
    }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return Math.max(minutes, 1) + " min ago";
    }
    var hours = Math.floor(minutes / 60);
    if (hours < 24) {
      return hours + " h ago";
    }
    var days = Math.floor(hours / 24);
    if (days < 7) {
      return days === 1 ? "yesterday" : days + " days ago";
    }
    return null; // older dates keep the server's wording
  }

  function refreshTimes(scope) {
    (scope || document).querySelectorAll("time.reltime[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      var text = isNaN(date.getTime()) ? null : relative(date);
      if (text && el.textContent !== text) {
        el.textContent = text;
      }
    });
  }

  // --- navigation drawer (phones) -----------------------------------------------------------------
  function setNav(open) {
    var shell = document.getElementById("shell");
    var toggle = document.querySelector("[data-nav-toggle]");
    if (!shell) {
      return;
    }
    if (open) {
      shell.setAttribute("data-nav-open", "");
    } else {
      shell.removeAttribute("data-nav-open");
    }
    if (toggle) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    if (open) {
      var first = document.querySelector("#sidebar a, #sidebar button");
      if (first) {
        first.focus();
      }
    }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-theme-toggle]")) {
      var theme = currentTheme();
      applyTheme(THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length]);
      return;
    }
    if (event.target.closest("[data-nav-toggle]")) {
      setNav(!document.getElementById("shell").hasAttribute("data-nav-open"));
      return;
    }
    if (event.target.closest("[data-nav-close]")) {
      setNav(false);
      return;
    }
    var close = event.target.closest("[data-toast-close]");
    if (close) {
      close.closest(".toast").remove();
    }
  });

  document.addEventListener("keydown", function (event) {
    var shell = document.getElementById("shell");
    if (event.key === "Escape" && shell && shell.hasAttribute("data-nav-open")) {
      setNav(false);
      var toggle = document.querySelector("[data-nav-toggle]");
      if (toggle) {
        toggle.focus();
      }
    }
  });

  // <span data-grow="3">: proportional bars without inline styles (CSSOM writes are allowed).
  function sizeBars(scope) {
    (scope || document).querySelectorAll("[data-grow]").forEach(function (el) {
      var grow = parseFloat(el.dataset.grow);
      if (!isNaN(grow)) {
        el.style.flexGrow = String(grow);
      }
    });
  }

  // <select data-autosubmit>: submits its form on change; the button stays for no-JS use.
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-autosubmit]") && event.target.form) {
      event.target.form.requestSubmit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-autosubmit-button]").forEach(function (button) {
      button.hidden = true;
    });
    sizeBars(document);
    labelThemeToggles();
    openModalDialogs(document);
    refreshTimes(document);
    document.querySelectorAll("[data-toast]").forEach(dismissLater);
    window.setInterval(function () { refreshTimes(document); }, 30000);
  });
  document.addEventListener("htmx:load", function (event) {
    openModalDialogs(event.target);
    refreshTimes(event.target);
    sizeBars(event.target);
  });

  window.MC = { toast: toast, confirm: confirmDialog, refreshTimes: refreshTimes };
})();
