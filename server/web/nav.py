"""The header's navigation: which pages each role sees. An entry shows once its endpoint exists,
so a page module only has to register the endpoint named here."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..models import Role, User
from .auth import ADMIN, DESIGNERS, REVIEWERS


@dataclass(frozen=True, slots=True)
class NavItem:
    endpoint: str
    label: str  # Vietnamese; translated with _() in the template
    roles: tuple[Role, ...]
    section: str  # templates mark their section with {% set section = "..." %}


NAV = (
    NavItem("web.dashboard", "Tổng quan", (*REVIEWERS, Role.DESIGNER), "dashboard"),
    NavItem("web.review_queue", "Duyệt phiếu", REVIEWERS, "review"),
    NavItem("web.results", "Kết quả", REVIEWERS, "results"),
    NavItem("web.map", "Bản đồ", REVIEWERS, "map"),
    NavItem("web.households", "Danh sách hộ", REVIEWERS, "households"),
    NavItem("web.fill_list", "Nhập phiếu", (Role.COLLECTOR, *REVIEWERS), "fill"),
    NavItem("web.forms", "Biểu mẫu", DESIGNERS, "forms"),
    NavItem("web.users", "Người dùng", ADMIN, "users"),
    NavItem("web.areas", "Địa bàn", ADMIN, "areas"),
    NavItem("web.audit", "Nhật ký", ADMIN, "audit"),
    NavItem("web.queue", "Hàng đợi", ADMIN, "queue"),
)

ROLE_LABELS = {
    Role.COLLECTOR: "Thu thập viên",
    Role.SUPERVISOR: "Giám sát viên",
    Role.DESIGNER: "Người thiết kế biểu mẫu",
    Role.ADMIN: "Quản trị viên",
}


def nav_items(user: User | None) -> list[NavItem]:
    if user is None:
        return []
    return [
        item
        for item in NAV
        if user.role in item.roles and item.endpoint in current_app.view_functions
    ]
