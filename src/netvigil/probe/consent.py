"""Informed consent before the first measurement.

OONI refuses to measure until the person has read what the risks are and shown, in a short
quiz, that they understood them: three "things to know", then two questions, and a wrong answer
sends them back to the explanation (ooni/probe-cli cmd/ooniprobe/internal/cli/onboard/onboard.go;
the design comes from the 2016 Tor dev meeting, "UserRisk", and ooni/spec#73; reliability.md
§1.1, ooni.md §6). We keep an equivalent gate, with our own wording.

The module is sans-IO: the caller supplies ``ask``/``say`` (a terminal, a GUI, a test script)
and the clock, so the gate can be tested without a terminal and cannot depend on the time of
day. Non-interactive runs can consent with a flag instead (method ``"flag"``, like miniooni's
``--yes``, internal/cmd/miniooni/consent.go); the record says which way consent was given.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import msgspec

from netvigil.datadir import DataDir, DataDirError, ensure

# Bump whenever RISKS or QUIZ change in substance: consent to an older text no longer counts,
# so everyone is asked again (tests/probe/test_consent.py pins the text to catch a forgotten bump).
CONSENT_VERSION: Final = 1
METHODS: Final = frozenset({"quiz", "flag"})
MAX_ATTEMPTS: Final = 3
FILE_MODE: Final = 0o600
# A consent record is ~80 bytes; anything much larger is not ours and is not read into memory.
_MAX_FILE_BYTES: Final = 64 * 1024

RISKS: Final = """\
Before your first measurement, please read this carefully.

netvigil tests whether your Internet connection blocks websites and apps.
Doing so carries risks. Three things matter most:

1. You are visible. Whoever watches your network traffic, such as your
   Internet provider, your government, your employer or the owner of the
   Wi-Fi you use, can tell that you are running netvigil and which sites
   it is trying to reach.

2. Your results are public. Unless you choose not to upload them, every
   measurement is published openly, for anyone to read, together with
   your country and your network (the ASN of your Internet provider).
   Your IP address is removed before publication, but a web page that
   echoes it back in an unusual form could still reveal it. If you choose
   not to upload, results stay in netvigil's data folder on this device.

3. The sites, and measuring itself, may be illegal. netvigil visits sites
   that may be illegal or objectionable where you are: political
   opposition, religion, sexuality, pornography, gambling and more. In
   some countries, measuring censorship is itself against the law or may
   be treated as spying, with fines, prosecution or prison as a result.

netvigil is not a privacy tool: it does not hide what you do or who you
are. If you are unsure, talk to a lawyer or a digital-security
organisation you trust before you run it, and judge for yourself whether
the benefit is worth the risk to you.
"""


class Question(msgspec.Struct, frozen=True, kw_only=True):
    """One quiz question; ``answer`` is the 0-based index of the right choice."""

    prompt: str
    choices: tuple[str, ...]
    answer: int
    explanation: str


# The right answer is not always in the same place, so that "always 1" does not pass.
QUIZ: Final = (
    Question(
        prompt="While netvigil measures, who can tell that you are using it?",
        choices=(
            "No one: netvigil hides its traffic",
            "Anyone who watches my network, such as my Internet provider, government or employer",
            "Only the netvigil developers",
        ),
        answer=1,
        explanation=(
            "netvigil hides nothing. Anyone who watches your network (your Internet provider, "
            "your government, your employer, the owner of the Wi-Fi) can see that you run it "
            "and which sites it tries to reach."
        ),
    ),
    Question(
        prompt="What happens to your results unless you choose not to upload them?",
        choices=(
            "They stay on this device",
            "They are published openly, with my IP address",
            "They are published openly, with my country and network but not my IP address",
        ),
        answer=2,
        explanation=(
            "Results are published for anyone to read, with your country and network (not your "
            "IP address). They stay on this device only if you choose not to upload them."
        ),
    ),
)


class Consent(msgspec.Struct, frozen=True, kw_only=True):
    """The stored record: which text was agreed to, when (ISO 8601 UTC), and how."""

    version: int
    accepted_at: str
    method: str


def _is_utc_timestamp(value: str) -> bool:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.utcoffset() == timedelta(0)


def load(data_dir: Path) -> Consent | None:
    """The valid consent in ``data_dir``, or None: missing, unreadable, corrupt or outdated.

    Never raises for a bad file: the answer is simply "ask again". Only the current version
    counts; a record from a newer netvigil (after a downgrade) is refused too, because the
    person agreed to a text this version cannot show them.
    """
    try:
        with DataDir(root=data_dir).consent.open("rb") as f:
            raw = f.read(_MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(raw) > _MAX_FILE_BYTES:
        return None
    try:
        consent = msgspec.json.decode(raw, type=Consent)
    except msgspec.DecodeError:  # also covers ValidationError (wrong shape or types)
        return None
    if (
        consent.version != CONSENT_VERSION
        or consent.method not in METHODS
        or not _is_utc_timestamp(consent.accepted_at)
    ):
        return None
    return consent


def record(data_dir: Path, *, now: datetime, method: str) -> Consent:
    """Store consent given at ``now`` (timezone-aware) by ``method``; return the record.

    The write is atomic (temporary file in the same folder, fsync, ``os.replace``), so a crash
    or a full disk leaves either the old record or the new one, never half a file. The file is
    0o600: only its owner may learn that this person agreed to measure.
    """
    if method not in METHODS:
        raise ValueError(f"consent method must be one of {sorted(METHODS)}, not {method!r}")
    if now.utcoffset() is None:
        raise ValueError("consent time must be timezone-aware")
    consent = Consent(
        version=CONSENT_VERSION,
        accepted_at=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        method=method,
    )
    data = msgspec.json.format(msgspec.json.encode(consent), indent=2) + b"\n"
    target = DataDir(root=ensure(data_dir)).consent
    try:
        # mkstemp creates the file with mode 0o600 whatever the umask.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".consent-", suffix=".tmp")
    except OSError as exc:
        raise DataDirError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise DataDirError(f"cannot write {target}: {exc.strerror or exc}") from None
    return consent


def _choice_index(reply: str, choices: tuple[str, ...]) -> int | None:
    """The 0-based choice named by ``reply`` (its number or its text), or None."""
    text = reply.strip().casefold()
    if text.isdecimal() and 1 <= int(text) <= len(choices):
        return int(text) - 1
    for index, choice in enumerate(choices):
        if text == choice.casefold():
            return index
    return None


def _render(question: Question, number: int) -> str:
    lines = [f"Question {number} of {len(QUIZ)}: {question.prompt}"]
    lines += [f"  {i}. {choice}" for i, choice in enumerate(question.choices, 1)]
    return "\n".join(lines)


def _pass_question(
    question: Question, number: int, ask: Callable[[str], str], say: Callable[[str], None]
) -> bool:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        say(_render(question, number))
        try:
            reply = ask(f"Your answer (1-{len(question.choices)}): ")
        except EOFError:
            return False
        chosen = _choice_index(reply, question.choices)
        if chosen == question.answer:
            return True
        if chosen is None:
            say(f"Please answer with a number from 1 to {len(question.choices)}.")
        # As in OONI's onboarding, a wrong answer means the risks were not understood: explain,
        # then show the whole text again before asking once more.
        say(f"Not quite. {question.explanation}")
        if attempt < MAX_ATTEMPTS:
            say(RISKS)
    return False


def run_quiz(ask: Callable[[str], str], say: Callable[[str], None]) -> bool:
    """Show RISKS and ask every QUIZ question; True only if all were answered right.

    Each question allows MAX_ATTEMPTS answers. End of input (``ask`` raising EOFError, as
    ``input()`` does on a closed stdin) means no consent, never a traceback.
    """
    say(RISKS)
    return all(_pass_question(q, n, ask, say) for n, q in enumerate(QUIZ, 1))
