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
    # Forms (designers)
    "Hãy chọn một tệp XLSForm (.xlsx).": "Choose an XLSForm file (.xlsx).",
    "Tệp {name} không phải XLSForm (.xlsx).": "{name} is not an XLSForm (.xlsx).",
    "Không chuyển được {name} thành biểu mẫu.": "{name} could not be converted into a form.",
    "Mở tệp trong Excel, sửa ở trang tính và dòng được chỉ ra dưới đây rồi tải lên lại. Nội dung lỗi là của pyxform, bằng tiếng Anh.": (
        "Open the file in Excel, fix it on the sheet and row shown below, and upload it again. "
        "The messages are pyxform's."
    ),
    "Trang tính": "Sheet",
    "Dòng": "Row",
    "Tệp XLSForm (.xlsx)": "XLSForm file (.xlsx)",
    "Mã biểu mẫu (form_id) và phiên bản (version) lấy từ trang settings. Sửa biểu mẫu thì tăng version.": (
        "The form id (form_id) and version come from the settings sheet. "
        "Increase the version when you change a form."
    ),
    "Tệp đính kèm (không bắt buộc)": "Media files (optional)",
    "Danh sách CSV, hình ảnh… mà biểu mẫu dùng. Phiên bản mới giữ lại các tệp của phiên bản trước.": (
        "CSV lists, images… the form uses. A new version keeps the previous version's files."
    ),
    "Xuất bản XLSForm": "Publish an XLSForm",
    "Tải lên và xuất bản": "Upload and publish",
    "Các biểu mẫu": "Forms",
    "Phiên bản": "Version",
    "Trạng thái": "State",
    "Số phiên bản": "Versions",
    "Số phiếu": "Submissions",
    "Chưa có biểu mẫu nào. Hãy tải lên một XLSForm.": "No forms yet. Upload an XLSForm.",
    "Đang mở": "Open",
    "Sắp đóng": "Closing",
    "Đã đóng": "Closed",
    "Phiên bản hiện tại": "Current version",
    "Đổi trạng thái": "Change state",
    "Trạng thái không hợp lệ.": "Invalid state.",
    "Đã chuyển biểu mẫu sang trạng thái: {state}.": "The form is now: {state}.",
    "Đang mở: điện thoại tải được biểu mẫu và gửi phiếu.": (
        "Open: phones download the form and send submissions."
    ),
    "Sắp đóng: điện thoại không thấy biểu mẫu nữa nhưng vẫn gửi được phiếu đã điền.": (
        "Closing: phones no longer see the form but can still send what was filled in."
    ),
    "Đã đóng: không nhận phiếu nào nữa.": "Closed: no more submissions are accepted.",
    "Các phiên bản": "Versions",
    "Tiêu đề": "Title",
    "Xuất bản lúc": "Published at",
    "Người xuất bản": "Published by",
    "Tải về": "Download",
    "hiện tại": "current",
    "Tệp đính kèm": "Media files",
    "Tệp": "File",
    "Tình trạng": "Status",
    "Kích thước": "Size",
    "khudan tạo từ danh mục địa bàn": "written by khudan from the area registry",
    "Còn thiếu": "Missing",
    "Không còn dùng": "No longer used",
    "Đã có": "Present",
    "Biểu mẫu này không dùng tệp đính kèm.": "This form uses no media files.",
    "Tên tệp": "File name",
    "Tải lên": "Upload",
    "Hãy chọn tên tệp và tệp cần tải lên.": "Choose the file name and the file to upload.",
    "Đã tải lên {name}.": "Uploaded {name}.",
    "Đã thay {name}.": "Replaced {name}.",
    "Đã xuất bản {form_id} phiên bản {version}.": "Published {form_id} version {version}.",
    "Phiên bản {version} đã có; đã cập nhật tệp đính kèm.": (
        "Version {version} already exists; its media files were updated."
    ),
    "Phiên bản {version} đã được xuất bản với cùng nội dung: không có gì thay đổi.": (
        "Version {version} was already published with the same content: nothing changed."
    ),
    "Cảnh báo: {text}": "Warning: {text}",
    "… và {n} cảnh báo khác.": "… and {n} more warnings.",
    "Còn thiếu tệp đính kèm: {names}. Hãy tải lên bên dưới.": (
        "Media files missing: {names}. Upload them below."
    ),
    # Users (admins)
    "Lọc": "Filter",
    "{n} người dùng": "{n} users",
    "Đang hoạt động": "Enabled",
    "Đã khoá": "Disabled",
    "Mã QR": "QR code",
    "Trang": "Page",
    "Trang trước": "Previous page",
    "Trang sau": "Next page",
    "Trang {page}/{pages}": "Page {page} of {pages}",
    "Tạo người dùng": "Create a user",
    "Địa bàn phụ trách": "Areas",
    "Mã địa bàn (tỉnh, xã hoặc thôn), mỗi dòng một mã hoặc cách nhau bởi dấu phẩy. Tra mã ở trang Địa bàn. Người thiết kế và quản trị viên không cần địa bàn.": (
        "Area codes (province, commune or residential area), one per line or separated by "
        "commas. Look codes up on the Areas page. Designers and admins need none."
    ),
    "Mật khẩu được tạo tự động và chỉ hiện một lần.": (
        "The password is generated and shown only once."
    ),
    "Mã địa bàn": "Area codes",
    "Mỗi dòng một mã, hoặc cách nhau bởi dấu phẩy. Để trống: thu thập viên và giám sát viên không thấy địa bàn nào.": (
        "One code per line, or separated by commas. Empty: a collector or supervisor sees no area."
    ),
    "Lưu địa bàn": "Save areas",
    "không có mã địa bàn {codes} trong danh mục": "the area codes {codes} are not in the registry",
    "Đã lưu địa bàn của {name}.": "Saved the areas of {name}.",
    "Điện thoại": "Phone",
    "Cài ODK Collect bằng mã QR: không phải gõ địa chỉ máy chủ hay mật khẩu.": (
        "Set up ODK Collect with a QR code: no server address or password to type."
    ),
    "Mã QR cho ODK Collect": "QR code for ODK Collect",
    "Thu hồi mọi mã QR đã cấp? Các điện thoại đã cài bằng mã QR sẽ ngừng gửi được phiếu.": (
        "Revoke every QR code issued? Phones set up with them will stop sending submissions."
    ),
    "Thu hồi các mã QR": "Revoke QR codes",
    "Đã thu hồi {n} mã QR của {name}.": "Revoked {n} QR codes of {name}.",
    "Tài khoản": "Account",
    "Tạo mật khẩu mới cho {name}? Mật khẩu cũ ngừng dùng được.": (
        "Generate a new password for {name}? The old one stops working."
    ),
    "Đặt lại mật khẩu": "Reset password",
    "Khoá {name}? Người này không đăng nhập và gửi phiếu được nữa.": (
        "Disable {name}? They will no longer log in or send submissions."
    ),
    "Khoá tài khoản": "Disable",
    "Mở khoá tài khoản": "Enable",
    "Đã mở khoá {name}.": "Enabled {name}.",
    "Đã khoá {name}.": "Disabled {name}.",
    "Đã tạo {name}": "Created {name}",
    "Mật khẩu mới của {name}": "New password of {name}",
    "Mật khẩu chỉ hiện một lần này. Hãy ghi lại hoặc đưa cho người dùng ngay.": (
        "The password is shown this once. Write it down or give it to the user now."
    ),
    "Về danh sách người dùng": "Back to the users",
    "{name} không gửi phiếu từ điện thoại (tài khoản đã khoá hoặc vai trò không thu thập).": (
        "{name} does not send submissions from a phone (disabled, or a role that does not collect)."
    ),
    "Mã QR này chứa thông tin đăng nhập của {name}.": "This QR code holds a login of {name}.",
    "Ai quét được cũng gửi phiếu thay người đó. Chỉ cho chính người đó quét, đừng chụp lại hay gửi qua mạng. Nếu bị lộ, hãy thu hồi các mã QR ở trang người dùng.": (
        "Whoever scans it can send submissions as them. Let only that person scan it; do not "
        "photograph or send it. If it leaks, revoke the QR codes on the user's page."
    ),
    "Mã QR cài đặt ODK Collect cho {name}": "QR code setting up ODK Collect for {name}",
    "Trên điện thoại, mở ODK Collect.": "On the phone, open ODK Collect.",
    "Chọn Thêm dự án (Add project) > Cấu hình bằng mã QR, hoặc Cài đặt dự án > Cấu hình lại bằng mã QR.": (
        "Choose Add project > Configure with QR code, or Project settings > Reconfigure with "
        "QR code."
    ),
    "Quét mã trên màn hình này.": "Scan the code on this screen.",
    "Địa chỉ máy chủ (nếu không quét được, nhập tay):": (
        "Server URL (type it in if scanning does not work):"
    ),
    "Mã QR cài ODK Collect cho {name}: địa chỉ máy chủ kèm một mã đăng nhập riêng, không cần mật khẩu.": (
        "A QR code that sets up ODK Collect for {name}: the server URL with a login token of its "
        "own, no password needed."
    ),
    "Mỗi lần tạo là một mã đăng nhập mới; các mã cũ vẫn dùng được cho tới khi bị thu hồi.": (
        "Each one is a new login token; earlier ones keep working until they are revoked."
    ),
    "Tạo mã QR": "Create a QR code",
    "Tìm địa bàn theo tên": "Find an area by name",
    "Ví dụ: Nhơn Châu": "For example: Nhơn Châu",
    "Chọn một địa bàn trong danh sách để thêm mã của nó vào ô dưới.": (
        "Pick an area from the list to add its code below."
    ),
    # Areas (admins)
    "Tên": "Name",
    "Tên đầy đủ": "Full name",
    "Cấp": "Level",
    "Tỉnh": "Province",
    "Huyện": "District",
    "Xã": "Commune",
    "Thôn, tổ dân phố": "Residential area",
    "Tìm": "Search",
    "{n} địa bàn": "{n} areas",
    "Mã": "Code",
    "Loại": "Kind",
    "Số hộ": "Households",
    "Đơn vị trực thuộc": "Units below",
    "Không có địa bàn nào. Chạy khudan areas load-official để nạp danh mục tỉnh, xã.": (
        "No areas. Run khudan areas load-official to load the provinces and communes."
    ),
    "Nhập danh sách thôn, tổ dân phố": "Import residential areas",
    "Tệp CSV (UTF-8), dòng đầu là tiêu đề:": "A CSV file (UTF-8) whose first line is the header:",
    "Mỗi dòng là một thôn của một xã; mã thôn thành <mã xã>.<code>. Thôn đã có sẽ được cập nhật. Bạn sẽ xem trước những gì thay đổi rồi mới xác nhận.": (
        "Each line is a residential area of a commune; its code becomes <commune code>.<code>. "
        "Existing ones are updated. You see what would change before you confirm."
    ),
    "Tệp CSV": "CSV file",
    "Xem trước": "Preview",
    "Hãy chọn một tệp CSV.": "Choose a CSV file.",
    "Không đọc được tệp CSV: {reason}": "The CSV file cannot be read: {reason}",
    "Xem trước khi nhập": "Import preview",
    "Chưa có gì được ghi. Đây là những gì sẽ thay đổi nếu bạn xác nhận.": (
        "Nothing has been written yet. This is what will change if you confirm."
    ),
    "thôn mới": "new",
    "thôn thay đổi": "changed",
    "thôn không đổi": "unchanged",
    "dòng bị bỏ qua": "rejected lines",
    "Các dòng bị bỏ qua sẽ không được nhập; sửa tệp rồi nhập lại sau nếu cần.": (
        "Rejected lines will not be imported; fix the file and import it again if needed."
    ),
    "Mọi dòng đều hợp lệ.": "Every line is valid.",
    "Xác nhận nhập": "Confirm the import",
    "Huỷ": "Cancel",
    "Tệp này không thay đổi gì trong danh mục.": "This file changes nothing in the registry.",
    "Quay lại": "Back",
    "Dòng bị bỏ qua": "Rejected lines",
    "Lý do do hệ thống ghi bằng tiếng Anh.": "The reasons are in English.",
    "Lý do": "Reason",
    "Thôn mới": "New residential areas",
    "Thôn thay đổi": "Changed residential areas",
    "Thay đổi": "Change",
    "Mỗi bảng chỉ hiện {n} dòng đầu.": "Each table shows its first {n} lines only.",
    "Dữ liệu xem trước bị hỏng. Hãy tải tệp lên lại.": (
        "The preview's data is damaged. Upload the file again."
    ),
    "Danh mục đã thay đổi kể từ lúc xem trước. Hãy xem lại rồi xác nhận.": (
        "The registry changed since the preview. Check it again, then confirm."
    ),
    "Đã nhập: {added} thêm, {updated} sửa, {unchanged} không đổi, {rejected} dòng bị bỏ qua.": (
        "Imported: {added} added, {updated} changed, {unchanged} unchanged, "
        "{rejected} lines rejected."
    ),
    # Review queue and submission page (supervisors)
    "Kỳ": "Period",
    "Mới nhận": "Received",
    "Đã sửa": "Edited",
    "Cần sửa": "Has issues",
    "Đã duyệt": "Approved",
    "Bị từ chối": "Rejected",
    "Chờ duyệt (chưa quyết định)": "Waiting (not decided yet)",
    "Vấn đề": "Problems",
    "Có vấn đề": "With problems",
    "Không có vấn đề": "Without problems",
    "Phím tắt: j / k chọn dòng, Enter mở phiếu, / tới bộ lọc.": (
        "Keys: j / k choose a row, Enter opens it, / goes to the filters."
    ),
    "Phiếu": "Submission",
    "Nhận lúc": "Received at",
    "và {n} vấn đề khác": "and {n} more",
    "Trước": "Previous",
    "Sau": "Next",
    "Không có phiếu nào khớp bộ lọc.": "No submission matches these filters.",
    "chụp": "taken",
    "cách vị trí hộ {m} m": "{m} m from the household",
    "chưa nhận được tệp": "file not received yet",
    "Xem bản đồ": "Show on a map",
    "gửi bởi {name}": "sent by {name}",
    "Vấn đề phát hiện": "Problems found",
    "Các phiếu khác của cùng hộ trong kỳ": "Other submissions of this household in the period",
    "Chỉ hiện các phiếu đầu tiên.": "Only the first ones are listed.",
    "Kết quả phân loại": "Classification",
    "Phiếu bị từ chối không được tính vào kết quả.": "A rejected submission does not count.",
    "Câu trả lời": "Answers",
    "Vị trí": "Position",
    "Vị trí hộ và nơi chụp ảnh": "The household and where its photos were taken",
    "Vị trí hộ": "Household",
    "Nơi chụp ảnh": "Photo taken here",
    "khung rộng khoảng {m} m": "the box is about {m} m wide",
    "Duyệt": "Approve",
    "Từ chối": "Reject",
    "Nhận xét": "Comments",
    "Bắt buộc khi từ chối hoặc yêu cầu sửa. Ctrl+Enter để lưu.": (
        "Required to reject or flag. Ctrl+Enter saves."
    ),
    "Chưa có nhận xét.": "No comments yet.",
    "Thêm nhận xét": "Add a comment",
    "Gửi nhận xét": "Send comment",
    "Lịch sử": "History",
    "bản sửa từ điện thoại": "edited on the phone",
    "bản gửi đầu tiên": "first sent",
    "Phiếu #{id}: {state}.": "Submission #{id}: {state}.",
    "Đã thêm nhận xét.": "Comment added.",
    "Đến phần duyệt": "Go to the review",
    "Chuẩn nghèo": "Poverty standard",
    "Thu nhập bình quân đầu người (đồng/tháng)": "Income per person (VND/month)",
    "Số chỉ số thiếu hụt": "Deprivations",
    "Điểm B1": "B1 score",
    "Điểm B2": "B2 score",
    "Thiếu hụt": "Lacking",
    "Theo chuẩn địa phương": "By the local standard",
    "Hộ có mức sống trung bình": "Medium living standard",
    "Hộ không nghèo": "Not poor",
    "Đạt “Gia đình văn hóa”": "Earned “Cultural family”",
    "Chưa đạt “Gia đình văn hóa”": "Not a “Cultural family” yet",
    "Tiêu chí chưa đạt": "Criteria not met",
    "Trường hợp không xét": "Disqualified by",
    "Số tiêu chí hài lòng": "Criteria satisfied",
    "Số tiêu chí chưa hài lòng": "Criteria not satisfied",
    "Đánh giá chung": "Overall",
    "Đồng ý": "Agree",
    "Không đồng ý": "Disagree",
    # Supervisor dashboard
    "Xem": "Show",
    "Các địa bàn phụ trách": "Your areas",
    "Phiếu chờ duyệt": "Waiting for review",
    "Hộ đã rà soát": "Households reviewed",
    "{n} hộ đã duyệt": "{n} approved",
    "Hộ nghèo": "Poor",
    "Hộ cận nghèo": "Near-poor",
    "Gia đình văn hóa": "Cultural family",
    "{earned}/{assessed} hộ": "{earned} of {assessed} households",
    "Tính mọi phiếu không bị từ chối. Tỷ lệ hộ nghèo, cận nghèo trên {n} hộ theo sổ hộ của các thôn/tổ có số hộ.": (
        "Every submission not rejected counts. Poor and near-poor rates are of the {n} "
        "households in the registry of the thôn that have a count."
    ),
    "{units} thôn/tổ chưa có số hộ và {reviewed} hộ đã rà soát ở đó không tính vào tỷ lệ.": (
        "{units} thôn without a registry count and the {reviewed} households reviewed there "
        "are not in the rates."
    ),
    "Tỷ lệ gia đình văn hóa trên số hộ được bình xét.": (
        "The cultural-family rate is of the households assessed."
    ),
    "% trên số hộ theo sổ hộ": "% of registry households",
    "Gia đình văn hóa (% hộ được bình xét)": "Cultural family (% of assessed)",
    "Theo địa bàn": "By area",
    "Tỷ lệ hộ nghèo, cận nghèo theo địa bàn": "Poor and near-poor rate by area",
    "Xem kết quả chi tiết và tải về": "Detailed results and downloads",
    "Hoạt động của thu thập viên": "Collectors' activity",
    "Hôm nay": "Today",
    "7 ngày qua": "Last 7 days",
    "Tổng": "Total",
    "Lần gửi gần nhất": "Last sent",
    "Chưa có phiếu nào được gửi trong địa bàn này.": "Nothing has been sent in this area yet.",
    # Results
    "Hộ nghèo, cận nghèo": "Poor and near-poor",
    "Sự hài lòng": "Satisfaction",
    "Số hộ thiếu hụt từng chỉ số": "Households lacking each indicator",
    "Diễn biến qua các kỳ": "Change over the periods",
    "Loại kết quả": "Kind of results",
    "Tính theo": "Count",
    "Mọi phiếu không bị từ chối": "Every submission not rejected",
    "Chỉ phiếu đã duyệt": "Approved submissions only",
    "Chưa có số liệu cho kỳ và địa bàn này.": "No figures for this period and area yet.",
    "Diễn biến từ kỳ {before} đến kỳ {now}": "Change from {before} to {now}",
    "Tổng cộng": "Total",
    "Tổng số hộ": "Households",
    "Số hộ được rà soát": "Households reviewed",
    "Tỷ lệ hộ nghèo (%)": "Poor (%)",
    "Tỷ lệ hộ cận nghèo (%)": "Near-poor (%)",
    "Hộ nghèo DTTS": "Poor, ethnic minority",
    "Hộ nghèo thành thị": "Poor, urban",
    "Hộ nghèo nông thôn": "Poor, rural",
    "Số hộ được bình xét": "Households assessed",
    "Số hộ đạt “Gia đình văn hóa”": "“Cultural family” households",
    "Tỷ lệ đạt (%)": "Share (%)",
    "Tiêu chí chưa đạt nhiều nhất (số hộ)": "Criteria most often not met (households)",
    "Đạt “Thôn/Tổ dân phố văn hóa”": "“Cultural thôn” title",
    "Số hộ trả lời": "Respondents",
    "Số hộ đồng ý": "Agreeing",
    "Tỷ lệ đồng ý (%)": "Agreeing (%)",
    "Tỷ lệ tham gia (%)": "Participation (%)",
    "Ngưỡng đạt (%)": "Pass share (%)",
    # Form drafts (draft_pages.py, form_draft.html)
    "Mã bài": "Instance ID",
    "loại": "kind",
    "kiểu dữ liệu": "data type",
    "kiểu câu hỏi": "question type",
    "nhãn": "label",
    "điều kiện hỏi": "relevance",
    "ràng buộc": "constraint",
    "thông báo ràng buộc": "constraint message",
    "công thức": "calculation",
    "chỉ đọc": "read-only",
    "tự điền": "preload",
    "nguồn lựa chọn": "choice source",
    "Biểu mẫu mới: mọi câu hỏi đều mới.": "A new form: every question is new.",
    "Bản nháp": "Draft",
    "Bản nháp chờ xuất bản": "Drafts waiting to be published",
    "Bản nháp: xem trước, xem thay đổi và thử trên ODK Collect trước khi điện thoại nhận được.": (
        "A draft: preview it, see what changes and test it on ODK Collect before phones get it."
    ),
    "Bỏ bản nháp": "Discard the draft",
    "Bỏ đi": "Removed",
    "Chỉ hỏi khi": "Asked only when",
    "Chọn một": "Select one",
    "Chọn nhiều": "Select many",
    "Các bài thử của bản nháp đã được xóa.": "The draft's test submissions were deleted.",
    "Câu hỏi": "Question",
    "Còn thiếu tệp đính kèm: {names}. Hãy tải bản nháp lên lại kèm các tệp này.": (
        "Media files missing: {names}. Upload the draft again with these files."
    ),
    "Có bản nháp phiên bản {version} chờ xuất bản.": (
        "A draft of version {version} is waiting to be published."
    ),
    "Giờ": "Time",
    "Không có câu hỏi nào thay đổi.": "No question changes.",
    "Không có cảnh báo.": "No warnings.",
    "Kết quả kiểm tra (pyxform, ODK Validate)": "Checks (pyxform, ODK Validate)",
    "Lặp lại": "Repeat",
    "Lựa chọn lấy từ tệp {name}": "Choices from the file {name}",
    "Mã QR thử bản nháp": "QR code to test the draft",
    "Mã vạch": "Barcode",
    "Ngày": "Date",
    "Ngày giờ": "Date and time",
    "Nhóm câu hỏi": "Group of questions",
    "Phiên bản nháp": "Draft version",
    "Phiên bản điện thoại đang dùng": "Version phones use now",
    "Quét mã QR bằng ODK Collect (Thêm dự án › Quét mã QR). Điện thoại thử chỉ thấy bản nháp này; bài gửi thử được giữ riêng, không tính vào kết quả và bị xóa khi xuất bản.": (
        "Scan the QR code with ODK Collect (Add project › Scan QR code). The test phone sees only this draft; test submissions are kept apart, never counted, and deleted on publish."
    ),
    "Số bài thử đã nhận": "Test submissions received",
    "Số nguyên": "Whole number",
    "Số thập phân": "Decimal number",
    "Thay đổi so với phiên bản đang dùng": "Changes from the version in use",
    "Thêm mới": "Added",
    "Thử trên ODK Collect": "Test on ODK Collect",
    "Tải lên bản nháp": "Upload as a draft",
    "Vùng GPS": "GPS area",
    "Văn bản": "Text",
    "Vị trí GPS": "GPS location",
    "Xem trước các câu hỏi": "Preview of the questions",
    "Xuất bản": "Publish",
    "Xuất bản bản nháp": "Publish the draft",
    "Xuất bản thì điện thoại nhận phiên bản {version}; các phiên bản cũ vẫn nhận phiếu đã điền.": (
        "Publishing gives phones version {version}; older versions still accept what was filled in."
    ),
    "Xếp hạng": "Rank",
    "bắt buộc": "required",
    "bỏ lựa chọn": "choices removed",
    "chưa có": "none yet",
    "thêm lựa chọn": "choices added",
    "Điện thoại chưa thấy bản nháp này. Hãy thử trên ODK Collect rồi xuất bản.": (
        "Phones do not see this draft yet. Test it on ODK Collect, then publish."
    ),
    "Đã bỏ bản nháp của {form_id}.": "Discarded the draft of {form_id}.",
    "Đã lưu bản nháp phiên bản {version}.": "Saved the draft of version {version}.",
    "Đúng/sai": "True/false",
    "Đường đi GPS": "GPS trace",
    "Địa chỉ máy chủ thử": "Test server address",
    "Đổi": "Changed",
    "Ảnh hoặc tệp": "Photo or file",
    # Forms in the browser (webform_pages.py, form_fill.html, fill_list.html)
    "Sửa phiếu": "Edit submission",
    'Sửa phiếu bằng ODK Web Forms: phiên bản mới được lưu như khi sửa trên ODK Collect, phiên bản cũ vẫn giữ, trạng thái thành "đã sửa".': (
        'Edit with ODK Web Forms: the new version is kept as an edit from ODK Collect would be, the old version stays, and the state becomes "edited".'
    ),
    "Quay lại phiếu": "Back to the submission",
    "Sửa trong trình duyệt": "Edit in the browser",
    "Chưa có biểu mẫu nào đang mở.": "No form is open.",
    "Chưa gửi được phiếu:": "The submission was not sent:",
    "Cần bật JavaScript để điền biểu mẫu trong trình duyệt.": (
        "Filling a form in the browser needs JavaScript."
    ),
    "Dữ liệu hợp lệ. Đây là bản xem trước nên không gửi đi.": (
        "The data is valid. This is a preview, so nothing was sent."
    ),
    "Nhập phiếu": "Data entry",
    "Nhập phiếu giấy trên máy tính": "Enter paper forms on a computer",
    "Nhập phiếu giấy vào máy tính bằng ODK Web Forms: phiếu gửi đi như từ ODK Collect, được kiểm tra và duyệt như mọi phiếu khác.": (
        "Enter paper forms with ODK Web Forms: a submission is sent as from ODK Collect, checked and reviewed like any other."
    ),
    "Nhập phiếu từ giấy bằng ODK Web Forms: phiếu gửi đi như từ ODK Collect.": (
        "Data entry from paper with ODK Web Forms: the submission is sent as from ODK Collect."
    ),
    "Quay lại bản nháp": "Back to the draft",
    "Xem trước bằng ODK Web Forms: điền thử để kiểm tra; không gửi gì.": (
        "Preview with ODK Web Forms: fill it in to check it; nothing is sent."
    ),
    "Đang gửi phiếu…": "Sending…",
    "Điền thử bằng ODK Web Forms": "Try it in ODK Web Forms",
    "Đã gửi phiếu. Có thể điền phiếu mới.": "Sent. You can fill in a new one.",
    "Đã lưu phiếu nhưng còn thiếu tệp: {names}.": "Saved, but these files are missing: {names}.",
    # Users page: wrong passwords (#17)
    "Đăng nhập sai trong 15 phút qua": "Wrong passwords in the last 15 minutes",
    "Địa chỉ": "Address",
    "Số lần sai": "Failures",
    "Lần sai gần nhất": "Last failure",
    "Phải đợi đến": "Must wait until",
    "Tên người dùng không bao giờ bị khóa: chỉ cặp địa chỉ và tên nhập sai phải đợi lâu dần, và một địa chỉ nhập sai quá nhiều phải đợi.": (
        "A username is never locked: only the address and name pair that guessed wrong waits "
        "longer each time, and an address with too many failures waits."
    ),
    "Không có lần đăng nhập sai nào.": "No wrong passwords.",
    "Mở bài nộp kia": "Open the other submission",
    # Results page: the official tables (#11)
    "Biểu báo cáo theo mẫu (in khổ A4 ngang, có chữ ký)": (
        "Official report tables (A4 landscape, with signature blocks)"
    ),
    "Tất cả các biểu (một tệp XLSX)": "All tables (one XLSX file)",
    "Biểu số {n}": "Table {n}",
    # Audit log page (#16)
    "Nhật ký": "Audit log",
    "Nhật ký hoạt động": "Audit log",
    "Việc": "Action",
    "Người làm": "Actor",
    "Đối tượng": "Target",
    "{n} sự kiện": "{n} events",
    "Lúc": "When",
    "Chi tiết": "Details",
    "dòng lệnh": "command line",
    "Chưa có sự kiện nào.": "No events yet.",
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
