// Study charts: draw every [data-chart] element from the Plotly figure its page embedded with
// json_script (data-figure names that element). A chart without a figure shows its note instead.
// Clicking a point that carries an evaluation id opens that architecture's page.
(function () {
  "use strict";

  const CONFIG = { responsive: true, displaylogo: false };

  function noteOf(chart) {
    return document.querySelector('[data-note="' + chart.getAttribute("data-chart") + '"]');
  }

  function embeddedFigure(chart) {
    const element = document.getElementById(chart.getAttribute("data-figure"));
    return element ? JSON.parse(element.textContent) : null;
  }

  function hasPlot(chart) {
    return chart.classList.contains("js-plotly-plot") && Array.isArray(chart.data);
  }

  function openOnClick(chart) {
    const root = document.getElementById("dashboard");
    const prefix = root ? root.getAttribute("data-architecture-prefix") : null;
    if (!prefix || chart.getAttribute("data-clicks") === "on") {
      return;
    }
    chart.setAttribute("data-clicks", "on");
    chart.on("plotly_click", function (event) {
      const point = event && event.points && event.points[0];
      const id = point ? point.customdata : null;
      if (Number.isInteger(id)) {
        window.location.href = prefix + id + "/";
      }
    });
  }

  // Draw (or redraw in place) one chart; null shows its note.
  function draw(chart, figure) {
    const note = noteOf(chart);
    if (!figure) {
      if (hasPlot(chart)) {
        Plotly.purge(chart);
      }
      chart.classList.remove("has-plot");
      if (note) {
        note.classList.remove("hidden");
      }
      chart.setAttribute("data-rendered", "note");
      return;
    }
    if (note) {
      note.classList.add("hidden");
    }
    chart.classList.add("has-plot");
    Plotly.react(chart, figure.data, figure.layout, CONFIG);
    chart.setAttribute("data-rendered", "plot");
    if (chart.getAttribute("data-chart") === "pareto") {
      openOnClick(chart);
    }
  }

  function byName(name) {
    return document.querySelector('[data-chart="' + name + '"]');
  }

  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach(function (chart) {
      if (typeof Plotly === "undefined") {
        const note = noteOf(chart);
        if (note) {
          note.textContent = "Charts need plotly.js, which did not load.";
          note.classList.remove("hidden");
        }
        chart.setAttribute("data-rendered", "note");
        return;
      }
      draw(chart, embeddedFigure(chart));
    });
  }

  window.HytnasCharts = { draw: draw, byName: byName, hasPlot: hasPlot };
  drawAll();
})();
