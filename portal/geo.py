"""Provinces and communes/wards from the ``vietnam-provinces`` package (34 / 3,321 since 7/2025)."""

from functools import cache

from vietnam_provinces import Province, Ward

from portal.textfold import fold


@cache
def provinces() -> list[tuple[int, str]]:
    """All provinces as ``(code, name)``, in alphabetical order as Vietnamese readers expect."""
    items = [(int(p.code), p.name) for p in Province.iter_all()]
    return sorted(items, key=lambda item: (fold(item[1]), item[1]))


@cache
def _wards_by_province() -> dict[int, list[tuple[int, str]]]:
    grouped: dict[int, list[tuple[int, str]]] = {}
    for ward in Ward.iter_all():
        grouped.setdefault(int(ward.province_code), []).append((int(ward.code), ward.name))
    for items in grouped.values():
        items.sort(key=lambda item: (fold(item[1]), item[1]))
    return grouped


@cache
def _names() -> tuple[dict[int, str], dict[int, tuple[str, int]]]:
    province_names = dict(provinces())
    ward_names = {
        code: (name, province)
        for province, items in _wards_by_province().items()
        for code, name in items
    }
    return province_names, ward_names


def wards_of(province_code: int) -> list[tuple[int, str]]:
    """Communes/wards of a province as ``(code, name)``; empty for an unknown province."""
    return _wards_by_province().get(province_code, [])


def province_name(code: int | None) -> str | None:
    return _names()[0].get(code) if code is not None else None


def ward_name(code: int | None) -> str | None:
    found = _names()[1].get(code) if code is not None else None
    return found[0] if found else None


def ward_province(code: int) -> int | None:
    """The province a ward belongs to, or None for an unknown ward code."""
    found = _names()[1].get(code)
    return found[1] if found else None


def place_label(province_code: int | None, ward_code: int | None) -> str:
    """“Phường X, Thái Nguyên”-style label; empty when unknown."""
    parts = [ward_name(ward_code), province_name(province_code)]
    return ", ".join(p for p in parts if p)
