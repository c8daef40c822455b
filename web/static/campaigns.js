// Campaign page: the "copy the link" button (the link stays selectable in its field anyway).
(function () {
  "use strict";

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var label = button.textContent;
    function done() {
      button.textContent = "Lien copié";
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
      return;
    }
    try {
      if (document.execCommand("copy")) {
        done();
      }
    } catch (e) {
      // Left selected: Ctrl+C copies it.
    }
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () { copy(button); });
  });
})();
