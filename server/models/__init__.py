"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from .base import Base
from .blobs import Blob
from .forms import Form, FormMedia, FormState, FormVersion
from .submissions import Attachment, ReviewState, Submission, SubmissionVersion
from .users import AppToken, Role, User, UserArea

__all__ = [
    "AppToken",
    "Attachment",
    "Base",
    "Blob",
    "Form",
    "FormMedia",
    "FormState",
    "FormVersion",
    "ReviewState",
    "Role",
    "Submission",
    "SubmissionVersion",
    "User",
    "UserArea",
]
