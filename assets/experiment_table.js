/* Cell renderers and formatters of the project's experiment table (dash-ag-grid).
 *
 * Renderers that act (visibility eye, color square, rename pencil) report the click to Dash
 * through props.setData(), which sets the grid's cellRendererData prop; the server checks
 * access and applies the change.
 */
(function () {
  var h = React.createElement;
  var components = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
  var functions = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

  var STATUS = {
    finished: ["bi-check-circle-fill text-success", "Finished"],
    running: ["bi-arrow-repeat text-primary halley-spin", "Running"],
    stopped: ["bi-stop-circle-fill text-warning", "Stopped"],
    crashed: ["bi-x-octagon-fill text-danger", "Crashed"]
  };

  components.HalleyStatus = function (props) {
    if (!props.data) { return null; }
    var s = STATUS[props.value] || ["bi-question-circle text-muted", String(props.value || "")];
    return h("span", {className: "halley-status", title: s[1], "data-status": props.value},
      h("i", {className: "bi " + s[0]}));
  };

  components.HalleyVisible = function (props) {
    if (!props.data) { return null; }
    var visible = props.value !== false;
    var icon = h("i", {className: "bi " + (visible ? "bi-eye-fill" : "bi-eye-slash")});
    if (!(props.colDef.cellRendererParams || {}).canWrite) {
      return h("span", {className: "halley-visible " + (visible ? "" : "text-secondary opacity-50"),
        "data-visible": visible ? "true" : "false"}, icon);
    }
    return h("button", {
      type: "button",
      className: "btn btn-link p-0 halley-visible " + (visible ? "text-body" : "text-secondary opacity-50"),
      title: visible ? "Shown in panels (click to hide)" : "Hidden from panels (click to show)",
      "data-visible": visible ? "true" : "false",
      onClick: function (e) { e.stopPropagation(); props.setData({action: "visible", visible: !visible}); }
    }, icon);
  };

  components.HalleyColor = function (props) {
    if (!props.data) { return null; }
    var color = props.value || "#adb5bd";
    if (!(props.colDef.cellRendererParams || {}).canWrite) {
      return h("span", {className: "halley-color-square d-inline-block", style: {backgroundColor: color, cursor: "default"}});
    }
    return h("button", {
      type: "button", className: "halley-color-square", title: "Change color",
      style: {backgroundColor: color},
      onClick: function (e) { e.stopPropagation(); props.setData({action: "color", color: color}); }
    });
  };

  components.HalleyTags = function (props) {
    if (!props.data || !props.value) { return null; }
    return h("span", {className: "halley-tags"}, props.value.map(function (t) {
      return h("span", {key: t, className: "badge rounded-pill text-bg-light border me-1 halley-tag"}, t);
    }));
  };

  components.HalleyName = function (props) {
    if (!props.data) { return null; }
    var base = (props.colDef.cellRendererParams || {}).base || "";
    var canWrite = (props.colDef.cellRendererParams || {}).canWrite;
    return h("span", {className: "halley-name"},
      h("a", {href: base + "/" + encodeURIComponent(props.data.key), className: "halley-name-link"},
        String(props.value)),
      canWrite ? h("button", {
        type: "button", className: "btn btn-link p-0 ms-2 halley-rename", title: "Rename",
        onClick: function (e) { e.stopPropagation(); props.setData({action: "rename", name: props.value}); }
      }, h("i", {className: "bi bi-pencil"})) : null);
  };

  /* A human duration, as the experiment page writes it ("4m 05s", "2h 03m 10s"); the cell
     value stays seconds, so sorting and filtering stay numeric. */
  functions.halleyDuration = function (seconds) {
    if (seconds === null || seconds === undefined || seconds === "") { return ""; }
    var s = Math.max(0, Math.floor(Number(seconds)));
    var hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return hh ? hh + "h " + pad(mm) + "m " + pad(ss) + "s" : mm + "m " + pad(ss) + "s";
  };

  functions.halleyNumber = function (value) {
    if (typeof value !== "number") { return value === null || value === undefined ? "" : String(value); }
    if (Number.isInteger(value)) { return String(value); }
    var a = Math.abs(value);
    return (a !== 0 && (a < 1e-4 || a >= 1e6)) ? value.toExponential(4) : String(Number(value.toPrecision(6)));
  };

  /* Grid commands the page's clientside callbacks call. */
  window.halleyTable = {
    refresh: function (gridId, purge, deselect) {
      return dash_ag_grid.getApiAsync(gridId).then(function (api) {
        if (deselect) { api.deselectAll(); }
        if (purge) { api.purgeInfiniteCache(); } else { api.refreshInfiniteCache(); }
      });
    },

    /* The "Export all columns" job's bar value, bar label and note, from its progress and the
     * seconds since it started. ``worker``: jobs run in separate `halley worker` processes (a
     * broker is set), which may not be running; otherwise the server runs the job itself. */
    exportProgress: function (progress, ticks, idle, worker, waitSeconds) {
      if (idle) { return [0, "", ""]; }
      if (!progress) {
        var late = (ticks || 0) >= waitSeconds;
        if (!worker) {
          return [0, "", late ? "Queued: the server starts the export as soon as it can…" : "Starting the export…"];
        }
        if (late) {
          return [0, "", "No worker has started this export in " + waitSeconds + " seconds: background jobs " +
                         "need a running `halley worker`. Ask whoever runs Halley to start one, or cancel."];
        }
        return [0, "", "Waiting for a worker to start the export…"];
      }
      var done = progress.done || 0, total = progress.total || 0;
      if (!total) { return [0, "", "Reading the project's columns…"]; }
      return [Math.round(100 * done / total), done + " / " + total,
              "Exported " + done + " of " + total + " experiments…"];
    }
  };
})();
