// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  function wirePrint(root) {
    root.querySelectorAll("[data-print]").forEach(function (el) {
      el.hidden = false;
      el.addEventListener("click", function () { window.print(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wirePrint(document); });
  // After htmx swaps in an answer, move keyboard focus to its heading so screen readers announce it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target) { return; }
    wirePrint(target);
    var heading = target.querySelector(".answer-focus") || target.querySelector("[role=alert]");
    if (heading && event.detail.requestConfig && event.detail.requestConfig.elt &&
        event.detail.requestConfig.elt.type !== "radio") {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: false });
    }
  });
  // Show validation errors returned with 4xx status codes instead of dropping them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status >= 400 && status < 600) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
