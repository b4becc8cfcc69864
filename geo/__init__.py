"""Generic geospatial plumbing: CRSs, readers/writers, geometry helpers, problem records.

No domain knowledge lives here (no villages, roads or cold stores). Modules:

* :mod:`geo.report` -- :class:`~geo.report.Problem`, the file/row/field problem record
* :mod:`geo.crs` -- GCJ-02/BD-09 conversions, ``parse_crs``/``to_wgs84``, metric CRS choice
* :mod:`geo.tables` -- CSV/XLSX reading, coordinate columns to points
* :mod:`geo.vector` -- Shapefile/GeoJSON/GeoPackage reading, atomic writing
* :mod:`geo.osm` -- OpenStreetMap PBF extracts
* :mod:`geo.errors` -- typed errors (code, kind → HTTP status, zh/en messages)
"""
