"""The workspace → planner glue: road graph cache, facilities, minutes lists."""
import numpy as np
import pytest

from layers.store import Workspace
from web import services


def test_road_graph_is_cached_in_the_workspace_by_fingerprint(demo_copy, monkeypatch):
    services._memo.clear()
    built = services.road_graph(demo_copy)
    keys = _cache_keys(demo_copy)
    assert len(keys) == 1 and keys[0] == services._GRAPH_KEY + built.fingerprint

    # a new process: nothing in memory, the graph comes back from the workspace, not rebuilt
    services._memo.clear()
    monkeypatch.setattr(services, "build_road_graph", _refuse)
    loaded = services.road_graph(Workspace(demo_copy.path))
    assert loaded.fingerprint == built.fingerprint
    np.testing.assert_array_equal(loaded.edge_u, built.edge_u)
    np.testing.assert_allclose(loaded.edge_minutes, built.edge_minutes)
    assert (loaded.minutes != built.minutes).nnz == 0


def test_cached_graph_is_loaded_without_reading_the_roads_layer(demo_copy, monkeypatch):
    # the roads layer of a province is ~0.7 M geometries: reading it only to hash it
    # cost more memory than the graph; its version and the settings name the graph
    services._memo.clear()
    services._version_memo.clear()
    built = services.road_graph(demo_copy)

    services._memo.clear()
    services._version_memo.clear()
    fresh = Workspace(demo_copy.path)
    read = fresh.read_layer

    def no_roads(layer, **kw):
        assert layer != "roads", "the roads layer was read although its graph is cached"
        return read(layer, **kw)

    monkeypatch.setattr(fresh, "read_layer", no_roads)
    monkeypatch.setattr(services, "build_road_graph", _refuse)
    loaded = services.road_graph(fresh)
    assert loaded.fingerprint == built.fingerprint
    assert (loaded.minutes != built.minutes).nnz == 0


def test_changed_roads_give_a_new_graph_although_one_is_cached(demo_copy):
    services._memo.clear()
    services._version_memo.clear()
    first = services.road_graph(demo_copy)
    roads = demo_copy.read_layer("roads")
    demo_copy.write_layers({"roads": roads.iloc[:-1]})
    for fresh_process in (False, True):
        if fresh_process:
            services._memo.clear()
            services._version_memo.clear()
        second = services.road_graph(Workspace(demo_copy.path))
        assert second.fingerprint != first.fingerprint
        assert second.n_edges < first.n_edges
        assert second.edge_road.max() == len(roads) - 2


def test_changed_speed_table_builds_a_new_graph_and_replaces_the_old(demo_copy):
    services._memo.clear()
    first = services.road_graph(demo_copy)
    slower = services.NetworkSettings(speed_table=services.SpeedTable(unpaved_factor=0.3))
    second = services.road_graph(demo_copy, settings=slower)
    assert second.fingerprint != first.fingerprint
    assert _cache_keys(demo_copy) == [services._GRAPH_KEY + second.fingerprint]
    assert second.edge_minutes.sum() > first.edge_minutes.sum()


def test_network_settings_from_workspace_meta(demo_copy):
    demo_copy.set_meta(network={"max_snap_m": 500, "speed_table": {"class_speeds_kmh": {"village": 15}}})
    settings = services.NetworkSettings.from_workspace(demo_copy)
    assert settings.max_snap_m == 500
    assert settings.speed_table.speed_kmh("village") == 15


def test_workspace_without_roads_is_a_clear_error(tmp_path):
    ws = Workspace.create(tmp_path / "empty.gpkg")
    from web.services.errors import NoRoads

    with pytest.raises(NoRoads) as info:
        services.road_graph(ws)
    assert info.value.http_status == 409 and "no roads" in info.value.message("en")


def test_facility_points_filters_status_and_keys_towns_by_code(demo_workspace):
    stores = services.facility_points(demo_workspace, "cold_storage", statuses=("existing",))
    assert set(stores["status"]) == {"existing"}
    towns = services.facility_points(demo_workspace, "towns")
    assert (towns["id"] == towns["code"]).all()
    with pytest.raises(ValueError, match="not a facility layer"):
        services.facility_points(demo_workspace, "roads")


@pytest.mark.parametrize(("text", "expected"), [("15,30,60", (15, 30, 60)), ("60，15", (15, 60)), ("30", (30,))])
def test_parse_minutes_list(text, expected):
    assert services.parse_minutes_list(text) == expected


@pytest.mark.parametrize("text", ["", "a,b", "0,15", "-5"])
def test_parse_minutes_list_rejects(text):
    with pytest.raises(ValueError, match="minutes"):
        services.parse_minutes_list(text)


def _cache_keys(ws):
    with ws.connect() as con:
        return [k for (k,) in con.execute("SELECT key FROM rp_cache WHERE key LIKE 'road_graph:%'")]


def _refuse(*args, **kwargs):
    raise AssertionError("the graph should have come from the workspace cache")


def test_existing_stores_count_only_for_their_commodities(demo_workspace):
    stores = services.facility_points(demo_workspace, "cold_storage", statuses=services.EXISTING_STATUSES)
    apple = services.serving_commodities(stores, ("apple",))
    assert len(apple) < len(stores)
    assert all("苹果" in text for text in apple["commodities"])
    assert len(services.serving_commodities(stores, ())) == len(stores)  # demand not produce: all count


def test_contraction_hierarchy_is_kept_in_the_workspace_cache(demo_copy, monkeypatch):
    from planner import ch

    services._memo.clear()
    graph = services.road_graph(demo_copy)
    services.persist_hierarchy(demo_copy, graph)  # nothing built yet: nothing stored
    assert not ch.has_hierarchy(graph)
    ch.graph_hierarchy(graph)
    services.persist_hierarchy(demo_copy, graph)

    services._memo.clear()
    monkeypatch.setattr(ch, "build_hierarchy", _refuse)
    loaded = services.road_graph(Workspace(demo_copy.path))
    assert ch.has_hierarchy(loaded)  # came back with the graph, not rebuilt
