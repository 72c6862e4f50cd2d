"""Calendar features: public holidays, special days and shop events.

A :class:`EventCalendar` knows the public holidays of one country/subdivision
(from the ``holidays`` package), a few special days (24 and 31 December for
Germany) and arbitrary shop events (promotions, extra holidays, store
closures).  It produces

* :meth:`EventCalendar.features` - a numeric design matrix (0/1 columns) for
  the regression models, with lead/lag columns for the day before/after a
  holiday, the week before each named holiday, and the days before/after a
  closure;
* :meth:`EventCalendar.day_names` / :func:`holiday_names` - the holiday or
  event name per day, for charts (``isHoliday`` / ``holidayName``);
* :meth:`EventCalendar.closed_days` / :meth:`EventCalendar.predict_closed` -
  the days the shop is (probably) shut.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from siprems.calendar.holidays import country_year

EVENT_KINDS = ("promotion", "holiday", "store-closed")

# A date, datetime, pandas Timestamp (a datetime) or ISO string: what `to_date` reads.
DateLike: TypeAlias = dt.date | str

# Days that are not public holidays but behave like ones, per country.
SPECIAL_DAYS: dict[str, dict[tuple[int, int], str]] = {
    "DE": {(12, 24): "Christmas Eve", (12, 31): "New Year's Eve"},
}


def shopping_days(country: str, year: int) -> dict[dt.date, str]:
    """Days that are no public holiday but change what people buy, and move from year to year.

    Each gets its own named column (``h:<name>``) and nothing else: no ``hol``
    flag, no day before/after columns, never a predicted closure.  Germany:
    Holy Saturday, Easter and Pentecost Sunday, Mother's Day, the four Advent
    Sundays (bakery backtest: 4th Advent and Holy Saturday were among the worst days).
    """
    if country != "DE":
        return {}
    from dateutil.easter import easter

    e = easter(year)
    may1 = dt.date(year, 5, 1)
    mothers = may1 + dt.timedelta(days=(6 - may1.weekday()) % 7 + 7)  # 2nd Sunday of May
    advent4 = dt.date(year, 12, 24) - dt.timedelta(days=(dt.date(year, 12, 24).weekday() + 1) % 7)
    out = {
        e - dt.timedelta(days=1): "Holy Saturday",
        e: "Easter Sunday",
        e + dt.timedelta(days=49): "Pentecost Sunday",
        mothers: "Mother's Day",
    }
    for k in range(4):
        out.setdefault(advent4 - dt.timedelta(days=7 * k), f"Advent Sunday {4 - k}")
    return out


@dataclass(frozen=True)
class Event:
    """One shop event on one day. ``kind`` is promotion, holiday or store-closed."""

    date: dt.date
    name: str
    kind: str = "promotion"

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; use one of {EVENT_KINDS}")


# Events as `Event`s, dicts `{date, name, kind}`, `(date, name[, kind])` tuples, or a mapping date -> name.
EventsLike: TypeAlias = Iterable[Event | Mapping[str, Any] | tuple[Any, ...]] | Mapping[Any, str] | None


def to_date(value: DateLike) -> dt.date:
    """Coerce a date, datetime, pandas Timestamp or ISO string to ``datetime.date``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def coerce_events(events: EventsLike) -> list[Event]:
    """Accept ``Event`` objects, dicts ``{date, name, kind}``, tuples or a mapping date -> name."""
    if not events:
        return []
    if isinstance(events, Mapping):
        events = [(d, n) for d, n in events.items()]
    out: list[Event] = []
    for ev in events:
        if isinstance(ev, Event):
            out.append(ev)
        elif isinstance(ev, Mapping):
            out.append(Event(to_date(ev["date"]), str(ev.get("name") or "event"), str(ev.get("kind") or "promotion")))
        else:
            ev = tuple(ev)
            kind = ev[2] if len(ev) > 2 else "promotion"
            out.append(Event(to_date(ev[0]), str(ev[1]), str(kind)))
    return out


def canonical(name: str) -> str:
    """Holiday name without the ``holidays`` package's " (estimated)" suffix."""
    return name.replace("(estimated)", "").strip()


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in canonical(name).lower()).strip("_")


def _country_year(country: str, subdiv: str | None, year: int) -> tuple[tuple[dt.date, str], ...]:
    """One country's public holidays in one year, from the one cached source."""
    return country_year(country, subdiv, year)


class EventCalendar:
    """Public holidays + special days + shop events for one shop.

    ``country=None`` disables public holidays (only explicit events count).
    ``lead``/``lag`` are how many days before/after a holiday get their own
    feature columns; ``week_before`` adds ``h:<name>:wk`` (days -7..-2).
    ``censored``: days missing from a history for another reason than a
    closure (stock-outs); they are never read as closed days.
    Unknown countries give no public holidays rather than an error.
    """

    def __init__(
        self,
        country: str | None = "ID",
        subdiv: str | None = None,
        events: EventsLike = None,
        lead: int = 1,
        lag: int = 1,
        week_before: bool = True,
        censored: Iterable[dt.date] = (),
    ) -> None:
        self.country = country.upper() if country else None
        # days missing for another reason than a closure (stock-outs): never closures
        self.censored: frozenset[dt.date] = frozenset(censored)
        self.subdiv = subdiv
        self.events = coerce_events(events)
        self.lead = lead
        self.lag = lag
        self.week_before = week_before
        self._cache: dict[int, dict[dt.date, str]] = {}

    # -- raw day lookups -------------------------------------------------
    def _public(self, year: int) -> dict[dt.date, str]:
        if year not in self._cache:
            days: dict[dt.date, str] = {}
            if self.country:
                days = dict(_country_year(self.country, self.subdiv, year))
                for (m, d), n in SPECIAL_DAYS.get(self.country, {}).items():
                    days.setdefault(dt.date(year, m, d), n)
            self._cache[year] = days
        return self._cache[year]

    def holidays_between(self, start: dt.date, end: dt.date) -> dict[dt.date, str]:
        """Public holidays, special days and ``holiday`` events in [start, end]."""
        out: dict[dt.date, str] = {}
        for year in range(start.year, end.year + 1):
            for d, n in self._public(year).items():
                if start <= d <= end:
                    out[d] = n
        for ev in self.events:
            if ev.kind == "holiday" and start <= ev.date <= end:
                out.setdefault(ev.date, ev.name)
        return out

    def shopping_days_between(self, start: dt.date, end: dt.date) -> dict[dt.date, str]:
        """The country's :func:`shopping_days` in [start, end]."""
        if not self.country:
            return {}
        out: dict[dt.date, str] = {}
        for year in range(start.year, end.year + 1):
            out.update({d: n for d, n in shopping_days(self.country, year).items() if start <= d <= end})
        return out

    def closed_days(self) -> set[dt.date]:
        """Days marked ``store-closed`` by events."""
        return {ev.date for ev in self.events if ev.kind == "store-closed"}

    def day_names(self, start: DateLike, end: DateLike) -> list[tuple[dt.date, str | None]]:
        """For each day in [start, end]: the holiday/event name or None (for charts)."""
        first, last = to_date(start), to_date(end)
        names = self.holidays_between(first, last)
        for ev in self.events:
            if first <= ev.date <= last and ev.date not in names:
                names[ev.date] = ev.name
        days = pd.date_range(first, last, freq="D")
        return [(d.date(), names.get(d.date())) for d in days]

    # -- design matrix ---------------------------------------------------
    def features(self, index: pd.DatetimeIndex, closed: set[dt.date] | None = None) -> pd.DataFrame:
        """0/1 feature columns for a daily ``index`` as a DataFrame (see :meth:`feature_arrays`)."""
        index = pd.DatetimeIndex(index)
        return pd.DataFrame(self.feature_arrays(index, closed), index=index)

    def feature_arrays(self, index: pd.DatetimeIndex, closed: set[dt.date] | None = None) -> dict[str, np.ndarray]:
        """0/1 feature columns for a contiguous daily ``index``.

        Columns: ``hol`` (any holiday), ``hol_m<k>``/``hol_p<k>`` (k days
        before/after one, only when that day is not itself a holiday),
        ``h:<name>`` plus ``h:<name>:m1``/``h:<name>:p1``/``h:<name>:wk`` (each
        named holiday, the days around it and the week before it),
        ``ev:<name>`` (each promotion or event name), ``promo`` (any
        promotion), and ``closed_m1``/``closed_p1``
        (the day before/after a day in ``closed`` - shoppers stock up before
        a closure and catch up after it).  Closed days themselves have no
        column: they are missing in the series.
        """
        n = len(index)
        if n == 0:
            return {}
        day0 = index[0].date()
        first = day0 - dt.timedelta(days=self.lag + 1)
        last = index[-1].date() + dt.timedelta(days=max(self.lead, 7 * self.week_before) + 1)
        hol = self.holidays_between(first, last)
        one = dt.timedelta(days=1)

        def position(day: dt.date) -> int | None:
            i = (day - day0).days
            return i if 0 <= i < n else None

        cols: dict[str, np.ndarray] = {"hol": np.zeros(n)}
        for k in range(1, self.lead + 1):
            cols[f"hol_m{k}"] = np.zeros(n)
        for k in range(1, self.lag + 1):
            cols[f"hol_p{k}"] = np.zeros(n)

        def mark(key: str, day: dt.date) -> None:
            i = position(day)
            if i is not None:
                cols.setdefault(key, np.zeros(n))[i] = 1.0

        for d, name in hol.items():
            key = "h:" + _slug(name)
            mark("hol", d)
            mark(key, d)
            if d - one not in hol:
                mark(key + ":m1", d - one)
            if d + one not in hol:
                mark(key + ":p1", d + one)
            if self.week_before:
                for k in range(2, 8):
                    mark(key + ":wk", d - k * one)
            for k in range(1, self.lead + 1):
                if d - k * one not in hol:
                    mark(f"hol_m{k}", d - k * one)
            for k in range(1, self.lag + 1):
                if d + k * one not in hol:
                    mark(f"hol_p{k}", d + k * one)
        for d, name in self.shopping_days_between(first, last).items():
            if d not in hol:
                mark("h:" + _slug(name), d)
        promo = np.zeros(n)
        for ev in self.events:
            i = position(ev.date)
            if i is None or ev.kind in ("store-closed", "holiday"):
                continue
            cols.setdefault("ev:" + _slug(ev.name), np.zeros(n))[i] = 1.0
            if ev.kind == "promotion":
                promo[i] = 1.0
        cols["promo"] = promo
        closed = set(closed or ()) | self.closed_days()
        cols["closed_m1"] = np.zeros(n)
        cols["closed_p1"] = np.zeros(n)
        for d in closed:
            if d - one not in closed:
                mark("closed_m1", d - one)
            if d + one not in closed:
                mark("closed_p1", d + one)
        return cols

    def predict_closed(self, history: pd.Series, index: pd.DatetimeIndex, weeks: int = 8) -> set[dt.date]:
        """Days in ``index`` the shop will probably be shut.

        Store-closed events, holidays the shop was closed on in most past
        occurrences within ``history`` (NaN = closed), and weekdays closed in
        at least 3/4 of the last ``weeks`` weeks.
        """
        out = {d for d in self.closed_days() if index[0].date() <= d <= index[-1].date()} if len(index) else set()
        if len(history) == 0 or len(index) == 0:
            return out
        h0, h1 = history.index[0].date(), history.index[-1].date()
        past = self.holidays_between(h0, h1)
        isnan = np.isnan(history.to_numpy(dtype=float))
        if self.censored:
            isnan &= ~np.array([d.date() in self.censored for d in history.index], dtype=bool)
        by_name: dict[str, list[bool]] = {}
        for d, name in past.items():
            by_name.setdefault(canonical(name), []).append(bool(isnan[(d - h0).days]))
        for d, name in self.holidays_between(index[0].date(), index[-1].date()).items():
            seen = by_name.get(canonical(name))
            if seen and sum(seen) * 2 > len(seen):
                out.add(d)
        rn = isnan[-7 * weeks :]
        recent = history.iloc[-7 * weeks :]
        # only when the shop is open most days (not off-season / dormant)
        if len(recent) >= 28 and rn.mean() <= 0.5:
            dows = recent.index.day_of_week.to_numpy()
            shut = {w for w in range(7) if (dows == w).any() and rn[dows == w].mean() >= 0.75}
            if shut:
                out |= {d.date() for d in index if d.day_of_week in shut}
        return out


def holiday_names(
    start: DateLike,
    end: DateLike,
    *,
    country: str | None = "ID",
    subdiv: str | None = None,
    events: EventsLike = None,
) -> list[dict[str, Any]]:
    """Per-day chart flags: ``[{"date": iso, "isHoliday": bool, "holidayName": str|None}]``."""
    cal = EventCalendar(country, subdiv, events)
    return [{"date": d.isoformat(), "isHoliday": n is not None, "holidayName": n} for d, n in cal.day_names(start, end)]


def load_events_csv(path: str, name: str = "Kieler Woche", kind: str = "promotion") -> list[Event]:
    """Read an event file like ``kiel_week.csv`` (``Datum,<flag>``; rows with flag 1)."""
    df = pd.read_csv(path)
    date_col = df.columns[0]
    flag = df[df.columns[1]] if len(df.columns) > 1 else pd.Series(1, index=df.index)
    return [Event(to_date(d), name, kind) for d, f in zip(df[date_col], flag, strict=False) if f == 1]


def iter_dates(start: dt.date, days: int) -> Iterable[dt.date]:
    """``days`` consecutive dates from ``start``."""
    return (start + dt.timedelta(days=i) for i in range(days))
