"""marshmallow schemas: the single source of the shapes khudan shows to programs.

The CLI's ``--json`` output uses them today; the REST API (issue #4) loads and dumps with the same
classes, and its OpenAPI models are generated from them.
"""

from .forms import FormSchema
from .users import UserSchema

__all__ = ["FormSchema", "UserSchema"]
