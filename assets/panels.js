/* Project panels in the browser: export (PNG, JPEG, SVG), reset zoom, clearing a
   parallel-coordinates brush, and refreshing the experiment table when a brush changes.
   Menu items carry data-panel-action / data-panel-id; the graph is the panel card's plot.
   Parallel coordinates are drawn by assets/parcoords.js over a blank Plotly graph. */
(function () {
  function graphOf(pid) {
    return document.querySelector('#project-panel-' + pid + ' .js-plotly-plot');
  }

  function cardOf(pid) {
    return document.getElementById('project-panel-' + pid);
  }

  function isParcoords(card) {
    return !!(card && card.getAttribute('data-panel-type') === 'parcoords');
  }

  function exportPanel(pid, format) {
    var gd = graphOf(pid);
    if (!gd || !window.Plotly) { return; }
    var card = cardOf(pid);
    var title = (card && card.getAttribute('data-panel-title')) || 'panel';
    var filename = title.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'panel';
    if (isParcoords(card)) { window.halleyParcoords.exportImage(card, gd, format, filename); return; }
    window.Plotly.downloadImage(gd, {format: format, filename: filename,
                                     width: gd.offsetWidth || 700, height: gd.offsetHeight || 400});
  }

  function resetPanel(pid) {
    var card = cardOf(pid);
    if (isParcoords(card)) { window.halleyParcoords.clear(card); return; }
    var gd = graphOf(pid);
    if (!gd || !window.Plotly) { return; }
    window.Plotly.relayout(gd, {'xaxis.autorange': true, 'yaxis.autorange': true});
  }

  function clearBrushes() {
    document.querySelectorAll('.project-panel[data-panel-type="parcoords"]').forEach(window.halleyParcoords.clear);
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
