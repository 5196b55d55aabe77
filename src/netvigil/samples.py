"""The bundled sample: real OONI measurements for `netvigil demo` and `serve --demo`.

The data is OONI's, not ours (CC BY-NC-SA 4.0): whoever is shown it is told where it comes
from, so both commands print `ATTRIBUTION` and the path of the sample's SOURCES.md, which
names every measurement and the public repository it was copied from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path

SAMPLE_NAME = "web_connectivity.jsonl.gz"
# Real measurements of apps and circumvention tools, for `serve --demo`'s "What works here".
OTHER_NAME = "other_nettests.jsonl.gz"
ATTRIBUTION = (
    "real OONI measurements: data from OONI (Open Observatory of Network "
    "Interference, https://ooni.org), CC BY-NC-SA 4.0"
)


@contextmanager
def sample_path(name: str = SAMPLE_NAME) -> Iterator[Path]:
    """A sample as a file on disk (extracted for as long as the block runs if zipped)."""
    with as_file(files("netvigil") / "data" / "samples" / name) as path:
        yield path


def sources_note(count: int) -> str:
    """One line for stderr: what was loaded and where its provenance is written down."""
    sources = files("netvigil") / "data" / "samples" / "SOURCES.md"
    return f"sample: {count} {ATTRIBUTION}; sources: {sources}"
