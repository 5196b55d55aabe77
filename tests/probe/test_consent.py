"""Tests for netvigil.probe.consent: the stored record and the risk quiz."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from netvigil.probe.consent import (
    CONSENT_VERSION,
    MAX_ATTEMPTS,
    QUIZ,
    RISKS,
    Consent,
    load,
    record,
    run_quiz,
)

NOW = datetime(2026, 7, 1, 10, 30, 0, tzinfo=UTC)
# sha256 of RISKS + QUIZ at CONSENT_VERSION 1; see test_text_changes_bump_the_version.
PINNED_DIGEST = "0591dc35270fea29f178b6d5ecd7314e147c4e21e932b15feebe271aac6f2ea7"


class Script:
    """A scripted person: answers from a list, then end of input; keeps what was shown."""

    def __init__(self, replies: Iterable[str]) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.replies:
            raise EOFError
        return self.replies.pop(0)

    def say(self, text: str) -> None:
        self.said.append(text)


RIGHT = [str(q.answer + 1) for q in QUIZ]
WRONG = [str((q.answer + 1) % len(q.choices) + 1) for q in QUIZ]


def _write(data_dir: Path, payload: object) -> None:
    (data_dir / "consent.json").write_text(json.dumps(payload), encoding="utf-8")


# --- the stored record ---------------------------------------------------------------------


def test_no_file_means_no_consent(tmp_path: Path) -> None:
    assert load(tmp_path) is None
    assert load(tmp_path / "does-not-exist") is None


def test_record_then_load(tmp_path: Path) -> None:
    data_dir = tmp_path / "netvigil"
    consent = record(data_dir, now=NOW, method="quiz")
    assert consent == Consent(
        version=CONSENT_VERSION, accepted_at="2026-07-01T10:30:00Z", method="quiz"
    )
    assert load(data_dir) == consent
    # The folder did not exist: record created it, private.
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    # No temporary file is left behind.
    assert [p.name for p in data_dir.iterdir()] == ["consent.json"]


def test_file_is_private(tmp_path: Path) -> None:
    record(tmp_path, now=NOW, method="flag")
    assert stat.S_IMODE((tmp_path / "consent.json").stat().st_mode) == 0o600


def test_time_is_stored_in_utc(tmp_path: Path) -> None:
    paris = timezone(timedelta(hours=2))
    consent = record(tmp_path, now=datetime(2026, 7, 1, 12, 30, tzinfo=paris), method="quiz")
    assert consent.accepted_at == "2026-07-01T10:30:00Z"


def test_record_overwrites(tmp_path: Path) -> None:
    record(tmp_path, now=NOW, method="flag")
    later = record(tmp_path, now=NOW + timedelta(days=1), method="quiz")
    assert load(tmp_path) == later


def test_record_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="method"):
        record(tmp_path, now=NOW, method="yes")
    with pytest.raises(ValueError, match="timezone-aware"):
        record(tmp_path, now=datetime(2026, 7, 1, 10, 30), method="quiz")
    assert load(tmp_path) is None


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00",
        b"[]",
        b'{"version": "1", "accepted_at": "2026-07-01T10:30:00Z", "method": "quiz"}',
        b'{"accepted_at": "2026-07-01T10:30:00Z", "method": "quiz"}',
        b" " * (100 * 1024),
    ],
)
def test_corrupt_file_reads_as_no_consent(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "consent.json").write_bytes(content)
    assert load(tmp_path) is None


@pytest.mark.parametrize(
    "field",
    [
        {"version": CONSENT_VERSION - 1},
        {"version": CONSENT_VERSION + 1},
        {"method": "yes"},
        {"accepted_at": "yesterday"},
        {"accepted_at": "2026-07-01T10:30:00"},  # no time zone
        {"accepted_at": "2026-07-01T12:30:00+02:00"},  # not UTC
    ],
)
def test_outdated_or_invalid_record_reads_as_no_consent(
    tmp_path: Path, field: dict[str, object]
) -> None:
    good = msgspec.to_builtins(record(tmp_path, now=NOW, method="quiz"))
    assert load(tmp_path) is not None
    _write(tmp_path, {**good, **field})
    assert load(tmp_path) is None


def test_unreadable_file_reads_as_no_consent(tmp_path: Path) -> None:
    (tmp_path / "consent.json").mkdir()
    assert load(tmp_path) is None


# --- the text and the quiz ----------------------------------------------------------------


def test_risks_cover_the_three_things_to_know() -> None:
    assert len(RISKS.splitlines()) < 40
    text = " ".join(RISKS.split())
    for phrase in (
        "Internet provider, your government, your employer",
        "published openly",
        "your country and your network",
        "Your IP address is removed",
        "Unless you choose not to upload",
        "illegal or objectionable",
        "measuring censorship is itself against the law",
        "netvigil is not a privacy tool",
    ):
        assert phrase in text


def test_quiz_is_well_formed() -> None:
    assert len(QUIZ) == 2
    for question in QUIZ:
        assert 0 <= question.answer < len(question.choices)
        assert len({c.casefold() for c in question.choices}) == len(question.choices)
    # "Always pick 1" must not pass.
    assert any(q.answer != 0 for q in QUIZ)


def test_text_changes_bump_the_version() -> None:
    """Changed RISKS or QUIZ? Bump CONSENT_VERSION, then update the pinned digest below."""
    digest = hashlib.sha256(RISKS.encode() + msgspec.json.encode(QUIZ)).hexdigest()
    assert (CONSENT_VERSION, digest) == (1, PINNED_DIGEST)


def test_right_answers_pass() -> None:
    person = Script(RIGHT)
    assert run_quiz(person.ask, person.say)
    assert person.said[0] == RISKS
    assert len(person.prompts) == len(QUIZ)
    assert not any("Not quite" in s for s in person.said)


def test_answers_by_text_any_case() -> None:
    replies = [f"  {q.choices[q.answer].upper()} " for q in QUIZ]
    person = Script(replies)
    assert run_quiz(person.ask, person.say)


def test_one_wrong_answer_explains_and_asks_again() -> None:
    person = Script([WRONG[0], RIGHT[0], RIGHT[1]])
    assert run_quiz(person.ask, person.say)
    assert len(person.prompts) == 3
    assert any(QUIZ[0].explanation in s for s in person.said)
    # The risks were shown again before the second try.
    assert person.said.count(RISKS) == 2


def test_three_wrong_answers_fail() -> None:
    person = Script([WRONG[0]] * MAX_ATTEMPTS + RIGHT)
    assert not run_quiz(person.ask, person.say)
    assert len(person.prompts) == MAX_ATTEMPTS
    assert sum(QUIZ[0].explanation in s for s in person.said) == MAX_ATTEMPTS


def test_unrecognised_answers_count_as_wrong() -> None:
    person = Script(["maybe", "0", "99"])
    assert not run_quiz(person.ask, person.say)
    assert any("number from 1 to" in s for s in person.said)


def test_wrong_answer_on_the_second_question() -> None:
    person = Script([RIGHT[0], WRONG[1], RIGHT[1]])
    assert run_quiz(person.ask, person.say)
    assert any(QUIZ[1].explanation in s for s in person.said)


@pytest.mark.parametrize("replies", [[], [RIGHT[0]], [WRONG[0]]])
def test_end_of_input_means_no_consent(replies: list[str]) -> None:
    person = Script(replies)
    assert not run_quiz(person.ask, person.say)
