"""Stock-outs are censored demand: days a product could not be sold are missing data.

A day on which the stock ran out recorded fewer sales than the demand, and
days on which the balance stayed at zero recorded none; training on them as
observed days would teach the model that demand dropped.  The models read
them as NaN (like a closed day), but unlike a closed day they are not
closures: they drive no day-before/after-closure feature and never make a
weekday look habitually closed.

The stock-out intervals come from the stock ledger
(``siprems.inventory.ledger.stockout_intervals``: [ran out, restocked) per
product); this module only turns them into censored days of the sales
history.  Both end days count (each was partly out of stock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

Interval = tuple[dt.date, dt.date | None]  # first day out of stock, day restocked (None: still out)


def stockout_days(intervals: Iterable[Interval], *, until: dt.date, sold_on: Iterable[dt.date] = ()) -> set[dt.date]:
    """Days (up to ``until``, the last history day) on which the product was out of stock.

    ``sold_on``: days with recorded sales.  An interval with sales strictly
    inside it contradicts itself - the history predates the ledger, whose
    opening balance is the stock the product had when the ledger started -
    and is ignored rather than censoring real sales days.
    """
    sold = set(sold_on)
    out: set[dt.date] = set()
    for first, back in intervals:
        last = min(back, until) if back is not None else until
        if last < first:
            continue
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        # sales on the day it ran out or the day it came back are normal
        inside = [d for d in days[1:] if d != back]
        if any(d in sold for d in inside):
            continue
        out.update(days)
    return out
