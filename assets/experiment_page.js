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

/* Charts draw when scrolled to: each chart card's slot carries data-index and data-token; once
   the slot is in view (or near it), its experiment-chart-seen store is set to the token, which
   runs the chart's callback. A redrawn grid brings new tokens, which ask again. */
(function () {
    var visible = new WeakMap();
    var observer = null;

    function request(slot) {
        var token = slot.getAttribute('data-token');
        if (!token || slot.getAttribute('data-requested') === token || !window.dash_clientside
                || !window.dash_clientside.set_props) { return; }
        slot.setAttribute('data-requested', token);
        window.dash_clientside.set_props({type: 'experiment-chart-seen', index: Number(slot.getAttribute('data-index'))},
                                         {data: token});
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
    }

    var pending = false;
    new MutationObserver(function () {
        if (pending) { return; }
        pending = true;
        window.requestAnimationFrame(function () { pending = false; scan(); });
    }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                          attributeFilter: ['data-token']});
})();
