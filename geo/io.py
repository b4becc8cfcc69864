"""One import for all readers and writers (they live in one module per concern).

* :mod:`geo.tables` -- CSV/XLSX tables and coordinate columns
* :mod:`geo.vector` -- Shapefile/GeoJSON/GeoPackage reading, atomic writing
* :mod:`geo.osm` -- OpenStreetMap PBF extracts
"""
from geo.osm import parse_other_tags, read_osm_pbf
from geo.tables import find_xy_columns, points_from_table, read_table, row_numbers
from geo.vector import read_vector, write_vector

__all__ = [
    "find_xy_columns",
    "parse_other_tags",
    "points_from_table",
    "read_osm_pbf",
    "read_table",
    "read_vector",
    "row_numbers",
    "write_vector",
]
