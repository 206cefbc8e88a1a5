"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from .areas import Area
from .audit import AuditEvent
from .base import Base
from .blobs import Blob
from .drafts import DraftMedia, DraftTestAttachment, DraftTestSubmission, FormDraft
from .entities import Entity, EntityBacklog, EntityList, EntityVersion
from .facts import CulturalFamilyFact, PovertyFact, SatisfactionFact
from .forms import Form, FormMedia, FormState, FormVersion
from .jobs import Job, JobState, in_flight
from .photos import PhotoHashBand, PhotoMeta
from .problems import SubmissionProblem
from .sessions import ApiSession, DigestNonce, LoginFailure, LoginThrottle
from .submissions import Attachment, Comment, ReviewState, Submission, SubmissionVersion
from .users import AppToken, Role, User, UserArea

__all__ = [
    "ApiSession",
    "AppToken",
    "Area",
    "Attachment",
    "AuditEvent",
    "Base",
    "Blob",
    "Comment",
    "CulturalFamilyFact",
    "DigestNonce",
    "DraftMedia",
    "DraftTestAttachment",
    "DraftTestSubmission",
    "Entity",
    "EntityBacklog",
    "EntityList",
    "EntityVersion",
    "Form",
    "FormDraft",
    "FormMedia",
    "FormState",
    "FormVersion",
    "Job",
    "JobState",
    "LoginFailure",
    "LoginThrottle",
    "PhotoHashBand",
    "PhotoMeta",
    "PovertyFact",
    "ReviewState",
    "Role",
    "SatisfactionFact",
    "Submission",
    "SubmissionProblem",
    "SubmissionVersion",
    "User",
    "UserArea",
    "in_flight",
]
