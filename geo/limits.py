"""Bounded reading of untrusted files: zip archives (shapefiles, .xlsx) and row counts.

A small upload can hide a huge file: an 11 MB zip may unpack to 555 MB, and a reader
would spend minutes and gigabytes before any validation could complain. These checks
run before reading:

* :func:`check_zip` sums the sizes the archive declares for its members (cheap: the
  central directory only) and refuses an archive over the limit at once; then it
  decompresses every member as a stream (1 MB at a time, output discarded) counting
  the real bytes, and stops as soon as a member exceeds its declared size, so an
  archive that lies about its sizes is refused after at most its declared total
  (itself under the limit) of work, in constant memory.
* :func:`check_row_count` counts the records of a table or vector file without
  reading them (line breaks of a text file, the feature count GDAL reports).
"""
from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from geo.errors import InvalidInput, TooLarge

__all__ = ["ReadLimits", "UnzippedTooLarge", "ZipSizesWrong", "TooManyRows", "check_zip", "check_row_count", "check_file"]

_MB = 1024 * 1024


class UnzippedTooLarge(TooLarge):
    code = "file.unzipped_too_large"
    en = ("{file}: the archive unpacks to more than {limit_mb} MB (the limit of this workspace; "
          "an administrator can raise upload_limits.max_unzipped_mb)")
    zh = "{file}：压缩包解压后超过 {limit_mb} MB（本工作空间的上限；管理员可调高 upload_limits.max_unzipped_mb）"


class ZipSizesWrong(InvalidInput):
    code = "file.zip_sizes_wrong"
    en = "{file}: member {member} unpacks to more than the size the archive declares (a damaged or crafted zip)"
    zh = "{file}：其中的 {member} 解压后大于压缩包声明的大小（压缩包损坏或被篡改）"


class TooManyRows(TooLarge):
    code = "file.too_many_rows"
    en = ("{file}: more than {limit} rows (the limit of this workspace; an administrator can raise "
          "upload_limits.max_rows)")
    zh = "{file}：超过 {limit} 行（本工作空间的上限；管理员可调高 upload_limits.max_rows）"


@dataclass(frozen=True)
class ReadLimits:
    """Limits for one file (``None``: no limit).

    Attributes
    ----------
    max_unzipped_bytes : int or None
        Total uncompressed size of a zip archive's members (zipped shapefile, .xlsx).
    max_rows : int or None
        Records in a table or vector file (text lines for CSV, which may over-count
        quoted line breaks, never under-count).
    """

    max_unzipped_bytes: int | None = 300 * _MB
    max_rows: int | None = 300_000

    @classmethod
    def from_settings(cls, settings: dict | None) -> "ReadLimits":
        """From ``{"max_unzipped_mb": 300, "max_rows": 300000}`` (missing keys: defaults)."""
        settings = dict(settings or {})
        default = cls()
        mb = settings.get("max_unzipped_mb")
        rows = settings.get("max_rows")
        return cls(max_unzipped_bytes=default.max_unzipped_bytes if mb is None else int(float(mb) * _MB),
                   max_rows=default.max_rows if rows is None else int(rows))


def check_zip(path, *, max_unzipped_bytes: int | None, name: str | None = None, chunk: int = 1 << 20) -> int:
    """Refuse a zip archive that unpacks to more than ``max_unzipped_bytes``.

    Returns the uncompressed size. Raises :class:`UnzippedTooLarge` (declared total over
    the limit), :class:`ZipSizesWrong` (a member inflates beyond its declared size), or
    :class:`zipfile.BadZipFile` for a damaged archive.
    """
    path = Path(path)
    name = name or path.name
    if max_unzipped_bytes is None:
        return 0
    limit_mb = round(max_unzipped_bytes / _MB, 1)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        declared = sum(i.file_size for i in infos)
        if declared > max_unzipped_bytes:
            raise UnzippedTooLarge(file=name, limit_mb=limit_mb, declared_bytes=declared)
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            # zipfile's own reader stops at the declared size; inflate the raw stream
            # ourselves so a member that lies about its size is caught.
            real = _inflated_size(zf, info, info.file_size, chunk)
            if real > info.file_size:
                raise ZipSizesWrong(file=name, member=info.filename)
            total += real
    return total


def _inflated_size(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, chunk: int) -> int:
    """Bytes ``info`` really inflates to, stopping once past ``budget``; at most ``chunk``
    bytes of output are held at a time."""
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size
    if info.compress_type != zipfile.ZIP_DEFLATED:
        # bzip2/lzma members: rare in shapefiles and workbooks; count through zipfile
        count = 0
        with zf.open(info) as member:
            while block := member.read(chunk):
                count += len(block)
                if count > budget:
                    break
        return count
    with zf.open(info) as member:  # positions the raw stream after the local header
        raw = member._fileobj  # noqa: SLF001 - the compressed bytes, unlimited by file_size
        inflater = zlib.decompressobj(-15)
        left = info.compress_size
        count = 0
        while left > 0 and count <= budget:
            data = raw.read(min(chunk, left))
            if not data:
                break
            left -= len(data)
            while data and count <= budget:
                count += len(inflater.decompress(data, chunk))
                data = inflater.unconsumed_tail
        return count


def check_row_count(path, *, max_rows: int | None, name: str | None = None) -> int | None:
    """Refuse a CSV/TXT or vector file with more than ``max_rows`` records.

    Returns the count found (None for formats it does not count: OSM files are bounded
    by their size). Raises :class:`TooManyRows`.
    """
    path = Path(path)
    name = name or path.name
    if max_rows is None:
        return None
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        lines = 0
        last = b"\n"
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
                if lines > max_rows + 1:  # + the header
                    raise TooManyRows(file=name, limit=max_rows)
        return lines + (last != b"\n")
    if suffix in (".xlsx", ".xlsm"):
        # streamed (read-only mode keeps one row at a time); stops past the limit
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - unreadable here: the reader reports it properly
            return None
        try:
            most = 0
            for sheet in wb.worksheets:
                count = 0
                for _row in sheet.iter_rows(values_only=True):
                    count += 1
                    if count > max_rows + 1:
                        raise TooManyRows(file=name, limit=max_rows)
                most = max(most, count)
            return most
        except TooManyRows:
            raise
        except Exception:  # noqa: BLE001 - a damaged sheet (broken XML): the reader reports it properly
            return None
        finally:
            wb.close()
    if suffix in (".geojson", ".json", ".gpkg", ".shp", ".zip"):
        import pyogrio

        source = str(path)
        if suffix == ".zip":
            source = f"/vsizip/{path}"
        try:
            layers = pyogrio.list_layers(source)
            count = sum(int(pyogrio.read_info(source, layer=str(layer[0])).get("features") or 0)
                        for layer in layers)
        except Exception:  # noqa: BLE001 - unreadable here: the reader reports it properly
            return None
        if count > max_rows:
            raise TooManyRows(file=name, limit=max_rows)
        return count
    return None


def check_file(path, limits: ReadLimits, *, name: str | None = None) -> None:
    """:func:`check_zip` for archives (.zip, .xlsx, .xlsm), then :func:`check_row_count`."""
    path = Path(path)
    if path.suffix.lower() in (".zip", ".xlsx", ".xlsm") and zipfile.is_zipfile(path):
        check_zip(path, max_unzipped_bytes=limits.max_unzipped_bytes, name=name)
    check_row_count(path, max_rows=limits.max_rows, name=name)
