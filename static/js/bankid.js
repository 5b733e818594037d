// A BankID waiting page (login or signing): fetch its changing part, #bankid-state from its
// data-status-url (the QR code of this second and BankID's message), every second, and go on
// when the server says where (an HX-Redirect header). Without JavaScript the page's "Check
// again" link does the same by hand.
(function () {
  "use strict";
  var box = document.getElementById("bankid-state");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-status-url");
  var busy = false;
  var timer = window.setInterval(function () {
    if (busy) return;
    busy = true;
    fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        var next = response.headers.get("HX-Redirect");
        if (next) {
          window.clearInterval(timer);
          window.location.assign(next);
          return null;
        }
        if (!response.ok) {
          window.clearInterval(timer);
          window.location.reload();
          return null;
        }
        return response.text().then(function (html) {
          box.innerHTML = html;
          if (!box.querySelector("[data-pending]")) window.clearInterval(timer);
        });
      })
      .catch(function () {})
      .then(function () {
        busy = false;
      });
  }, 1000);
})();
