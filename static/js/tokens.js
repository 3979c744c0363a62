// Worker tokens page: a Copy button beside the new secret and command line (the confirmation before a
// token is revoked is confirm.js's). Without this script the fields can still be selected and copied
// by hand.
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
})();
