"""Parse cell values as users type them: locale numbers, dates, waste codes, ids.

Each parser returns the parsed value or raises :class:`CellError` carrying a
bilingual :class:`~symbiosis.i18n.Message` that says what was expected.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from symbiosis.i18n import Message
from symbiosis.text import nfc

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
WASTE_CODE_PATTERN = re.compile(r"^(\d{2})\s*[ .\-]?\s*(\d{2})\s*[ .\-]?\s*(\d{2})$")
_DIGITS = re.compile(r"^[+-]?\d+$")
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$")


class CellError(ValueError):
    """A cell could not be parsed; ``message`` says what was expected."""

    def __init__(self, message: Message):
        super().__init__(message.render("en"))
        self.message = message


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_number(value: object, thousands: bool = True) -> float:
    """Parse ``1234.5``, ``1.234,5``, ``1,234.5``, ``1 234,5`` or a native number.

    A lone ``.`` is always the decimal mark (the machine convention our own exports
    use, so ``20.954`` is a latitude). A lone ``,`` is the Vietnamese decimal mark,
    but a single comma followed by exactly three digits (``1,234``) could equally be
    an English thousands separator; rather than guess, it is rejected with a message
    showing both readings. With ``thousands=False`` (coordinates, which never have
    thousands) a lone separator of either kind is the decimal mark.

    >>> parse_number("1.234,5"), parse_number("1,234.5"), parse_number("12,5")
    (1234.5, 1234.5, 12.5)
    """
    if isinstance(value, bool):
        raise CellError(Message.of("err.not_a_number"))
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise CellError(Message.of("err.not_a_number"))
        return float(value)
    text = nfc(str(value)).replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    if not text:
        raise CellError(Message.of("err.required"))
    sign = ""
    if text[0] in "+-":
        sign, text = text[0], text[1:]
    if _SCIENTIFIC.match(text):  # 1.5e-05, as Python and Excel write tiny or huge numbers
        return float(sign + text)
    has_dot, has_comma = "." in text, "," in text
    if has_dot and has_comma:
        decimal = "." if text.rindex(".") > text.rindex(",") else ","
        group_sep = "," if decimal == "." else "."
        int_part, _, frac = text.rpartition(decimal)
        groups = int_part.split(group_sep)
        if not all(_DIGITS.match(g) for g in groups) or any(len(g) != 3 for g in groups[1:]) or not frac.isdigit():
            raise CellError(Message.of("err.not_a_number"))
        return float(sign + "".join(groups) + "." + frac)
    sep = "." if has_dot else "," if has_comma else ""
    if not sep:
        if not text.isdigit():
            raise CellError(Message.of("err.not_a_number"))
        return float(sign + text)
    parts = text.split(sep)
    if not all(p.isdigit() for p in parts if p) or any(not p for p in parts[1:]):
        raise CellError(Message.of("err.not_a_number"))
    if len(parts) > 2 and thousands:  # several of the same separator: thousands groups
        if any(len(p) != 3 for p in parts[1:]):
            raise CellError(Message.of("err.not_a_number"))
        return float(sign + "".join(parts))
    if len(parts) > 2:
        raise CellError(Message.of("err.not_a_number"))
    whole, frac = parts
    if thousands and sep == "," and len(frac) == 3 and whole not in ("", "0"):
        as_thousands = whole + frac
        as_decimal = f"{whole}.{frac}"
        raise CellError(
            Message.of(
                "err.ambiguous_number",
                value=f"{sign}{text}",
                alt_vi=f"{as_thousands} hoặc {whole},{frac}0",
                alt_en=f"{as_thousands} or {as_decimal}0",
            )
        )
    return float(sign + (whole or "0") + "." + frac)


def parse_date(value: object) -> dt.date:
    """Parse ``YYYY-MM-DD``, ``DD/MM/YYYY`` (Vietnamese order) or a native date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = nfc(str(value))
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellError(Message.of("err.bad_date"))


def parse_waste_code(value: object) -> str:
    """Normalise a waste code to ``NN NN NN`` (accepts ``NNNNNN``, ``NN-NN-NN``, ``NN.NN.NN``)."""
    text = nfc(str(value)).rstrip("*").strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{int(value):06d}"  # Excel turns 010101 into the number 10101
    match = WASTE_CODE_PATTERN.match(text)
    if not match:
        raise CellError(Message.of("err.bad_waste_code"))
    return " ".join(match.groups())


def parse_id(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores the id 123 as 123.0
    text = nfc(str(value))
    if not ID_PATTERN.match(text):
        raise CellError(Message.of("err.bad_id"))
    return text
