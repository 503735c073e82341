"""Every route is behind a guard its blueprint declared, or on the explicit public list."""

from portal.security import GUARDS, PUBLIC_ENDPOINTS


def test_every_endpoint_is_guarded_or_explicitly_public(app):
    unguarded = []
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
        if blueprint is None or blueprint not in GUARDS:
            unguarded.append(f"{rule.rule} -> {endpoint}")
    assert not unguarded, "routes with no declared guard: " + ", ".join(unguarded)


def test_declared_guards_really_run_before_each_blueprints_routes(app):
    for blueprint, guard_name in GUARDS.items():
        if blueprint not in app.blueprints:
            continue
        names = [f.__name__ for f in app.before_request_funcs.get(blueprint, [])]
        assert guard_name in names, f"{blueprint} declared {guard_name} but it is not registered"


def test_the_route_walk_sees_the_catalog_and_status_routes(app):
    # Guards against a walk that silently checks nothing.
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {"status.healthz", "status.readyz", "catalog.home"} <= endpoints
