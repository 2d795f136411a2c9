/* capsite: light or dark theme, and "back" buttons on error pages.
 *
 * Loaded without defer at the top of <head>, so a theme chosen earlier is on
 * <html data-theme> before the first paint (no flash of the other theme).
 * Without a choice, CSS follows the system (prefers-color-scheme).
 * The choice is kept per browser in localStorage under "capsite-theme".
 */
(function () {
  "use strict";
  var KEY = "capsite-theme";
  var root = document.documentElement;
  var systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (e) {
      return null; // storage blocked (private mode, cookies off): follow the system
    }
  }

  function current() {
    return root.getAttribute("data-theme") || (systemDark.matches ? "dark" : "light");
  }

  var chosen = stored();
  if (chosen) {
    root.setAttribute("data-theme", chosen);
  }

  function wireToggle(button) {
    function sync() {
      button.setAttribute("aria-pressed", current() === "dark" ? "true" : "false");
    }
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try {
        window.localStorage.setItem(KEY, next);
      } catch (e) {
        /* not remembered, but still switched for this page */
      }
      sync();
    });
    if (systemDark.addEventListener) {
      systemDark.addEventListener("change", sync);
    }
    sync();
    button.hidden = false;
  }

  function wireBack(button) {
    // Only when the previous page was one of ours: not for an address typed,
    // a bookmark, or a link from another site or opened in a new tab.
    var fromHere = document.referrer.indexOf(window.location.origin + "/") === 0;
    if (!fromHere || window.history.length < 2) {
      return;
    }
    button.addEventListener("click", function () {
      window.history.back();
    });
    button.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("theme-toggle");
    if (toggle) {
      wireToggle(toggle);
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-back]"), wireBack);
  });
})();
