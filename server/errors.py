"""The one catalogue of errors khudan reports.

Each problem has a permanent code whose integer part is the HTTP status (as ODK Central's
``problem.js``), and a message in Vietnamese and English built from named details. The OpenRosa
blueprint renders a problem as ``OpenRosaResponse`` XML (ODK Collect shows the message to the
collector), the REST API as JSON ``{"code", "message", "details"}``, the CLI as one line.
Codes are never renumbered; a retired code stays here as a comment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProblemType:
    code: str
    vi: str
    en: str

    @property
    def status(self) -> int:
        return int(self.code.split(".")[0])

    def __call__(self, **details) -> Problem:
        return Problem(self, details)


class Problem(Exception):
    """An expected failure with a message a person can act on."""

    def __init__(self, kind: ProblemType, details: dict | None = None):
        self.kind = kind
        self.details = details or {}
        super().__init__(self.message)

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def status(self) -> int:
        return self.kind.status

    @property
    def message_vi(self) -> str:
        return self.kind.vi.format(**self.details)

    @property
    def message_en(self) -> str:
        return self.kind.en.format(**self.details)

    @property
    def message(self) -> str:
        """Both languages, Vietnamese first: Collect shows this text as it is."""
        return f"{self.message_vi} / {self.message_en}"


P = ProblemType

# 400: the request itself is wrong.
BODY_MALFORMED = P(
    "400.8",
    "Nội dung gửi lên không phải JSON hợp lệ: {reason}",
    "The request body is not valid JSON: {reason}",
)
OPENROSA_VERSION = P(
    "400.1",
    "Thiếu tiêu đề X-OpenRosa-Version: 1.0; hãy dùng ODK Collect hoặc ứng dụng OpenRosa.",
    "Header X-OpenRosa-Version: 1.0 is required; use ODK Collect or another OpenRosa client.",
)
MULTIPART_INVALID = P(
    "400.2",
    "Không đọc được nội dung gửi lên (multipart hỏng: {reason}). Hãy gửi lại biểu mẫu.",
    "The upload could not be read (broken multipart: {reason}). Send the form again.",
)
XML_PART_MISSING = P(
    "400.3",
    "Thiếu phần xml_submission_file trong bài gửi. Hãy gửi lại từ ODK Collect.",
    "Required multipart field xml_submission_file is missing. Send again from ODK Collect.",
)
XML_MALFORMED = P(
    "400.4",
    "Tệp XML không hợp lệ ({reason}). Biểu mẫu trên máy có thể bị hỏng; hãy liên hệ quản trị viên.",
    "The XML is not well-formed ({reason}). The form on the phone may be damaged; contact an admin.",
)
XML_DTD_FORBIDDEN = P(
    "400.5",
    "Tệp XML chứa khai báo DOCTYPE hoặc thực thể (entity), không được chấp nhận.",
    "The XML contains a DOCTYPE or entity declaration, which is not accepted.",
)
FORM_ID_MISSING = P(
    "400.6",
    "Tệp XML thiếu thuộc tính id của biểu mẫu ở phần tử gốc.",
    "The XML has no form id attribute on its root element.",
)
# The ODK Central API subset under /v1 (khudan.central): what an OData client asked wrongly.
ODATA_FILTER_INVALID = P(
    "400.20",
    "Không hiểu $filter '{filter}': {reason}. Ví dụ đúng: "
    "__system/submissionDate ge 2026-12-01 and __system/reviewState eq 'approved'.",
    "Cannot read $filter '{filter}': {reason}. A valid example: "
    "__system/submissionDate ge 2026-12-01 and __system/reviewState eq 'approved'.",
)
ODATA_SKIPTOKEN_INVALID = P(
    "400.21",
    "$skiptoken không hợp lệ hoặc trỏ tới bài nộp không còn thấy được. "
    "Hãy đọc lại từ trang đầu (bỏ $skiptoken).",
    "The $skiptoken is not valid or names a submission you can no longer see. "
    "Read again from the first page (without $skiptoken).",
)
ODATA_QUERY_INVALID = P(
    "400.22",
    "Tham số {option}='{value}' không hợp lệ: {reason}",
    "Query option {option}='{value}' is not valid: {reason}",
)

# 401/403: who is asking.
AUTH_REQUIRED = P(
    "401.1",
    "Cần đăng nhập. Hãy nhập tên người dùng và mật khẩu trong cài đặt máy chủ của ODK Collect.",
    "Log-in required. Enter your username and password in ODK Collect's server settings.",
)
AUTH_FAILED = P(
    "401.2",
    "Tên người dùng hoặc mật khẩu không đúng.",
    "Wrong username or password.",
)
BASIC_NEEDS_HTTPS = P(
    "401.3",
    "Chỉ dùng đăng nhập Basic qua HTTPS; qua HTTP hãy dùng Digest (ODK Collect tự làm việc này).",
    "Basic authentication is only accepted over HTTPS; over HTTP use Digest (ODK Collect does).",
)
TOKEN_INVALID = P(
    "403.1",
    "Mã truy cập trong địa chỉ máy chủ không còn hiệu lực. Hãy quét lại mã QR mới từ quản trị viên.",
    "The access key in the server URL is unknown or revoked. Scan a new QR code from your admin.",
)
FORBIDDEN = P(
    "403.2",
    "Tài khoản {username} ({role}) không có quyền {action}.",
    "Account {username} ({role}) may not {action}.",
)
NOT_A_COLLECTOR = P(
    "403.4",
    "Tài khoản {username} ({role}) không tải biểu mẫu và không gửi bài từ điện thoại "
    "(tài khoản bị khóa hoặc vai trò không thu thập). Hãy đăng nhập bằng tài khoản người thu thập.",
    "Account {username} ({role}) does not download forms or send submissions from a phone "
    "(disabled, or a role that does not collect). Log in as a collector.",
)
EDIT_NOT_ALLOWED = P(
    "403.3",
    "Bạn không được sửa bài nộp {instance_id}: chỉ người đã nộp, người thu thập hoặc giám sát viên "
    "của địa bàn đó mới được sửa. Hãy gửi bài như một phiếu mới hoặc liên hệ giám sát viên.",
    "You may not edit submission {instance_id}: only its submitter, a collector or a supervisor of "
    "its area may. Send it as a new submission or ask your supervisor.",
)

# 404: what is asked for does not exist.
FORM_NOT_FOUND = P(
    "404.1",
    "Không tìm thấy biểu mẫu '{form_id}' trên máy chủ. Hãy tải lại danh sách biểu mẫu.",
    "Form '{form_id}' does not exist on this server. Download the form list again.",
)
FORM_VERSION_NOT_FOUND = P(
    "404.2",
    "Phiên bản '{version}' của biểu mẫu '{form_id}' không có trên máy chủ. "
    "Hãy tải bản mới của biểu mẫu, điền lại hoặc liên hệ quản trị viên.",
    "Version '{version}' of form '{form_id}' does not exist on this server. "
    "Get the current form, fill it again, or contact an admin.",
)
EDIT_TARGET_NOT_FOUND = P(
    "404.3",
    "Bài nộp cần sửa ({instance_id}) không có trên máy chủ.",
    "The submission you edited ({instance_id}) does not exist on this server.",
)
NOT_FOUND = P(
    "404.4",
    "Không tìm thấy: {what}.",
    "Not found: {what}.",
)
MEDIA_NOT_EXPECTED = P(
    "404.5",
    "Biểu mẫu '{form_id}' không dùng tệp '{filename}'. Các tệp biểu mẫu cần: {expected}.",
    "Form '{form_id}' does not use a media file named '{filename}'. It uses: {expected}.",
)

API_AUTH_REQUIRED = P(
    "401.5",
    "Cần đăng nhập: gửi POST /api/v1/sessions rồi dùng tiêu đề 'Authorization: Bearer <token>'.",
    "Log-in required: POST /api/v1/sessions, then send 'Authorization: Bearer <token>'.",
)
SESSION_INVALID = P(
    "401.4",
    "Phiên đăng nhập đã hết hạn hoặc đã đăng xuất. Hãy đăng nhập lại.",
    "The session has expired or was logged out. Log in again.",
)

# 409: conflicts with what is stored.
XML_CONFLICT = P(
    "409.1",
    "Đã có bài nộp cùng mã {instance_id} nhưng nội dung XML khác. Muốn gửi thêm ảnh, "
    "phải gửi lại đúng tệp XML cũ; muốn sửa, hãy dùng chức năng sửa bài đã gửi.",
    "A submission with ID {instance_id} exists with different XML. To add files, resend the "
    "identical xml_submission_file; to change answers, edit the sent form.",
)
FORM_CLOSED = P(
    "409.2",
    "Biểu mẫu '{form_id}' đã đóng, không nhận bài nộp. Hãy liên hệ giám sát viên.",
    "Form '{form_id}' is closed and accepts no submissions. Contact your supervisor.",
)
EDIT_OUT_OF_DATE = P(
    "409.3",
    "Bản bạn đang sửa ({instance_id}) đã cũ: bài nộp đã được sửa sau đó. "
    "Hãy tải bản mới nhất rồi sửa lại.",
    "The copy you edited ({instance_id}) is out of date: the submission was edited since. "
    "Get the newest copy and edit that.",
)
INSTANCE_ID_TAKEN = P(
    "409.4",
    "Mã bài nộp {instance_id} đã được dùng cho một bài khác.",
    "Instance ID {instance_id} is already used by another submission.",
)
FORM_VERSION_CHANGED = P(
    "409.5",
    "Biểu mẫu '{form_id}' phiên bản '{version}' đã được xuất bản với nội dung khác. "
    "Hãy tăng 'version' trong trang settings của XLSForm rồi xuất bản lại.",
    "Form '{form_id}' version '{version}' is already published with different content. "
    "Increase 'version' on the XLSForm's settings sheet and publish again.",
)
USER_EXISTS = P(
    "409.6",
    "Người dùng '{username}' đã tồn tại.",
    "User '{username}' already exists.",
)
LAST_ADMIN = P(
    "409.8",
    "Không thể tắt hoặc đổi vai trò của '{username}': đây là quản trị viên cuối cùng còn hoạt động. "
    "Hãy tạo hoặc bật một quản trị viên khác trước.",
    "Cannot disable or demote '{username}': it is the last enabled admin. "
    "Create or enable another admin first.",
)
MEDIA_GENERATED = P(
    "409.9",
    "Tệp '{filename}' do khudan tự tạo cho từng điều tra viên từ danh mục địa bàn, không tải lên "
    "được. Muốn đổi nội dung, hãy nhập địa bàn (POST /api/v1/areas/import).",
    "'{filename}' is written by khudan for each collector from the area registry and cannot be "
    "uploaded. To change it, import areas (POST /api/v1/areas/import).",
)


DRAFT_VERSION_PUBLISHED = P(
    "409.20",
    "Phiên bản '{version}' của biểu mẫu '{form_id}' đã được xuất bản. Bản nháp cần phiên bản mới: "
    "hãy tăng 'version' trong trang settings của XLSForm rồi tải lên lại.",
    "Version '{version}' of form '{form_id}' is already published. A draft needs a new version: "
    "increase 'version' on the XLSForm's settings sheet and upload again.",
)


# 413: too big.
TOO_LARGE = P(
    "413.1",
    "Dữ liệu gửi lên quá lớn (tối đa {limit} byte mỗi lần gửi).",
    "The upload is too large (at most {limit} bytes per request).",
)

# 415: a body of a type this endpoint does not read.
UNSUPPORTED_MEDIA = P(
    "415.1",
    "Kiểu nội dung không được hỗ trợ: {got}. Hãy gửi {expected}.",
    "Unsupported content type: {got}. Send {expected}.",
)

# 422: understood, but not acceptable.
XLSFORM_INVALID = P(
    "422.1",
    "XLSForm không chuyển đổi được: {reason}",
    "The XLSForm could not be converted: {reason}",
)
XFORM_INVALID = P(
    "422.2",
    "ODK Validate (JavaRosa, bộ máy của ODK Collect) từ chối biểu mẫu: {reason}",
    "ODK Validate (JavaRosa, ODK Collect's form engine) rejected the form: {reason}",
)
VALIDATOR_UNAVAILABLE = P(
    "422.3",
    "Không chạy được ODK Validate ({reason}). Hãy cài Java 17, hoặc đặt KHUDAN_ODK_VALIDATE=0.",
    "ODK Validate could not run ({reason}). Install Java 17, or set KHUDAN_ODK_VALIDATE=0.",
)
DOMAIN_FIELDS_MISSING = P(
    "422.5",
    "Biểu mẫu '{form_id}' thiếu các trường mà quy tắc nghiệp vụ cần: {fields}. "
    "Hãy thêm lại các trường đó (giữ nguyên tên) rồi xuất bản.",
    "Form '{form_id}' lacks fields its domain rules read: {fields}. "
    "Put them back (same names) and publish again.",
)
FIELDS_INVALID = P(
    "422.6",
    "Dữ liệu không hợp lệ ở các trường: {fields}.",
    "Invalid values in: {fields}.",
)
COMMENT_REQUIRED = P(
    "422.7",
    "Cần ghi nhận xét khi chuyển bài sang trạng thái '{state}'.",
    "A comment is required to set the review state to '{state}'.",
)
EXPORT_TOO_MANY_ROWS = P(
    "422.8",
    "Bảng '{sheet}' sẽ có hơn {limit} dòng, nhiều hơn Excel mở được. "
    "Hãy chọn một địa bàn hoặc kỳ nhỏ hơn, hoặc xuất CSV.",
    "Sheet '{sheet}' would have more than {limit} rows, more than Excel opens. "
    "Choose a smaller area or period, or export CSV.",
)
XFORM_UNSAFE = P(
    "422.9",
    "Biểu mẫu XForm chứa {what} ở dòng {line}: ODK không dùng thứ này và nó có thể chạy mã trong "
    "trình duyệt. Hãy bỏ nó (hoặc tạo biểu mẫu từ XLSForm) rồi tải lên lại.",
    "The XForm contains {what} on line {line}: ODK does not use it and it could run code in a "
    "browser. Remove it (or build the form from an XLSForm) and upload again.",
)
INVALID_INPUT = P(
    "422.4",
    "Dữ liệu không hợp lệ: {reason}",
    "Invalid input: {reason}",
)

# 429: slow down.
TOO_MANY_LOGINS = P(
    "429.1",
    "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút.",
    "Too many failed log-ins. Try again in {minutes} minutes.",
)
LOGIN_WAIT = P(
    "429.2",
    "Đã nhập sai mật khẩu nhiều lần từ địa chỉ này. Hãy đợi {seconds} giây rồi thử lại.",
    "Too many wrong passwords from this address. Wait {seconds} seconds and try again.",
)

# 501: a real feature of the protocol that khudan does not offer.
ODATA_UNSUPPORTED = P(
    "501.1",
    "khudan chưa hỗ trợ {feature} trong OData (giống ODK Central). "
    "Hãy bỏ phần đó và lọc hoặc sắp xếp sau khi tải về.",
    "khudan does not support {feature} in OData (nor does ODK Central). "
    "Leave it out and filter or sort after download.",
)
# Hostile or broken clients (#18); numbered from .20 to stay clear of codes added beside them.
HTTP_MALFORMED = P(
    "400.20",
    "Yêu cầu HTTP không hợp lệ ({reason}). Hãy gửi lại bằng ODK Collect hoặc trình duyệt.",
    "The HTTP request is malformed ({reason}). Send it again with ODK Collect or a browser.",
)
REQUEST_TOO_SLOW = P(
    "408.1",
    "Yêu cầu đến quá chậm hoặc bị ngắt quãng nên máy chủ đã dừng nhận. "
    "Hãy gửi lại khi sóng mạng tốt hơn; bài chưa được lưu.",
    "The request arrived too slowly or stalled, so the server stopped reading it. "
    "Send it again on a better connection; nothing was saved.",
)
HEADERS_TOO_LARGE = P(
    "431.1",
    "Phần tiêu đề của yêu cầu quá lớn (tối đa {limit} byte).",
    "The request headers are too large (at most {limit} bytes).",
)
TOO_MANY_CONNECTIONS = P(
    "429.20",
    "Địa chỉ của bạn đang mở quá nhiều kết nối cùng lúc (tối đa {limit}). Hãy thử lại sau ít phút.",
    "Your address has too many connections open at once (at most {limit}). Try again in a minute.",
)
SERVER_STARTING = P(
    "503.1",
    "Máy chủ đang khởi động hoặc quá tải; bài chưa được lưu. Hãy thử lại sau ít phút.",
    "The server is starting or overloaded; nothing was saved. Try again in a minute.",
)
XML_TOO_DEEP = P(
    "400.21",
    "Tệp XML lồng nhau quá sâu (hơn {limit} cấp), không biểu mẫu nào cần như vậy. "
    "Tệp có thể bị hỏng; hãy liên hệ quản trị viên.",
    "The XML nests deeper than {limit} levels, which no form needs. "
    "The file may be damaged; contact an admin.",
)
XML_TOO_MANY_NODES = P(
    "413.20",
    "Bài nộp có hơn {limit} phần tử, nhiều hơn máy chủ nhận. Hãy chia thành nhiều bài nhỏ hơn "
    "hoặc liên hệ quản trị viên.",
    "The submission has more than {limit} elements, more than the server accepts. Split it into "
    "smaller submissions or contact an admin.",
)
REPEAT_TOO_LONG = P(
    "413.21",
    "Nhóm lặp '{name}' có hơn {limit} lần lặp, nhiều hơn máy chủ nhận. Hãy kiểm tra lại bài "
    "hoặc liên hệ quản trị viên.",
    "Repeat '{name}' has more than {limit} entries, more than the server accepts. Check the "
    "form or contact an admin.",
)
XLSFORM_TOO_LARGE = P(
    "413.22",
    "Tệp XLSForm quá lớn khi giải nén ({reason}). Một biểu mẫu thật chỉ vài MB; hãy lưu lại "
    "tệp bằng Excel hoặc LibreOffice rồi tải lên lại.",
    "The XLSForm is too large once unzipped ({reason}). A real form is a few MB; save it again "
    "with Excel or LibreOffice and upload it again.",
)
FORM_TOO_MANY_QUESTIONS = P(
    "413.23",
    "Trang survey có hơn {limit} dòng câu hỏi, nhiều hơn máy chủ nhận. Hãy tách thành nhiều "
    "biểu mẫu.",
    "The survey sheet has more than {limit} question rows, more than the server accepts. Split "
    "it into several forms.",
)
USERNAME_LOOKALIKE = P(
    "409.20",
    "Tên '{username}' trông giống người dùng '{existing}' đã có (chữ hoa/thường, chữ Cyrillic/Hy "
    "Lạp hay ký tự tương đương). Hãy chọn một tên khác hẳn.",
    "'{username}' looks like the existing user '{existing}' (case, Cyrillic or Greek letters, or "
    "equivalent characters). Choose a clearly different name.",
)
HOST_NOT_ALLOWED = P(
    "400.22",
    "Máy chủ này không phục vụ tên '{host}'. Hãy dùng đúng địa chỉ máy chủ quản trị viên đưa; "
    "quản trị viên thêm tên vào KHUDAN_ALLOWED_HOSTS nếu cần.",
    "This server does not answer to the name '{host}'. Use the server address your admin gave; "
    "an admin adds names to KHUDAN_ALLOWED_HOSTS if needed.",
)
STORAGE_FULL = P(
    "507.1",
    "Máy chủ đã hết chỗ lưu trữ; bài chưa được lưu và vẫn còn trên máy. Hãy gửi lại sau và báo "
    "quản trị viên.",
    "The server's storage is full; nothing was saved and the form stays on the phone. Send it "
    "again later and tell your admin.",
)

# Entity lists (#14); numbered from .30.
ENTITY_PROPERTY_INVALID = P(
    "422.30",
    "Tên thuộc tính {name!r} không dùng được: chỉ chữ, số, _ và -, không bắt đầu bằng __,"
    " không phải name hay label.",
    "Property name {name!r} cannot be used: letters, digits, _ and - only, not starting with __,"
    " not name or label.",
)
ENTITY_CSV_INVALID = P(
    "422.31",
    "Không đọc được tệp CSV danh sách: {reason}. Dòng đầu cần có cột label.",
    "The list CSV could not be read: {reason}. Its first line needs a label column.",
)
ENTITY_PROPERTY_UNKNOWN = P(
    "422.32",
    "Danh sách {list} không có thuộc tính: {names}.",
    "List {list} has no such properties: {names}.",
)
ENTITY_LABEL_REQUIRED = P("422.33", "Thực thể cần có nhãn (label).", "An entity needs a label.")
ENTITY_ID_INVALID = P(
    "422.34",
    "Mã {value!r} không phải UUID phiên bản 4.",
    "Id {value!r} is not a version 4 UUID.",
)
ENTITY_PLACE_INVALID = P(
    "422.35",
    "Địa bàn của thực thể không hợp lệ: {reason}.",
    "The entity's place is not valid: {reason}.",
)
ENTITY_BULK_INVALID = P(
    "422.36",
    "Thực thể thứ {index} (trong {total}) không tạo được nên chưa tạo thực thể nào: {vi}",
    "Entity {index} of {total} could not be created, so none was: {en}",
)
ENTITY_BULK_SIZE = P(
    "422.37",
    "Mỗi lần tạo được từ 1 đến {most} thực thể (lần này: {count}); danh sách dài hơn hãy nhập"
    " bằng tệp CSV.",
    "One request creates 1 to {most} entities (this one: {count}); import a longer list as a"
    " CSV file.",
)
ENTITY_LIST_NAME_INVALID = P(
    "422.38",
    "Tên danh sách {name!r} không dùng được: chỉ chữ, số, _ và -.",
    "List name {name!r} cannot be used: letters, digits, _ and - only.",
)
ENTITY_EXISTS = P(
    "409.30",
    "Thực thể {uuid} đã có trong danh sách.",
    "Entity {uuid} already exists in the list.",
)
ENTITY_LIST_EXISTS = P(
    "409.32",
    "Đã có danh sách {name}.",
    "List {name} already exists.",
)
ENTITY_PROPERTY_EXISTS = P(
    "409.33",
    "Danh sách {list} đã có thuộc tính {name}.",
    "List {list} already has property {name}.",
)
ENTITY_VERSION_CONFLICT = P(
    "409.31",
    "Thực thể đã được sửa (phiên bản hiện tại {current}, bạn sửa từ phiên bản {sent}). "
    "Hãy tải lại rồi sửa lại.",
    "The entity was changed meanwhile (current version {current}, you edited version {sent}). "
    "Reload it and edit again.",
)
