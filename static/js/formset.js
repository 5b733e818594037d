// "Add another user" for the Documents customer form. Without JavaScript the form
// still works with its empty rows; this only adds more of them.
(function () {
  "use strict";
  var button = document.getElementById("add-user-row");
  var template = document.getElementById("user-row-template");
  var rows = document.getElementById("user-rows");
  var total = document.getElementById("id_users-TOTAL_FORMS");
  if (!button || !template || !rows || !total) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__num__/g, String(index + 1));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = rows.lastElementChild && rows.lastElementChild.querySelector("input");
    if (first) first.focus();
  });
})();
