// The office's live figures, updated by the server as check-ins happen on
// any instance; without EventSource the page shows them as of its loading.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box || !window.EventSource) return;
  var cells = box.querySelectorAll("b");
  var source = new EventSource("/api/v1/stats/live/stream");
  source.addEventListener("live", function (e) {
    var live = JSON.parse(e.data);
    cells[0].textContent = live.guests_in_house;
    cells[1].textContent = live.arrivals_today;
    cells[2].textContent = live.attraction_visitors_today;
    box.setAttribute("data-updated", String(Date.now()));
  });
})();

// A step that cannot be taken back asks first: a new code retires every
// poster printed with the old one. Without script the form goes at once.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var question = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });
})();
