"""Which service behind a gateway serves a route, from the services' own request lines."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from incident_flow.analysis.routes import RouteMap, request_path
from incident_flow.sources import LogRecord
from incident_flow.testing import StaticLogs

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def record(component: str, message: str, **fields: str) -> LogRecord:
    return LogRecord(
        message=message, source=component, line=1, text=message, at=AT, component=component, fields=fields
    )


def parsed(component: str, text: str) -> list[LogRecord]:
    """Records as the real parsers (``format = "auto"``) read them."""
    source = StaticLogs.from_text(component, text, component=component)
    return list(source.records(None, None))


def test_request_lines_as_frameworks_print_them() -> None:
    spring = (
        "2024-03-01 12:00:00.123  INFO 1 --- [exec-3] c.s.web.RequestLoggingFilter : "
        "Completed POST /api/login with 401 in 77 ms\n"
    )
    uvicorn = '2024-03-01 12:00:00,123 INFO [uvicorn.access] 10.0.0.2:5100 - "GET /api/me?x=1 HTTP/1.1" 200\n'
    pino = (
        '{"level":30,"time":1709294400000,"req":{"method":"GET","url":"/api/orders/17"},'
        '"res":{"statusCode":200},"msg":"request completed"}\n'
    )
    nginx = '10.0.0.1 - - [01/Mar/2024:12:00:00 +0000] "GET /api/cart/3 HTTP/1.1" 200 512 "-" "curl/8"\n'
    assert [request_path(r) for r in parsed("accounts", spring)] == ["/api/login"]
    assert [request_path(r) for r in parsed("accounts", uvicorn)] == ["/api/me"]
    assert [request_path(r) for r in parsed("orders", pino)] == ["/api/orders/17"]
    assert [request_path(r) for r in parsed("web", nginx)] == ["/api/cart/3"]
    go = "2024/03/01 12:00:00 main.go:64: [INFO] request completed method=POST path=/api/login status=401\n"
    assert [request_path(r) for r in parsed("accounts", go)] == ["/api/login"]


def test_a_call_to_another_service_is_not_a_request_served() -> None:
    # Clients name the URL they called; only an origin-form path after a method was served here.
    assert (
        request_path(record("cart", 'Post "http://pricing.internal:8080/quote": context deadline exceeded'))
        is None
    )
    assert request_path(record("cart", "POST http://pricing/quote failed")) is None
    assert request_path(record("cart", "request failed", url="http://pricing/quote")) is None
    assert request_path(record("cart", "no request here")) is None


def gateway_world() -> RouteMap:
    routes = RouteMap()
    for _ in range(5):
        for path in ("/api/login", "/api/me", "/api/orders/17", "/healthz", "/.env"):
            routes.add_route("web", path)
        routes.add_route("accounts", "/api/login")
        routes.add_route("accounts", "/api/me")
        routes.add_route("orders", "/api/orders/18")
        for service in ("accounts", "orders"):
            routes.add_route(service, "/healthz")
    return routes


def test_a_gateways_route_belongs_to_the_one_service_that_serves_it() -> None:
    routes = gateway_world()
    assert routes.fronts("web") and not routes.fronts("accounts")
    assert routes.owner("web", "/api/login") == "accounts"
    assert routes.owner("web", "/api/orders/99?expand=1") == "orders"  # ids and queries do not split
    assert routes.owner("web", "/healthz") is None  # every service answers it: nobody's
    assert routes.owner("web", "/.env") is None  # nobody serves it
    # A service is not in front of the gateway: its routes do not belong to it.
    assert routes.owner("accounts", "/api/login") is None


def test_a_path_that_names_a_known_component_routes_to_it() -> None:
    routes = RouteMap()
    assert routes.owner("gateway", "/api/shipping/quote", known={"shipping", "gateway"}) == "shipping"
    assert routes.owner("gateway", "/api/other", known={"shipping"}) is None


def test_the_target_is_where_most_requests_went() -> None:
    routes = gateway_world()
    assert routes.target("web", {"/api/login": 90, "/api/orders/1": 10}) == "accounts"
    assert routes.target("web", {"/api/login": 40, "/api/orders/1": 60}) == "orders"
    # Spread over a service and paths nobody serves: no majority, the gateway stays named.
    assert routes.target("web", {"/api/login": 40, "/.env": 60}) is None
    assert routes.target("web", []) is None


def test_a_single_line_is_not_enough_to_own_a_route() -> None:
    routes = gateway_world()
    routes.add_route("web", "/api/rare")
    routes.add_route("orders", "/api/rare")
    assert routes.owner("web", "/api/rare") is None


@given(st.text(max_size=300))
def test_any_message_gives_a_path_or_none(message: str) -> None:
    path = request_path(record("svc", message))
    assert path is None or (path.startswith("/") and "?" not in path and path in message)


@given(st.lists(st.tuples(st.sampled_from(["web", "a", "b", "c"]), st.text(max_size=40)), max_size=60))
def test_owners_are_components_that_served_the_route(entries: list[tuple[str, str]]) -> None:
    routes = RouteMap()
    for component, path in entries:
        routes.add_route(component, path)
    for _, path in entries:
        owner = routes.owner("web", path)
        assert owner is None or (owner != "web" and owner in {c for c, _ in entries})
