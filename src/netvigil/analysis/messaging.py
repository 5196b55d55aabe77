"""The messaging nettests' analysers, one module per app (ooni.md §4).

- signal (ts-029): :mod:`netvigil.analysis.messaging_signal`
- telegram (ts-020): :mod:`netvigil.analysis.messaging_telegram`
- whatsapp (ts-018): :mod:`netvigil.analysis.messaging_whatsapp`
- facebook_messenger (ts-019): :mod:`netvigil.analysis.messaging_facebook`

They share how a urlgetter target is followed through its steps (messaging_trace) and how
a set of targets becomes layer verdicts (messaging_rules). Each verdict is ok only when the
app's servers answered: an HTTP response (signal, telegram, whatsapp) or a TCP connect to an
address inside Facebook's network (facebook_messenger, which sends no HTTP). Their
techniques are one vocabulary, web_connectivity's words (messaging_trace.TECHNIQUES).
"""

from __future__ import annotations

from netvigil.analysis import (
    messaging_facebook,
    messaging_signal,
    messaging_telegram,
    messaging_whatsapp,
)
from netvigil.analysis.verdicts import RuleBook

ANALYSERS = {
    **messaging_signal.ANALYSERS,
    **messaging_telegram.ANALYSERS,
    **messaging_whatsapp.ANALYSERS,
    **messaging_facebook.ANALYSERS,
}

RULEBOOKS: dict[str, RuleBook] = {
    messaging_signal.APP: messaging_signal.RULES,
    messaging_telegram.APP: messaging_telegram.RULES,
    messaging_whatsapp.APP: messaging_whatsapp.RULES,
    messaging_facebook.APP: messaging_facebook.RULES,
}
