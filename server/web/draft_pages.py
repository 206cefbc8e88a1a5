"""A form's draft, for designers: what pyxform and ODK Validate found, what changes against the
published version, a preview of every question, the test QR code for ODK Collect, and the buttons
to publish or discard it (``services.drafts``)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, redirect, render_template, url_for

from ..runtime import base_url, current
from ..services import collect_qr, drafts
from ..xforms.schema import read_choice_labels
from ..xforms.tables import pick
from . import bp
from .auth import DESIGNERS, current_user, login_required
from .form_pages import flash_result
from .i18n import _, lang

# What a question asks for, as a designer reads it.
KINDS = {
    "group": "Nhóm câu hỏi",
    "repeat": "Lặp lại",
    "select1": "Chọn một",
    "select": "Chọn nhiều",
    "rank": "Xếp hạng",
    "string": "Văn bản",
    "int": "Số nguyên",
    "decimal": "Số thập phân",
    "date": "Ngày",
    "dateTime": "Ngày giờ",
    "time": "Giờ",
    "geopoint": "Vị trí GPS",
    "geotrace": "Đường đi GPS",
    "geoshape": "Vùng GPS",
    "binary": "Ảnh hoặc tệp",
    "barcode": "Mã vạch",
    "boolean": "Đúng/sai",
}


# What changed in a question (khudan.xforms.diff's aspects).
ASPECTS = {
    "kind": "loại",
    "type": "kiểu dữ liệu",
    "control": "kiểu câu hỏi",
    "label": "nhãn",
    "required": "bắt buộc",
    "relevant": "điều kiện hỏi",
    "constraint": "ràng buộc",
    "constraint_msg": "thông báo ràng buộc",
    "calculate": "công thức",
    "readonly": "chỉ đọc",
    "preload": "tự điền",
    "choices": "nguồn lựa chọn",
}


def kind_of(f: dict) -> str:
    if f["kind"] != "field":
        return KINDS[f["kind"]]
    return KINDS.get(f.get("control", ""), KINDS.get(f["type"], f["type"]))


@bp.get("/forms/<form_id>/draft")
@login_required(*DESIGNERS)
def form_draft(form_id: str):
    with current().db.session() as session:
        draft = drafts.get(session, form_id)
        summary = drafts.summary(session, draft)
        tests = drafts.tests_of(session, draft)
    test_url = f"{base_url()}/test/{quote(draft.token, safe='')}"
    qr = collect_qr.png_data_url(
        collect_qr.collect_qr_png(test_url, project_name=f"Thử: {draft.title}")
    )
    labels = read_choice_labels(draft.xml)
    language = lang()
    preview = [
        {
            "depth": f["path"].count("/") - 2,
            "name": f["name"],
            "label": pick(f.get("label") or {}, language) or f["name"],
            "kind": kind_of(f),
            "required": f.get("required") == "true()",
            "relevant": f.get("relevant"),
            "choices": [
                pick(labels.get(f["path"], {}).get(v, {}), language) or v
                for v in (f.get("choices") or {}).get("values", [])
            ],
            "choices_file": (f.get("choices") or {}).get("media"),
        }
        for f in draft.fields
        if f["path"].split("/")[2:3] != ["meta"]  # the form's bookkeeping, not a question
    ]
    return render_template(
        "form_draft.html",
        draft=draft,
        summary=summary,
        test_url=test_url,
        qr=qr,
        preview=preview,
        findings=draft.findings,
        aspects=ASPECTS,
        tests=tests,
    )


@bp.get("/forms/<form_id>/draft/tests/<int:test_id>.xml")
@login_required(*DESIGNERS)
def form_draft_test_xml(form_id: str, test_id: int):
    """A test submission as the tester's phone sent it."""
    with current().db.session() as session:
        xml = drafts.test_xml(session, drafts.get(session, form_id), test_id)
    return Response(xml, mimetype="application/xml")


@bp.post("/forms/<form_id>/draft/publish")
@login_required(*DESIGNERS)
def form_draft_publish(form_id: str):
    runtime = current()
    result = drafts.publish(runtime.db, runtime.storage, form_id, current_user().id)
    flash_result(result)
    flash(_("Các bài thử của bản nháp đã được xóa."), "ok")
    return redirect(url_for("web.form_detail", form_id=form_id), 303)


@bp.post("/forms/<form_id>/draft/discard")
@login_required(*DESIGNERS)
def form_draft_discard(form_id: str):
    drafts.discard(current().db, form_id, current_user().id)
    flash(_("Đã bỏ bản nháp của {form_id}.", form_id=form_id), "ok")
    return redirect(url_for("web.forms"), 303)
