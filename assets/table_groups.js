/* The grouped experiment table (see dashboard/services/table_groups.py).
 *
 * Group rows come from the server like experiment rows, with ``_group`` = {path, level, count,
 * label, value, open}. The group column draws the toggle; a click writes the open groups into
 * the ``project-group-open`` store, whose change refreshes the rows. The other cells of a group
 * row show aggregates through the columns' formatters; the experiment-only renderers draw nothing.
 */
(function () {
  var h = React.createElement;
  var components = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
  var MAX_OPEN = 200;
  var opened = {};  // page and grouping -> JSON paths of the open groups

  function toggle(by, group) {
    var key = window.location.pathname + "|" + JSON.stringify(by);
    var paths = (opened[key] = opened[key] || []);
    var path = JSON.stringify(group.path);
    var at = paths.indexOf(path);
    if (at >= 0) { paths.splice(at, 1); }
    if (!group.open) { paths.push(path); }
    while (paths.length > MAX_OPEN) { paths.shift(); }
    window.dash_clientside.set_props("project-group-open",
      {data: {by: by, paths: paths.map(function (p) { return JSON.parse(p); })}});
  }

  components.HalleyGroup = function (props) {
    var group = props.data && props.data._group;
    if (!group) { return null; }
    var by = (props.colDef.cellRendererParams || {}).by || [];
    return h("button", {
      type: "button", className: "btn btn-link p-0 text-body text-decoration-none halley-group-toggle",
      style: {marginLeft: (group.level * 16) + "px"}, title: group.label + ": " + group.value,
      "aria-expanded": group.open ? "true" : "false", "data-path": JSON.stringify(group.path),
      onClick: function (e) { e.stopPropagation(); toggle(by, group); }
    },
      h("i", {className: "bi me-1 " + (group.open ? "bi-chevron-down" : "bi-chevron-right")}),
      h("span", {className: "halley-group-label text-muted me-1"}, group.label + ":"),
      h("span", {className: "halley-group-value"}, group.value),
      h("span", {className: "badge rounded-pill text-bg-secondary ms-2 halley-group-count"}, String(group.count)));
  };

  // experiment cells (status, eye, color, tags, name) stay empty on group rows
  ["HalleyStatus", "HalleyVisible", "HalleyColor", "HalleyTags", "HalleyName"].forEach(function (name) {
    var draw = components[name];
    if (!draw) { return; }
    components[name] = function (props) {
      return props.data && props.data._group ? null : draw(props);
    };
  });
})();
