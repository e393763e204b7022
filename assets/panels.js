/* Project panels in the browser: export (PNG, JPEG, SVG), reset zoom, clearing a
   parallel-coordinates brush, and refreshing the experiment table when a brush changes.
   Menu items carry data-panel-action / data-panel-id; the graph is the panel card's plot. */
(function () {
  function graphOf(pid) {
    return document.querySelector('#project-panel-' + pid + ' .js-plotly-plot');
  }

  function isParcoords(gd) {
    return !!(gd && gd.data && gd.data[0] && gd.data[0].type === 'parcoords');
  }

  function clearConstraints(gd) {
    var dims = (gd.data[0] && gd.data[0].dimensions) || [];
    var update = {};
    dims.forEach(function (d, i) {
      if (d.constraintrange) { update['dimensions[' + i + '].constraintrange'] = null; }
    });
    if (Object.keys(update).length) { window.Plotly.restyle(gd, update, [0]); }
  }

  function exportPanel(pid, format) {
    var gd = graphOf(pid);
    if (!gd || !window.Plotly) { return; }
    var card = document.getElementById('project-panel-' + pid);
    var title = (card && card.getAttribute('data-panel-title')) || 'panel';
    var filename = title.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'panel';
    window.Plotly.downloadImage(gd, {format: format, filename: filename,
                                     width: gd.offsetWidth || 700, height: gd.offsetHeight || 400});
  }

  function resetPanel(pid) {
    var gd = graphOf(pid);
    if (!gd || !window.Plotly) { return; }
    if (isParcoords(gd)) { clearConstraints(gd); return; }
    window.Plotly.relayout(gd, {'xaxis.autorange': true, 'yaxis.autorange': true});
  }

  function clearBrushes() {
    document.querySelectorAll('.project-panel[data-panel-type="parcoords"] .js-plotly-plot').forEach(function (gd) {
      if (isParcoords(gd)) { clearConstraints(gd); }
    });
  }

  window.halleyPanels = {
    exportPanel: exportPanel,
    resetPanel: resetPanel,
    clearBrushes: clearBrushes,
    brushChanged: function (brush) {
      if (window.halleyTable) { window.halleyTable.refresh('project-grid', true, true); }
      if (!brush) { clearBrushes(); }
    }
  };

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-panel-action]');
    if (!button) { return; }
    var action = button.getAttribute('data-panel-action');
    var pid = button.getAttribute('data-panel-id');
    if (action === 'png' || action === 'jpeg' || action === 'svg') { exportPanel(pid, action); }
    else if (action === 'reset') { resetPanel(pid); }
    else if (action === 'clear-brush') { clearBrushes(); }
  });
})();
