// Time charts (valuations/_timechart.html) a person can read without a mouse.
// A slider, its arrow keys, a pointer or a finger moves a cursor along the
// days; the legend shows that day's figures, taken from the chart's own data
// table (every figure, formatted by the server). Without JavaScript the legend
// shows the last day and the table is still there.
(function () {
  "use strict";

  function setup(figure) {
    if (figure.dataset.ready) {
      return; // the partial is included once per chart: run once per figure
    }
    figure.dataset.ready = "1";
    var rows = figure.querySelectorAll(".chart-data tbody tr[data-x]");
    var scrub = figure.querySelector(".scrub");
    var slider = scrub && scrub.querySelector("input[type=range]");
    if (rows.length < 2 || !slider) {
      return;
    }
    var xs = Array.prototype.map.call(rows, function (row) {
      return parseFloat(row.dataset.x);
    });
    var last = rows.length - 1;
    var when = figure.querySelector(".readout .when");
    var figures = figure.querySelectorAll(".readout li[class^=series-] b");
    var names = Array.prototype.map.call(
      figure.querySelectorAll(".chart-data thead th"),
      function (th) { return th.textContent; }
    );
    var cursorLines = figure.querySelectorAll(".cursor line");
    var dots = figure.querySelectorAll(".cursor .dot");
    var hovering = false;

    function sentence(row) {
      var cells = row.cells;
      var parts = [];
      for (var i = 1; i < cells.length; i++) {
        parts.push(names[i] + " " + cells[i].textContent);
      }
      return cells[0].textContent + ": " + parts.join(", ");
    }

    function show(index) {
      var row = rows[index];
      var x = xs[index] + "%";
      var ys = row.dataset.y ? row.dataset.y.split(" ") : [];
      cursorLines.forEach(function (line) {
        line.setAttribute("x1", x);
        line.setAttribute("x2", x);
      });
      dots.forEach(function (dot, i) {
        var y = ys[i];
        if (y === undefined || y === "-") {
          dot.setAttribute("visibility", "hidden");
          return;
        }
        dot.removeAttribute("visibility");
        dot.setAttribute("cx", x);
        dot.setAttribute("cy", y);
      });
      when.textContent = row.cells[0].textContent;
      var cells = row.querySelectorAll("td");
      figures.forEach(function (b, i) {
        b.textContent = cells[i] ? cells[i].textContent : "";
      });
    }

    function nearest(percent) {
      var lo = 0;
      var hi = last;
      while (hi - lo > 1) {
        var mid = (lo + hi) >> 1;
        if (xs[mid] < percent) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
      return percent - xs[lo] <= xs[hi] - percent ? lo : hi;
    }

    function settle() {
      var chosen = Number(slider.value);
      show(chosen);
      var active = hovering || document.activeElement === slider || chosen !== last;
      figure.classList.toggle("active", active);
    }

    function select(index) {
      slider.value = String(index);
      slider.setAttribute("aria-valuetext", sentence(rows[index]));
      settle();
    }

    figure.querySelectorAll("svg.graph").forEach(function (svg) {
      var area = svg.querySelector("svg.area"); // the plot, right of the labels

      function at(event) {
        var box = area.getBoundingClientRect();
        return nearest(((event.clientX - box.left) / box.width) * 100);
      }

      svg.addEventListener("pointermove", function (event) {
        hovering = true;
        var index = at(event);
        if (event.pointerType === "mouse") {
          show(index); // a mouse only points; the slider keeps its day
          figure.classList.add("active");
        } else {
          select(index); // a finger or pen dragging along the chart picks the day
        }
      });
      svg.addEventListener("pointerleave", function () {
        hovering = false;
        settle();
      });
      svg.addEventListener("click", function (event) {
        select(at(event));
      });
    });
    slider.addEventListener("input", function () {
      select(Number(slider.value));
    });
    slider.addEventListener("focus", settle);
    slider.addEventListener("blur", settle);
    slider.setAttribute("aria-valuetext", sentence(rows[last]));
    scrub.hidden = false;
  }

  document.querySelectorAll("[data-timechart]").forEach(setup);
})();
