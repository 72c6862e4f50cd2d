"""Turn an import body (JSON or CSV) into validated rows, or a 4xx naming
the row number and field of each problem (the first MAX_ERRORS of them).

Row numbers count data rows from 1 in both formats; CSV problems also give
the physical `line` in the file (the header is line 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic documents only this TypedDict on Python 3.11

from siprems.errors import ApiError, BadRequest, ValidationFailed
from siprems.exports.cells import restore  # our CSV export's formula escaping, undone

MAX_ROWS = 100_000
MAX_ERRORS = 20
# Import routes stream their body, so they may exceed the app-wide
# REQUEST_MAX_SIZE: 100,000 rows of JSON with long descriptions need room.
MAX_BYTES = 64 * 1024 * 1024
CSV_TYPES = ("text/csv", "application/csv")
JSON_TYPES = ("application/json",)


class TooManyRows(ApiError):
    status, code = 413, "too_many_rows"


@dataclass
class Rows:
    """Raw rows (dicts) as sent, with the CSV line of each (None for JSON)."""

    items: list[Any]
    lines: list[int] | None = None

    def where(self, index: int) -> dict:
        place: dict[str, Any] = {"row": index + 1}
        if self.lines is not None:
            place["line"] = self.lines[index]
        return place


class ProblemBody(TypedDict):
    row: int
    line: NotRequired[int]  # CSV only
    field: str
    message: str


@dataclass
class Problem:
    row: int
    field: str
    message: str
    line: int | None = None

    def as_dict(self) -> ProblemBody:
        out: ProblemBody = {"row": self.row, "field": self.field, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
        return out


def reject(problems: list[Problem], total: int | None = None) -> ValidationFailed:
    """A 400 whose message names the first problem; `details` lists up to MAX_ERRORS."""
    total = len(problems) if total is None else total
    first = problems[0]
    more = f" (and {total - 1} more problem{'s' if total > 2 else ''})" if total > 1 else ""
    return ValidationFailed(
        f"Row {first.row}, field '{first.field}': {first.message}{more}. Nothing was imported.",
        extra={"details": [p.as_dict() for p in problems[:MAX_ERRORS]], "error_count": total},
    )


def parse(body: bytes, content_type: str, key: str, columns: dict[str, str]) -> Rows:
    """JSON `{key: [...]}` (or a bare array), or CSV whose header names
    `columns` (lower-cased accepted name -> row key)."""
    if not body.strip():
        raise BadRequest(
            f'The request body is empty; send JSON {{"{key}": [...]}} or CSV with a header row.', code="empty_body"
        )
    rows = _parse_csv(body, columns) if _is_csv(body, content_type) else _parse_json(body, key)
    if not rows.items:
        raise BadRequest(f"No rows to import: '{key}' is empty.", code="no_rows")
    if len(rows.items) > MAX_ROWS:
        raise TooManyRows(
            f"{len(rows.items)} rows sent; at most {MAX_ROWS} rows per request. Split the file and send it in parts."
        )
    return rows


def _is_csv(body: bytes, content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in CSV_TYPES or mime in JSON_TYPES:
        return mime in CSV_TYPES
    # No or another type (a browser sends text/plain for a string body): look.
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"[")


def _parse_json(body: bytes, key: str) -> Rows:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            "The request body is not valid JSON (for CSV send Content-Type: text/csv).", code="invalid_json"
        ) from exc
    if isinstance(data, dict) and set(data) == {key}:
        data = data[key]
    elif isinstance(data, dict):
        other = sorted(set(data) - {key})
        raise ValidationFailed(
            f"Field '{key}' is required." if key not in data else f"Field '{other[0]}' is not a recognised field.",
            extra={
                "details": [
                    {
                        "field": key if key not in data else other[0],
                        "message": "is required" if key not in data else "is not a recognised field",
                    }
                ]
            },
        )
    if not isinstance(data, list):
        raise ValidationFailed(
            f"Field '{key}' must be an array of objects.",
            extra={"details": [{"field": key, "message": "must be an array of objects"}]},
        )
    return Rows(data)


def _parse_csv(body: bytes, columns: dict[str, str]) -> Rows:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The CSV is not UTF-8 text (byte {exc.start}).", code="invalid_csv") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise BadRequest("The CSV has no header row.", code="invalid_csv")
        names = _header(header, columns)
        items, lines = [], []
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            if len(record) != len(names):
                raise BadRequest(
                    f"CSV line {reader.line_num} has {len(record)} fields; the header has {len(names)}.",
                    code="invalid_csv",
                )
            items.append({n: restore(v) for n, v in zip(names, record, strict=False) if v.strip() != ""})
            lines.append(reader.line_num)
            if len(items) > MAX_ROWS:
                raise TooManyRows(
                    f"More than {MAX_ROWS} rows sent; at most {MAX_ROWS} rows per request. "
                    f"Split the file and send it in parts."
                )
    except csv.Error as exc:
        raise BadRequest(f"Malformed CSV at line {reader.line_num}: {exc}.", code="invalid_csv") from exc
    return Rows(items, lines)


def _header(header: Sequence[str], columns: dict[str, str]) -> list[str]:
    names: list[str] = []
    for raw in header:
        name = columns.get(raw.strip().lower())
        if name is None:
            known = ", ".join(sorted(set(columns.values())))
            raise BadRequest(f"Unknown CSV column '{raw.strip()}'; the columns are: {known}.", code="invalid_csv")
        if name in names:
            raise BadRequest(f"CSV column '{raw.strip()}' appears twice.", code="invalid_csv")
        names.append(name)
    return names


def column_names(model: type[BaseModel], other_keys: Iterable[str] = ()) -> dict[str, str]:
    """Accepted CSV header names, matched case-insensitively, mapped to the key
    the row model reads: its fields plus `other_keys` (aliases, read-only
    columns of an export), which the model itself resolves as it does for JSON."""
    names = {name.lower(): name for name in model.model_fields}
    names.update({key.lower(): key for key in other_keys})
    return names


def validate(model: type[BaseModel], rows: Rows) -> list[Any]:
    """Validate every row against `model`; raise a 400 listing the problems."""
    adapter = _adapter(model)
    try:
        return adapter.validate_python(rows.items)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise reject([_problem(err, rows) for err in errors[:MAX_ERRORS]], len(errors)) from None


_ADAPTERS: dict[type, TypeAdapter] = {}


def _adapter(model: type[BaseModel]) -> TypeAdapter:
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return _ADAPTERS[model]


def _problem(err: dict, rows: Rows) -> Problem:
    loc = err.get("loc", ())
    index = loc[0] if loc and isinstance(loc[0], int) else 0
    field = ".".join(str(p) for p in loc[1:]) or "row"
    message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
    kind = err.get("type")
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a recognised field"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "must be an object"
    place = rows.where(index)
    return Problem(place["row"], field, message, place.get("line"))


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Array literals: one text parameter per column (`%s::type[]`) is far cheaper
# for the server to parse than psycopg2's `ARRAY[...]` of one literal per
# element, and cheap to build here.


def _plain(value: Any) -> str:
    if value is None:
        return "NULL"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return value.isoformat() if isinstance(value, datetime) else str(value)


def plain_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of numbers, booleans or datetimes (whose
    text needs no quoting); None is NULL."""
    return "{" + ",".join(map(_plain, values)) + "}"


def _quoted(value: Any) -> str:
    if value is None:
        return "NULL"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of text values (quoted); None is NULL."""
    return "{" + ",".join(map(_quoted, values)) + "}"
