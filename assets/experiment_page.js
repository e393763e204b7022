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
   grid's token and the index), and holds a placeholder until its chart is drawn. When slots come
   into view (or near it), the experiment-charts-seen store is set to {token, new}: "new" every
   chart of the grid asked for whose slot still holds its placeholder. The charts that come into
   view together are drawn in one request, and one request at a time: Dash drops the answer of a
   call that a newer call of the same callback overtook, so charts that come into view meanwhile
   wait until the charts asked for are drawn (or WAIT_MS passed). A redrawn grid brings new
   tokens, which ask again. */
(function () {
    var visible = new WeakMap();
    var observer = null;
    var asked = {};    // grid token -> {index: true}
    var flushing = false;
    var inflight = null;  // the last request: {slots: [slot], at: time}
    var WAIT_MS = 15000;
    var retry = null;

    function grid(slot) {  // the token of the slot's list of charts ("<grid>-<index>")
        return (slot.getAttribute('data-token') || '').replace(/-\d+$/, '');
    }

    function schedule() {
        if (!flushing) { flushing = true; window.setTimeout(flush, 0); }
    }

    function flush() {
        flushing = false;
        if (inflight) {
            var waiting = inflight.slots.some(function (slot) {
                return slot.isConnected && slot.querySelector('.experiment-chart-pending');
            });
            if (waiting && Date.now() - inflight.at < WAIT_MS) {  // asked again once drawn
                if (!retry) { retry = window.setTimeout(function () { retry = null; schedule(); }, WAIT_MS); }
                return;
            }
            inflight = null;
        }
        var grids = {};
        var slots = [];
        document.querySelectorAll('.experiment-chart-slot').forEach(function (slot) {
            var token = grid(slot);
            if (asked[token] && asked[token][slot.getAttribute('data-index')]
                    && slot.querySelector('.experiment-chart-pending')) {
                (grids[token] = grids[token] || []).push(Number(slot.getAttribute('data-index')));
                slots.push(slot);
            }
        });
        if (slots.length) { inflight = {slots: slots, at: Date.now()}; }
        Object.keys(grids).forEach(function (token) {
            window.dash_clientside.set_props('experiment-charts-seen', {data: {token: token, 'new': grids[token]}});
        });
    }

    function request(slot) {
        var token = slot.getAttribute('data-token');
        if (!token || slot.getAttribute('data-requested') === token || !window.dash_clientside
                || !window.dash_clientside.set_props) { return; }
        slot.setAttribute('data-requested', token);
        (asked[grid(slot)] = asked[grid(slot)] || {})[slot.getAttribute('data-index')] = true;
        schedule();
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
            if (!slot.hasAttribute('data-observed')) {
                slot.setAttribute('data-observed', '1');
                observer.observe(slot);
            } else if (visible.get(slot)) {
                request(slot);  // a slot already in view whose token changed
            }
        });
        if (inflight) { schedule(); }  // the page changed: perhaps the charts asked for are drawn
    }

    var scanning = false;
    new MutationObserver(function () {
        if (scanning) { return; }
        scanning = true;
        window.requestAnimationFrame(function () { scanning = false; scan(); });
    }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                          attributeFilter: ['data-token']});
})();
