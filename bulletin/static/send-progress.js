// Live figures on a send or import page: poll the JSON endpoint every few seconds while it
// runs. Without JavaScript the page shows the figures as they were, with a refresh link.
(function () {
  "use strict";
  var section = document.querySelector("section[data-progress-url]");
  if (!section || !window.fetch) { return; }
  var url = section.getAttribute("data-progress-url");
  var bar = section.querySelector("progress");
  // The statuses still under way: a page may name its own (data-running="queued running").
  var running = {};
  (section.getAttribute("data-running") || "scheduled sending paused").split(" ")
    .forEach(function (status) { running[status] = true; });

  function show(data) {
    section.querySelectorAll("[data-progress]").forEach(function (el) {
      var key = el.getAttribute("data-progress");
      if (key === "queued") { el.textContent = data.queued + data.sending; }
      else if (key === "seconds_left" && data.seconds_left === null) { return; }
      else if (key in data) { el.textContent = data[key]; }
    });
    if (bar) { bar.max = data.total || 1; bar.value = data.done; bar.textContent = data.percent + "%"; }
    return running[data.status];
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && show(data)) { window.setTimeout(poll, 2000); }
        else if (data) { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  // A finished send has nothing to watch; a running one reloads once when it ends.
  if (running[section.getAttribute("data-status")]) { window.setTimeout(poll, 2000); }
}());
