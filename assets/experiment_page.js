/* Clientside pieces of the experiment page: audio play/pause and click-to-seek. */
window.halleyExperiment = {
    audio: function (nClicks, clickData, id) {
        const ctx = window.dash_clientside.callback_context;
        const el = document.getElementById('experiment-audio-el-' + id.index);
        if (!el) { return window.dash_clientside.no_update; }
        const trigger = (ctx.triggered[0] || {}).prop_id || '';
        if (trigger.indexOf('clickData') >= 0 && clickData && clickData.points && clickData.points.length) {
            el.currentTime = Number(clickData.points[0].x) || 0;
            el.play();
            return 'playing';
        }
        if (el.paused) { el.play(); return 'playing'; }
        el.pause();
        return 'paused';
    }
};

/* Charts draw when scrolled to: each chart card's slot carries data-index and data-token (the
   grid's token and the index); when
   slots come into view (or near it), the experiment-charts-seen store is set to {token, new, all}:
   "new" every chart of the grid asked for whose graph still shows the pending figure (so a call
   that a newer one overtook is asked for again), "all" every chart asked for or drawn with the
   page, which a change of smoothing or a live update redraws. The charts that come into view
   together are drawn in one request. A redrawn grid brings new tokens, which ask again. */
(function () {
    var visible = new WeakMap();
    var observer = null;
    var asked = {};    // token -> {index: true}: asked for, or came drawn
    var flushing = false;

    function grid(slot) {  // the token of the slot's list of charts ("<grid>-<index>")
        return (slot.getAttribute('data-token') || '').replace(/-\d+$/, '');
    }

    function pendingFigure(slot) {
        var plot = slot.querySelector('.js-plotly-plot');
        return !plot || !plot.layout || plot.layout.meta === 'pending';
    }

    function flush() {
        flushing = false;
        var grids = {};
        document.querySelectorAll('.experiment-chart-slot').forEach(function (slot) {
            var token = grid(slot);
            if (asked[token] && asked[token][slot.getAttribute('data-index')] && pendingFigure(slot)) {
                (grids[token] = grids[token] || []).push(Number(slot.getAttribute('data-index')));
            }
        });
        Object.keys(grids).forEach(function (token) {
            window.dash_clientside.set_props('experiment-charts-seen', {data: {
                token: token, 'new': grids[token], all: Object.keys(asked[token]).map(Number)}});
        });
    }

    function request(slot) {
        var token = slot.getAttribute('data-token');
        if (!token || slot.getAttribute('data-requested') === token || !window.dash_clientside
                || !window.dash_clientside.set_props) { return; }
        slot.setAttribute('data-requested', token);
        (asked[grid(slot)] = asked[grid(slot)] || {})[slot.getAttribute('data-index')] = true;
        if (!flushing) { flushing = true; window.setTimeout(flush, 0); }
    }

    function onIntersect(entries) {
        entries.forEach(function (entry) {
            visible.set(entry.target, entry.isIntersecting);
            if (entry.isIntersecting) { request(entry.target); }
        });
    }

    function scan() {
        if (!observer) { observer = new IntersectionObserver(onIntersect, {rootMargin: '200px 0px'}); }
        document.querySelectorAll('.experiment-chart-slot').forEach(function (slot) {
            var token = slot.getAttribute('data-token');
            if (token && slot.getAttribute('data-requested') === token) {  // came drawn
                (asked[grid(slot)] = asked[grid(slot)] || {})[slot.getAttribute('data-index')] = true;
            }
            if (!slot.hasAttribute('data-observed')) {
                slot.setAttribute('data-observed', '1');
                observer.observe(slot);
            } else if (visible.get(slot)) {
                request(slot);  // a slot already in view whose token changed
            }
        });
    }

    var scanning = false;
    new MutationObserver(function () {
        if (scanning) { return; }
        scanning = true;
        window.requestAnimationFrame(function () { scanning = false; scan(); });
    }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                          attributeFilter: ['data-token']});
})();
