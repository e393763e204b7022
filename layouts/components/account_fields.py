"""The new-account fields of the sign-up and invitation forms."""
import dash_bootstrap_components as dbc


def account_fields(prefix: str, username: str = "", email: str = "") -> list:
    """Username, email and the new password twice, named as the sign-up routes read them."""
    return [
        dbc.Label("Username", html_for=f"{prefix}-username"),
        dbc.Input(id=f"{prefix}-username", name="username", value=username, required=True, maxLength=64,
                  autoComplete="username", className="mb-2"),
        dbc.FormText("Your own workspace gets this name.", className="d-block mb-2"),
        dbc.Label("Email", html_for=f"{prefix}-email"),
        dbc.Input(id=f"{prefix}-email", name="email", type="email", value=email, required=True, maxLength=254,
                  autoComplete="email", className="mb-2"),
        dbc.Label("Password", html_for=f"{prefix}-password"),
        dbc.Input(id=f"{prefix}-password", name="password", type="password", required=True, minLength=8,
                  autoComplete="new-password", className="mb-2"),
        dbc.Label("Repeat password", html_for=f"{prefix}-password2"),
        dbc.Input(id=f"{prefix}-password2", name="password2", type="password", required=True, minLength=8,
                  autoComplete="new-password", className="mb-3"),
    ]
