"""Every XML document the OpenRosa endpoints send, as templates (ODK Central's formats/openrosa.js).

Collect checks the namespaces and requires formID, name, downloadUrl and hash on every form, and
filename, hash and downloadUrl on every media file; a document missing one is rejected whole.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def form_list(entries: list[dict]) -> str:
    parts = [_HEAD, '<xforms xmlns="http://openrosa.org/xforms/xformsList">\n']
    for e in entries:
        parts.append(
            "  <xform>\n"
            f"    <formID>{escape(e['form_id'])}</formID>\n"
            f"    <name>{escape(e['name'])}</name>\n"
            f"    <version>{escape(e['version'])}</version>\n"
            f"    <hash>md5:{e['md5']}</hash>\n"
            f"    <downloadUrl>{escape(e['download_url'])}</downloadUrl>\n"
        )
        if e.get("manifest_url"):
            parts.append(f"    <manifestUrl>{escape(e['manifest_url'])}</manifestUrl>\n")
        parts.append("  </xform>\n")
    parts.append("</xforms>\n")
    return "".join(parts)


def manifest(files: list[dict]) -> str:
    parts = [_HEAD, '<manifest xmlns="http://openrosa.org/xforms/xformsManifest">\n']
    for f in files:
        kind = f' type="{escape(f["type"])}"' if f.get("type") else ""
        parts.append(
            f"  <mediaFile{kind}>\n"
            f"    <filename>{escape(f['filename'])}</filename>\n"
            f"    <hash>md5:{f['md5']}</hash>\n"
            f"    <downloadUrl>{escape(f['download_url'])}</downloadUrl>\n"
        )
        if f.get("integrity_url"):
            parts.append(f"    <integrityUrl>{escape(f['integrity_url'])}</integrityUrl>\n")
        parts.append("  </mediaFile>\n")
    parts.append("</manifest>\n")
    return "".join(parts)


def entity_integrity(found: list[tuple[str, bool]]) -> str:
    """Which entities a phone asked about are deleted (Central's ``entityList`` template)."""
    parts = [_HEAD, "<data>\n  <entities>\n"]
    for uuid, deleted in found:
        parts.append(
            f'    <entity id="{escape(uuid)}">\n'
            f"      <deleted>{'true' if deleted else 'false'}</deleted>\n"
            "    </entity>\n"
        )
    parts.append("  </entities>\n</data>\n")
    return "".join(parts)


def message(text: str, nature: str = "") -> str:
    """An ``OpenRosaResponse``; Collect shows the first message's text to the collector."""
    return (
        f'{_HEAD}<OpenRosaResponse xmlns="http://openrosa.org/http/response" items="0">\n'
        f'  <message nature="{escape(nature)}">{escape(text)}</message>\n'
        "</OpenRosaResponse>\n"
    )
