"""Read an OData request (the path below ``.svc/`` and the ``$`` options) into a ``FeedQuery``,
refusing what ODK Central refuses: unknown ``$`` options and ``$expand`` other than ``*`` are 501,
``$expand`` with ``$select`` is 501 (Central's 501.11), a broken value is 400."""

from __future__ import annotations

import re
from urllib.parse import unquote

from werkzeug.datastructures import MultiDict

from .. import errors
from . import odata, odata_filter
from .feed import FeedQuery, decode_token

KNOWN = {"$format", "$count", "$skip", "$top", "$filter", "$wkt", "$expand", "$select"}
KNOWN |= {"$skiptoken", "$orderby", "$search"}
_SEGMENT = re.compile(r"^([^(]+)(?:\('([^']*)'\))?$")


def feed_query(schema: odata.Schema, subpath: str, args: MultiDict, page_size: int) -> FeedQuery:
    subpath = subpath.strip("/")
    count_only = subpath.endswith("/$count")
    table, instance_id, parent_id = _path(schema, subpath.removesuffix("/$count"))
    for name in args:
        if name.startswith("$") and name not in KNOWN:
            raise errors.ODATA_UNSUPPORTED(feature=f"the query option {name}")
    if args.get("$search"):
        raise errors.ODATA_UNSUPPORTED(feature="$search")
    order = (args.get("$orderby") or "").strip()
    if order and order not in ("__system/submissionDate desc", "__id desc"):
        raise errors.ODATA_UNSUPPORTED(feature=f"$orderby={order} (rows always come newest first)")
    if (args.get("$format") or "json").lower() not in ("json", "application/json"):
        raise errors.ODATA_UNSUPPORTED(feature=f"$format={args['$format']} (only json)")
    expand = args.get("$expand")
    if expand not in (None, "*"):
        raise errors.ODATA_UNSUPPORTED(feature=f"$expand={expand} (only $expand=*)")
    select = _select(schema, table, args.get("$select"))
    if expand and select is not None:
        raise errors.ODATA_UNSUPPORTED(feature="$expand together with $select")
    raw_filter = args.get("$filter")
    return FeedQuery(
        table=table,
        where=odata_filter.parse(raw_filter) if raw_filter else None,
        top=0 if count_only else _whole(args, "$top"),
        skip=_whole(args, "$skip") or 0,
        token=decode_token(args["$skiptoken"]) if args.get("$skiptoken") else None,
        count=count_only or _flag(args, "$count"),
        count_only=count_only,
        options=odata.Options(wkt=_flag(args, "$wkt"), expand=bool(expand), select=select),
        page_size=page_size,
        instance_id=instance_id,
        parent_id=parent_id,
    )


def _path(schema: odata.Schema, subpath: str) -> tuple[str, str | None, str | None]:
    """``Submissions.member`` -> the table (``.../$count``: only how many rows); ``Submissions('uuid:1')/member`` -> the table
    ``Submissions.member`` for that submission; ``.../outer('<id>')/inner``: rows of that one
    ``outer`` row. An unknown table is a 404, as in Central."""
    segments = [unquote(s) for s in subpath.strip("/").split("/")]
    names, ids = [], []
    for segment in segments:
        match = _SEGMENT.match(segment)
        if match is None:
            raise errors.NOT_FOUND(what=f"OData table {subpath}")
        names.append(match.group(1))
        ids.append(match.group(2))
    table = ".".join(names)  # Submissions.a.b may also be written as one segment
    if table not in schema.tables:
        raise errors.NOT_FOUND(what=f"OData table {table} (tables: {', '.join(schema.tables)})")
    instance_id = ids[0] if names[0] == "Submissions" else None
    parent_id = next((i for i in reversed(ids[1:-1]) if i is not None), None)
    if ids[-1] is not None and len(names) > 1:
        raise errors.ODATA_UNSUPPORTED(feature="addressing one repeat row by its id")
    return table, instance_id, parent_id


def _select(schema: odata.Schema, table: str, raw: str | None) -> tuple[str, ...] | None:
    if raw is None or raw.strip() == "*":
        return None
    paths = tuple(p.strip() for p in raw.split(",") if p.strip())
    allowed = odata.selectable(schema, table)
    unknown = [p for p in paths if p not in allowed]
    if unknown or not paths:
        raise errors.ODATA_QUERY_INVALID(
            option="$select",
            value=raw,
            reason=f"no property named {', '.join(unknown) or '(nothing)'} in {table}",
        )
    return paths


def _whole(args: MultiDict, name: str) -> int | None:
    raw = args.get(name)
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise errors.ODATA_QUERY_INVALID(option=name, value=raw, reason="a whole number ≥ 0")
    return int(raw)


def _flag(args: MultiDict, name: str) -> bool:
    raw = (args.get(name) or "false").strip().lower()
    if raw not in ("true", "false"):
        raise errors.ODATA_QUERY_INVALID(option=name, value=raw, reason="true or false")
    return raw == "true"
