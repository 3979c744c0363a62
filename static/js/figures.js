// Pages of fixed figures (compare, what drives each objective): draw each Plotly figure dict the
// server embedded with json_script. Each chart element names its data element in data-figure;
// without plotly.js the tables still say it all.
(function () {
  "use strict";

  const charts = document.querySelectorAll("[data-figure]");
  charts.forEach(function (chart) {
    const source = document.getElementById(chart.dataset.figure);
    if (!source) {
      return;
    }
    if (typeof window.Plotly === "undefined") {
      chart.textContent = "The chart library did not load; the tables below still hold the figures.";
      chart.classList.add("note", "muted");
      return;
    }
    const figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(chart, figure.data, figure.layout, { responsive: true, displaylogo: false });
  });
})();
