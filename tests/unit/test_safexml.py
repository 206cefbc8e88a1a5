"""Both roads of ``safexml.parse``: the C parser for small UTF-8 documents without a DTD, the
defused parser for the rest. Either way a DTD is refused and the limits hold."""

from __future__ import annotations

import pytest

from khudan import errors
from khudan.xforms import safexml
from khudan.xforms.safexml import XmlLimits, parse

BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d>&b;</d>'
)
XXE = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'


def test_a_plain_submission_takes_the_fast_road_and_reads_the_same(monkeypatch):
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<data xmlns:jr="http://openrosa.org/javarosa" id="f" version="1">'
        "<name> Nguyễn Văn Hải </name><m><a>1</a></m><m><a>2</a></m>"
        "<meta><instanceID>uuid:1</instanceID></meta></data>"
    ).encode()
    fast = parse(xml)
    monkeypatch.setattr(safexml, "FAST_BYTES", 0)  # everything the defused way
    slow = parse(xml)
    assert [(e.tag, e.text, e.attrib) for e in fast.iter()] == [
        (e.tag, e.text, e.attrib) for e in slow.iter()
    ]
    assert fast.find("name").text == " Nguyễn Văn Hải "


@pytest.mark.parametrize(
    "data",
    [
        BOMB,
        XXE,
        BOMB.decode().encode("utf-16"),  # the DOCTYPE's bytes are not "<!DOCTYPE" in UTF-16
        XXE.decode().replace('"1.0"', '"1.0" encoding="utf-16"').encode("utf-16-le"),
    ],
    ids=["bomb", "xxe", "bomb-utf16", "xxe-utf16le"],
)
def test_a_dtd_is_refused_however_it_is_encoded(data):
    with pytest.raises(errors.Problem) as exc:
        parse(data)
    assert exc.value.status == 400
    assert exc.value.code == errors.XML_DTD_FORBIDDEN().code


def test_a_document_in_a_single_byte_encoding_takes_the_defused_road():
    # In EBCDIC (cp037) "<!DOCTYPE" has other bytes: the byte check cannot see it, the parser can.
    head = b'<?xml version="1.0" encoding="cp037"?>'
    body = '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'.encode("cp037")
    assert b"<!DOCTYPE" not in body
    assert not safexml._plain(head + body)
    with pytest.raises(errors.Problem) as exc:
        parse(head + body)
    assert exc.value.status == 400


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "defused"])
def test_the_limits_hold_on_both_roads(fast, monkeypatch):
    if not fast:
        monkeypatch.setattr(safexml, "FAST_BYTES", 0)
    deep = b"<a>" * 120 + b"</a>" * 120
    with pytest.raises(errors.Problem) as exc:
        parse(deep)
    assert exc.value.code == errors.XML_TOO_DEEP(limit=100).code
    wide = b"<d>" + b"<m><x>1</x></m>" * 30 + b"</d>"
    with pytest.raises(errors.Problem) as exc:
        parse(wide, XmlLimits(max_siblings=25))
    assert exc.value.code == errors.REPEAT_TOO_LONG(name="m", limit=25).code
    assert "m" in exc.value.message
    with pytest.raises(errors.Problem) as exc:
        parse(wide, XmlLimits(max_nodes=50))
    assert exc.value.code == errors.XML_TOO_MANY_NODES(limit=50).code
    assert len(parse(wide, XmlLimits(max_siblings=30, max_nodes=61))) == 30


def test_a_broken_document_says_where_on_both_roads(monkeypatch):
    with pytest.raises(errors.Problem) as fast:
        parse(b"<d><a></d>")
    monkeypatch.setattr(safexml, "FAST_BYTES", 0)
    with pytest.raises(errors.Problem) as slow:
        parse(b"<d><a></d>")
    assert fast.value.message == slow.value.message
    assert "line 1" in fast.value.message
