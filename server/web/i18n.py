"""Vietnamese pages with an English switch, from one table.

Templates and views write the Vietnamese text and wrap it: ``_("Đăng nhập")``. In English the text
is looked up in ``EN``; a text missing there is shown in Vietnamese (and a test lists every wrapped
text that has no entry). Placeholders use ``str.format``: ``_("Xin chào {name}", name=user)``.
"""

from __future__ import annotations

from flask import g, request

from ..errors import Problem

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
COOKIE = "khudan_lang"

# Vietnamese text -> English. Each page module keeps its entries together under a comment.
EN: dict[str, str] = {
    # Layout and navigation
    "Tổng quan": "Dashboard",
    "Duyệt phiếu": "Review queue",
    "Kết quả": "Results",
    "Biểu mẫu": "Forms",
    "Người dùng": "Users",
    "Địa bàn": "Areas",
    "Đổi mật khẩu": "Change password",
    "Đăng xuất": "Log out",
    "Ngôn ngữ": "Language",
    "Điều hướng": "Navigation",
    "Vai trò": "Role",
    "Thu thập viên": "Collector",
    "Giám sát viên": "Supervisor",
    "Người thiết kế biểu mẫu": "Form designer",
    "Quản trị viên": "Administrator",
    # Log-in, log-out, password
    "Đăng nhập": "Log in",
    "Tên người dùng": "Username",
    "Mật khẩu": "Password",
    "Nhập tên người dùng và mật khẩu.": "Enter your username and password.",
    "Bạn đã đăng xuất.": "You have logged out.",
    "Hãy đăng nhập để xem trang này.": "Log in to see this page.",
    "Mật khẩu hiện tại": "Current password",
    "Mật khẩu mới": "New password",
    "Nhập lại mật khẩu mới": "New password again",
    "Ít nhất {n} ký tự.": "At least {n} characters.",
    "Mật khẩu hiện tại không đúng.": "The current password is wrong.",
    "Mật khẩu mới cần ít nhất {n} ký tự.": "The new password needs at least {n} characters.",
    "Hai lần nhập mật khẩu mới không giống nhau.": "The two new passwords differ.",
    "Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất.": (
        "Password changed. Your other sessions have been logged out."
    ),
    "Lưu": "Save",
    # Dashboard and collectors
    "Xin chào {name}": "Hello {name}",
    "Khu vực phụ trách": "Your areas",
    "Tất cả": "All",
    "Trang dành cho thu thập viên": "For collectors",
    "Hãy dùng ODK Collect trên điện thoại để nhận biểu mẫu và gửi phiếu.": (
        "Use ODK Collect on your phone to get the forms and send submissions."
    ),
    "Hỏi giám sát viên hoặc quản trị viên nếu máy chưa được cài đặt.": (
        "Ask your supervisor or an administrator if your phone is not set up yet."
    ),
    # Errors
    "Không được phép": "Not allowed",
    "Tài khoản {name} ({role}) không được mở trang này.": (
        "User {name} ({role}) may not open this page."
    ),
    "Yêu cầu không hợp lệ": "Bad request",
    "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang rồi thử lại.": (
        "The form has expired or is not valid. Reload the page and try again."
    ),
    "Không tìm thấy": "Not found",
    "Không tìm thấy trang này.": "This page does not exist.",
    "Lỗi": "Error",
    "Về trang chủ": "Back to the dashboard",
}


def lang() -> str:
    """This request's language: ``?lang=`` first, then the cookie, else Vietnamese."""
    if "lang" not in g:
        wanted = request.args.get("lang") or request.cookies.get(COOKIE)
        g.lang = wanted if wanted in LANGS else DEFAULT_LANG
    return g.lang


def _(text: str, **values) -> str:
    """``text`` (Vietnamese) in this request's language, with ``{placeholders}`` filled in."""
    if lang() == "en":
        text = EN.get(text, text)
    return text.format(**values) if values else text


def problem_text(problem: Problem) -> str:
    """A service's error in this request's language (the catalogue has both)."""
    return problem.message_en if lang() == "en" else problem.message_vi
