"""Signing in and out: an API key form, or the identity provider (OIDC with PKCE).

Routes open without a session: the sign-in page, its forms (protected by a
double-submit token, since there is no session yet to bind one to) and the
identity provider's return (bound to this browser by a cookie, `state`,
the nonce and the PKCE verifier).
"""

from __future__ import annotations

import math

from fastapi import Request, Response

from egide.console import i18n
from egide.console.oidc import OidcClient
from egide.console.web import (
    LANG_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Anonymous,
    Checked,
    SignInRequired,
    View,
    form_text,
    page_router,
    require_csrf,
    safe_path,
    set_cookie,
    signed_in_view,
)
from egide.errors import AuthenticationFailed, ConfigurationError, RateLimited

router = page_router()


@router.get("/signin")
async def signin_page(view: Anonymous, next: str = "/", expired: int = 0) -> Response:
    """The sign-in page: the identity provider's button and the API key form."""
    notice = view.t("signin.expired") if expired else None
    return view.render(
        "signin.html",
        title=view.t("signin.title"),
        next=safe_path(next),
        notice=notice,
        oidc=view.console.oidc_enabled,
    )


@router.post("/signin/key")
async def signin_key(view: Anonymous) -> Response:
    """Sign in with an API key; a refused key is journaled and the form shown again."""
    await require_csrf(view)
    form = await view.request.form()
    target = safe_path(form_text(form, "next") or "/")
    client = view.request.client.host if view.request.client is not None else None
    try:
        opened, _ = await view.call(
            view.platform.sessions.sign_in_with_key, form_text(form, "key"), client
        )
    except RateLimited as error:
        response = view.render(
            "signin.html",
            title=view.t("signin.title"),
            status=429,
            next=target,
            notice=view.t("signin.throttled", seconds=math.ceil(error.retry_after)),
            oidc=view.console.oidc_enabled,
        )
        response.headers["Retry-After"] = str(math.ceil(error.retry_after))
        return response
    except AuthenticationFailed as error:
        return view.render(
            "signin.html",
            title=view.t("signin.title"),
            status=401,
            next=target,
            notice=view.t("signin.failed", reason=error.message),
            oidc=view.console.oidc_enabled,
        )
    response = view.redirect(target)
    set_cookie(view.request, response, SESSION_COOKIE, opened.token)
    return response


@router.get("/signin/oidc")
async def signin_oidc(view: Anonymous, next: str = "/") -> Response:
    """Send the browser to the identity provider, with state, nonce and a PKCE challenge."""
    client = _client(view)
    token, pending = await view.call(view.platform.sessions.begin_login, safe_path(next))
    url = await view.call(client.authorize_url, _redirect_uri(view.request), pending)
    response = view.redirect("/")
    response.headers["location"] = url  # the provider, not this site: the one place allowed
    set_cookie(view.request, response, LOGIN_COOKIE, token, max_age=600, samesite="lax")
    return response


@router.get("/signin/oidc/callback")
async def signin_oidc_callback(
    view: Anonymous, state: str = "", code: str = "", error: str = ""
) -> Response:
    """The provider's return: check state, exchange the code, check the ID token, open a session."""
    client = _client(view)
    sessions = view.platform.sessions
    try:
        # Each step journals its own refusal (the services, the verifier, the client).
        pending = await view.call(
            sessions.finish_login, view.request.cookies.get(LOGIN_COOKIE, ""), state
        )
        if error or not code:
            raise await view.call(client.refused, error or "no code")
        id_token = await view.call(client.exchange, code, _redirect_uri(view.request), pending)
        verifier = view.request.app.state.gateway.authenticator.oidc
        if verifier is None:
            raise ConfigurationError("OIDC is not configured; set EGIDE_OIDC_JWKS")
        username, claims = await view.call(verifier.identify, id_token, nonce=pending.nonce)
        opened, _ = await view.call(
            sessions.sign_in_with_oidc, username, claims, provision=verifier.provision
        )
    except AuthenticationFailed as failed:
        response = view.render(
            "signin.html",
            title=view.t("signin.title"),
            status=401,
            next="/",
            notice=view.t("signin.failed", reason=failed.message),
            oidc=True,
        )
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response
    # A page that moves on by itself rather than a redirect: this response ends a navigation
    # that came from the provider's site, on which the strict session cookie would not be
    # sent; the page's own navigation is from this site.
    target = safe_path(pending.return_to)
    response = view.render(
        "continue.html", title=view.t("signin.title"), refresh=target, set_cookies=False
    )
    response.delete_cookie(LOGIN_COOKIE, path="/")
    set_cookie(view.request, response, SESSION_COOKIE, opened.token)
    return response


@router.post("/signout")
async def signout(view: Checked) -> Response:
    """Destroy the session (journaled) and forget its cookie."""
    assert view.session is not None
    await view.call(view.platform.sessions.sign_out, view.session)
    response = view.redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
async def language(request: Request) -> Response:
    """Switch the console's language (a preference cookie), signed in or not."""
    try:
        view = await signed_in_view(request)
    except SignInRequired:  # no session: the sign-in page's own token applies
        view = View(request)
    await require_csrf(view)
    form = await request.form()
    chosen = form_text(form, "lang")
    if chosen in i18n.LANGUAGES:
        view.cookies[LANG_COOKIE] = chosen
    return view.redirect(form_text(form, "next") or "/")


def _client(view: View) -> OidcClient:
    if not view.console.oidc_enabled:
        raise ConfigurationError(
            "sign-in with an identity provider is not configured; set EGIDE_OIDC_ISSUER, "
            "EGIDE_OIDC_AUDIENCE and EGIDE_OIDC_JWKS (docs/console.md)"
        )
    client: OidcClient | None = getattr(view.request.app.state, "console_oidc", None)
    if client is None:
        client = OidcClient(view.platform.settings, view.platform.identity)
        view.request.app.state.console_oidc = client
    return client


def _redirect_uri(request: Request) -> str:
    base = request.app.state.console.platform.settings.console_url
    root = base.rstrip("/") if base else str(request.base_url).rstrip("/")
    return root + "/signin/oidc/callback"
