"""``flask --app portal routing suggest``: the public JSON Lines contract (docs/routing.md).

Through the CLI runner with the stub classifier of the test app (tests/helpers.py), and once as
the documented command in a subprocess with the real trained model when there is one.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from portal.agencies.models import Agency
from portal.classification.services import ClassifierUnavailable
from portal.extensions import db
from portal.routing import services

ROOT = Path(__file__).resolve().parents[3]
FLASK = Path(sys.executable).with_name("flask")
TAN_CUONG = 5503
KEYS = {"id", "agency_kind", "agency_id", "rule", "legal_basis"}


def ids(app, *codes) -> dict:
    with app.app_context():
        rows = db.session.execute(select(Agency.code, Agency.id).where(Agency.code.in_(codes)))
        return dict(rows.all())


def jsonl(*items) -> str:
    return "".join((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
                   + "\n" for item in items)


def run(runner, text: str):
    result = runner.invoke(args=["routing", "suggest"], input=text)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result, lines


def test_suggests_one_line_per_report_with_the_given_fields_winning(app, runner):
    agency = ids(app, "tn-police", "tn-5503-pc", "tn-front", "tn-5503-police")
    result, lines = run(runner, jsonl(
        {"id": 1, "text": "Cán bộ địa chính xã nhận hối lộ để cấp sổ đỏ sai quy định.",
         "province_code": 19},
        {"id": "a-2", "text": "Cán bộ địa chính xã gây khó khăn, hạch sách khi làm sổ đỏ.",
         "province_code": 19, "ward_code": TAN_CUONG},
        # The stub reads every report as a denunciation of an official: the given fields win.
        {"id": 3, "text": "Khiếu nại quyết định của Chủ tịch UBND xã về mức bồi thường.",
         "report_type": "complaint", "subject": "none", "province_code": 19,
         "ward_code": TAN_CUONG},
        {"id": 4, "text": "Can bo xa lam an khong minh bach.", "anonymous": True,
         "province_code": 19},
        "",  # blank lines are skipped
        {"id": 5, "text": "Cán bộ địa chính xã nhận hối lộ.", "province_code": 1},  # Hà Nội
        {"id": 6, "text": "Nhà tôi ở xóm Chè bị mất trộm xe đạp.", "report_type": "crime_report",
         "subject": "ordinary", "ward_code": str(TAN_CUONG)},  # province from the ward
    ))
    assert result.exit_code == 0, result.output
    assert all(set(line) == KEYS for line in lines)
    got = [(line["id"], line["rule"], line["agency_kind"], line["agency_id"]) for line in lines]
    assert got == [
        (1, "R3", "police", agency["tn-police"]),
        ("a-2", "R5-commune", "people_committee_commune", agency["tn-5503-pc"]),
        (3, "R6-commune", "people_committee_commune", agency["tn-5503-pc"]),
        (4, "R8-vague", "front", agency["tn-front"]),
        (5, "R3", "police", None),
        (6, "R3-commune", "police", agency["tn-5503-police"]),
    ]
    assert lines[0]["legal_basis"].startswith("Bộ luật Tố tụng hình sự 2015, Điều 145")


def test_bad_lines_get_an_error_in_place_and_exit_status_1(runner):
    good = {"id": 1, "text": "Cán bộ xã nhận hối lộ.", "province_code": 19}
    result, lines = run(runner, jsonl(
        "not json",
        good,
        "[1, 2]",
        {"id": 8},
        {"id": 9, "text": "…", "report_type": "kiến nghị"},
        {"id": 10, "text": "…", "province_code": 1, "ward_code": TAN_CUONG},
        {"id": 11, "text": "…", "anonymous": "yes"},
        {"id": 12, "text": "…", "province_code": 999},
        {"id": 13, "text": "…", "subject": "citizen"},
        {"id": 14, "text": "…", "ward_code": 1.5},
    ))
    assert result.exit_code == 1
    assert [line["id"] for line in lines] == [None, 1, None, 8, 9, 10, 11, 12, 13, 14]
    assert lines[1]["rule"] == "R3"
    errors = {line["id"]: line["error"] for line in lines if "error" in line}
    assert [line.get("error") for line in lines[:1] + lines[2:3]] == [
        "not valid JSON: Expecting value", "expected a JSON object"]
    assert errors[8] == "expected a string 'text'"
    assert "'report_type' must be one of" in errors[9]
    assert errors[10] == f"ward_code {TAN_CUONG} is not in province 1"
    assert errors[11] == "'anonymous' must be true or false"
    assert errors[12] == "unknown province_code 999"
    assert "'subject' must be one of" in errors[13]
    assert "'ward_code' must be an integer code" in errors[14]
    assert all(set(line) == {"id", "error"} for line in lines if "error" in line)


def test_without_a_trained_classifier_it_says_how_to_train_one(app, runner, monkeypatch):
    class Missing:
        def get(self):
            raise ClassifierUnavailable("no trained model in instance/models/tinbao-classifier")

    monkeypatch.setitem(app.extensions, "tinbao.classifier", Missing())
    result = runner.invoke(args=["routing", "suggest"], input=jsonl({"id": 1, "text": "x"}))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "python -m classifier train" in result.stderr


def test_without_a_directory_agency_ids_are_null_with_a_warning(runner, monkeypatch):
    def broken():
        raise OperationalError("SELECT", {}, Exception("no such table: agencies"))

    monkeypatch.setattr(services, "directory_entries", broken)
    result, lines = run(runner, jsonl({"id": 1, "text": "Cán bộ xã nhận hối lộ.",
                                       "province_code": 19}))
    assert result.exit_code == 0
    assert (lines[0]["rule"], lines[0]["agency_kind"], lines[0]["agency_id"]) == (
        "R3", "police", None)
    assert "flask --app portal seed" in result.stderr


def _command_env(app, tmp_path, **extra) -> dict:
    """The documented command's environment, on the test database (already seeded), with
    keys and secrets kept out of the project's instance folder."""
    env = {**os.environ, "TINBAO_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TINBAO_SECRET_KEY": "test-secret-key-not-for-production",
           "TINBAO_KEYS_FOLDER": str(tmp_path / "keys"),
           "TINBAO_UPLOAD_FOLDER": str(tmp_path / "uploads"), **extra}
    env.pop("FLASK_APP", None)
    return env


def _model_dir() -> Path:
    configured = os.environ.get("TINBAO_CLASSIFIER_DIR")
    return Path(configured) if configured else ROOT / "instance" / "models" / "tinbao-classifier"


@pytest.mark.skipif(not (_model_dir() / "model.json").exists(),
                    reason="no trained classifier (python -m classifier train); the stub "
                           "covers the contract above")
def test_the_documented_command_with_the_trained_model(app, tmp_path):
    agency = ids(app, "tn-military-investigation", "tn-5503-pc", "tn-front")
    reports = jsonl(
        {"id": 1, "text": "Hai quân nhân đánh người gây thương tích ở chợ, nạn nhân phải đi "
                          "cấp cứu.", "province_code": 19},
        {"id": 2, "text": "Tôi khiếu nại quyết định của Chủ tịch UBND xã Tân Cương về mức bồi "
                          "thường đất nông nghiệp khi thu hồi.", "province_code": 19,
         "ward_code": TAN_CUONG},
        {"id": 3, "text": "Xin cam on cac can bo Mat tran da giup do gia dinh toi sua nha.",
         "province_code": 19},
        {"id": 4},
    )
    done = subprocess.run(  # noqa: S603 (our own command)
        [str(FLASK), "--app", "portal", "routing", "suggest"], input=reports,
        capture_output=True, text=True, cwd=ROOT, env=_command_env(app, tmp_path),
        timeout=300, check=False)
    assert done.returncode == 1, done.stderr  # line 4 has no text
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["id"], line.get("rule"), line.get("agency_id")) for line in lines] == [
        (1, "R2", agency["tn-military-investigation"]),
        (2, "R6-commune", agency["tn-5503-pc"]),
        (3, "R7-front", agency["tn-front"]),
        (4, None, None),
    ]
    assert all(set(line) == KEYS for line in lines[:3])
    assert lines[3] == {"id": 4, "error": "expected a string 'text'"}


def test_the_documented_command_fails_clearly_without_a_model(app, tmp_path):
    done = subprocess.run(  # noqa: S603 (our own command)
        [str(FLASK), "--app", "portal", "routing", "suggest"], input=jsonl({"id": 1, "text": "x"}),
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
        env=_command_env(app, tmp_path, TINBAO_CLASSIFIER_DIR=str(tmp_path / "no-model")))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "no trained classifier" in done.stderr and "python -m classifier train" in done.stderr
