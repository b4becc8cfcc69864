import geo.io


def test_io_facade_exports():
    for name in geo.io.__all__:
        assert callable(getattr(geo.io, name))
