"""Every indicator of every poverty standard has its lacks_<id> column on the facts: a standard
with a new indicator needs a migration before reports can count it."""

from khudan.domain import poverty
from khudan.models import PovertyFact
from khudan.models.facts import DEPRIVED_CLASSES, INDICATORS


def test_every_indicator_of_the_catalogue_has_a_column():
    catalogue = poverty.load_catalogue()
    ids = {i.id for standard in catalogue.standards for i in standard.indicators}
    assert ids and ids <= set(INDICATORS)
    columns = set(PovertyFact.__table__.columns.keys())
    assert {f"lacks_{i}" for i in INDICATORS} <= columns


def test_the_partial_index_holds_the_poor_and_near_poor():
    assert DEPRIVED_CLASSES == (poverty.PovertyClass.POOR, poverty.PovertyClass.NEAR_POOR)
