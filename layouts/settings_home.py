import dash
from dash import dcc

from layouts.components.access import require_signed_in

dash.register_page(__name__, path="/settings", title="Settings - Halley", order=6)


def layout(**_query):
    """Bare /settings opens the signed-in user's own account."""
    return require_signed_in("/settings/account") or dcc.Location(id="page-redirect", href="/settings/account",
                                                                   refresh=True)
