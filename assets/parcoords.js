/* Parallel coordinates, drawn with Apache ECharts (SVG) from a figure's parcoords trace.

   The server sends a Plotly figure whose one trace is a parcoords trace with visible: false and
   meta.renderer "halley-parcoords" (dashboard/charts/parcoords.py). Plotly draws the frame (title,
   notes); this draws the chart over it, in a .halley-parcoords layer of the graph. Plotly's own
   parcoords is WebGL only and costs ~0.7 s per chart on a browser without a GPU; this takes ~40 ms.

   A brush (drag along an axis; click the axis outside it to clear) is reported as Plotly reports
   one, as the graph's restyleData {"dimensions[i].constraintrange": range(s) or null}, so the
   server reads one format. Ranges are in the trace's units (log10 on a log axis), as Plotly's.
   ECharts (assets/vendor, not in the page) is loaded when the first chart is drawn. */
(function () {
  var RENDERER = 'halley-parcoords';
  var script = document.currentScript && document.currentScript.src;
  var ECHARTS = (script ? script.replace(/parcoords\.js(\?.*)?$/, '') : '/assets/') + 'vendor/echarts-6.1.0.min.js';
  var TEXT = '#2a3f5f';  // Plotly's plotly_white text color, as the other panels
  var loading = null;

  function loadECharts() {
    if (window.echarts) { return Promise.resolve(window.echarts); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var tag = document.createElement('script');
        tag.src = ECHARTS;
        tag.onload = function () { resolve(window.echarts); };
        tag.onerror = function () { loading = null; reject(new Error('ECharts did not load')); };
        document.head.appendChild(tag);
      });
    }
    return loading;
  }

  // Plotly figures may carry arrays as {dtype, bdata} (base64 of a typed array).
  var TYPED = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array,
               u2: Uint16Array, i1: Int8Array, u1: Uint8Array};

  function values(v) {
    if (!v) { return []; }
    if (Array.isArray(v) || ArrayBuffer.isView(v)) { return v; }
    if (typeof v.bdata === 'string' && TYPED[v.dtype]) {
      var bin = atob(v.bdata);
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
      return new TYPED[v.dtype](bytes.buffer);
    }
    return [];
  }

  // Labels come escaped for Plotly (dashboard/charts/text.py); ECharts shows text as it is.
  function text(s) {
    return String(s == null ? '' : s).replace(/&lt;/g, '<').replace(/&gt;/g, '>')
      .replace(/&#37;/g, '%').replace(/&amp;/g, '&');
  }

  // 4 significant digits, trailing zeros trimmed: d3's ".4~g", as the other panels.
  function fmt(v) {
    if (typeof v !== 'number' || !isFinite(v)) { return String(v); }
    if (v === 0) { return '0'; }
    var p = v.toPrecision(4);
    var e = p.indexOf('e');
    var mantissa = e < 0 ? p : p.slice(0, e);
    if (mantissa.indexOf('.') >= 0) { mantissa = mantissa.replace(/\.?0+$/, ''); }
    return e < 0 ? mantissa : mantissa + p.slice(e);
  }

  function ranges(c) {
    if (!c || !c.length) { return []; }
    return Array.isArray(c[0]) ? c : [c];
  }

  // What a value on axis ``d`` reads as: a category, a real value of a log axis, or the number.
  function valueText(d, isLog, v) {
    if (isLog) { return fmt(Math.pow(10, v)); }
    if (d.tickvals && d.ticktext) {
      var ticks = values(d.tickvals);
      for (var i = 0; i < ticks.length; i++) {
        if (Math.abs(ticks[i] - v) < 1e-9) { return String(d.ticktext[i]); }
      }
      return '';
    }
    return fmt(v);
  }

  function option(trace, layout, height) {
    var dims = trace.dimensions || [];
    var logs = (trace.meta && trace.meta.log) || [];
    var margin = layout.margin || {};
    var line = trace.line || {};
    var cols = dims.map(function (d) { return values(d.values); });
    var colors = values(line.color);
    var n = cols.length ? cols[0].length : 0;
    var data = new Array(n);
    for (var r = 0; r < n; r++) {
      var row = new Array(cols.length + 1);
      for (var c = 0; c < cols.length; c++) { row[c] = cols[c][r]; }
      row[cols.length] = colors[r];  // colors the line (visualMap), drawn on no axis
      data[r] = row;
    }
    var angle = -(trace.labelangle || 0);
    var tickSize = (trace.tickfont && trace.tickfont.size) || 10;
    var labelSize = (trace.labelfont && trace.labelfont.size) || 12;
    var axes = dims.map(function (d, i) {
      var isLog = !!logs[i];
      var ticks = d.tickvals ? Array.prototype.slice.call(values(d.tickvals)) : null;
      var range = d.range ? values(d.range) : null;
      var axis = {
        dim: i, id: 'axis' + i, name: text(d.label), type: 'value', realtime: false,
        min: range ? range[0] : 'dataMin', max: range ? range[1] : 'dataMax',
        nameLocation: 'end', nameGap: 8, nameRotate: angle,
        nameTextStyle: {fontSize: labelSize, color: TEXT, align: angle ? 'left' : 'center'},
        axisLine: {lineStyle: {color: '#444'}},
        axisTick: {lineStyle: {color: '#444'}},
        axisLabel: {fontSize: tickSize, color: TEXT, hideOverlap: true, textBorderColor: '#fff', textBorderWidth: 2,
                    showMinLabel: !!ticks, showMaxLabel: !!ticks,
                    formatter: function (v) { return valueText(d, isLog, v); }},
        areaSelectStyle: {width: 20, borderWidth: 1, borderColor: '#0d6efd', color: '#0d6efd', opacity: 0.25}
      };
      if (ticks) { axis.axisLabel.customValues = ticks; axis.axisTick.customValues = ticks; }
      return axis;
    });
    var stops = Array.isArray(line.colorscale) ? line.colorscale.map(function (s) { return s[1]; })
      : ['#440154', '#31688e', '#35b779', '#fde725'];
    var target = dims.length - 1;
    var lo = line.cmin != null ? line.cmin : Math.min.apply(null, Array.prototype.slice.call(colors));
    var hi = line.cmax != null ? line.cmax : Math.max.apply(null, Array.prototype.slice.call(colors));
    var top = margin.t || 40, bottom = margin.b || 30;
    return {
      animation: false,
      textStyle: {fontFamily: "'Open Sans', verdana, arial, sans-serif"},  // no double quotes: they'd end the SVG's style attribute
      parallel: {left: margin.l || 60, right: margin.r || 70, top: top, bottom: bottom},
      parallelAxis: axes,
      visualMap: line.showscale === false ? undefined : {
        type: 'continuous', dimension: dims.length, min: lo, max: hi === lo ? lo + 1 : hi,
        inRange: {color: stops}, calculable: false, hoverLink: false, orient: 'vertical',
        right: 8, top: top + 16, itemWidth: 10, itemHeight: Math.max(40, height - top - bottom - 70),
        text: [valueText(dims[target] || {}, !!logs[target], hi), valueText(dims[target] || {}, !!logs[target], lo)],
        textGap: 4, textStyle: {fontSize: 10, color: TEXT}
      },
      series: [{type: 'parallel', data: data, silent: true, smooth: false,
                lineStyle: {width: 1, opacity: n > 300 ? 0.55 : 0.85},
                inactiveOpacity: 0.04, activeOpacity: 1}]
    };
  }

  function domId(id) {
    if (!id || typeof id !== 'object') { return id; }
    return '{' + Object.keys(id).sort().map(function (k) {
      return JSON.stringify(k) + ':' + JSON.stringify(id[k]);
    }).join(',') + '}';
  }

  function report(host, update) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(host.__graphId, {restyleData: [update, [0]]});
    }
  }

  function start(echarts, host) {
    var chart = echarts.init(host, null, {renderer: 'svg'});
    chart.on('axisareaselected', function (event) {
      if (host.__applying) { return; }
      var i = parseInt(String(event.parallelAxisId).replace('axis', ''), 10);
      if (!(i >= 0)) { return; }
      var chosen = (event.intervals || []).map(function (r) { return [Math.min(r[0], r[1]), Math.max(r[0], r[1])]; });
      host.__brushes[i] = chosen;
      var update = {};
      update['dimensions[' + i + '].constraintrange'] = chosen.length === 0 ? null : (chosen.length === 1 ? chosen[0] : chosen);
      report(host, update);
    });
    new ResizeObserver(function () { chart.resize(); }).observe(host);
    return chart;
  }

  function render(echarts, host, figure) {
    var chart = echarts.getInstanceByDom(host) || start(echarts, host);
    var trace = figure.data[0];
    host.__applying = true;
    host.__brushes = {};
    try {
      chart.setOption(option(trace, figure.layout || {}, host.clientHeight || 320), {notMerge: true});
      (trace.dimensions || []).forEach(function (d, i) {
        var kept = ranges(d.constraintrange);
        if (kept.length) {
          host.__brushes[i] = kept;
          chart.dispatchAction({type: 'axisAreaSelect', parallelAxisId: 'axis' + i, intervals: kept});
        }
      });
    } finally {
      host.__applying = false;
    }
    host.__drawnAt = performance.now();
    host.__draws = (host.__draws || 0) + 1;
    host.setAttribute('data-drawn', String(host.__draws));
  }

  function isOurs(figure) {
    var trace = figure && figure.data && figure.data[0];
    return !!(trace && trace.type === 'parcoords' && trace.meta && trace.meta.renderer === RENDERER);
  }

  // What each graph (by DOM id) should show. Dash may mount a graph again (a new element with
  // the same id and figure) without calling back; every DOM change checks the graphs are drawn.
  var wanted = {};
  var hosts = [];  // every chart drawn; one taken out of the page is disposed of

  function dispose(host) {
    var chart = window.echarts && window.echarts.getInstanceByDom(host);
    if (chart) { chart.dispose(); }
    host.remove();
  }

  function sync() {
    if (!window.echarts) { return; }
    hosts = hosts.filter(function (host) {
      if (host.isConnected) { return true; }
      dispose(host);
      return false;
    });
    Object.keys(wanted).forEach(function (key) {
      var want = wanted[key];
      var outer = document.getElementById(key);
      if (!outer) { delete wanted[key]; return; }  // the panel or the editor is gone
      var host = outer.querySelector(':scope > .halley-parcoords');
      if (host && host.__figure === want.figure) { return; }
      if (!host) {
        host = document.createElement('div');
        host.className = 'halley-parcoords';
        outer.appendChild(host);
        hosts.push(host);
      }
      host.__graphId = want.graphId;
      host.__figure = want.figure;
      render(window.echarts, host, want.figure);
    });
  }

  new MutationObserver(function () {
    if (hosts.length || Object.keys(wanted).length) { sync(); }
  }).observe(document.documentElement, {childList: true, subtree: true});

  /* Draw ``figure`` in the graph ``graphId`` (a Dash id), or take the chart away when the
     figure is not one of ours (an editor preview switched to another panel type). */
  function draw(figure, graphId) {
    var key = domId(graphId);
    var outer = document.getElementById(key);
    if (!isOurs(figure)) {
      delete wanted[key];
      var host = outer && outer.querySelector(':scope > .halley-parcoords');
      if (host) { dispose(host); }
      return;
    }
    wanted[key] = {figure: figure, graphId: graphId};
    loadECharts().then(sync);
  }

  function hostOf(el) {
    return el ? el.querySelector('.halley-parcoords') : null;
  }

  /* Clear every brush of the chart in ``el`` (a panel card or graph), reported as one restyle. */
  function clear(el) {
    var host = hostOf(el);
    var chart = host && window.echarts && window.echarts.getInstanceByDom(host);
    if (!chart) { return; }
    var update = {};
    host.__applying = true;
    try {
      Object.keys(host.__brushes || {}).forEach(function (i) {
        if (!host.__brushes[i].length) { return; }
        chart.dispatchAction({type: 'axisAreaSelect', parallelAxisId: 'axis' + i, intervals: []});
        update['dimensions[' + i + '].constraintrange'] = null;
      });
    } finally {
      host.__applying = false;
    }
    host.__brushes = {};
    if (Object.keys(update).length) { report(host, update); }
  }

  function save(url, filename) {
    var a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  /* Export the chart in ``el`` with its frame (the Plotly graph ``gd``: title, notes) as PNG,
     JPEG or SVG: the chart's SVG is laid over the frame's, then drawn to a canvas for images. */
  function exportImage(el, gd, format, filename) {
    var host = hostOf(el);
    var chart = host && window.echarts && window.echarts.getInstanceByDom(host);
    if (!chart) { return; }
    var width = host.clientWidth || 700, height = host.clientHeight || 400;
    var frame = window.Plotly && gd ? window.Plotly.toImage(gd, {format: 'svg', width: width, height: height})
      : Promise.resolve(null);
    frame.then(function (url) {
      var outer = url ? decodeURIComponent(url.slice(url.indexOf(',') + 1))
        : '<svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' + height + '"></svg>';
      var inner = chart.renderToSVGString().replace(/^<\?xml[^>]*>\s*/, '').replace(/^<svg/, '<svg x="0" y="0"');
      var svg = outer.replace(/<\/svg>\s*$/, inner + '</svg>');
      var svgUrl = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
      if (format === 'svg') { save(svgUrl, filename + '.svg'); return; }
      var image = new Image();
      image.onload = function () {
        var canvas = document.createElement('canvas');
        canvas.width = width;
        canvas.height = height;
        var ctx = canvas.getContext('2d');
        ctx.fillStyle = '#fff';
        ctx.fillRect(0, 0, width, height);
        ctx.drawImage(image, 0, 0, width, height);
        save(canvas.toDataURL('image/' + format), filename + '.' + format);
      };
      image.src = svgUrl;
    });
  }

  /* Load ECharts now (a parallel-coordinates panel is coming): the figure then finds it parsed. */
  function preload() {
    loadECharts().catch(function () { return null; });
  }

  window.halleyParcoords = {draw: draw, preload: preload, clear: clear, exportImage: exportImage, isDrawn: function (el) {
    var host = hostOf(el);
    return host ? host.__drawnAt || 0 : 0;
  }};
})();
