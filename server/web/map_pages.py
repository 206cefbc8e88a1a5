"""Maps: the map page (the queue's submissions as clustered points, coloured by poverty class or
review state) and the map on a submission's page. Leaflet and its cluster plugin are vendored
(``scripts/vendor-leaflet.sh``); only the tiles come from elsewhere (``KHUDAN_MAP_TILES``,
OpenStreetMap by default), so these pages alone let the browser load images from there."""

from __future__ import annotations

from flask import render_template, request, url_for

from ..runtime import current
from ..services import activity, forms, maps
from . import bp
from .auth import REVIEWERS, current_user, login_required
from .review import FILTERS, STATE_LABELS, queue_filters
from .tiles import use_map


@bp.get("/map", endpoint="map")
@login_required(*REVIEWERS)
def map_page():
    args = request.args.to_dict()
    colour_by = args.pop("colour", "class")
    if colour_by not in maps.COLOUR_BY:
        colour_by = "class"
    args.setdefault("review_state", "")  # the map shows every state unless asked
    filters = queue_filters(args)
    user = current_user()
    with current().db.session() as session:
        data = maps.points(session, user, filters, colour_by)
        form_list = [
            (f.form_id, f.current_version.title if f.current_version else f.form_id)
            for f in forms.list_forms(session)
        ]
        periods = activity.periods(session, user)
    chosen = {k: request.args.get(k, "") for k in FILTERS}
    for point in data["points"]:
        point["url"] = url_for("web.submission", submission_id=point["id"])
    return render_template(
        "map.html",
        data=data,
        tiles=use_map(),
        chosen=chosen,
        colour_by=colour_by,
        forms=form_list,
        periods=periods,
        states=STATE_LABELS,
    )
