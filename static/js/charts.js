// Charts for Mission Control pages, drawn with the vendored uPlot (static/js/vendor/).
//
// A chart is a <figure data-chart="ID"> holding a .chart-plot element (aria-hidden: the canvas is
// for sighted users) and a table with the same numbers for screen readers; its data is a JSON
// block <script type="application/json" id="ID"> (the CSP allows data blocks, not inline code).
// Colours come from CSS custom properties, read again when the colour scheme changes, so charts
// stay readable in dark mode. Usage and data format: docs/charts.md.
(function () {
  "use strict";

  if (!("uPlot" in window)) {
    return;
  }

  var HEIGHT_PX = 220;
  var PALETTE_VARS = ["--chart-1", "--chart-2", "--chart-3", "--chart-4", "--chart-5", "--chart-6"];
  // Chart colours are tokens in app.css with a plain value per theme: the canvas needs a colour,
  // and a token holding light-dark() would be read back unresolved.
  var charts = new Map();

  // The first of `names` that is set on :root, else `fallback`.
  function cssVar(names, fallback) {
    var style = getComputedStyle(document.documentElement);
    var list = Array.isArray(names) ? names : [names];
    for (var i = 0; i < list.length; i += 1) {
      var value = style.getPropertyValue(list[i]).trim();
      if (value) {
        return value;
      }
    }
    return fallback;
  }

  function palette() {
    return PALETTE_VARS.map(function (name) {
      return cssVar(name, "#888888");
    });
  }

  function readData(id) {
    var block = document.getElementById(id);
    if (!block) {
      return null;
    }
    try {
      return JSON.parse(block.textContent);
    } catch (error) {
      return null;
    }
  }

  // Stacked series are drawn as running totals, the largest first, so each smaller total paints
  // over the one above it; the legend and tooltips still show each series' own value.
  function seriesData(data) {
    var values = data.series.map(function (series) {
      return series.values.map(Number);
    });
    if (!data.stacked) {
      return { drawn: values, order: values.map(function (_, i) { return i; }) };
    }
    var totals = data.x.map(function () { return 0; });
    var running = values.map(function (row) {
      return row.map(function (value, i) {
        totals[i] += value;
        return totals[i];
      });
    });
    var order = running.map(function (_, i) { return i; }).reverse();
    return {
      drawn: order.map(function (i) { return running[i]; }),
      order: order,
    };
  }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  // "2026-12-01" on an axis reads as "Dec 1" (the table and the legend keep the full date).
  function shortLabel(label) {
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(label));
    return match ? MONTHS[Number(match[2]) - 1] + " " + Number(match[3]) : String(label);
  }

  function longestLabel(labels) {
    return labels.reduce(function (longest, label) {
      return Math.max(longest, shortLabel(label).length);
    }, 1);
  }

  // Counts (bars, histograms, areas: data.y_zero) start at 0, with headroom above the tallest
  // value; uPlot's own range would start a flat series of ones near 0.8.
  function yScale(data) {
    if (!data.y_zero) {
      return {};
    }
    return {
      range: function (u, dataMin, dataMax) {
        var top = dataMax > 0 ? dataMax : 1;
        return [0, uPlot.rangeNum(0, top, 0.1, true)[1]];
      },
    };
  }

  // Bars sit in the middle of a slot each (x from -0.5 to n - 0.5), so the first and last are
  // not cut in half at the edges of the plot.
  function xScale(data, bars) {
    if (!bars) {
      return { time: false };
    }
    return {
      time: false,
      range: function () {
        return [-0.5, data.x.length - 0.5];
      },
    };
  }

  // A count (every value whole) is labelled in whole steps: no "0.25 tasks" on the axis.
  var WHOLE_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000,
    20000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000];
  function wholeSteps(data) {
    var whole = data.series.every(function (series) {
      return series.values.every(function (value) { return Number(value) === Math.round(Number(value)); });
    });
    return whole ? { incrs: WHOLE_INCRS } : {};
  }

  // A chart with slot_px is no wider than its categories need (plus the y axis).
  function plotWidth(data, available) {
    var width = Math.max(available, 200);
    if (data.slot_px) {
      width = Math.min(width, Math.max(240, data.x.length * data.slot_px + 80));
    }
    return width;
  }

  // The plot's box no wider than slot_px allows, so the legend sits under the bars, not in the
  // middle of an empty page-wide strip.
  function capBox(plot, data) {
    plot.style.maxWidth = data.slot_px ? Math.max(240, data.x.length * data.slot_px + 80) + "px" : "";
  }

  function options(figure, data, width) {
    var colours = palette();
    var fg = cssVar("--chart-text", "#5b5e6b");
    var grid = cssVar("--chart-grid", "#e3e4e8");
    var kind = data.kind || "lines";
    var bars = kind === "bars" || kind === "histogram";
    var prepared = seriesData(data);
    var series = [{ label: data.x_label || "" }];
    prepared.order.forEach(function (index) {
      var source = data.series[index];
      var colour = colours[index % colours.length];
      series.push({
        label: source.label,
        stroke: colour,
        width: bars ? 0 : 2,
        fill: bars || kind === "area" ? colour : undefined,
        paths: bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
        points: { show: false },
        value: function (u, v, seriesIndex, row) {
          return row == null ? "–" : String(source.values[row]);
        },
      });
    });
    var axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      width: width,
      height: HEIGHT_PX,
      series: series,
      legend: { show: data.series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: { x: xScale(data, bars), y: yScale(data) },
      axes: [
        Object.assign({}, axis, {
          // Room per label from the longest one, so uPlot skips categories rather than overlap them;
          // whole steps only (a category axis has no "day 2.5").
          space: longestLabel(data.x) * 7 + 16,
          incrs: [1, 2, 3, 4, 5, 7, 10, 14, 15, 20, 30, 60, 90, 120, 180, 365],
          values: function (u, ticks) {
            return ticks.map(function (tick) {
              var label = data.x[tick];
              return label === undefined || tick !== Math.round(tick) ? "" : shortLabel(label);
            });
          },
        }),
        Object.assign({}, axis, { label: data.y_label || "" }, wholeSteps(data)),
      ],
      _prepared: prepared,
    };
  }

  function draw(figure) {
    var id = figure.dataset.chart;
    var data = readData(id);
    var plot = figure.querySelector(".chart-plot");
    var previous = charts.get(id);
    if (previous) {
      previous.destroy();
      charts.delete(id);
    }
    if (!data || !plot || !data.x || !data.x.length) {
      return;
    }
    capBox(plot, data);
    var opts = options(figure, data, plotWidth(data, plot.clientWidth));
    var prepared = opts._prepared;
    delete opts._prepared;
    var xs = data.x.map(function (_, i) { return i; });
    charts.set(id, new uPlot(opts, [xs].concat(prepared.drawn), plot));
  }

  function drawAll() {
    document.querySelectorAll("figure[data-chart]").forEach(draw);
  }

  // Replaces a chart's data block and redraws it (live pages swap in fresh numbers this way).
  function update(id, data) {
    var block = document.getElementById(id);
    var figure = document.querySelector('figure[data-chart="' + id + '"]');
    if (!block || !figure) {
      return;
    }
    block.textContent = JSON.stringify(data);
    draw(figure);
  }

  var resizeTimer = null;
  function redrawSoon() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawAll, 150);
  }

  window.MissionCharts = { drawAll: drawAll, update: update };
  window.addEventListener("resize", redrawSoon);
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", drawAll);
  }
  // The theme toggle sets html[data-theme]: colours change without a media-query event.
  if ("MutationObserver" in window) {
    new MutationObserver(drawAll).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-theme", "class"],
    });
  }
  // htmx swapped a region in (a live region with a chart's figure among them).
  document.body.addEventListener("htmx:afterSettle", drawAll);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
