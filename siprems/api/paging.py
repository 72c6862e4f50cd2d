"""Queries bounded by local days: `DayRange` (`/api/export/transactions.csv`)
and the paginated `DayRangePage` (`/api/audit`, `/api/stock/movements`, whose
answer is a `siprems.pages.Page`)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from siprems.api.fieldtypes import IsoDate
from siprems.calendar.locale import StoreLocale


class DayRange(BaseModel):
    """`from`/`to` local days (inclusive, either may be left out)."""

    model_config = ConfigDict(str_strip_whitespace=True)
    from_: IsoDate | None = Field(None, alias="from", description="First local day, YYYY-MM-DD (inclusive)")
    to: IsoDate | None = Field(None, description="Last local day, YYYY-MM-DD (inclusive)")

    @field_validator("to")
    @classmethod
    def _ordered(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("from_")
        if end is not None and start is not None and start > end:
            raise ValueError("must not be before from")
        return end

    def instants(self, locale: StoreLocale) -> tuple[datetime | None, datetime | None]:
        """[start of `from`, start of the day after `to`) in the store's time zone; None where unbounded."""
        start = locale.day_start(self.from_) if self.from_ else None
        end = locale.days_window(self.to, self.to)[1] if self.to else None
        return start, end


class DayRangePage(DayRange):
    """A `DayRange` and `limit`/`offset`; a list's own filters extend it."""

    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)
