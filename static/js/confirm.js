// Every page: a form carrying data-confirm asks before it posts (revoking a token, cancelling a
// study). Listening on the document covers forms the live dashboard redraws after the page loaded.
// Without this script the form posts at once.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
