"""Administrative divisions and the seeded agency directory."""

from sqlalchemy import func, select

from portal import geo
from portal.agencies.models import AGENCY_KINDS, Agency
from portal.agencies.seed import load_directory
from portal.extensions import db


def test_divisions_are_the_34_provinces_and_3321_wards_since_july_2025():
    assert len(geo.provinces()) == 34
    assert sum(len(geo.wards_of(code)) for code, _ in geo.provinces()) == 3321
    assert len(geo.wards_of(19)) == 92
    assert geo.province_name(19) == "Thái Nguyên"
    ward_code, ward = geo.wards_of(19)[0]
    assert geo.ward_province(ward_code) == 19
    assert geo.place_label(19, ward_code) == f"{ward}, Thái Nguyên"
    assert geo.ward_province(999_999) is None


def test_directory_has_every_agency_kind_and_both_bodies_of_each_ward(ctx):
    kinds = set(db.session.scalars(select(Agency.kind).distinct()))
    assert kinds == set(AGENCY_KINDS)
    for ward_code, _ in geo.wards_of(19):
        found = set(db.session.scalars(select(Agency.kind).where(Agency.ward_code == ward_code)))
        assert found == {"police", "people_committee_commune"}
    departments = {a.name: a.sectors for a in db.session.scalars(
        select(Agency).where(Agency.kind == "department"))}
    assert departments["Sở Y tế tỉnh Thái Nguyên"] == ["health"]
    assert "land" in departments["Sở Nông nghiệp và Môi trường tỉnh Thái Nguyên"]


def test_loading_twice_adds_nothing_and_keeps_admin_edits(ctx):
    agency = db.session.scalar(select(Agency).where(Agency.code == "tn-police"))
    agency.name, agency.active = "Công an tỉnh (đã sửa)", False
    db.session.commit()
    before = db.session.scalar(select(func.count(Agency.id)))
    assert load_directory() == 0
    assert db.session.scalar(select(func.count(Agency.id))) == before == 16 + 2 * 92
    agency = db.session.scalar(select(Agency).where(Agency.code == "tn-police"))
    assert agency.name == "Công an tỉnh (đã sửa)" and agency.active is False
