"""Every routing rule of rules.yaml (shared/spec/routing.md) with realistic reports, typed with
and without diacritics. Pure: the engine gets the seeded Thái Nguyên directory as plain rows,
no database and no trained model (classifier answers are written out where a case needs one).
"""

import pytest

from portal.agencies.seed import directory_rows
from portal.routing.engine import DirectoryEntry, suggest
from portal.routing.facts import derive_facts
from portal.routing.loader import default_rules

RULES = default_rules()
# The seeded directory with ids in seeding order (the database gives the same order).
DIRECTORY = [DirectoryEntry(id=i, kind=kind, name=name, province_code=province, ward_code=ward,
                            sectors=tuple(sectors))
             for i, (_code, kind, name, province, ward, sectors) in enumerate(directory_rows(), 1)]
CODES = {code: i for i, (code, *_rest) in enumerate(directory_rows(), 1)}
THAI_NGUYEN = 19
PHAN_DINH_PHUNG = 5443  # Phường Phan Đình Phùng
TAN_CUONG = 5503  # Xã Tân Cương
FIRED: set[str] = set()


def agency(code: str) -> int:
    return CODES[code]


def answer(*, crime=False, articles=(), flags=(), report_type="denunciation",
           subject="official", sector="other"):
    """A classifier answer (docs/classifier.md) reduced to what routing reads."""
    return {
        "sector": {"code": sector, "score": 0.9}, "report_type": {"code": report_type},
        "subject": {"code": subject},
        "crime_signs": {"flag": crime, "score": 0.9 if crime else 0.1,
                        "articles": [{"article": a, "name": "", "evidence": []}
                                     for a in articles]},
        "flags": list(flags), "needs_review": False,
    }


def route(text, **inputs):
    inputs.setdefault("province_code", THAI_NGUYEN)
    facts = derive_facts({"text": text, **inputs}, RULES)
    result = suggest(facts, RULES, DIRECTORY)
    FIRED.add(result.rule_id)
    return result


# (rule, agency code or None, text, inputs) — None: the directory has no such body.
CASES = [
    # 1. Crime by a judicial officer in judicial activity or of office → procuracy.
    ("R1", "tn-procuracy",
     "Điều tra viên Nguyễn Văn H. thuộc Công an tỉnh đã nhận 300 triệu đồng của gia đình bị can "
     "để chạy án, hứa làm sai lệch hồ sơ vụ án.",
     {"report_type": "crime_report", "subject": "judicial_officer"}),
    ("R1", "tn-procuracy",
     "Tham phan toa an tinh nhan hoi lo 200 trieu dong de xu nhe cho bi cao trong vu an trom cap.",
     {"report_type": "crime_report", "subject": "judicial_officer"}),
    ("R1", "tn-procuracy",  # the classifier's articles and subject, nothing confirmed yet
     "Tôi bị cán bộ điều tra đánh, ép phải nhận tội trong lúc bị tạm giữ ở trụ sở.",
     {"classifier": answer(crime=True, articles=[374], subject="judicial_officer",
                           flags=["judicial_officer"], report_type="crime_report")}),
    # 2. Crime by a soldier → military investigation.
    ("R2", "tn-military-investigation",
     "Hai quân nhân thuộc Bộ Chỉ huy Quân sự tỉnh đánh người gây thương tích tại quán nước "
     "đầu ngõ.", {"report_type": "crime_report", "subject": "ordinary"}),
    ("R2", "tn-military-investigation",
     "Mot so bo doi bien phong tiep tay cho buon lau thuoc la qua bien gioi.",
     {"report_type": "crime_report", "subject": "ordinary"}),
    # 3. Any other crime → provincial police…
    ("R3", "tn-police",
     "Một nhóm đối tượng lừa đảo qua mạng, chiếm đoạt hơn 2 tỷ đồng của nhiều người dân.",
     {"report_type": "crime_report", "subject": "ordinary"}),
    ("R3", "tn-police",  # the reporter chose "petition"; the classifier sees a crime
     "Co nguoi ban ma tuy o cong truong cap 2, hoc sinh mua ca trong gio ra choi.",
     {"report_type": "petition", "ward_code": PHAN_DINH_PHUNG,
      "classifier": answer(crime=True, articles=[251], report_type="petition",
                           subject="ordinary", sector="public_order")}),
    ("R3", "tn-police",  # a denunciation with signs of a crime (Luật Tố cáo 27)
     "Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định.",
     {"report_type": "denunciation", "subject": "official", "crime_confirmed": True,
      "ward_code": TAN_CUONG}),
    ("R3", "tn-police",  # "đi bộ đội" is joining the army: not a soldier
     "Cán bộ xã nhận tiền để cho con nhà giàu khỏi đi bộ đội, bắt con nhà nghèo đi thay.",
     {"report_type": "crime_report", "subject": "official"}),
    ("R3", "tn-police",  # a judicial officer's ordinary crime is not rule 1
     "Một cán bộ công an say rượu lái xe gây tai nạn làm một người bị thương nặng.",
     {"report_type": "crime_report", "subject": "judicial_officer"}),
    ("R3", "tn-police",  # minor-looking, but the commune is not known
     "Đêm qua nhà tôi bị mất trộm hai con gà.",
     {"report_type": "crime_report", "subject": "ordinary"}),
    ("R3", "tn-police",  # local, but serious
     "Nhóm thanh niên đánh nhau bằng dao, một người tử vong tại chỗ.",
     {"report_type": "crime_report", "subject": "ordinary", "ward_code": TAN_CUONG}),
    # …or the commune police when local and not serious.
    ("R3-commune", "tn-5503-police",
     "Đêm qua nhà tôi ở xóm Chè bị mất trộm hai con gà và một chiếc xe đạp.",
     {"report_type": "crime_report", "subject": "ordinary", "ward_code": TAN_CUONG}),
    ("R3-commune", "tn-5443-police",
     "Nhom thanh nien say ruou danh nhau, gay roi o khu dan cu moi dem.",
     {"report_type": "crime_report", "subject": "ordinary", "ward_code": PHAN_DINH_PHUNG}),
    ("R3-commune", "tn-5503-police",  # gambling (Art. 321) found by the classifier
     "Mấy hộ trong thôn tụ tập sát phạt nhau đến khuya.",
     {"ward_code": TAN_CUONG,
      "classifier": answer(crime=True, articles=[321], report_type="crime_report",
                           subject="ordinary", sector="public_order")}),
    # 4. Party member, party rules only → party inspection committee…
    ("R4", "tn-party-inspection",
     "Ông Trần Văn B., đảng viên chi bộ thôn 5, bỏ sinh hoạt đảng nhiều tháng liền, vi phạm "
     "Điều lệ Đảng.", {"report_type": "denunciation", "subject": "party_member"}),
    ("R4", "tn-party-inspection",
     "Dang vien Nguyen Van C sinh con thu ba, vi pham quy dinh cua Dang.",
     {"report_type": "denunciation", "subject": "party_member"}),
    # …state law breached too → the state route (one agency), the committee informed.
    ("R4-state-head", "tn-people-committee",
     "Chủ tịch UBND xã Tân Cương, là đảng viên, đã ký sai quyết định giao đất cho người nhà.",
     {"report_type": "denunciation", "subject": "party_member"}),
    ("R4-state-department", "tn-dept-health",
     "Ong D la dang vien, chuyen vien So Y te, lam sai quy dinh khi tham dinh ho so cap phep.",
     {"report_type": "denunciation", "subject": "party_member"}),
    ("R4-state-commune", "tn-5503-pc",
     "Bà E., đảng viên, công chức địa chính xã, lấn chiếm đất công làm quán bán hàng.",
     {"report_type": "denunciation", "subject": "party_member", "ward_code": TAN_CUONG}),
    # 5. Denunciations of officials, no crime signs, named reporter.
    ("R5-court", "tn-court",
     "Thẩm phán Tòa án tỉnh có thái độ hách dịch, gây khó khăn cho đương sự khi nộp hồ sơ.",
     {"report_type": "denunciation", "subject": "judicial_officer", "crime_confirmed": False}),
    ("R5-enforcement", "tn-enforcement",
     "Chap hanh vien chi cuc thi hanh an co thai do thieu ton trong, nhieu lan hen roi bo do.",
     {"report_type": "denunciation", "subject": "judicial_officer", "crime_confirmed": False}),
    ("R5-procedure", "tn-procuracy",
     "Điều tra viên không tiếp nhận tố giác của tôi và kéo dài thời hạn giải quyết vô lý.",
     {"report_type": "denunciation", "subject": "judicial_officer", "crime_confirmed": False}),
    ("R5-procuracy", "tn-procuracy",
     "Kiem sat vien co thai do khong dung muc, quat nat nguoi dan den lam viec.",
     {"report_type": "denunciation", "subject": "judicial_officer", "crime_confirmed": False}),
    ("R5-police", "tn-police",
     "Cảnh sát giao thông có thái độ hách dịch, quát mắng người dân khi kiểm tra giấy tờ.",
     {"report_type": "denunciation", "subject": "judicial_officer", "crime_confirmed": False}),
    ("R5-head", "tn-people-committee",
     "Chủ tịch UBND phường không tiếp công dân theo lịch, nhiều lần hẹn rồi bỏ.",
     {"report_type": "denunciation", "subject": "official"}),
    ("R5-department", "tn-dept-finance",
     "Cán bộ Sở Tài chính gây khó khăn, hạch sách doanh nghiệp khi thẩm định hồ sơ.",
     {"report_type": "denunciation", "subject": "official"}),
    ("R5-department", "tn-dept-health",  # the department from the sector
     "Mot chuyen vien so gay kho khan khi xet cap chung chi hanh nghe duoc.",
     {"report_type": "denunciation", "subject": "official", "sector": "health"}),
    ("R5-commune", "tn-5503-pc",
     "Cán bộ địa chính xã gây khó khăn, hạch sách khi người dân làm thủ tục sang tên.",
     {"report_type": "denunciation", "subject": "official", "ward_code": TAN_CUONG}),
    ("R5-commune", None,  # the commune is not known: kind only
     "Can bo xa lam viec tac trach, hen len hen xuong.",
     {"report_type": "denunciation", "subject": "official"}),
    ("R5-sector-department", "tn-dept-agriculture-environment",
     "Công ty X xả thải chưa qua xử lý ra sông Cầu, cá chết hàng loạt.",
     {"report_type": "denunciation", "subject": "ordinary", "sector": "environment_resources",
      "crime_confirmed": False}),
    ("R5-sector-commune", "tn-5443-pc",
     "Hộ kinh doanh lấn chiếm vỉa hè làm bãi giữ xe, người đi bộ phải xuống lòng đường.",
     {"report_type": "denunciation", "subject": "ordinary", "sector": "public_order",
      "ward_code": PHAN_DINH_PHUNG}),
    # 6. Complaints → who issued the contested decision.
    ("R6-court", "tn-court",
     "Tôi khiếu nại bản án sơ thẩm của Tòa án nhân dân tỉnh xử không đúng.",
     {"report_type": "complaint", "subject": "none"}),
    ("R6-criminal", "tn-procuracy",
     "Toi khieu nai quyet dinh khong khoi to vu an cua Co quan canh sat dieu tra.",
     {"report_type": "complaint", "subject": "none"}),
    ("R6-enforcement", "tn-enforcement",
     "Khiếu nại việc chấp hành viên kê biên nhà của tôi vượt quá số tiền phải thi hành.",
     {"report_type": "complaint", "subject": "none"}),
    ("R6-province", "tn-people-committee",
     "Khiếu nại quyết định thu hồi đất của UBND tỉnh đối với gia đình tôi.",
     {"report_type": "complaint", "subject": "none"}),
    ("R6-department", "tn-dept-construction",
     "Khiếu nại quyết định xử phạt của Thanh tra Sở Xây dựng về công trình nhà tôi.",
     {"report_type": "complaint", "subject": "none"}),
    ("R6-commune", "tn-5503-pc",
     "Khieu nai quyet dinh cua Chu tich UBND xa ve muc boi thuong dat nong nghiep.",
     {"report_type": "complaint", "subject": "none", "ward_code": TAN_CUONG}),
    # 7. Petitions and feedback.
    ("R7-front", "tn-front",
     "Xin cảm ơn cán bộ Mặt trận đã hỗ trợ gia đình tôi sửa lại nhà sau bão.",
     {"report_type": "petition", "subject": "none"}),
    ("R7-front", "tn-front",
     "Cho toi hoi thu tuc lam can cuoc cho con duoi 14 tuoi.",
     {"report_type": "petition", "subject": "none"}),
    ("R7-local", "tn-5443-pc",
     "Đèn đường ở tổ dân phố 3 hỏng đã ba tháng, tối đi lại rất nguy hiểm.",
     {"report_type": "petition", "subject": "none", "sector": "construction_investment",
      "ward_code": PHAN_DINH_PHUNG}),
    ("R7-admin-province", "tn-people-committee",
     "Kiến nghị UBND tỉnh rút ngắn thời gian cấp giấy phép xây dựng.",
     {"report_type": "petition", "subject": "none", "sector": "admin_procedure"}),
    ("R7-department", "tn-dept-health",
     "Benh vien da khoa tinh qua tai, nguoi benh phai nam ghep hai ba nguoi mot giuong.",
     {"report_type": "petition", "subject": "none", "sector": "health"}),
    ("R7-commune", "tn-5443-pc",
     "Thủ tục đăng ký khai sinh còn chậm, phải đi lại nhiều lần mới xong.",
     {"report_type": "petition", "subject": "none", "sector": "admin_procedure",
      "ward_code": PHAN_DINH_PHUNG}),
    # 8. Anonymous denunciations: specific → information for inspection; vague → kept.
    ("R8", "tn-inspectorate",
     "Cán bộ địa chính xã Phúc Xuân nhiều lần hạch sách, gây khó khăn cho người dân khi làm thủ "
     "tục cấp giấy chứng nhận quyền sử dụng đất; ngày 12/3 vừa qua còn bắt nộp thêm giấy tờ "
     "không có trong quy định.",
     {"report_type": "denunciation", "subject": "official", "anonymous": True,
      "crime_confirmed": False}),
    ("R8-vague", "tn-front",
     "Can bo xa lam an khong minh bach, de nghi kiem tra.",
     {"report_type": "denunciation", "subject": "official", "anonymous": True}),
    ("R3", "tn-police",  # an anonymous crime tip is handled as one (TT 28/2020, Art. 5)
     "Có một đường dây đánh bạc qua mạng hoạt động ở khu chợ, tiền cược hàng trăm triệu.",
     {"report_type": "crime_report", "subject": "ordinary", "anonymous": True}),
    # No rule applies.
    ("R0", "tn-front", "…", {}),
    ("R0", "tn-front",  # staff ruled out the crime a crime report claimed
     "Hàng xóm nói nhà tôi bị mất trộm nhưng thực ra đồ vẫn còn.",
     {"report_type": "crime_report", "crime_confirmed": False}),
]


@pytest.mark.parametrize(("rule", "code", "text", "inputs"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_routes_a_realistic_report(rule, code, text, inputs):
    result = route(text, **inputs)
    assert result.rule_id == rule, result.reasoning
    assert result.agency_kind == RULES.rule(rule).agency_kind
    assert result.agency_id == (agency(code) if code else None)
    assert result.legal_basis == RULES.rule(rule).legal_basis and result.legal_basis
    assert result.rules_version == RULES.version
    assert result.reasoning[0] == RULES.rule(rule).title


def test_the_cases_cover_every_rule_of_the_file():
    covered = {case[0] for case in CASES}
    assert covered == {rule.id for rule in RULES.rules}


def test_accented_and_unaccented_reports_route_alike():
    accented = "Hai quân nhân đánh người gây thương tích tại chợ."
    plain = "Hai quan nhan danh nguoi gay thuong tich tai cho."
    decomposed = "Hai qua\u0302n nha\u0302n đánh người gây thương tích tại chợ."
    results = {route(t, report_type="crime_report", subject="ordinary").rule_id
               for t in (accented, plain, decomposed, accented.upper())}
    assert results == {"R2"}


def test_marks_that_disagree_do_not_match():
    # "bỏ đói" folds to "bo doi" like "bộ đội", but the report's own marks say otherwise.
    result = route("Bố mẹ bỏ đói đứa trẻ nhiều ngày liền.", report_type="crime_report",
                   subject="ordinary")
    assert result.rule_id == "R3"
    # Old and new tone placement are the same word ("hoà"/"hòa", "toà"/"tòa").
    result = route("Tôi khiếu nại bản án của Toà án nhân dân tỉnh.", report_type="complaint")
    assert result.rule_id == "R6-court"


def test_first_match_wins_rule_1_before_rule_2():
    # A judicial officer who is also a soldier (military procuracy): rule 1 comes first.
    result = route("Kiểm sát viên quân sự, là quân nhân, nhận hối lộ để bỏ lọt tội phạm.",
                   report_type="crime_report", subject="judicial_officer")
    assert result.rule_id == "R1"


def test_staff_values_win_over_the_classifier():
    guess = answer(crime=True, articles=[354], report_type="crime_report", subject="official",
                   flags=["corruption"])
    # Staff ruled out a crime and confirmed a complaint: the classifier's crime flag is ignored.
    result = route("Khiếu nại quyết định của Chủ tịch UBND xã về mức bồi thường.",
                   report_type="complaint", subject="none", flags=[], crime_confirmed=False,
                   classifier=guess)
    assert result.rule_id == "R6-commune"
    # Nothing confirmed: the classifier's reading is used.
    result = route("Cán bộ xã nhận hối lộ.", classifier=guess)
    assert result.rule_id == "R3"


def test_a_given_subject_drops_the_classifiers_subject_flags():
    guess = answer(flags=["judicial_officer"], subject="judicial_officer",
                   report_type="denunciation")
    result = route("Thẩm phán có thái độ hách dịch với người dân.", subject="official",
                   classifier=guess)
    assert result.rule_id == "R5-commune"


def test_agency_is_null_when_the_directory_has_no_such_body():
    result = route("Một nhóm đối tượng lừa đảo chiếm đoạt tiền của người dân.",
                   report_type="crime_report", province_code=1)  # Hà Nội: not seeded
    assert (result.rule_id, result.agency_kind, result.agency_id) == ("R3", "police", None)
    assert "Danh bạ chưa có" in result.reasoning[-2]
    result = route("Một nhóm đối tượng lừa đảo chiếm đoạt tiền của người dân.",
                   report_type="crime_report", province_code=None)
    assert (result.agency_kind, result.agency_id) == ("police", None)


def test_the_province_follows_from_the_ward_when_not_given():
    result = route("Nhà tôi bị mất trộm xe đạp.", report_type="crime_report", subject="ordinary",
                   province_code=None, ward_code=TAN_CUONG)
    assert (result.rule_id, result.agency_id) == ("R3-commune", agency("tn-5503-police"))


def test_reasoning_explains_the_facts_that_fired_the_rule():
    result = route("Mot so bo doi bien phong tiep tay cho buon lau.",
                   report_type="crime_report", subject="ordinary")
    text = "\n".join(result.reasoning)
    assert "quân nhân: có (thấy “bo doi bien phong”)" in text
    assert "Cơ quan trong danh bạ: Cơ quan Điều tra hình sự Quân khu 1." in text
    assert "24 giờ" in text  # the rule's note: forward at once
    result = route("Chủ tịch UBND xã là đảng viên đã ký sai quyết định giao đất.",
                   report_type="denunciation", subject="party_member")
    assert result.also_inform == "party_inspection"
    assert any("“ký sai”" in line for line in result.reasoning)


def test_an_anonymous_denunciation_needs_enough_detail_to_be_forwarded():
    short = "Chủ tịch xã tham nhũng, đề nghị kiểm tra."
    assert route(short, report_type="denunciation", subject="official", anonymous=True,
                 crime_confirmed=False).rule_id == "R8-vague"
    detailed = ("Ông Nguyễn Văn K, chủ tịch xã, trong năm 2025 đã cho người nhà trúng thầu "
                "ba công trình đường liên thôn, chất lượng kém, mới làm đã hỏng, đề nghị "
                "kiểm tra các hồ sơ nghiệm thu.")
    result = route(detailed, report_type="denunciation", subject="official", anonymous=True,
                   crime_confirmed=False)
    assert result.rule_id == "R8"
    assert any("4 chi tiết" in line for line in result.reasoning)
