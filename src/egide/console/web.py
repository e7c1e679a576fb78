"""What every console page is made of: the request's view, its session, CSRF, rendering, errors.

A page is a route of a router made by `page_router()`; it takes a `View`
(`SignedIn`, or `Checked` for a state-changing request) and returns
`view.render(template, ...)`. Everything a page needs passes through the view:

- `view.principal`: who is signed in (re-read from Égide's record at each request);
- `view.call(service_method, ...)`: a service call on a worker thread — the
  services decide and journal; the console only translates;
- `view.mark(label)`: the marking component (raises the page's banner);
- `view.t(key)`: the catalogue (French/English).

A service refusal (`Forbidden`, `NotFound`…) becomes the console's error page
with the service's status and reason; the service has journaled it.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, ParamSpec, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from egide.app import Platform
from egide.console import i18n
from egide.console.marking import PageMarks
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label
from egide.core.principals import Principal
from egide.errors import AuthenticationFailed, ConfigurationError, EgideError, Forbidden
from egide.identity.sessions import ActiveSession

P = ParamSpec("P")
T = TypeVar("T")

SESSION_COOKIE = "egide_session"
PRESESSION_COOKIE = "egide_presession"
"""Double-submit token of the forms shown before sign-in (sign-in, language)."""
LOGIN_COOKIE = "egide_oidc"
LANG_COOKIE = "egide_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

# Served with every console page: nothing from elsewhere may load, nothing may frame it,
# and a classified page is never kept in a cache.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class NavItem:
    """An entry of the navigation, shown only to a principal the action is allowed to."""

    href: str
    key: str
    action: Action | None = None


NAV: list[NavItem] = [
    NavItem("/", "nav.home"),
    NavItem("/documents", "nav.documents", Action.DOCUMENT_READ),
    NavItem("/documents/upload", "nav.upload", Action.KNOWLEDGE_INGEST),
    NavItem("/ask", "nav.ask", Action.KNOWLEDGE_ASK),
    NavItem("/proposals", "nav.proposals", Action.PROPOSAL_READ),
    NavItem("/alerts", "nav.alerts", Action.ALERT_READ),
    NavItem("/audit", "nav.audit", Action.AUDIT_READ),
    NavItem("/admin", "nav.admin", Action.ADMINISTER),
]
"""The navigation, in order; a page module appends its entry (see docs/console.md)."""


class SignInRequired(Exception):
    """No valid session: a page redirects to the sign-in page, other requests answer 401."""

    def __init__(self, expired: bool) -> None:
        super().__init__("sign-in required")
        self.expired = expired


@dataclass
class Console:
    """The console of one app: the platform, the templates, the sign-in choices."""

    platform: Platform
    env: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("egide.console", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @property
    def oidc_enabled(self) -> bool:
        """Whether the sign-in page offers the identity provider."""
        s = self.platform.settings
        return bool(s.oidc_jwks and s.oidc_issuer)


class View:
    """One request of the console: language, session, marks; renders the page."""

    def __init__(self, request: Request, active: ActiveSession | None = None) -> None:
        self.request = request
        self.console: Console = request.app.state.console
        self.platform: Platform = self.console.platform
        self.session = active
        self.lang = _language(request, self.platform.settings.console_language)
        self.marks = PageMarks(self.platform.policies, self.platform.home_label, self.lang)
        self.cookies: dict[str, str] = {}
        request.state.view = self

    # what a template needs -------------------------------------------------------------

    @property
    def principal(self) -> Principal:
        """The signed-in principal (a `SignedIn` view always has one)."""
        if self.session is None:
            raise SignInRequired(expired=False)
        return self.session.principal

    @property
    def csrf(self) -> str:
        """The token this view's forms carry: the session's, or the pre-session one."""
        if self.session is not None:
            return self.session.csrf
        token = self.request.cookies.get(PRESESSION_COOKIE) or self.cookies.get(PRESESSION_COOKIE)
        if not token:
            token = secrets.token_urlsafe(32)
            self.cookies[PRESESSION_COOKIE] = token
        return token

    def t(self, key: str, **values: object) -> str:
        """The catalogue's string in the page's language."""
        return i18n.text(self.lang, key, **values)

    def mark(self, value: Label | str, *, portion: bool = False) -> Markup:
        """The marking of a displayed item; raises the page's banner (see `PageMarks`)."""
        return self.marks.mark(value, portion=portion)

    def may(self, action: Action) -> bool:
        """Whether the signed-in principal's roles allow `action` (what to show, not a check)."""
        return self.session is not None and access.can(self.principal, action).allowed

    def nav(self) -> list[NavItem]:
        """The navigation entries this principal may use."""
        return [item for item in NAV if item.action is None or self.may(item.action)]

    def clearance(self) -> str:
        """The principal's clearance as a person reads it."""
        return self.platform.policies.format_clearance(self.principal.clearance)

    # doing -----------------------------------------------------------------------------

    async def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a service method on a worker thread (services are synchronous)."""
        return await run_in_threadpool(function, *args, **kwargs)

    def render(
        self,
        template: str,
        *,
        title: str,
        status: int = 200,
        set_cookies: bool = True,
        **context: Any,
    ) -> Response:
        """The page: `template` rendered first, then the layout with banners at its high-water mark.

        `set_cookies=False` (error pages) sets none of the cookies the view decided on.
        """
        body = self.console.env.get_template(template).render(view=self, t=self.t, **context)
        marking, level = self.marks.banner()
        page = self.console.env.get_template("layout.html").render(
            view=self,
            t=self.t,
            title=title,
            content=Markup(body),
            marking=marking,
            level=level,
            refresh=context.get("refresh"),
        )
        response = HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)
        if set_cookies:
            self.apply_cookies(response)
        return response

    def redirect(self, url: str) -> Response:
        """A 303 redirect after a form (never an open redirect: paths of this site only)."""
        response = RedirectResponse(safe_path(url), status_code=303, headers=SECURITY_HEADERS)
        self.apply_cookies(response)
        return response

    def apply_cookies(self, response: Response) -> None:
        """Set the cookies this view decided on (pre-session token, language)."""
        for name, value in self.cookies.items():
            set_cookie(self.request, response, name, value)


def set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    samesite: Literal["strict", "lax"] = "strict",
) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Secure unless the operator turned it off.

    Only the OIDC sign-in's binding cookie is `lax`: the identity provider's
    redirect back is a navigation from another site, on which a strict cookie
    is not sent.

    Raises:
        ConfigurationError: Secure turned off on a server not bound to the loopback interface.
    """
    settings = request.app.state.console.platform.settings
    secure = settings.console_secure_cookies
    if not secure and not _loopback_server(request):
        raise ConfigurationError(
            "EGIDE_CONSOLE_SECURE_COOKIES=false is only allowed on a server bound to the "
            "loopback interface (plain-http development); serve the console over HTTPS "
            "and leave it on"
        )
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite=samesite
    )


def _loopback_server(request: Request) -> bool:
    server = request.scope.get("server")
    if not server:
        return False
    try:
        return ipaddress.ip_address(str(server[0])).is_loopback
    except ValueError:
        return str(server[0]) == "localhost"


def safe_path(url: str) -> str:
    """`url` if it is a path of this site, else `/` (no redirect to elsewhere)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


def _language(request: Request, default: str) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in i18n.LANGUAGES:
        return chosen
    return i18n.negotiate(request.headers.get("accept-language"), default)


# dependencies -------------------------------------------------------------------------


async def anonymous_view(request: Request) -> View:
    """The view of a page open without sign-in (the sign-in page itself)."""
    return View(request)


async def signed_in_view(request: Request) -> View:
    """The view of a signed-in request; without a valid session, `SignInRequired`."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired(expired=False)
    platform: Platform = request.app.state.console.platform
    try:
        active = await run_in_threadpool(platform.sessions.resume, token)
    except AuthenticationFailed:
        raise SignInRequired(expired=True) from None
    return View(request, active)


async def checked_view(request: Request) -> View:
    """`signed_in_view` for a state-changing request: the session's CSRF token is required."""
    view = await signed_in_view(request)
    await require_csrf(view)
    return view


async def require_csrf(view: View) -> None:
    """Refuse (403, journaled) a state-changing request without this view's CSRF token."""
    request = view.request
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    expected = view.csrf
    if presented and secrets.compare_digest(expected.encode(), presented.encode()):
        return
    error = Forbidden(i18n.text(view.lang, "error.csrf"))
    principal = view.session.principal if view.session is not None else None
    await run_in_threadpool(
        view.platform.trail.refused,
        principal,
        "console.csrf",
        error,
        details={"path": request.url.path[:200], "method": request.method},
    )
    raise error


SignedIn = Annotated[View, Depends(signed_in_view)]
Checked = Annotated[View, Depends(checked_view)]
Anonymous = Annotated[View, Depends(anonymous_view)]


# errors -------------------------------------------------------------------------------


class ConsoleRoute(APIRoute):
    """A console route: failures answer with the console's page, never the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as required:
                return _sign_in_required(request, required)
            except EgideError as error:
                return error_page(request, error.http_status, error.message)
            except RequestValidationError as invalid:
                first = invalid.errors()[0] if invalid.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return error_page(request, 400, f"{where}: {first.get('msg', 'invalid')}")

        return route


def page_router() -> APIRouter:
    """The router a console page module declares its routes on."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def error_page(request: Request, status: int, reason: str) -> Response:
    """The console's page for a refusal or an error, in the request's language."""
    view = getattr(request.state, "view", None) or View(request)
    key = f"error.{status}" if status in (400, 401, 403, 404, 409, 413, 429) else "error.500"
    # No cookie on an error page: setting one may be what failed.
    return view.render(
        "error.html",
        title=view.t(key),
        status=status,
        set_cookies=False,
        heading=key,
        reason=reason,
    )


def _sign_in_required(request: Request, required: SignInRequired) -> Response:
    if request.method in ("GET", "HEAD"):
        target = "/signin?next=" + quote(request.url.path, safe="/")
        if required.expired:
            target += "&expired=1"
        response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
        if required.expired:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return error_page(request, 401, i18n.text(View(request).lang, "signin.expired"))


def form_text(form: Mapping[str, Any], name: str) -> str:
    """A text field of a submitted form ('' when absent or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""
