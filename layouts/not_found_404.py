import dash

from layouts.components.access import not_found

dash.register_page(__name__, path="/404", title="Not found - Halley", order=99)


def layout(**_query):
    return not_found()
