"""How many decimal places an amount of a currency can be paid in (ISO 4217's minor units): 2 unless listed."""
from __future__ import annotations

_PLACES = {code: 0 for code in ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                "VND", "VUV", "XAF", "XOF", "XPF")}
_PLACES |= {code: 3 for code in ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")}
_PLACES |= {"CLF": 4, "UYW": 4}


def minor_units(currency: str | None) -> int:
    """The decimal places of `currency` (2 for one this list does not name, as for most currencies)."""
    return _PLACES.get((currency or "").upper(), 2)
