// Follow a running job: poll its API resource and move the bar; reload the
// page once it ends, so the server shows what it did. Without JavaScript the
// page refreshes itself every two seconds instead (<noscript> in the head).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.status === "done" || box.dataset.status === "failed") {
    return;
  }
  var bar = document.getElementById("job-bar");
  var count = document.getElementById("job-count");
  var state = document.getElementById("job-state");
  var stage = document.getElementById("job-stage");
  var number = new Intl.NumberFormat("en-US");

  function show(job) {
    if (job.total > 0) {
      bar.max = job.total;
      bar.value = job.done;
      count.textContent =
        number.format(job.done) + " of " + number.format(job.total) + " rows · " +
        job.percent + " %";
    }
    state.textContent = job.status === "running" ? "Running" : "Waiting to start";
    stage.textContent = job.stage ? " · " + job.stage : "";
  }

  function poll() {
    fetch(box.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (job) {
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
          return;
        }
        show(job);
        window.setTimeout(poll, 400);
      })
      .catch(function () {
        window.setTimeout(poll, 2000); // a blip: try again, more slowly
      });
  }

  window.setTimeout(poll, 200);
})();
