"""The callback kit: the one way to register a server-side Dash callback.

    def register(kit: CallbackKit) -> None:
        kit.callback(Output("project-notes-status", "children"),
                     Input("project-notes-save", "n_clicks"), State("project-notes-editor", "value"),
                     State("project-notes-project", "data"), prevent_initial_call=True,
                     error=alert("project-notes-status.children", id="project-notes-error"))(save_notes)

    def save_notes(call: Call, _n, text, project_id):
        projects.set_notes(call.session, call.actor, project_id, text or "")
        return html.Span("Saved")

A kit callback
- gets a ``Call`` before its Dash arguments: ``call.actor`` is who asks, ``call.session`` a
  database session opened on first use (committed when the function returns or raises
  PreventUpdate, rolled back when it raises anything else), ``call.settings`` the settings;
- runs only when the request has the declared shapes (``callbacks.shapes``): the ids of
  pattern-matching components (declared once per pattern type with ``kit.pattern``), values
  declared once per component property (``kit.value``, e.g. the stores that carry ids) or per
  callback (``shapes=``), and the usual shape of common properties (``n_clicks`` is a count);
  the inputs it says triggered it must be among its inputs. Any other request is ``Invalid``;
- answers a ``HalleyError`` (NotFound, Forbidden, Invalid, ...) with its message in its
  ``error`` outputs and its ``fallback`` values in others; every other output keeps its value.
  Any other exception is a bug: it propagates and Dash answers 500;
- is private unless registered with ``public=True``: anonymous visitors may call only public
  callbacks, which check access themselves (the guard in ``dashboard.webauth`` reads the
  decision recorded here, by the output key Dash uses in ``app.callback_map``).

Outputs and values are named "component-id.property", and "type.property" for pattern ids.
A background callback's function runs in a job process with no request (a ``halley worker``
when a broker is set): its Call names the actor whose request started the job and opens the
job's own database session; it checks access itself, as any callback does, and shows its
errors itself. The kit checks its request before the job starts. Clientside callbacks run in
the browser and are recorded as such.
"""
from __future__ import annotations

import functools
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable

from dash import Input, Output, State, ctx, html, no_update
from dash._utils import stringify_id
from dash.dependencies import Wildcard
from dash.exceptions import CallbackException, PreventUpdate
from flask import current_app, jsonify
from sqlmodel import Session
from werkzeug.exceptions import InternalServerError

from callbacks.shapes import ANY, PATH, PROPERTY_SHAPES, Shape
from dashboard import background, context, observability
from dashboard.auth import Actor
from dashboard.charts.style import empty_figure
from dashboard.config import Settings
from dashboard.errors import HalleyError, Invalid
from dashboard.webauth import CLIENTSIDE, PRIVATE, PUBLIC, callback_access
from layouts.components.access import error_alert

# Dash's multipage router (registered by Dash with the first request) and its title updater.
PAGES_ROUTER = ".._pages_content.children..._pages_store.data.."
PAGES_TITLE = "_pages_dummy.children"

ErrorView = Callable[[str], dict[str, Any]]


class Call:
    """Who asks and the database, for one callback request."""

    def __init__(self, resources: ExitStack):
        self._resources = resources
        self._session: Session | None = None

    @property
    def actor(self) -> Actor:
        return context.current_actor()

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._resources.enter_context(self._database().session())
        return self._session

    @property
    def settings(self) -> Settings:
        return context.settings()

    def _database(self):
        return context.db()


class JobCall(Call):
    """Who asked and the database, inside a background job."""

    @property
    def actor(self) -> Actor:
        return background.job_actor()

    @property
    def settings(self) -> Settings:
        return background.job_settings()

    def _database(self):
        return background.job_database()


class _Job:
    """A background callback's function, called with a JobCall (a plain object rather than a
    closure, so a job process gets it by reference)."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *values):
        name = self.fn.__name__
        if background.job_settings() and background.job_settings().celery_broker and background.job_cancelled():
            observability.job_ended(name, "cancelled", 0.0)
            raise PreventUpdate  # cancelled while it waited in the queue
        return observability.run_job(name, lambda: _call(self.fn, values, JobCall))


# --- how an error is shown -----------------------------------------------------------------

def alert(output: str, id: str | None = None) -> ErrorView:
    """The message as a red alert (with this element id) in ``output``."""
    return lambda message: {output: error_alert(message, id=id)}


def plain_text(output: str) -> ErrorView:
    """The message as plain text in ``output``."""
    return lambda message: {output: message}


def red_text(output: str) -> ErrorView:
    """The message in red in ``output``."""
    return lambda message: {output: html.Span(message, className="text-danger")}


def figure(output: str) -> ErrorView:
    """The message inside an empty figure."""
    return lambda message: {output: empty_figure(message)}


def toast(output: str = "project-toast") -> ErrorView:
    """The message in red in a toast, which opens."""
    return lambda message: {**red_text(f"{output}.children")(message), f"{output}.is_open": True}


# --- registration ---------------------------------------------------------------------------

def name_of(dependency) -> str:
    """"component-id.property", or "type.property" for a pattern-matching id."""
    component = dependency.component_id
    return f"{component['type'] if isinstance(component, dict) else component}.{dependency.component_property}"


@dataclass
class _Spec:
    outputs: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    states: list = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    error: ErrorView | None = None
    fallback: dict[str, Any] = field(default_factory=dict)

    @property
    def multi(self) -> bool:
        return len(self.outputs) > 1


class CallbackKit:
    def __init__(self, app):
        self.app = app
        self.access = callback_access(app.server)
        self._patterns: dict[str, dict[str, Shape]] = {}
        self._values: dict[str, Shape] = {}
        app.server.register_error_handler(CallbackException, _request_does_not_fit)

    # declarations shared by the callbacks that read the same components

    def pattern(self, kind: str, **keys: Shape) -> None:
        """The shapes of the wildcard keys of pattern ids ``{"type": kind, ...}``."""
        self._patterns[kind] = keys

    def value(self, name: str, shape: Shape) -> None:
        """The shape of "component-id.property" wherever a callback reads it."""
        self._values[name] = shape

    # registration

    def callback(self, *dependencies, public: bool = False, error: ErrorView | None = None,
                 fallback: dict[str, Any] | None = None, shapes: dict[str, Shape] | None = None, **options):
        """Register ``fn(call, *values)`` as a Dash callback (see the module doc)."""
        spec = self._spec(dependencies, error, fallback, shapes)
        background = bool(options.get("background"))
        if background and (error or fallback):
            raise TypeError("a background callback shows its errors itself")

        def register(fn):
            before = set(self.app.callback_map)
            self.app.callback(*dependencies, **options)(_Job(fn) if background else self._run(spec, fn))
            cancels = {f"{stringify_id(c.component_id)}.id" for c in options.get("cancel") or []}
            key = self._added(before | cancels)
            if background:
                self._check_before_dispatch(key, spec)
                for cancel in cancels:  # Dash's own callback ending this page's jobs
                    self.access[cancel] = PUBLIC if public else PRIVATE
            self.access[key] = PUBLIC if public else PRIVATE
            return fn

        return register

    def clientside(self, javascript: str, *dependencies, **options) -> None:
        before = set(self.app.callback_map)
        self.app.clientside_callback(javascript, *dependencies, **options)
        self.access[self._added(before)] = CLIENTSIDE

    def adopt_pages_router(self) -> None:
        """Record Dash's page router (public: every page layout decides what an anonymous visitor
        sees) once Dash has registered it, and check its pathname and search like any request."""
        self._check_before_dispatch(PAGES_ROUTER, _Spec(inputs=[Input("_pages_location", "pathname"),
                                                               Input("_pages_location", "search")],
                                                       shapes={"_pages_location.pathname": PATH}))
        self.access[PAGES_ROUTER] = PUBLIC
        self.access[PAGES_TITLE] = CLIENTSIDE

    def _added(self, before: set[str]) -> str:
        (key,) = set(self.app.callback_map) - before
        return key

    def _spec(self, dependencies, error, fallback, shapes) -> _Spec:
        spec = _Spec(shapes=dict(shapes or {}), error=error, fallback=dict(fallback or {}))
        for dep in dependencies:
            kind = {Output: spec.outputs, Input: spec.inputs, State: spec.states}[type(dep)]
            kind.append(dep)
            component = dep.component_id
            if isinstance(component, dict):
                wild = {k for k, v in component.items() if isinstance(v, Wildcard)}
                declared = self._patterns.get(component.get("type"))
                if declared is None or set(declared) != wild:
                    raise TypeError(f"declare the shapes of {sorted(wild)} of '{component.get('type')}' ids "
                                    "with kit.pattern before using them")
        named = {name_of(o) for o in spec.outputs}
        shown = set(spec.fallback) | (set(error("")) if error else set())
        if shown - named:
            raise TypeError(f"{sorted(shown - named)} are not outputs of this callback")
        return spec

    # calls

    def _run(self, spec: _Spec, fn):
        @functools.wraps(fn)
        def run(*values):
            try:
                self._check(spec, ctx.inputs_list, ctx.states_list, ctx.outputs_list, ctx.triggered)
                return _call(fn, values)
            except HalleyError as exc:
                return _failed(spec, exc.message)

        return run

    def _check_before_dispatch(self, key: str, spec: _Spec) -> None:
        """For callbacks whose function doesn't run in the request (background jobs, Dash's page
        router) the check runs in Dash's entry for the callback: a request of another shape
        changes nothing (Dash answers 204)."""
        entry = self.app.callback_map[key]
        dispatch = entry["callback"]

        @functools.wraps(dispatch)
        def checked(*args, **kwargs):
            request = kwargs.get("callback_context") or {}
            try:
                self._check(spec, request.get("inputs_list", []), request.get("states_list", []),
                            kwargs.get("outputs_list"), request.get("triggered_inputs", []))
            except Invalid:
                raise PreventUpdate from None
            return dispatch(*args, **kwargs)

        entry["callback"] = checked

    def _check(self, spec: _Spec, inputs, states, outputs, triggered) -> None:
        for deps, items in ((spec.inputs, inputs), (spec.states, states)):
            for dep, item in zip(deps, items):
                shape = self._shape_of(spec, dep)
                for entry in _entries(item):
                    self._check_id(dep, entry.get("id"))
                    value = entry.get("value")
                    if dep.component_property == "id":
                        self._check_id(dep, value)
                    elif not shape.accepts(value):
                        raise Invalid(f"Refused a malformed request: {name_of(dep)} is not {shape.description}.")
        for dep, item in zip(spec.outputs, outputs if spec.multi else [outputs]):
            for entry in _entries(item):
                self._check_id(dep, entry.get("id"))
        sent = {f"{stringify_id(e.get('id'))}.{e.get('property')}" for item in inputs for e in _entries(item)}
        for fired in triggered:
            prop_id = fired.get("prop_id") if isinstance(fired, dict) else None
            if prop_id != "." and not (isinstance(prop_id, str) and prop_id in sent):
                raise Invalid("Refused a malformed request: it was triggered by something that is not its input.")

    def _shape_of(self, spec: _Spec, dep) -> Shape:
        name = name_of(dep)
        return (spec.shapes.get(name) or self._values.get(name) or PROPERTY_SHAPES.get(dep.component_property)
                or ANY)

    def _check_id(self, dep, value) -> None:
        pattern = dep.component_id
        if not isinstance(pattern, dict):
            return
        keys = self._patterns[pattern["type"]]
        fits = isinstance(value, dict) and set(value) == set(pattern) and all(
            keys[k].accepts(value[k]) if isinstance(v, Wildcard) else value[k] == v for k, v in pattern.items())
        if not fits:
            what = " and ".join(f"{k} {s.description}" for k, s in keys.items())
            raise Invalid(f"Refused a malformed request: a {pattern['type']} id needs {what}.")


def _entries(item) -> list:
    """The {id, property, value} entries of one dependency: several for a wildcard one."""
    entries = item if isinstance(item, list) else [item]
    return [e for e in entries if isinstance(e, dict)]


def _call(fn, values, call_class=Call):
    prevented = None
    with ExitStack() as resources:
        try:
            result = fn(call_class(resources), *values)
        except PreventUpdate as exc:  # nothing to show; what the function wrote stays
            prevented = exc
    if prevented is not None:
        raise prevented
    return result


def _failed(spec: _Spec, message: str):
    """The outputs of a call that ended in a HalleyError: the message where the callback shows
    errors, its fallbacks elsewhere, no_update for the rest (one per component of a wildcard)."""
    shown = {**spec.fallback, **(spec.error(message) if spec.error else {})}
    items = ctx.outputs_list if spec.multi else [ctx.outputs_list]
    values = []
    for dep, item in zip(spec.outputs, items):
        value = shown.get(name_of(dep), no_update)
        values.append([value] * len(item) if isinstance(item, list) else value)
    if all(v is no_update or (isinstance(v, list) and all(x is no_update for x in v)) for v in values):
        raise PreventUpdate
    return values if spec.multi else values[0]


def _request_does_not_fit(exc: CallbackException):
    """Dash raises a plain CallbackException when a request's outputs or inputs don't match the
    callback it names: a malformed request, not a server error. Its subclasses (a callback
    returning the wrong number of values, say) are bugs and stay 500s."""
    if type(exc) is CallbackException:
        return jsonify(error="This request does not match the callback it names."), 400
    current_app.log_exception((type(exc), exc, exc.__traceback__))
    return InternalServerError(original_exception=exc)
