// Worker tokens page: a Copy button beside the new secret and command line, and a confirmation before
// a token is revoked. Without this script the fields can still be selected and copied by hand, and a
// revoke button revokes at once.
(function () {
  "use strict";

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    const field = document.getElementById(button.dataset.copy);
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      const copied = navigator.clipboard
        ? navigator.clipboard.writeText(field.value)
        : Promise.resolve(document.execCommand("copy"));
      copied.then(
        function () {
          button.textContent = "Copied";
        },
        function () {
          button.textContent = "Press Ctrl+C to copy";
        }
      );
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });
})();
