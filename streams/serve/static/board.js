/* 督查大屏: draws the board from /api/board and polls it. Plain JavaScript and the vendored ECharts only. */
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root) { return; }
  var api = root.dataset.api;
  var pollMs = Math.max(1, Number(root.dataset.pollSeconds || 10)) * 1000;
  var charts = {};
  var COLOURS = { planning: "#5b8ff9", attraction: "#f6bd16", signed: "#e8684a", landed: "#5ad8a6" };

  function fmt(value, decimals) {
    if (value === null || value === undefined) { return "—"; }
    if (typeof value !== "number") { return String(value); }
    return value.toLocaleString("zh-CN", { minimumFractionDigits: decimals || 0, maximumFractionDigits: decimals || 0 });
  }

  /* figures shown as they are: a year is not a quantity, times read as "2024-12-31 18:00:05" */
  var PLAIN = { year: true, as_of: true, updated_at: true, fetched_at: true, "ranking.period": true };

  function plain(value) {
    if (value === null || value === undefined) { return "—"; }
    return String(value).replace("T", " ").replace(/([+-]\d\d:\d\d|Z)$/, "");
  }

  function flat(doc) {
    var out = { as_of: doc.as_of, updated_at: doc.updated_at, fetched_at: doc.fetched_at, year: doc.year,
      projects_total: doc.projects_total, red_total: doc.colours.red_total, "ranking.period": doc.ranking.period,
      source_label: doc.source === "replay" ? "（归档数据：回放目录）" : "（实时数据）" };
    doc.pools.forEach(function (p) {
      out["pools." + p.pool + ".count"] = p.count;
      out["pools." + p.pool + ".investment_yi"] = p.investment_yi;
    });
    doc.colours.counts.forEach(function (c) { out["colours." + c.colour] = c.count; });
    Object.keys(doc.trips).forEach(function (k) { out["trips." + k] = doc.trips[k]; });
    Object.keys(doc.bottlenecks).forEach(function (k) {
      if (typeof doc.bottlenecks[k] !== "object" || doc.bottlenecks[k] === null) { out["bottlenecks." + k] = doc.bottlenecks[k]; }
    });
    return out;
  }

  function setFigures(values) {
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      var key = el.dataset.figure;
      if (!(key in values)) { return; }
      var v = values[key];
      var yi = /_yi$/.test(key);
      el.textContent = PLAIN[key] ? plain(v) : yi ? fmt(v, 2) : fmt(v);
      el.dataset.value = v === null || v === undefined ? "" : String(v);
    });
  }

  function cell(tr, text, cls, href) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
    return td;
  }

  function fillTable(id, rows, each) {
    var body = document.querySelector("#" + id + " tbody");
    body.replaceChildren();
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      each(tr, r);
      body.appendChild(tr);
    });
  }

  function fillList(id, rows) {
    var ol = document.getElementById(id);
    ol.replaceChildren();
    rows.forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = r.href;
      a.textContent = r.unit;
      li.appendChild(a);
      var s = document.createElement("span");
      s.className = "muted";
      s.textContent = " " + fmt(r.score, 2);
      li.appendChild(s);
      ol.appendChild(li);
    });
    if (!rows.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "（无）";
      ol.appendChild(none);
    }
  }

  function chart(id) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") { return null; }
    if (!charts[id]) { charts[id] = echarts.init(el, null, { renderer: "canvas" }); }
    return charts[id];
  }

  function drawTargets(targets) {
    var c = chart("chart-targets");
    if (!c) { return; }
    var shown = targets.slice().reverse();
    c.setOption({
      animation: false,
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: function (v) { return Math.max(100, Math.ceil(v.max / 50) * 50); },
        axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: shown.map(function (t) { return t.label; }),
        axisLabel: { interval: 0, fontSize: 11 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      series: [{ type: "bar", data: shown.map(function (t) {
        var pct = t.attainment === null ? 0 : Math.round(t.attainment * 1000) / 10;
        return { value: pct, itemStyle: { color: pct >= 100 ? "#2e7d32" : "#d32f2f" } };
      }), label: { show: true, position: "right", formatter: "{c}%" },
        markLine: { silent: true, symbol: "none", label: { show: false }, data: [{ xAxis: 100 }],
          lineStyle: { color: "#999" } } }]
    }, true);
  }

  function drawIssues(categories) {
    var c = chart("chart-issues");
    if (!c) { return; }
    c.setOption({
      animation: false,
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      title: { text: "在办问题类别", textStyle: { fontSize: 13 } },
      xAxis: { type: "category", data: categories.map(function (r) { return r.label; }) },
      yAxis: { type: "value", minInterval: 1, splitNumber: 2, axisLabel: { show: false } },
      tooltip: { trigger: "axis" },
      series: [{ type: "bar", data: categories.map(function (r) { return r.count; }), itemStyle: { color: "#e8684a" },
        label: { show: true, position: "top", fontSize: 11 } }]
    }, true);
  }

  function drawTrend(trend) {
    document.getElementById("trend-missing").hidden = !!trend;
    var c = chart("chart-trend");
    if (!c || !trend) { return; }
    var pools = Object.keys(trend.series);
    c.setOption({
      animation: false,
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: trend.months },
      yAxis: [{ type: "value", name: "项目数", minInterval: 1 }],
      series: pools.map(function (pool) {
        return { name: trend.series[pool].label, type: "line", smooth: true, data: trend.series[pool].count,
          itemStyle: { color: COLOURS[pool] }, pool: pool };
      })
    }, true);
    c.off("click");
    c.on("click", function (e) { window.location.href = "/projects?pool=" + pools[e.seriesIndex]; });
  }

  function render(doc) {
    var status = document.getElementById("board-status");
    if (doc.state !== "ok") {
      status.textContent = doc.message || "正在重新平衡，稍后刷新";
      status.hidden = false;
      root.classList.add("stale");
      return;
    }
    status.hidden = true;
    root.classList.remove("stale");
    setFigures(flat(doc));
    fillTable("targets-table", doc.targets, function (tr, t) {
      cell(tr, t.label);
      cell(tr, t.actual === null ? "—" : fmt(t.actual, t.unit === "亿元" ? 2 : 0) + " " + t.unit, "num");
      cell(tr, fmt(t.target, t.unit === "亿元" ? 2 : 0) + " " + t.unit, "num");
      var td = cell(tr, t.attainment === null ? "—" : fmt(t.attainment * 100, 1) + "%", "num");
      if (t.attainment !== null) { td.classList.add(t.attainment >= 1 ? "ok" : "behind"); }
    });
    var reds = doc.colours.red_list;
    document.getElementById("red-list-missing").hidden = reds !== null;
    fillTable("red-list", reds || [], function (tr, r) {
      tr.dataset.projectId = r.project_id;
      cell(tr, r.name || r.project_id, null, r.href);
      cell(tr, r.leader || "—");
      cell(tr, r.department || "—");
      cell(tr, r.days_late !== null ? fmt(r.days_late) : "停滞" + fmt(r.days_since_advance) + "天", "num");
    });
    fillList("red-board", doc.ranking.red_board);
    fillList("black-board", doc.ranking.black_board);
    fillTable("ranking-table", doc.ranking.rows, function (tr, r) {
      tr.dataset.unit = r.unit;
      if (r.board === "top") { tr.className = "on-red-board"; }
      if (r.board === "bottom") { tr.className = "on-black-board"; }
      cell(tr, fmt(r.rank), "num");
      cell(tr, r.unit, null, r.href);
      cell(tr, fmt(r.score, 2), "num");
      cell(tr, r.rank_change === null ? "—" : (r.rank_change > 0 ? "↑" + r.rank_change : r.rank_change < 0 ? "↓" + (-r.rank_change) : "—"), "num");
      cell(tr, fmt(r.signings), "num");
      cell(tr, fmt(r.starts), "num");
      cell(tr, fmt(r.red), "num");
    });
    document.getElementById("targets-missing").hidden = doc.targets.length > 0;
    drawTargets(doc.targets);
    drawIssues(doc.bottlenecks.open_by_category);
    drawTrend(doc.trend);
    root.querySelectorAll("a[data-year-link]").forEach(function (a) {
      a.href = a.dataset.yearLink.replace("{year}", String(doc.year));
    });
    root.dataset.updatedAt = doc.updated_at;
  }

  function poll() {
    fetch(api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.href = "/login"; throw new Error("signed out"); }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(render)
      .catch(function (e) {
        var status = document.getElementById("board-status");
        status.textContent = "暂时无法获取数据（" + e.message + "），稍后自动重试";
        status.hidden = false;
      })
      .finally(function () { window.setTimeout(poll, pollMs); });
  }

  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  var initial = document.getElementById("board-initial");
  if (initial) { render(JSON.parse(initial.textContent)); }
  window.setTimeout(poll, pollMs);
}());
