// Study dashboard: poll the data endpoint with the last version seen and apply only what changed.
// One request at a time (the next is scheduled only when the previous one has finished), a longer
// wait when the server is slow or failing or asks for one (X-Poll-Interval, in seconds), and no
// polling at all once the study has ended.
(function () {
  "use strict";

  const root = document.getElementById("dashboard");
  const charts = window.HytnasCharts;
  if (!root || !root.getAttribute("data-url") || !charts || typeof Plotly === "undefined") {
    return;
  }
  const url = root.getAttribute("data-url");
  const ENDED = ["completed", "cancelled", "failed"];
  const RUNNING_WAIT = 2000; // ms between polls of a running study
  const IDLE_WAIT = 10000; // draft or paused: it may be started from elsewhere
  const MAX_WAIT = 60000;
  const SLOW_FACTOR = 4; // wait at least this many times the last response time

  let version = root.getAttribute("data-version");
  let status = root.getAttribute("data-status");
  let failures = 0;
  let serverWait = 0; // ms the server asked for in its last X-Poll-Interval header
  const shown = new Set(); // evaluation ids already in the Pareto chart's trace 0

  function rememberShown() {
    shown.clear();
    const pareto = charts.byName("pareto");
    if (pareto && charts.hasPlot(pareto) && pareto.data[0] && Array.isArray(pareto.data[0].customdata)) {
      pareto.data[0].customdata.forEach(function (id) { shown.add(id); });
    }
  }

  function setField(name, text) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach(function (element) {
      element.textContent = text;
    });
  }

  function applyHeader(data) {
    status = data.status;
    root.setAttribute("data-status", status);
    const badge = document.querySelector('.page-head [data-field="status"]');
    if (badge) {
      badge.textContent = data.status_label;
      badge.className = "status status-" + status;
    }
    const p = data.progress;
    setField("evaluations", p.n_done + " / " + p.budget);
    setField("n_failed", String(p.n_failed));
    setField("n_failed_total", String(p.n_failed));
    setField("n_pending_text", p.n_pending_text);
    setField("initial_design_text", p.initial_design_text);
    setField("iteration", p.iteration_text);
    setField("seconds_per_iteration_text", p.seconds_per_iteration_text);
    setField("eta_text", p.eta_text);
    setField("best_hypervolume", p.best_hypervolume_text); // the server's text: the same as a reload
    setField("reference_point", data.reference_point_text);
    const bar = document.querySelector("section.progress progress");
    if (bar) {
      bar.max = p.budget;
      bar.value = p.n_done;
      bar.textContent = p.n_done + " of " + p.budget;
    }
  }

  // Returns false when a chart that was empty got its first data: the client then asks for everything.
  function applyPareto(pareto) {
    const chart = charts.byName("pareto");
    if (!chart || !pareto) {
      return true;
    }
    if (pareto.figure !== undefined) {
      charts.draw(chart, pareto.figure);
      rememberShown();
      return true;
    }
    if (!charts.hasPlot(chart)) {
      return !pareto.points;
    }
    const points = pareto.points;
    if (points) {
      const keep = points.ids.map(function (id) { return !shown.has(id); });
      const pick = function (column) { return column.filter(function (_, i) { return keep[i]; }); };
      const update = {
        x: [pick(points.x)],
        "marker.color": [pick(points.color)],
        text: [pick(points.text)],
        customdata: [pick(points.ids)],
      };
      if (points.y) {
        update.y = [pick(points.y)];
      }
      if (points.z) {
        update.z = [pick(points.z)];
      }
      if (update.x[0].length) {
        Plotly.extendTraces(chart, update, [0]);
        update.customdata[0].forEach(function (id) { shown.add(id); });
      }
    }
    const layout = Object.assign({}, chart.layout, { title: { text: pareto.title } });
    Plotly.react(chart, [chart.data[0]].concat(pareto.overlays), layout);
    return true;
  }

  function applyShares(shares) {
    if (!shares || !shares.length) {
      return true;
    }
    const chart = charts.byName("stage_share");
    if (!chart || !charts.hasPlot(chart)) {
      return false;
    }
    Plotly.extendTraces(chart, { x: [shares] }, [0]);
    return true;
  }

  function applyFailed(rows) {
    const list = document.querySelector('[data-list="failed"]');
    if (!list || !rows || !rows.length) {
      return;
    }
    const empty = document.querySelector('[data-empty="failed"]');
    if (empty) {
      empty.remove();
    }
    rows.forEach(function (row) {
      const item = document.createElement("li");
      item.textContent = "#" + row.id + (row.iteration === null ? "" : " · iteration " + row.iteration)
        + (row.error ? ": " + row.error : "");
      list.insertBefore(item, list.firstChild);
    });
  }

  function applyHtml(html) {
    if (!html) {
      return;
    }
    // Server-rendered, auto-escaped partials (the same templates as the page).
    Object.keys(html).forEach(function (name) {
      const box = document.querySelector('[data-html="' + name + '"]');
      if (box) {
        box.innerHTML = html[name];
      }
    });
  }

  function applyFull(data) {
    Object.keys(data.figures).forEach(function (name) {
      const chart = charts.byName(name);
      if (chart) {
        charts.draw(chart, data.figures[name]);
      }
    });
    rememberShown();
    const list = document.querySelector('[data-list="failed"]');
    if (list) {
      list.textContent = "";
      applyFailed(data.failed.slice().reverse());
    }
  }

  // Apply one answer; returns false when the next request must ask for everything.
  function apply(data) {
    applyHeader(data);
    applyHtml(data.html);
    if (data.full) {
      applyFull(data);
      return true;
    }
    let complete = true;
    if (data.figures) {
      Object.keys(data.figures).forEach(function (name) {
        const chart = charts.byName(name);
        if (chart) {
          charts.draw(chart, data.figures[name]);
        }
      });
    }
    complete = applyPareto(data.pareto) && complete;
    complete = applyShares(data.stage_shares) && complete;
    applyFailed(data.failed_new);
    return complete;
  }

  function ended() {
    return ENDED.indexOf(status) !== -1;
  }

  function schedule(elapsed) {
    // An answer that ended the study but left a chart wanting everything (version reset) is
    // followed by one last, full request; then updates stop.
    if (ended() && version) {
      setField("live", "The study has ended: live updates stopped.");
      return;
    }
    const base = Math.max(status === "running" ? RUNNING_WAIT : IDLE_WAIT, serverWait);
    const wait = Math.min(MAX_WAIT, Math.max(base, SLOW_FACTOR * elapsed) * Math.pow(2, failures));
    window.setTimeout(poll, wait);
  }

  function poll() {
    const started = performance.now();
    const query = version ? "?since=" + encodeURIComponent(version) : "";
    fetch(url + query, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        const asked = parseFloat(response.headers.get("X-Poll-Interval"));
        serverWait = isFinite(asked) && asked > 0 ? Math.min(MAX_WAIT, asked * 1000) : 0;
        if (response.status === 304) {
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (data) {
          const complete = apply(data);
          version = complete ? data.version : "";
        }
        setField("live", ended() ? "" : "Live: updated " + new Date().toLocaleTimeString());
      })
      .catch(function (error) {
        failures = Math.min(failures + 1, 5);
        setField("live", "Live updates paused (" + error.message + "); retrying.");
      })
      .then(function () {
        schedule(performance.now() - started);
      });
  }

  rememberShown();
  schedule(0);
})();
