"""Log in, wrong password, language switch and log out in a real browser."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PHONE, log_in, screenshot


def test_supervisor_logs_in_and_sees_the_dashboard(new_page):
    page = new_page(PHONE)
    page.goto("/")  # the site root leads to the log-in page, then back to the dashboard
    expect(page).to_have_url("/app/login?next=/app/")
    screenshot(page, "login-phone")
    log_in(page, "lan")
    expect(page).to_have_url("/app/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào lan")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    screenshot(page, "dashboard-phone")


def test_wrong_password_shows_the_message(new_page):
    page = new_page()
    log_in(page, "lan", "not the password")
    expect(page.get_by_role("alert")).to_have_text("Tên người dùng hoặc mật khẩu không đúng.")
    expect(page.get_by_label("Tên người dùng")).to_have_value("lan")


def test_switch_to_english_and_back(page_as):
    page = page_as("supervisor")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello lan")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()  # the choice is kept in a cookie
    expect(page.get_by_role("link", name="Tiếng Việt")).to_be_visible()
    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào lan")


def test_log_out(page_as):
    page = page_as("supervisor")
    screenshot(page, "dashboard-desktop")
    page.get_by_text("lan", exact=True).click()  # the user menu
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("status")).to_have_text("Bạn đã đăng xuất.")
    page.goto("/app/")
    expect(page).to_have_url("/app/login?next=/app/")
