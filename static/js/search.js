// The app shell's search box: "/" (outside text fields) or Ctrl-K / Cmd-K focuses it.
"use strict";
document.addEventListener("keydown", (event) => {
  const box = document.querySelector("[data-search-shortcut]");
  if (!box) return;
  const target = event.target;
  const typing = target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  const slash = event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey;
  const commandK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k";
  if (!slash && !commandK) return;
  event.preventDefault();
  box.focus();
  box.select();
});
