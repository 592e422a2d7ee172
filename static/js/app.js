// Small progressive enhancements on top of htmx (the pages work without this file).
(function () {
  "use strict";

  // "Cancel" / "Close" buttons empty the panel they sit in and give focus back to the button that opened it.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-close-panel]");
    if (!button) return;
    var slot = button.closest(".report-slot, .panel-slot, #reject-all-panel");
    if (!slot) return;
    var opener = document.querySelector('[aria-controls="' + slot.id + '"]');
    slot.innerHTML = "";
    if (opener) opener.focus();
  });

  // The store switcher submits as soon as a store is chosen; its button is only needed without JavaScript.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-autosubmit-hide]").forEach(function (el) { el.hidden = true; });
  });

  // A form or confirmation that appears gets the keyboard focus on its first field (after settling, when htmx has
  // wired up its live preview).
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.matches(".report-slot, #reject-all-panel")) return;
    var first = target.querySelector("select, input:not([type=hidden]), button");
    if (first) first.focus();
  });

  // When the element that had the focus left the page (a rejected item, a started order), keep keyboard users
  // oriented: focus the message that says what happened.
  document.addEventListener("htmx:afterRequest", function () {
    window.setTimeout(function () {
      if (document.activeElement && document.activeElement !== document.body) return;
      var messages = document.getElementById("messages");
      if (messages && messages.textContent.trim()) {
        messages.setAttribute("tabindex", "-1");
        messages.focus({ preventScroll: true });
      }
    }, 50);
  });
})();

// The server answers 503 (with Retry-After) while its database is unreachable: say so instead of doing nothing.
(function () {
  "use strict";
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status !== 503) return;
    var messages = document.getElementById("messages");
    if (!messages) return;
    var p = document.createElement("p");
    p.className = "message message-error";
    p.textContent = "The store system cannot reach its database for a moment. Nothing was saved; try again in a few seconds.";
    messages.replaceChildren(p);
  });
})();
