"""Incident operations on a real database (each backend): revisions, review, embargo,
retraction, evidence levels, and bad input that stores nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa

from netvigil.incidents import db
from netvigil.incidents.access import ANONYMOUS, OPERATOR
from netvigil.incidents.errors import Forbidden, NotFound
from netvigil.incidents.signing import verify
from netvigil.incidents.validate import InvalidIncident
from tests.incidents.world import MEASUREMENT, World, incident


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> World:
    return World(database_url, tmp_path)


def count(world: World, table: sa.Table) -> int:
    with world.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_every_edit_is_a_signed_revision_and_old_ones_stay_readable(world: World) -> None:
    author = world.member("a_member")
    first = world.service.create(author, incident())
    second = world.service.revise(author, first.id, incident(status="confirmed", confidence=80))
    assert (first.revision, second.revision, second.supersedes) == (1, 2, 1)
    assert second.estimative == "likely" and second.evidence[0].sha256 != ""
    history = world.service.history(world.member("b_member"), first.id)
    assert [h.revision for h in history] == [1, 2]
    keys = [world.keyring._private[world.keyring.current].public_key()]
    for revision in history:
        assert verify(msgspec.to_builtins(revision), keys) is None
    tampered = msgspec.to_builtins(history[1])
    tampered["confidence"] = 99
    assert verify(tampered, keys) is not None
    with world.engine.connect() as connection:
        audited = connection.execute(
            sa.select(db.audit.c.action).where(db.audit.c.object_id == first.id)
        ).scalars()
        assert list(audited) == ["create", "revise"]


def test_draft_and_group_levels_and_not_found_for_outsiders(world: World) -> None:
    draft = world.service.create(world.member("a_member"), incident(visibility="draft"))
    group = world.service.create(
        world.member("a_member"), incident(visibility="group", sharing_group=world.group)
    )
    assert world.service.get(world.member("a_admin"), draft.id).id == draft.id
    for outsider in ("b_member", "coalition_admin"):
        with pytest.raises(NotFound):
            world.service.get(world.member(outsider), draft.id)
    assert world.service.get(world.member("b_member"), group.id).id == group.id
    with pytest.raises(NotFound):
        world.service.get(world.member("c_member"), group.id)
    with pytest.raises(Forbidden):
        world.service.revise(world.member("b_member"), group.id, incident())


def test_evidence_takes_the_stricter_level_and_testimony_is_capped(world: World) -> None:
    data = incident(
        visibility="coalition",
        evidence=[
            {"type": "measurement", "ref": MEASUREMENT, "visibility": "public"},
            {"type": "document", "ref": "https://example.org/order.pdf", "visibility": "draft"},
        ],
    )
    created = world.service.create(world.member("a_member"), data)
    assert [e.visibility for e in created.evidence] == ["coalition", "draft"]
    (shown,) = world.service.view(world.member("b_member"), [created])
    assert [e.type for e in shown.evidence] == ["measurement"]
    keys = [world.keyring._private[world.keyring.current].public_key()]
    assert verify(msgspec.to_builtins(shown), keys) is None  # re-signed as given
    with pytest.raises(InvalidIncident, match="testimony evidence can identify a volunteer"):
        world.service.create(
            world.member("a_member"),
            incident(
                evidence=[{"type": "testimony", "ref": "interview 3", "visibility": "coalition"}]
            ),
        )


def test_public_needs_a_second_person_and_an_embargo_releases_on_its_date(world: World) -> None:
    author, admin = world.member("a_admin"), world.member("a_member")
    embargo = world.clock() + dt.timedelta(days=2)
    created = world.service.create(
        author, incident(visibility="public", embargo_until=embargo.isoformat())
    )
    assert (created.visibility, created.publication) == ("coalition", "requested")
    with pytest.raises(Forbidden):  # the requester cannot approve their own request
        world.service.review(author, created.id, approve=True)
    with pytest.raises(Forbidden):  # a plain member is not a reviewer
        world.service.review(admin, created.id, approve=True)
    approved = world.service.review(world.member("coalition_admin"), created.id, approve=True)
    assert (approved.visibility, approved.publication) == ("coalition", "approved")
    with pytest.raises(NotFound):
        world.service.get(ANONYMOUS, created.id)
    world.clock.advance(days=2)
    public = world.service.get(ANONYMOUS, created.id)
    assert (public.visibility, public.tlp) == ("public", "TLP:CLEAR")


def test_two_people_whatever_happens_between_asking_and_approving(world: World) -> None:
    asker, service = world.member("a_admin"), world.service
    made = service.create(asker, incident())
    service.request_publication(asker, made.id)
    service.sight(world.member("b_member"), made.id, "seen", "also here", "Org B")
    service.revise(world.member("a_member"), made.id, incident(visibility="public"))
    with pytest.raises(Forbidden):
        service.review(asker, made.id, approve=True)
    # The operator is nobody in particular: it neither asks nor approves.
    with pytest.raises(Forbidden):
        service.review(OPERATOR, made.id, approve=True)
    other = service.create(world.member("a_member"), incident())
    with pytest.raises(Forbidden):
        service.request_publication(OPERATOR, other.id)
    with pytest.raises(Forbidden):
        service.create(OPERATOR, incident(visibility="public"), org=world.org_a)
    approved = service.review(world.member("coalition_admin"), made.id, approve=True)
    assert approved.visibility == "public"
    # A rejection clears who asked; asking again makes the new asker the one who asked.
    service.request_publication(world.member("a_member"), other.id)
    service.review(asker, other.id, approve=False)
    service.request_publication(asker, other.id)
    with pytest.raises(Forbidden):
        service.review(asker, other.id, approve=True)


def test_retraction_needs_a_reason_and_an_admin(world: World) -> None:
    created = world.service.create(world.member("a_member"), incident())
    with pytest.raises(Forbidden):
        world.service.retract(world.member("a_member"), created.id, "wrong country")
    with pytest.raises(InvalidIncident):
        world.service.retract(world.member("a_admin"), created.id, "  ")
    retracted = world.service.retract(
        world.member("a_admin"), created.id, "antivirus false positive"
    )
    assert (retracted.status, retracted.retraction_reason) == (
        "retracted",
        "antivirus false positive",
    )
    with pytest.raises(InvalidIncident):
        world.service.revise(world.member("a_member"), created.id, incident())


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"countries": ["IR", "QQ"]}, "countries[1]: unknown country code 'QQ'"),
        ({"end": {"time": "2026-02-01T00:00:00Z"}}, "end.time: before start.time"),
        (
            {"evidence": [{"type": "measurement", "ref": "no-such-uid"}]},
            "no measurement 'no-such-uid'",
        ),
        ({"title": "x" * 201}, "title[en]: 201 characters, at most 200"),
        ({"summary": {"fr": "y" * 281}}, "summary[fr]: 281 characters, at most 280"),
        ({"visibility": "secret"}, "visibility: unknown visibility 'secret'"),
        ({"recipients": ["nobody"], "visibility": "named"}, "recipients: no organisation 'nobody'"),
        ({"subdivisions": ["IT-RM"]}, "IT-RM is not in the incident's countries"),
        ({"targets": [{"type": "domain", "value": "x.org", "category_code": "NOPE"}]}, "NOPE"),
    ],
)
def test_bad_input_is_one_clear_problem_and_stores_nothing(
    world: World, changes: dict[str, object], problem: str
) -> None:
    before = (count(world, db.incidents), count(world, db.revisions), count(world, db.audit))
    with pytest.raises(InvalidIncident) as caught:
        world.service.create(world.member("a_member"), incident(**changes))
    (found,) = caught.value.problems  # one problem, which is also the message
    assert problem in found and str(caught.value) == found
    assert "\n" not in str(caught.value)
    assert (
        count(world, db.incidents),
        count(world, db.revisions),
        count(world, db.audit),
    ) == before


def test_approved_publication_publishes_the_evidence_that_asked_for_no_level(world: World) -> None:
    """Evidence without a level of its own is published with the incident a second person
    approved; evidence that asked for a stricter level stays at it, even once public."""
    data = incident(
        visibility="public",
        evidence=[
            {"type": "measurement", "ref": MEASUREMENT},
            {"type": "document", "ref": "https://example.org/order.pdf", "visibility": "coalition"},
        ],
    )
    created = world.service.create(world.member("a_admin"), data)
    assert (created.visibility, created.publication) == ("coalition", "requested")
    with pytest.raises(NotFound):  # held while the request waits: nothing of it is public
        world.service.get(ANONYMOUS, created.id)
    world.service.review(world.member("coalition_admin"), created.id, approve=True)
    (public,) = world.service.view(ANONYMOUS, [world.service.get(ANONYMOUS, created.id)])
    assert [(e.type, e.ref) for e in public.evidence] == [("measurement", MEASUREMENT)]
    (member,) = world.service.view(
        world.member("b_member"), [world.service.get(world.member("b_member"), created.id)]
    )
    assert [e.type for e in member.evidence] == ["measurement", "document"]
