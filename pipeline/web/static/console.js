// Reunify console: the dashboard's live panel of the run in progress. No inline script anywhere;
// text goes in with textContent only, so nothing from the server is ever parsed as HTML.
(function () {
  "use strict";
  var panel = document.getElementById("live");
  if (!panel) { return; }
  var url = panel.getAttribute("data-progress");

  function line(text) {
    var p = document.createElement("p");
    p.textContent = text;
    return p;
  }

  function show(data) {
    var nodes = [];
    var run = data.running;
    if (run) {
      nodes.push(line("Run " + run.run_id.slice(0, 12) + " in progress (" + run.trigger + ", " + run.mode +
        "): stage " + (run.stage || "starting") + ", " + Math.round(run.age_seconds) + " s so far."));
      var feeds = Object.keys(run.counts || {}).sort();
      for (var i = 0; i < feeds.length; i++) {
        var c = run.counts[feeds[i]];
        nodes.push(line(feeds[i] + ": " + c.fetched + " records fetched, " + c.quarantined + " quarantined"));
      }
      if (run.partitions > 1) {
        nodes.push(line("matching: " + run.partitions_done + " of " + run.partitions + " partitions done"));
      }
    } else {
      nodes.push(line("No run in progress."));
    }
    panel.replaceChildren.apply(panel, nodes);
    panel.setAttribute("data-state", run ? "running" : "idle");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
