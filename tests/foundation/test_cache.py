from portal.cache import cached, invalidate


def test_cached_values_are_computed_once_until_invalidated(app):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert cached("testns", "k", compute) == {"n": 1}
    assert cached("testns", "k", compute) == {"n": 1}
    invalidate("testns")
    assert cached("testns", "k", compute) == {"n": 2}
    assert len(calls) == 2


def test_an_import_invalidates_cached_catalog_reads(app):
    from portal.catalog import service
    from services_catalog.importer import import_records

    first = service.search(service.parse_search_params({}))
    assert first["total"] == 0
    import_records([{"MATTHC": "1.999999", "TENTTHC": "Thủ tục thử nghiệm bộ nhớ đệm"}], full=False)
    from portal.extensions import db

    db.session.commit()
    assert service.search(service.parse_search_params({}))["total"] == 0  # still cached
    invalidate("catalog")
    assert service.search(service.parse_search_params({}))["total"] == 1
