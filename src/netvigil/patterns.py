"""Regular expressions the server validates with, and the OpenAPI document shows.

JSON Schema's `format` is only an annotation in OpenAPI 3.1 (draft 2020-12), so "date-time"
promises nothing: the document gives these patterns instead, and the server checks the same
ones, so what the document calls valid is exactly what is accepted. Dates are real dates (no
30 February; 29 February in leap years only), digits are ASCII only, numbers are in range.
"""

from __future__ import annotations

_YEAR = "([0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_DAY = "((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
_LEAP = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-02-29"
DATE = f"({_YEAR}-{_DAY}|{_LEAP})"
CLOCK = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
OFFSET = "([+-]([01][0-9]|2[0-3]):[0-5][0-9])"

# OONI's measurement_start_time: `YYYY-MM-DD hh:mm:ss`, UTC.
START_TIME = f"^{DATE} {CLOCK}$"
# A date, or a date and time with an optional fraction and offset (ISO 8601, as the filters
# read it).
WHEN = rf"^{DATE}([T ]{CLOCK}(\.[0-9]{{1,6}})?(Z|{OFFSET})?)?$"
# An RFC 3339 time as the incident records take it (msgspec's decoder), with an offset.
TIMESTAMP = rf"^{DATE}[Tt ]{CLOCK}(\.[0-9]{{1,9}})?([Zz]|{OFFSET})$"
# 0 to 2^32 - 1, digit by digit.
UINT32 = (
    "([0-9]{1,9}|[0-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}"
    "|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}"
    "|42949672[0-8][0-9]|429496729[0-5])"
)
# A probe's network as OONI writes it (AS0 for unknown), a 32-bit number (RFC 6793).
PROBE_ASN = rf"^AS{UINT32}$"
