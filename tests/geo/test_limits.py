"""Zip bombs and row counts are refused before reading (geo.limits)."""
from __future__ import annotations

import struct
import zipfile

import pytest

from geo.limits import (ReadLimits, TooManyRows, UnzippedTooLarge, ZipSizesWrong, check_file, check_row_count,
                        check_zip)

MB = 1024 * 1024


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _lie_about_sizes(path, size: int) -> None:
    """Rewrite every declared uncompressed size (local headers and central directory)."""
    data = bytearray(path.read_bytes())
    i = 0
    while (i := data.find(b"PK\x03\x04", i)) >= 0:
        data[i + 22:i + 26] = struct.pack("<I", size)
        i += 4
    i = 0
    while (i := data.find(b"PK\x01\x02", i)) >= 0:
        data[i + 24:i + 28] = struct.pack("<I", size)
        i += 4
    path.write_bytes(bytes(data))


def test_declared_size_over_the_limit_is_refused(tmp_path):
    bomb = _zip(tmp_path / "roads.zip", {"roads.shp": bytes(12 * MB), "roads.dbf": bytes(12 * MB)})
    assert bomb.stat().st_size < 100_000  # tiny archive, 24 MB inside
    with pytest.raises(UnzippedTooLarge) as info:
        check_zip(bomb, max_unzipped_bytes=20 * MB, name="路网.zip")
    assert info.value.http_status == 413 and "路网.zip" in info.value.message("zh")
    assert "20" in info.value.message("en")
    assert check_zip(bomb, max_unzipped_bytes=30 * MB) == 24 * MB


def test_a_zip_that_lies_about_its_sizes_is_caught_while_streaming(tmp_path):
    honest = _zip(tmp_path / "ok.zip", {"a.shp": bytes(8 * MB), "b.dbf": b"x" * 1000})
    assert check_zip(honest, max_unzipped_bytes=20 * MB) == 8 * MB + 1000  # the real size
    bomb = _zip(tmp_path / "liar.zip", {"a.shp": bytes(8 * MB), "b.dbf": bytes(8 * MB)})
    _lie_about_sizes(bomb, 1000)
    assert sum(i.file_size for i in zipfile.ZipFile(bomb).infolist()) == 2000  # what it declares
    for limit in (5 * MB, 20 * MB):
        with pytest.raises(ZipSizesWrong) as info:
            check_zip(bomb, max_unzipped_bytes=limit, name="路网.zip")
        assert info.value.http_status == 400 and "a.shp" in info.value.message("en")


def test_no_limit_reads_nothing(tmp_path):
    bomb = _zip(tmp_path / "x.zip", {"a": bytes(MB)})
    assert check_zip(bomb, max_unzipped_bytes=None) == 0


def test_csv_rows(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("code,name\n" + "".join(f"{i},v{i}\n" for i in range(1000)), encoding="utf-8")
    assert check_row_count(path, max_rows=1000) == 1001
    with pytest.raises(TooManyRows) as info:
        check_row_count(path, max_rows=999, name="村.csv")
    assert "999" in info.value.message("en") and "村.csv" in info.value.message("zh")
    assert check_row_count(path, max_rows=None) is None


def test_xlsx_rows_and_archive(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    for i in range(51):
        wb.active.append([i, f"v{i}"])
    path = tmp_path / "v.xlsx"
    wb.save(path)
    check_file(path, ReadLimits(max_unzipped_bytes=MB, max_rows=50))  # header + 50 rows
    with pytest.raises(TooManyRows):
        check_file(path, ReadLimits(max_unzipped_bytes=MB, max_rows=49))
    with pytest.raises(UnzippedTooLarge):
        check_file(path, ReadLimits(max_unzipped_bytes=1000, max_rows=None))


def test_vector_feature_count(tmp_path):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=[shapely.Point(111, 35)] * 3, crs="EPSG:4326")
    path = tmp_path / "v.geojson"
    frame.to_file(path, driver="GeoJSON")
    assert check_row_count(path, max_rows=3) == 3
    with pytest.raises(TooManyRows):
        check_row_count(path, max_rows=2)


def test_settings():
    assert ReadLimits.from_settings(None) == ReadLimits()
    limits = ReadLimits.from_settings({"max_unzipped_mb": 1024, "max_rows": 2_000_000})
    assert limits.max_unzipped_bytes == 1024 * MB and limits.max_rows == 2_000_000
    assert ReadLimits().max_unzipped_bytes < 555 * MB  # the 11 MB → 555 MB zip of issue 14 is refused
