"""The JSON API: filing, following the case with the receipt code, messages both ways, and the
OpenAPI document that describes it (checked against the live endpoints)."""

import json
import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from portal.agencies.models import Agency
from portal.extensions import db
from portal.labels import OUTCOMES
from portal.protection.envelope import open_identity
from portal.reports import reporter
from portal.reports.intake import IDENTITY_LIMITS
from portal.reports.models import CONTACT_PREFERENCES, REPORT_TYPES, REPORTER_ROLES
from portal.reports.status import SPAM, STATUSES
from tests.helpers import csrf_token, open_case, post_form

REPORTS = "/api/v1/reports"
STATUS = "/api/v1/reports/status"
MESSAGES = "/api/v1/reports/messages"
OPENAPI = "/api/v1/openapi.json"
TEXT = ("Chủ tịch UBND xã nhận tiền của nhà thầu để nghiệm thu con đường bê tông làm ẩu, mới "
        "ba tháng đã nứt vỡ.")
CODE_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}")


def receipt(code: str) -> dict:
    return {"Authorization": f"Receipt {code}"}


def file_via_api(client, **fields) -> str:
    response = client.post(REPORTS, json={"text": TEXT, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["receipt_code"]


def report_of(app, code: str):
    return reporter.find_by_code(code, app.config["SECRET_KEY"])


# --- filing and following -------------------------------------------------------------------

def test_filing_answers_a_receipt_code_that_opens_the_same_case_on_the_web(app, client):
    response = client.post(REPORTS, json={"text": TEXT, "report_type": "denunciation",
                                          "province_code": 19})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"receipt_code", "status"} and body["status"] == "received"
    assert CODE_RE.fullmatch(body["receipt_code"])
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        report = report_of(app, body["receipt_code"])
        assert (report.channel, report.text, report.report_type) == ("api", TEXT, "denunciation")
        assert body["receipt_code"] not in report.receipt_code_hash

    # The same code opens the case in a browser; a reply there shows up in the API.
    browser = app.test_client()
    page = open_case(browser, body["receipt_code"]).get_data(as_text=True)
    assert "Đã tiếp nhận tin của bạn." in page
    token = csrf_token(browser, "/ho-so")
    browser.post("/ho-so", data={"csrf_token": token, "text": "Bổ sung qua trang web."},
                 content_type="multipart/form-data")
    view = client.get(STATUS, headers=receipt(body["receipt_code"])).get_json()
    assert [(m["from"], m["body"]) for m in view["messages"]] == [
        ("reporter", "Bổ sung qua trang web.")]


def test_status_answers_only_to_the_right_receipt_code(app, client):
    code = file_via_api(client)
    response = client.get(STATUS, headers=receipt(code))
    assert response.status_code == 200
    view = response.get_json()
    assert set(view) == {"status", "status_label", "history", "messages", "result"}
    assert view["status"] == "received" and view["status_label"] == "Đã tiếp nhận"
    assert [(h["status"], h["text"]) for h in view["history"]] == [
        ("received", "Đã tiếp nhận tin của bạn.")]
    assert view["messages"] == [] and view["result"] is None
    datetime.fromisoformat(view["history"][0]["at"])
    # The code is read the way people type it.
    sloppy = code.lower().replace("-", " ")
    assert client.get(STATUS, headers=receipt(sloppy)).status_code == 200

    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    answers = []
    for headers in ({}, receipt(wrong), receipt("AAAAA-BBBBB-CCCCC-DDDDD"), receipt(""),
                    receipt("not a code"), {"Authorization": f"Bearer {code}"},
                    {"Authorization": code}):
        response = client.get(STATUS, headers=headers)
        assert response.status_code == 404, headers
        answers.append(response.get_data())
    assert len(set(answers)) == 1
    assert json.loads(answers[0]) == {"error": "not_found", "fields": {},
                                      "message": "Không mở được hồ sơ với mã này."}


def test_reporter_message_through_the_api_reaches_triage(app, client, staff):
    code = file_via_api(client)
    response = client.post(MESSAGES, json={"text": "Tôi có ảnh chụp vết nứt, cần gửi ở đâu?"},
                           headers=receipt(code))
    assert response.status_code == 201
    assert response.get_json() == {"status": "received"}
    assert client.post(MESSAGES, json={"text": "Không có mã"}).status_code == 404

    with app.app_context():
        rid = report_of(app, code).id
    page = staff("triage").get(f"/staff/triage/cases/{rid}").get_data(as_text=True)
    assert "Tôi có ảnh chụp vết nứt, cần gửi ở đâu?" in page
    assert "Không có mã" not in page
    view = client.get(STATUS, headers=receipt(code)).get_json()
    assert [(m["from"], m["sender"]) for m in view["messages"]] == [("reporter", "Bạn")]


def test_staff_messages_show_as_from_staff_without_any_staff_name(app, client, staff):
    code = file_via_api(client)
    with app.app_context():
        rid = report_of(app, code).id
        police_id = db.session.scalar(select(Agency.id).where(Agency.code == "tn-police"))
        police_name = db.session.get(Agency, police_id).name
    case = f"/staff/triage/cases/{rid}"
    triage = staff("triage", username="nguyen.thi.tiepnhan")
    post_form(triage, f"{case}/message", {"body": "Bạn nhớ ngày nghiệm thu không?"},
              token_from=case)
    post_form(triage, f"{case}/note", {"body": "Ghi chú: kiểm tra hồ sơ nghiệm thu."},
              token_from=case)
    post_form(triage, f"{case}/classify", {"report_type": "crime_report", "sector":
                                           "construction_investment", "subject": "", "crime": ""},
              token_from=case)
    post_form(triage, f"{case}/transfer", {"agency_id": police_id,
                                           "body": "Lý do nội bộ: dấu hiệu tội phạm."},
              token_from=case)
    police = staff("agency", "tn-police", username="tran.van.dieutra")
    agency_case = f"/staff/agency/cases/{rid}"
    post_form(police, f"{agency_case}/accept", token_from=agency_case)
    post_form(police, f"{agency_case}/message", {"body": "Đề nghị gửi ảnh vết nứt."},
              token_from=agency_case)

    response = client.get(STATUS, headers=receipt(code))
    view = response.get_json()
    assert view["status"] == "accepted"
    assert view["status_label"] == f"Cơ quan có thẩm quyền đã thụ lý: {police_name}"
    assert [(m["from"], m["sender"], m["body"]) for m in view["messages"]] == [
        ("staff", "Mặt trận Tổ quốc", "Bạn nhớ ngày nghiệm thu không?"),
        ("staff", police_name, "Đề nghị gửi ảnh vết nứt."),
    ]
    raw = response.get_data(as_text=True)
    for hidden in ("nguyen.thi.tiepnhan", "tran.van.dieutra", "Ghi chú: kiểm tra",
                   "Lý do nội bộ"):
        assert hidden not in raw and json.dumps(hidden)[1:-1] not in raw


def test_result_reaches_the_reporter_through_the_api(app, client, staff):
    code = file_via_api(client)
    with app.app_context():
        rid = report_of(app, code).id
        police_id = db.session.scalar(select(Agency.id).where(Agency.code == "tn-police"))
    case = f"/staff/triage/cases/{rid}"
    triage = staff("triage")
    post_form(triage, f"{case}/classify", {"report_type": "crime_report", "sector":
                                           "construction_investment", "subject": "", "crime": ""},
              token_from=case)
    post_form(triage, f"{case}/transfer", {"agency_id": police_id, "body": "Dấu hiệu tội phạm."},
              token_from=case)
    police = staff("agency", "tn-police")
    agency_case = f"/staff/agency/cases/{rid}"
    post_form(police, f"{agency_case}/accept", token_from=agency_case)
    post_form(police, f"{agency_case}/resolve", {"outcome_code": "not_prosecuted",
                                                 "body": "Không có dấu hiệu tội phạm."},
              token_from=agency_case)
    view = client.get(STATUS, headers=receipt(code)).get_json()
    assert view["status"] == "resolved"
    assert view["result"] == {"outcome": "not_prosecuted", "outcome_label": "Không khởi tố vụ án",
                              "text": "Không có dấu hiệu tội phạm."}


# --- the OpenAPI document -------------------------------------------------------------------

KNOWN_KEYWORDS = {
    # validated by check() below
    "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items",
    "minLength", "maxLength", "pattern", "minimum", "minProperties", "propertyNames", "oneOf",
    "format",
    # annotations only
    "description", "title", "default", "examples",
}


def resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def is_type(value, name: str) -> bool:
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }[name]


def check(value, schema: dict, doc: dict, where: str = "$") -> None:
    """Validate ``value`` against ``schema``: the JSON Schema keywords this document uses."""
    unknown = set(schema) - KNOWN_KEYWORDS
    assert not unknown, f"{where}: the test does not check {unknown}"
    if "$ref" in schema:
        check(value, resolve(doc, schema["$ref"]), doc, where)
    if "oneOf" in schema:
        passing = 0
        for option in schema["oneOf"]:
            try:
                check(value, option, doc, where)
                passing += 1
            except AssertionError:
                pass
        assert passing == 1, f"{where}: {value!r} matches {passing} of oneOf"
    if "type" in schema:
        types = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        assert any(is_type(value, t) for t in types), f"{where}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} != {schema['const']!r}"
    if isinstance(value, str):
        assert len(value) >= schema.get("minLength", 0), f"{where}: too short"
        assert len(value) <= schema.get("maxLength", len(value)), f"{where}: too long"
        if "pattern" in schema:
            assert re.search(schema["pattern"], value), f"{where}: {value!r} !~ pattern"
        if schema.get("format") == "date-time":
            assert datetime.fromisoformat(value).tzinfo is not None, where
        if schema.get("format") == "date":
            date.fromisoformat(value)
        if schema.get("format") == "email":
            assert "@" in value, where
    if is_type(value, "number") and "minimum" in schema:
        assert value >= schema["minimum"], where
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{where}: missing {name}"
        assert len(value) >= schema.get("minProperties", 0), f"{where}: too few properties"
        properties = schema.get("properties", {})
        for name, item in value.items():
            if "propertyNames" in schema:
                check(name, schema["propertyNames"], doc, f"{where}.<{name}>")
            if name in properties:
                check(item, properties[name], doc, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                raise AssertionError(f"{where}: {name} is not documented")
            elif isinstance(schema.get("additionalProperties"), dict):
                check(item, schema["additionalProperties"], doc, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(item, schema["items"], doc, f"{where}[{i}]")


def response_schema(doc: dict, path: str, method: str, status: int) -> dict:
    response = doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = resolve(doc, response["$ref"])
    return response["content"]["application/json"]["schema"]


def request_body(doc: dict, path: str) -> dict:
    return doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]


@pytest.fixture
def openapi(client) -> dict:
    response = client.get(OPENAPI)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def test_openapi_document_describes_exactly_the_api(app, openapi):
    assert openapi["openapi"].startswith("3.1.")
    assert openapi["info"]["title"] and openapi["info"]["version"]
    documented = {(path, method.upper()) for path, item in openapi["paths"].items()
                  for method in item}
    served = {(rule.rule, method) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    assert {REPORTS, STATUS, MESSAGES} <= set(openapi["paths"])

    # The receipt code travels in "Authorization: Receipt <code>" for the two case endpoints.
    scheme = openapi["components"]["securitySchemes"]["Receipt"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "Receipt")
    assert openapi["paths"][STATUS]["get"]["security"] == [{"Receipt": []}]
    assert openapi["paths"][MESSAGES]["post"]["security"] == [{"Receipt": []}]
    assert openapi["paths"][REPORTS]["post"]["security"] == []

    # Every reference resolves.
    for ref in re.findall(r'"\$ref": "([^"]+)"', json.dumps(openapi)):
        assert resolve(openapi, ref) is not None, ref


def test_openapi_fields_and_limits_match_the_code(app, openapi):
    schemas = openapi["components"]["schemas"]
    report = schemas["NewReport"]["properties"]
    # The keys portal/reports/intake.validate reads.
    assert set(report) == {"text", "report_type", "reporter_role", "affiliation", "province_code",
                           "ward_code", "occurred_on", "involved", "identity"}
    assert schemas["NewReport"]["required"] == ["text"]
    assert report["text"]["minLength"] == app.config["REPORT_TEXT_MIN_CHARS"]
    assert report["text"]["maxLength"] == app.config["REPORT_TEXT_MAX_CHARS"]
    assert set(report["report_type"]["enum"]) - {None} == set(REPORT_TYPES)
    assert set(report["reporter_role"]["enum"]) == set(REPORTER_ROLES)
    identity = schemas["Identity"]["properties"]
    for name, limit in IDENTITY_LIMITS.items():
        assert identity[name]["maxLength"] == limit, name
    assert set(identity["contact_preference"]["enum"]) == set(CONTACT_PREFERENCES)
    message = schemas["NewMessage"]["properties"]["text"]
    assert (message["minLength"], message["maxLength"]) == (1, app.config["MESSAGE_MAX_CHARS"])
    assert set(schemas["Status"]["enum"]) == set(STATUSES) - {SPAM}  # spam shows as received
    assert set(schemas["Result"]["properties"]["outcome"]["enum"]) == set(OUTCOMES)


def test_openapi_examples_work_against_the_live_api(app, client, openapi):
    body = request_body(openapi, REPORTS)
    check(body["example"], body["schema"], openapi, "example")
    response = client.post(REPORTS, json=body["example"])
    assert response.status_code == 201, response.get_json()
    check(response.get_json(), response_schema(openapi, REPORTS, "post", 201), openapi)
    code = response.get_json()["receipt_code"]
    with app.app_context():
        stored = report_of(app, code)
        assert open_identity(stored.identity)["name"] == body["example"]["identity"]["name"]
        assert stored.ward_code == body["example"]["ward_code"]

    message = request_body(openapi, MESSAGES)
    check(message["example"], message["schema"], openapi, "example")
    response = client.post(MESSAGES, json=message["example"], headers=receipt(code))
    assert response.status_code == 201
    check(response.get_json(), response_schema(openapi, MESSAGES, "post", 201), openapi)

    response = client.get(STATUS, headers=receipt(code))
    assert response.status_code == 200
    view = response.get_json()
    check(view, response_schema(openapi, STATUS, "get", 200), openapi)
    assert view["messages"][0]["body"] == message["example"]["text"]
    # The documented examples of answers have the documented shapes too.
    documented = openapi["paths"][STATUS]["get"]["responses"]["200"]["content"]
    check(documented["application/json"]["example"], documented["application/json"]["schema"],
          openapi)


def test_openapi_error_bodies_match_the_live_errors(app, client, openapi):
    schema = response_schema(openapi, REPORTS, "post", 422)
    too_long = "x" * (openapi["components"]["schemas"]["NewReport"]["properties"]["text"]
                      ["maxLength"] + 1)
    for payload in ({"text": too_long}, {"text": "ngắn"},
                    {"text": TEXT, "identity": {"phone": "123"}}):
        response = client.post(REPORTS, json=payload)
        assert response.status_code == 422
        check(response.get_json(), schema, openapi)

    response = client.post(REPORTS, data=b"{", content_type="application/json")
    assert response.status_code == 400
    check(response.get_json(), response_schema(openapi, REPORTS, "post", 400), openapi)

    response = client.get(STATUS, headers=receipt("AAAAA-BBBBB-CCCCC-DDDDD"))
    assert response.status_code == 404
    check(response.get_json(), response_schema(openapi, STATUS, "get", 404), openapi)

    response = client.post(MESSAGES, json={"text": ""}, headers=receipt(file_via_api(client)))
    assert response.status_code == 422
    check(response.get_json(), response_schema(openapi, MESSAGES, "post", 422), openapi)

    app.config["LOOKUP_RATE_LIMIT"] = "2 per minute"
    try:
        answers = [client.get(STATUS) for _ in range(3)]
    finally:
        app.config["LOOKUP_RATE_LIMIT"] = "1000 per minute"
    assert [r.status_code for r in answers] == [404, 404, 429]
    check(answers[2].get_json(), response_schema(openapi, STATUS, "get", 429), openapi)
    assert answers[2].get_json()["error"] == "rate_limited"
