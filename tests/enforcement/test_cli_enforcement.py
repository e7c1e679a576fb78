"""Proof, not promise, for the command line: every `egide` command is enumerated from the app.

Each command acting as a person refuses a missing key, the wrong role, too
low a clearance and the wrong organisation, and journals what it did or
refused — through the same services as the API. The others act as the local
operator and are listed in `cli_cases.LOCAL` with the reason.
"""

from __future__ import annotations

import pytest

from tests.enforcement.cli_cases import CLI_CASES, LOCAL, CliCase, commands, run
from tests.enforcement.world import World


def test_every_command_has_a_case() -> None:
    found = set(commands())
    covered = {c.command for c in CLI_CASES} | set(LOCAL)
    missing = sorted(found - covered)
    assert not missing, (
        f"commands without an enforcement case: {missing}; add one to "
        "tests/enforcement/cli_cases.py (or to LOCAL with the reason)"
    )
    assert not sorted(covered - found), (
        f"cases for commands that no longer exist: {covered - found}"
    )


def _run(world: World, case: CliCase, caller: str | None) -> tuple[int, int, str]:
    context = case.prepare(world) if case.prepare else None
    mark = world.mark()
    code, out = run(world, case.args(world, caller, context), caller)
    return mark, code, out


def _refusal(world: World, mark: int, case: CliCase, caller: str | None, code: int) -> None:
    actor = f"user:{caller}" if caller else "anonymous"
    labelled = world.entries_since(mark)
    entries = [e for e, _ in labelled]
    refused = [(e, lbl) for e, lbl in labelled if e.actor == actor and e.details.get("refused")]
    assert refused, f"egide {case.command}: the refusal of {actor} (exit {code}) was not journaled"
    entry, label = refused[-1]
    assert label and entry.details["reason"]
    assert entry.action in (*case.actions, "auth.refused")
    named = ("documents show", "documents relabel", "documents delete")
    if caller is not None and case.command.startswith(named):
        assert entry.objects, f"egide {case.command}: the refusal of {actor} names no object"
    done = [e for e in entries if e.actor == actor and e.action == entry.action]
    assert all(e.details.get("refused") for e in done)


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.command)
def test_authorised_person_is_served_and_journaled(world: World, case: CliCase) -> None:
    mark, code, out = _run(world, case, case.ok)
    assert code == 0, f"egide {case.command} as {case.ok}: exit {code}\n{out}"
    actor = f"user:{case.ok}"
    done = [
        e
        for e, _ in world.entries_since(mark)
        if e.actor == actor and e.action in case.actions and not e.details.get("refused")
    ]
    assert done, f"egide {case.command}: ran, but no journal entry of {case.actions}"


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.command)
def test_missing_key_is_refused_and_journaled(world: World, case: CliCase) -> None:
    mark, code, _ = _run(world, case, None)
    assert code == 3
    _refusal(world, mark, case, None, code)


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.command)
def test_wrong_roles_are_refused_and_journaled(world: World, case: CliCase) -> None:
    for caller in case.wrong_roles:
        mark, code, out = _run(world, case, caller)
        assert code == 4, f"egide {case.command} as {caller} (wrong role): exit {code}\n{out}"
        _refusal(world, mark, case, caller, code)


@pytest.mark.parametrize("case", [c for c in CLI_CASES if c.under], ids=lambda c: c.command)
def test_under_cleared_person_is_refused_and_journaled(world: World, case: CliCase) -> None:
    assert case.under is not None
    mark, code, out = _run(world, case, case.under)
    assert code in (4, 5), f"egide {case.command} as {case.under}: exit {code}\n{out}"
    _refusal(world, mark, case, case.under, code)


@pytest.mark.parametrize("case", [c for c in CLI_CASES if c.wrong_org], ids=lambda c: c.command)
def test_wrong_organisation_is_refused_and_journaled(world: World, case: CliCase) -> None:
    assert case.wrong_org is not None
    mark, code, out = _run(world, case, case.wrong_org)
    assert code == 5, f"egide {case.command} as {case.wrong_org}: exit {code}\n{out}"
    _refusal(world, mark, case, case.wrong_org, code)
