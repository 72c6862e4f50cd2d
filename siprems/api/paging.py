"""The query of a paginated list bounded by local days (`/api/audit`,
`/api/stock/movements`); its answer is a `siprems.pages.Page`."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from siprems.api.fieldtypes import IsoDate
from siprems.calendar.locale import StoreLocale


class DayRangePage(BaseModel):
    """`from`/`to` local days (inclusive) and `limit`/`offset`; a list's own filters extend it."""

    model_config = ConfigDict(str_strip_whitespace=True)
    from_: IsoDate | None = Field(None, alias="from", description="First local day, YYYY-MM-DD (inclusive)")
    to: IsoDate | None = Field(None, description="Last local day, YYYY-MM-DD (inclusive)")
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)

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
