"""Charts of detection events: one event's signals around it, and a country's events in time.

`event_signals` draws, for each signal that fired, its values and the baseline the detector
judged them against (detect/alarms.py `alarms`: the same seasonal, inpainted baseline), with
the event's span shaded, as IODA shows a shutdown (reference/shutdowns.md §1). When the series
cannot be read back, only what the event carries (`Fired`: baseline and value at the
crossing) is drawn, and the alt text says so rather than implying a curve nobody saw.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from netvigil.detect.alarms import alarms
from netvigil.detect.model import Event, Series
from netvigil.web.charts import KIND_COLOURS, Chart, Gettext, base, same

MAX_POINTS = 600  # per signal: a minute series over days is averaged into wider bins


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window(event: Event, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The stretch shown: the event and as long again either side (6 hours to 3 days)."""
    end = event.end or now
    margin = min(dt.timedelta(days=3), max(dt.timedelta(hours=6), (end - event.start)))
    return event.start - margin, end + margin


def _points(one: Series, since: int, until: int) -> list[dict[str, Any]]:
    expected = alarms(one)[1]
    inside = (one.times >= since) & (one.times < until)
    times, values, baseline = one.times[inside], one.values[inside], expected[inside]
    wide = max(1, math.ceil(len(times) / MAX_POINTS))
    rows = []
    for start in range(0, len(times), wide):
        part = slice(start, start + wide)
        moment = iso(dt.datetime.fromtimestamp(int(times[start]), dt.UTC))
        for what, seen in (("value", values[part]), ("baseline", baseline[part])):
            known = seen[~np.isnan(seen)]
            amount = round(float(known.mean()), 3) if len(known) else None
            rows.append({"time": moment, "signal": one.signal, "what": what, "amount": amount})
    return rows


def _relative(values: list[dict[str, Any]], start: str) -> list[dict[str, Any]]:
    """Each signal's amounts as a percentage of its median baseline before `start` (of its
    whole baseline when it has none before), the amount itself kept as `raw`."""
    out = []
    for signal in sorted({v["signal"] for v in values}):
        mine = [v for v in values if v["signal"] == signal]
        known = [v["amount"] for v in mine if v["what"] == "baseline" and v["amount"] is not None]
        before = [
            v["amount"]
            for v in mine
            if v["what"] == "baseline" and v["amount"] is not None and v["time"] < start
        ]
        normal = float(np.median(before or known)) if known else 0.0
        for v in mine:
            share = v["amount"] / normal * 100 if normal and v["amount"] is not None else None
            out.append(
                v | {"raw": v["amount"], "amount": None if share is None else round(share, 1)}
            )
    return out


def event_signals(
    event: Event, series: Sequence[Series], now: dt.datetime, *, gettext: Gettext = same
) -> Chart:
    """The event's fired signals around it. `series`: those read back for its entity (any
    others are ignored); `now` ends an ongoing event."""
    since, until = window(event, now)
    fired = {(f.entity, f.signal) for f in event.signals}
    found = [s for s in series if (s.entity, s.signal) in fired]
    values = [p for s in found for p in _points(s, int(since.timestamp()), int(until.timestamp()))]
    scaled = len({s.signal for s in found}) > 1
    if scaled:  # signals in different units share one axis as a percentage of their normal
        values = _relative(values, iso(event.start))
    end = event.end or now
    names = ", ".join(sorted({f.signal for f in event.signals})) or gettext("none")
    if values:
        alt = gettext(
            "{signals} of {entity} from {since} to {until} against their baselines; the {kind} "
            "from {start} to {end} is shaded."
        ) + (
            " "
            + gettext(
                "Each signal is shown as a percentage of its median baseline before the event."
            )
            if scaled
            else ""
        )
    else:
        values = [
            {"time": iso(f.at), "signal": f.signal, "what": what, "amount": amount}
            for f in event.signals
            for what, amount in (("value", f.value), ("baseline", f.baseline))
        ]
        alt = gettext(
            "The series of {signals} could not be read back: shown are each signal's value and "
            "baseline when it fired; the {kind} of {entity} from {start} to {end} is shaded."
        )
    alt = alt.format(
        signals=names,
        entity=event.entity,
        since=iso(since),
        until=iso(until),
        kind=gettext(event.kind),
        start=iso(event.start),
        end=iso(end) if event.end else gettext("now (ongoing)"),
    )
    alt += " " + " ".join(
        gettext("{signal}: {value:g} against a baseline of {baseline:g} at {at}.").format(
            signal=f.signal, value=f.value, baseline=f.baseline, at=iso(f.at)
        )
        for f in event.signals
    )
    title = gettext("Signals of {entity} around the {kind}").format(
        entity=event.entity, kind=gettext(event.kind)
    )
    x = {"field": "time", "type": "temporal", "title": None, "scale": {"type": "utc"}}
    band = {"start": iso(event.start), "end": iso(end), "label": gettext(event.kind)}
    spec = base(title, alt, 280) | {
        "layer": [
            {
                "data": {"values": [band]},
                "mark": {"type": "rect", "color": KIND_COLOURS[event.kind], "opacity": 0.15},
                "encoding": {"x": x | {"field": "start"}, "x2": {"field": "end"}},
            },
            {
                "data": {"values": values},
                "mark": {"type": "line", "point": len(found) == 0, "interpolate": "step-after"},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "amount",
                        "type": "quantitative",
                        "title": gettext("% of baseline") if scaled else gettext("Value"),
                    },
                    "color": {"field": "signal", "type": "nominal", "title": gettext("Signal")},
                    "strokeDash": {
                        "field": "what",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": ["value", "baseline"], "range": [[1, 0], [4, 3]]},
                    },
                    "tooltip": [
                        {"field": "time", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
                        {"field": "signal"},
                        {"field": "what"},
                        {"field": "amount"},
                        *([{"field": "raw"}] if scaled else []),
                    ],
                },
            },
        ],
    }
    return Chart(
        name="event",
        title=title,
        alt=alt,
        spec=spec,
        table=tuple(values),
        columns=(
            ("time", gettext("Time")),
            ("signal", gettext("Signal")),
            ("what", gettext("Series")),
            ("amount", gettext("Value")),
        ),
        query=f"/api/v1/events/{event.id}",
        args=f"id={event.id}",
        csv=False,
        key=event.id,
    )
