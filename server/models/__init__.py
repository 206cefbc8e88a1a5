"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from .areas import Area
from .base import Base
from .blobs import Blob
from .facts import CulturalFamilyFact, PovertyFact, SatisfactionFact
from .forms import Form, FormMedia, FormState, FormVersion
from .problems import SubmissionProblem
from .submissions import Attachment, ReviewState, Submission, SubmissionVersion
from .users import AppToken, Role, User, UserArea

__all__ = [
    "AppToken",
    "Area",
    "Attachment",
    "Base",
    "Blob",
    "CulturalFamilyFact",
    "Form",
    "FormMedia",
    "FormState",
    "FormVersion",
    "PovertyFact",
    "ReviewState",
    "Role",
    "SatisfactionFact",
    "Submission",
    "SubmissionProblem",
    "SubmissionVersion",
    "User",
    "UserArea",
]
