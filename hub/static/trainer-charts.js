/*
 * Small inline-SVG charts for the trainer console's report (no library, no network).
 *   KefuCharts.bars(container, [{label, value, compare}], {max, format})   horizontal bars (compare: a thin
 *       lighter bar under each, e.g. the active model's F1)
 *   KefuCharts.line(container, [{label, value, note}], {max, format})       a line over days; null = no data
 * Labels are set with textContent, never parsed as markup.
 */
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function percent(value) { return (value * 100).toFixed(1) + "%"; }

  function bars(container, items, options) {
    options = options || {};
    var format = options.format || percent;
    var max = options.max || Math.max.apply(null, items.map(function (i) { return i.value || 0; }).concat([1]));
    var labelWidth = options.labelWidth || 170;
    var width = 720, row = items.some(function (i) { return i.compare !== undefined && i.compare !== null; }) ? 30 : 24;
    var height = items.length * row + 10;
    var plot = width - labelWidth - 70;
    clear(container);
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "presentation" });
    items.forEach(function (item, index) {
      var y = 5 + index * row;
      var value = item.value || 0;
      root.appendChild(svg("text", { x: labelWidth - 8, y: y + 13, "text-anchor": "end" }, item.label));
      var bar = svg("rect", { x: labelWidth, y: y + 2, height: 14, width: Math.max(1, plot * value / max), class: "bar" });
      bar.appendChild(svg("title", {}, item.label + "：" + format(value)));
      root.appendChild(bar);
      if (item.compare !== undefined && item.compare !== null) {
        root.appendChild(svg("rect", { x: labelWidth, y: y + 18, height: 5, width: Math.max(1, plot * item.compare / max), class: "bar baseline" }));
      }
      root.appendChild(svg("text", { x: labelWidth + plot * value / max + 6, y: y + 13 }, format(value)));
    });
    container.appendChild(root);
  }

  function line(container, points, options) {
    options = options || {};
    var format = options.format || percent;
    var max = options.max || 1;
    var width = 720, height = 220, left = 48, right = 16, top = 14, bottom = 40;
    var plotW = width - left - right, plotH = height - top - bottom;
    clear(container);
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "presentation" });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (tick) {
      var y = top + plotH * (1 - tick);
      root.appendChild(svg("line", { x1: left, x2: width - right, y1: y, y2: y, class: "axis" }));
      root.appendChild(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, format(tick * max)));
    });
    var step = points.length > 1 ? plotW / (points.length - 1) : 0;
    var path = "";
    points.forEach(function (point, index) {
      var x = left + step * index;
      if (index % Math.ceil(points.length / 7) === 0 || index === points.length - 1) {
        root.appendChild(svg("text", { x: x, y: height - bottom + 18, "text-anchor": "middle" }, point.label));
      }
      if (point.value === null || point.value === undefined) { path += ""; return; }
      var y = top + plotH * (1 - point.value / max);
      path += (path && points[index - 1] && points[index - 1].value !== null ? " L " : " M ") + x + " " + y;
      var dot = svg("circle", { cx: x, cy: y, r: 4, class: "dot" });
      dot.appendChild(svg("title", {}, point.label + "：" + format(point.value) + (point.note ? "（" + point.note + "）" : "")));
      root.appendChild(dot);
    });
    if (path) root.insertBefore(svg("path", { d: path.trim(), class: "line" }), root.firstChild);
    container.appendChild(root);
  }

  window.KefuCharts = { bars: bars, line: line, percent: percent };
})();
