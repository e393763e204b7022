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
