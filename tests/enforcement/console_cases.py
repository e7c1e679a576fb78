"""The console's routes, and which of them are open without a session (and why).

Every other console route must refuse a caller without a valid session:
`test_console_routes.py` enumerates them from `egide.console.PAGES` and
proves it, so a new page is covered the day it is added.
"""

from __future__ import annotations

from egide.console import PAGES

PUBLIC_CONSOLE: dict[tuple[str, str], str] = {
    ("GET", "/signin"): "the sign-in page itself; shows no data",
    ("POST", "/signin/key"): "the API key sign-in form (its own double-submit CSRF token)",
    ("GET", "/signin/oidc"): "starts the identity provider's sign-in; shows no data",
    ("GET", "/signin/oidc/callback"): "the identity provider's return (state, nonce, PKCE)",
    ("POST", "/language"): "a language preference cookie; CSRF-checked, shows no data",
}


LABELLED_CONSOLE: dict[tuple[str, str], str] = {
    ("GET", "/alerts"): "test_console_leaks.py (in process) and test_alerts_browser.py",
    ("POST", "/alerts/watchlists"): "test_console_leaks.py: the page shown again after a refusal",
    ("GET", "/alerts/stream"): (
        "test_console_leaks.py (refusals before the stream) and test_alerts_browser.py (the "
        "raw events of a served console, by level and REL TO)"
    ),
}
"""Console routes that show alerts or watchlists, and the tests that prove no reader sees one
above their clearance or outside its releasability there."""


def console_routes() -> set[tuple[str, str]]:
    """(method, path) of every console route."""
    return {
        (method, route.path)
        for router in PAGES
        for route in router.routes
        for method in getattr(route, "methods", ()) or ()
    }
