// The app shell's search box: "/" (outside text fields) focuses it; Ctrl-K / Cmd-K opens the
// command palette instead (palette.js), and only focuses the box where the palette is missing.
"use strict";
document.addEventListener("keydown", (event) => {
  const box = document.querySelector("[data-search-shortcut]");
  if (!box) return;
  const target = event.target;
  const typing = target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  const slash = event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey;
  const commandK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k" &&
    !document.getElementById("command-palette");
  if (!slash && !commandK) return;
  event.preventDefault();
  box.focus();
  box.select();
});
