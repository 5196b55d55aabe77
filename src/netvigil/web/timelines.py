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
from netvigil.web.charts import labels as labels_of

MAX_POINTS = 600  # per signal: a minute series over days is averaged into wider bins


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window(event: Event, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The stretch shown: the event and as long again either side (6 hours to 3 days)."""
    end = event.end or now
    margin = min(dt.timedelta(days=3), max(dt.timedelta(hours=6), (end - event.start)))
    return event.start - margin, end + margin


FIRED = ("value at firing", "baseline at firing")  # what an event carries of each signal


def _label(entity: str, signal: str, own: str) -> str:
    """A signal's name in the legend; with its entity when that is not the event's."""
    return signal if entity == own else f"{signal} ({entity})"


def _width(one: Series, since: int, until: int) -> int:
    """How many of the series' bins one point of the chart averages."""
    count = int(np.count_nonzero((one.times >= since) & (one.times < until)))
    return max(1, math.ceil(count / MAX_POINTS))


def _points(one: Series, since: int, until: int, label: str) -> list[dict[str, Any]]:
    """The series and its baseline in [since, until), averaged over bins of several steps
    when there would be more than MAX_POINTS (a minute series over days)."""
    expected = alarms(one)[1]  # the baseline each bin was judged against, inpainted
    inside = (one.times >= since) & (one.times < until)
    times, values, baseline = one.times[inside], one.values[inside], expected[inside]
    wide = _width(one, since, until)
    rows = []
    for start in range(0, len(times), wide):
        part = slice(start, start + wide)
        moment = iso(dt.datetime.fromtimestamp(int(times[start]), dt.UTC))
        for what, seen in (("value", values[part]), ("baseline", baseline[part])):
            known = seen[~np.isnan(seen)]
            amount = round(float(known.mean()), 3) if len(known) else None
            rows.append({"time": moment, "signal": label, "what": what, "amount": amount})
    return rows


def _relative(values: list[dict[str, Any]], start: str) -> list[dict[str, Any]]:
    """Each signal's amounts as a percentage of its normal level: the median of its baseline
    before `start`, else of its whole baseline, else its baseline at firing; the amount
    itself kept as `raw`."""
    out = []
    for signal in sorted({v["signal"] for v in values}):
        mine = [v for v in values if v["signal"] == signal and v["amount"] is not None]
        levels = [v["amount"] for v in mine if v["what"] == "baseline"]
        before = [v["amount"] for v in mine if v["what"] == "baseline" and v["time"] < start]
        fired = [v["amount"] for v in mine if v["what"] == FIRED[1]]
        normal = float(np.median(before or levels or fired)) if mine else 0.0
        for v in (v for v in values if v["signal"] == signal):
            share = v["amount"] / normal * 100 if normal and v["amount"] is not None else None
            out.append(
                v | {"raw": v["amount"], "amount": None if share is None else round(share, 1)}
            )
    return out


def event_signals(
    event: Event,
    series: Sequence[Series],
    now: dt.datetime,
    *,
    gettext: Gettext = same,
    where: str | None = None,
) -> Chart:
    """The event's fired signals around it: each one's series and baseline where `series`
    holds it (others are ignored), and always its value and baseline when it fired. `now`
    ends an ongoing event."""
    since, until = window(event, now)
    end = event.end or now
    labels = {(f.entity, f.signal): _label(f.entity, f.signal, event.entity) for f in event.signals}
    found = [s for s in series if (s.entity, s.signal) in labels]
    shown = {(s.entity, s.signal) for s in found}
    bounds = int(since.timestamp()), int(until.timestamp())
    values = [p for s in found for p in _points(s, *bounds, labels[(s.entity, s.signal)])]
    values += [
        {"time": iso(f.at), "signal": labels[(f.entity, f.signal)], "what": what, "amount": amount}
        for f in event.signals
        for what, amount in zip(FIRED, (f.value, f.baseline), strict=True)
    ]
    scaled = len({f.signal for f in event.signals}) > 1  # units differ: a count, a level
    if scaled:  # signals in different units share one axis as a percentage of their normal
        values = _relative(values, iso(event.start))
    drawn = sorted(labels[k] for k in shown)
    missing = sorted(labels[k] for k in labels if k not in shown)
    words = {
        "entity": where or event.entity,  # the page's words for it, else the entity
        "kind": gettext(event.kind),
        "start": iso(event.start),
        "end": iso(end) if event.end else gettext("now (ongoing)"),
    }
    parts = [
        gettext("The {kind} of {entity} from {start} to {end} is shaded.").format(**words),
    ]
    if drawn:
        parts.append(
            gettext(
                "{signals} from {since} to {until}, against the baseline detection used."
            ).format(signals=", ".join(drawn), since=iso(since), until=iso(until))
        )
    if missing:
        parts.append(
            gettext(
                "The series of {signals} could not be read back: only its value and baseline "
                "when it fired are shown."
            ).format(signals=", ".join(missing))
        )
    averaged = sorted({_width(s, *bounds) * s.step // 60 for s in found if _width(s, *bounds) > 1})
    if averaged:
        parts.append(
            gettext("Each point is the mean of {minutes} minutes.").format(
                minutes=" / ".join(str(m) for m in averaged)
            )
        )
    if scaled:
        parts.append(gettext("Each signal is shown as a percentage of its normal level."))
    parts += [
        gettext("{signal}: {value:g} against a baseline of {baseline:g} at {at}.").format(
            signal=labels[(f.entity, f.signal)], value=f.value, baseline=f.baseline, at=iso(f.at)
        )
        for f in event.signals
    ]
    alt = " ".join(parts)
    title = gettext("Signals of {entity} around the {kind}").format(**words)
    x = {"field": "time", "type": "temporal", "title": None, "scale": {"type": "utc"}}
    y = {
        "field": "amount",
        "type": "quantitative",
        "title": gettext("Percent of normal") if scaled else gettext("Value"),
    }
    colour = {"field": "signal", "type": "nominal", "title": gettext("Signal")}
    tooltip = [
        {"field": "time", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
        {"field": "signal"},
        {"field": "what"},
        {"field": "amount"},
        *([{"field": "raw"}] if scaled else []),
    ]
    band = {"start": iso(event.start), "end": iso(end), "label": gettext(event.kind)}
    series_only = "datum.what === 'value' || datum.what === 'baseline'"
    spec = base(title, alt, 280) | {
        "data": {"values": values},
        "layer": [
            {
                "data": {"values": [band]},
                "mark": {"type": "rect", "color": KIND_COLOURS[event.kind], "opacity": 0.15},
                "encoding": {"x": x | {"field": "start"}, "x2": {"field": "end"}},
            },
            {
                "transform": [{"filter": series_only}],
                "mark": {"type": "line", "interpolate": "step-after"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": colour,
                    "strokeDash": {
                        "field": "what",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": ["value", "baseline"], "range": [[1, 0], [4, 3]]},
                        "legend": {"labelExpr": labels_of(("value", "baseline"), gettext)},
                    },
                    "tooltip": tooltip,
                },
            },
            {
                "transform": [{"filter": f"!({series_only})"}],
                "mark": {"type": "point", "size": 60, "strokeWidth": 2},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": colour,
                    "shape": {
                        "field": "what",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": list(FIRED), "range": ["circle", "diamond"]},
                        "legend": {"labelExpr": labels_of(FIRED, gettext)},
                    },
                    "tooltip": tooltip,
                },
            },
        ],
    }
    return Chart(
        name="event",
        title=title,
        alt=alt,
        spec=spec,
        table=tuple(v | {"what": gettext(v["what"])} for v in values),
        columns=(
            ("time", gettext("Time")),
            ("signal", gettext("Signal")),
            ("what", gettext("Series")),
            ("amount", gettext("Percent of normal") if scaled else gettext("Value")),
        ),
        query=f"/api/v1/events/{event.id}",
        args=f"id={event.id}",
        csv=False,
        key=event.id,
    )
