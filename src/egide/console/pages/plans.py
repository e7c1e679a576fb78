"""Plans: one routing plan — its map, its routes, what is unserved — and its proposal.

Every call goes to the planning service — the same one `/v1/planning` uses — which
checks the role, the clearance and the organisation, and journals what it served or
refused. The map is served as an image of this site (an SVG in an `<img>` never runs
script), with the same checks and a policy that lets it fetch nothing.
"""

from __future__ import annotations

from fastapi import Response

from egide.api.planning.router import SVG_POLICY
from egide.console.web import SECURITY_HEADERS, SignedIn, page_router

router = page_router()


@router.get("/plans/{plan_id}")
async def plan_page(view: SignedIn, plan_id: int) -> Response:
    """A plan: its marking, the map, the routes table, the unserved and its proposal."""
    plan = await view.call(view.platform.planning.get, view.principal, plan_id)
    return view.render(
        "plans/view.html",
        title=view.t("plan.title", id=plan.id),
        plan=plan,
        summary=plan.summary(),
    )


@router.get("/plans/{plan_id}/map.svg")
async def plan_map(view: SignedIn, plan_id: int) -> Response:
    """The plan's map (journaled as a read), with its label and a policy that runs nothing."""
    plan = await view.call(lambda: view.platform.planning.get(view.principal, plan_id, what="map"))
    policies = view.platform.policies
    return Response(
        plan.svg,
        media_type="image/svg+xml",
        headers={
            **SECURITY_HEADERS,
            "Content-Security-Policy": SVG_POLICY,
            "X-Egide-Label": policies.format(policies.parse(plan.label), "en"),
            "Cache-Control": "no-store",
        },
    )
