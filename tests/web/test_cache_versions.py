"""Caches and ETags follow each layer's own version, not the file's."""
from __future__ import annotations


def _etag(client, layer):
    response = client.get(f"/map/data/{layer}.geojson")
    assert response.status_code == 200
    return response.headers["ETag"]


def test_an_app_table_write_keeps_every_layer_etag_and_a_layer_write_only_its_own(client, workspace):
    roads, villages = _etag(client, "roads"), _etag(client, "villages")
    with workspace.transaction() as con:  # e.g. a proposal edit or a login
        con.execute("CREATE TABLE IF NOT EXISTS rp_note(x)")
        con.execute("INSERT INTO rp_note VALUES (1)")
    assert _etag(client, "roads") == roads and _etag(client, "villages") == villages
    frame = workspace.read_layer("villages")
    frame.loc[0, "name"] = frame.loc[0, "name"] + "（改）"
    workspace.write_layers({"villages": frame})
    assert _etag(client, "villages") != villages
    assert _etag(client, "roads") == roads
    # an unchanged write changes nothing
    again = _etag(client, "villages")
    workspace.write_layers({"villages": workspace.read_layer("villages")})
    assert _etag(client, "villages") == again
