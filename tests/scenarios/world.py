"""The noisy world every scenario happens in.

A world is a small web shop: an nginx gateway in front of three or four application services (each
in its own stack and log format), a PostgreSQL database, often a Redis, the machines or Kubernetes
nodes they run on, sometimes a bastion host, and in Kubernetes worlds CoreDNS. Over about two and a
half hours it produces what such a system records:

- **traffic**: requests arrive at the gateway from a few hundred clients; each is routed to a service,
  which calls its dependencies (the database, Redis, another service, an external API); every hop
  writes its log line, and a failure anywhere travels back up as the status the gateway logs;
- **background errors** at a constant rate before and after the incident: declined cards, client
  disconnects, an occasional Redis timeout, duplicate keys in PostgreSQL, scanners probing the gateway
  for ``/wp-login.php``, internet noise on sshd;
- **housekeeping**: health checks, checkpoints, autovacuum, RDB saves, cron, chrony;
- **metrics** for every component with a normal wiggle, and one unrelated bump (a scheduled job);
- **a repository** with a history of harmless commits, a few of them in the incident's window and one
  a minute or two before the onset; code commits deploy (the service restarts a few minutes later).

An incident (see :mod:`tests.scenarios.incidents`) adds :class:`Fault` hooks that the traffic consults
(a service that fails some requests, a dependency that refuses connections, a route that gets five
times the traffic), extra log lines of its own, metric changes and possibly the guilty commit.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from .codebase import ServiceCode, layout, service_files
from .emit import Access, Record
from .repo import Commit
from .voices import Problem, Voice, make_voice

__all__ = ["Component", "Fault", "Route", "World", "build_world"]

STEP = timedelta(seconds=30)  # metric resolution

#: Application domains: routes (method, path, median ms, body bytes, weight), table, external API.
DOMAINS: dict[str, dict[str, object]] = {
    "orders": {
        "routes": [
            ("GET", "/api/orders/{id}", 35, 1450, 3),
            ("POST", "/api/orders", 120, 620, 1),
            ("GET", "/api/orders?customer={cid}", 60, 5200, 2),
        ],
        "table": "orders",
    },
    "cart": {
        "routes": [
            ("GET", "/api/cart", 25, 2100, 4),
            ("POST", "/api/cart/items", 45, 380, 2),
            ("DELETE", "/api/cart/items/{id}", 30, 120, 1),
        ],
        "table": "cart_items",
    },
    "catalog": {
        "routes": [
            ("GET", "/api/products/{id}", 30, 3400, 5),
            ("GET", "/api/products?category={cat}", 70, 18200, 3),
            ("GET", "/api/search?q={q}", 110, 9800, 2),
        ],
        "table": "products",
    },
    "checkout": {
        "routes": [("POST", "/api/checkout", 240, 740, 2), ("GET", "/api/checkout/{id}", 40, 900, 1)],
        "table": "checkouts",
    },
    "accounts": {
        "routes": [
            ("POST", "/api/login", 90, 310, 2),
            ("GET", "/api/me", 20, 540, 4),
            ("POST", "/api/signup", 150, 280, 1),
        ],
        "table": "users",
    },
    "payments": {
        "routes": [("POST", "/api/payments", 320, 410, 2), ("GET", "/api/payments/{id}", 30, 600, 1)],
        "table": "payments",
        "external": ["api.payflow.example", "api.cardvault.example", "api.paybridge.example"],
        "ext_path": "/v1/charges",
    },
    "shipping": {
        "routes": [
            ("GET", "/api/shipping/quote?zip={zip}", 180, 350, 2),
            ("POST", "/api/shipments", 210, 520, 1),
        ],
        "table": "shipments",
        "external": ["api.shipquick.example", "api.parcelhub.example"],
        "ext_path": "/v2/rates",
    },
    "notifications": {
        "routes": [("POST", "/internal/notify", 60, 90, 1)],
        "table": "notifications",
        "internal": True,
        "external": ["api.mailrelay.example", "api.sendwave.example"],
        "ext_path": "/v3/mail/send",
    },
    "inventory": {
        "routes": [
            ("GET", "/internal/stock/{sku}", 12, 160, 3),
            ("POST", "/internal/reservations", 40, 210, 1),
        ],
        "table": "stock_levels",
        "internal": True,
    },
    "pricing": {
        "routes": [("POST", "/internal/quote", 25, 300, 1)],
        "table": "price_rules",
        "internal": True,
    },
}

STACK_WRITERS = {
    "python": ["python", "python-dashed", "structlog", "gunicorn"],
    "java": ["spring", "logback", "logstash"],
    "go": ["go", "logrus", "gokit", "zap"],
    "node": ["pino"],
}

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 "
    "Mobile Safari/537.36",
    "ShopApp/4.12.1 (iPhone; iOS 17.2; Scale/3.00)",
    "ShopApp/4.12.0 (Android 13; SM-S911B)",
    "okhttp/4.12.0",
]
SCANNER_PATHS = [
    "/wp-login.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/",
    "/admin/config.php",
    "/actuator/env",
    "/cgi-bin/luci/;stok=/locale",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/boaform/admin/formLogin",
    "/.aws/credentials",
    "/server-status",
    "/solr/admin/info/system",
]
SCANNER_AGENTS = [
    "Mozilla/5.0 zgrab/0.x",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
    "curl/7.88.1",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:54.0) Gecko/20100101 Firefox/54.0",
]
ENGINEERS = [
    ("Priya Raman", "priya.raman"),
    ("Tomás Oliveira", "tomas.oliveira"),
    ("Mei Lin", "mei.lin"),
    ("Jakob Weber", "jakob.weber"),
    ("Aisha Bello", "aisha.bello"),
    ("Sam Carter", "sam.carter"),
    ("Noor Haddad", "noor.haddad"),
    ("Olga Petrova", "olga.petrova"),
    ("Kenji Mori", "kenji.mori"),
    ("Lucía Fernández", "lucia.fernandez"),
]


@dataclass
class Route:
    """One HTTP route a service serves; ``calls`` are the dependencies each request uses, in order."""

    service: str
    method: str
    path: str
    ms: float
    size: int
    weight: float
    public: bool = True
    calls: list[str] = field(default_factory=list)


@dataclass
class Component:
    """A thing that logs or has metrics: a service, a database, a cache, DNS, a machine."""

    name: str
    role: str  # gateway | app | postgres | redis | coredns | host
    stack: str
    writer: str
    host: str
    pid: int
    ip: str
    dns: str
    port: int
    routes: list[Route] = field(default_factory=list)
    external: str | None = None
    ext_path: str = "/"
    table: str = ""
    voice: Voice | None = None
    code: ServiceCode | None = None
    records: list[Record] = field(default_factory=list)
    access: list[Access] = field(default_factory=list)  # gateway access log / a service's own
    errors: list[Record] = field(default_factory=list)  # gateway error log
    log_sample: float = 0.5
    metrics: dict[str, list[float]] = field(default_factory=dict)
    down: list[tuple[datetime, datetime, str]] = field(default_factory=list)  # (from, to, refused|hang)
    version: str = "1.0.0"

    @property
    def is_app(self) -> bool:
        return self.role == "app"

    def down_at(self, at: datetime) -> str | None:
        """``refused`` or ``hang`` while the process is dead or wedged, else None."""
        for start, end, how in self.down:
            if start <= at < end:
                return how
        return None


@dataclass
class Fault:
    """Hooks an incident installs; the traffic asks each one, in order, at every hop.

    - ``handle(component, route, at, rng)``: a :class:`Problem` when the service itself fails this
      request (a defect, its own disk), else None;
    - ``call(caller, dependency, at, rng)``: a Problem when calling the dependency fails;
    - ``latency(component, at)``: a factor on the service's latency;
    - ``weight(route, at)``: a factor on how often the route is requested;
    - ``request(route, at, rng)``: overrides for one request at the gateway (``client``, ``agent``,
      ``referer``, ``query``), for traffic that is not the usual users'.
    """

    handle: Callable[[Component, Route, datetime, random.Random], Problem | None] | None = None
    call: Callable[[Component, str, datetime, random.Random], Problem | None] | None = None
    latency: Callable[[Component, datetime], float] | None = None
    weight: Callable[[Route, datetime], float] | None = None
    request: Callable[[Route, datetime, random.Random], dict[str, str] | None] | None = None


@dataclass
class ChangeEvent:
    """A line of the ``changes`` source (a deploy, a config change, a flag flip)."""

    at: datetime
    component: str
    kind: str
    id: str
    summary: str
    author: str
    version: str = ""
    commit: Commit | None = None


@dataclass
class World:
    """Everything a case is written from; incidents mutate it, the generator writes it out."""

    rng: random.Random
    seed: int
    kind: str
    flavour: str  # vm | k8s
    start: datetime
    end: datetime
    onset: datetime
    detected: datetime
    components: dict[str, Component]
    gateway: str
    db: str
    redis: str | None
    apps: list[str]
    hosts: list[str]
    coredns: str | None
    bastion: str | None
    namespace: str
    metric_style: str
    faults: list[Fault] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    change_events: list[ChangeEvent] = field(default_factory=list)
    use_changes_source: bool = False
    files: dict[str, str] = field(default_factory=dict)  # the repository at the start
    expected_component: list[str] = field(default_factory=list)
    expected_category: str = ""
    expected_change: str | None = None  # a change event id; a commit is marked tag="guilty"
    description: str = ""
    severity: str | None = None
    system: str | None = None
    story: str = ""  # one sentence for the docs and the case file's comment
    clients: list[str] = field(default_factory=list)
    host_of: dict[str, str] = field(default_factory=dict)
    uptime: float = 0.0
    restarts: dict[str, list[datetime]] = field(default_factory=dict)  # process restarts (counters reset)

    # -- time grid -------------------------------------------------------------------------------

    @property
    def grid(self) -> list[datetime]:
        out = []
        t = self.start
        while t <= self.end:
            out.append(t)
            t += STEP
        return out

    def apps_with(self, pred: Callable[[Component], bool]) -> list[Component]:
        return [self.components[n] for n in self.apps if pred(self.components[n])]

    def callers_of(self, dep: str) -> list[Component]:
        return [c for c in (self.components[n] for n in self.apps) if any(dep in r.calls for r in c.routes)]

    def times(
        self, rate_per_hour: float, start: datetime | None = None, end: datetime | None = None
    ) -> list[datetime]:
        """Poisson arrival times at ``rate_per_hour`` between ``start`` and ``end``."""
        start = start or self.start
        end = end or self.end
        out: list[datetime] = []
        if rate_per_hour <= 0:
            return out
        t = start
        while True:
            t += timedelta(seconds=self.rng.expovariate(rate_per_hour / 3600.0))
            if t >= end:
                return out
            out.append(t)

    def log(self, name: str, record: Record, *, force: bool = False) -> None:
        """Add a record to a component's log, unless the process is down then (``force`` overrides)."""
        comp = self.components[name]
        if not force and comp.down_at(record.at) is not None:
            return
        comp.records.append(record)

    def kernel_uptime(self, at: datetime) -> str:
        return f"[{self.uptime + (at - self.start).total_seconds():12.6f}]"


# -- building ------------------------------------------------------------------------------------


def _pid(rng: random.Random) -> int:
    return rng.randint(900, 48000)


def build_world(rng: random.Random, seed: int, kind: str, *, needs: set[str] | None = None) -> World:
    """A world for one case: its components, times, clients and repository (no traffic yet).

    ``needs`` asks for parts an incident requires: ``external`` (a service calling an external API),
    ``internal`` (a service called by another), ``redis``, ``k8s``, ``vm``, ``bastion``, ``login``.
    """
    needs = needs or set()
    day = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=(seed * 7 + len(kind) * 3) % 330)
    detected = day + timedelta(
        hours=rng.randint(7, 21), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59)
    )
    onset = detected - timedelta(seconds=rng.randint(5 * 60, 15 * 60))
    start = detected - timedelta(hours=2, minutes=5)
    end = detected + timedelta(minutes=20)
    flavour = "k8s" if "k8s" in needs else "vm" if "vm" in needs else rng.choice(["vm", "k8s"])
    namespace = rng.choice(["shop", "prod", "store"])

    # Application services: one calling an external API, one internal, one or two more.
    externals = [d for d, spec in DOMAINS.items() if "external" in spec and not spec.get("internal")]
    internals = [d for d, spec in DOMAINS.items() if spec.get("internal") and "external" not in spec]
    publics = [d for d, spec in DOMAINS.items() if not spec.get("internal") and "external" not in spec]
    if "login" in needs:
        publics = ["accounts"]
    chosen = [rng.choice(externals), rng.choice(internals)]
    chosen += rng.sample(
        [p for p in publics if p not in chosen], k=1 if "login" in needs else rng.randint(1, 2)
    )
    if "login" in needs and len(chosen) < 4 and rng.random() < 0.5:
        chosen.append(
            rng.choice(
                [
                    p
                    for p in DOMAINS
                    if p not in chosen and not DOMAINS[p].get("internal") and "external" not in DOMAINS[p]
                ]
            )
        )
    rng.shuffle(chosen)

    gateway = rng.choice(["gateway", "edge", "web"])
    db = rng.choice(["postgres", "shop-db", "pg-main", "maindb"])
    has_redis = "redis" in needs or rng.random() < 0.6
    redis = rng.choice(["redis", "cache", "session-cache"]) if has_redis else None
    suffix = ".internal" if flavour == "vm" else f".{namespace}.svc.cluster.local"

    components: dict[str, Component] = {}
    host_of: dict[str, str] = {}
    if flavour == "vm":
        app_hosts = [f"app-{i}" for i in range(1, 3)]
        hosts = [*app_hosts, "db-1"] + (["cache-1"] if redis else [])
    else:
        app_hosts = [f"node-{i}" for i in range(1, 4)]
        hosts = list(app_hosts)
    bastion = None
    if "bastion" in needs or rng.random() < 0.35:
        bastion = rng.choice(["bastion-1", "jump-1", "ssh-gw"])
        hosts.append(bastion)

    def ip_for(i: int, role: str) -> str:
        if flavour == "k8s":
            return f"10.244.{rng.randint(0, 3)}.{rng.randint(2, 250)}"
        return {
            "app": f"10.0.1.{10 + i}",
            "postgres": "10.0.3.12",
            "redis": "10.0.4.5",
            "gateway": "10.0.0.10",
        }[role]

    gw_host = "edge-1" if flavour == "vm" else app_hosts[0]
    components[gateway] = Component(
        gateway,
        "gateway",
        "nginx",
        "nginx",
        gw_host,
        rng.randint(20, 60),
        ip_for(0, "gateway"),
        gateway + suffix,
        80,
    )
    host_of[gateway] = gw_host
    used_stacks: list[str] = []
    for i, name in enumerate(chosen):
        spec = DOMAINS[name]
        stack = rng.choice([s for s in ("python", "java", "go", "node") if used_stacks.count(s) < 2])
        used_stacks.append(stack)
        writer = rng.choice(STACK_WRITERS[stack])
        host = app_hosts[i % len(app_hosts)]
        if flavour == "k8s":
            pod_host = f"{name}-{rng.randrange(16**9):09x}"[: len(name) + 10] + f"-{rng.randrange(36**5):05x}"
        else:
            pod_host = host
        pid = 1 if flavour == "k8s" else _pid(rng)
        comp = Component(
            name,
            "app",
            stack,
            writer,
            pod_host,
            pid,
            ip_for(i, "app"),
            name + suffix,
            8080,
            table=str(spec["table"]),
            log_sample=rng.uniform(0.25, 0.5),
        )
        if "external" in spec:
            comp.external = rng.choice(cast(list[str], spec["external"]))
            comp.ext_path = str(spec["ext_path"])
        comp.voice = make_voice(name, stack, rng, pid=pid, ip=comp.ip, writer=writer)
        comp.code = layout(name, stack, rng.randint(0, 1))
        comp.version = f"{rng.randint(1, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        components[name] = comp
        host_of[name] = host
    db_host = "db-1" if flavour == "vm" else f"{db}-0"
    components[db] = Component(
        db, "postgres", "postgres", "postgres", db_host, _pid(rng), ip_for(0, "postgres"), db + suffix, 5432
    )
    host_of[db] = "db-1" if flavour == "vm" else app_hosts[-1]
    if redis:
        r_host = "cache-1" if flavour == "vm" else f"{redis}-0"
        components[redis] = Component(
            redis, "redis", "redis", "syslog", r_host, _pid(rng), ip_for(0, "redis"), redis + suffix, 6379
        )
        host_of[redis] = "cache-1" if flavour == "vm" else app_hosts[-1]
    coredns = None
    if flavour == "k8s":
        coredns = "coredns"
        components[coredns] = Component(
            coredns,
            "coredns",
            "coredns",
            "docker",
            f"coredns-5d78c9869d-{rng.randrange(36**5):05x}",
            1,
            "10.244.0.12",
            "kube-dns.kube-system.svc.cluster.local",
            53,
        )
    for h in hosts:
        components[h] = Component(
            h,
            "host",
            "syslog",
            rng.choice(["syslog", "syslog", "syslog5424"]),
            h,
            1,
            f"10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}",
            h + ".internal",
            22,
        )

    # Topology: public services behind the gateway; each uses the database; some use Redis;
    # the internal service is called by one or two public ones; the external caller calls its API.
    internal = [n for n in chosen if DOMAINS[n].get("internal")]
    public = [n for n in chosen if not DOMAINS[n].get("internal")]
    for name in chosen:
        comp = components[name]
        spec = DOMAINS[name]
        uses_redis = redis is not None and (rng.random() < 0.6 or "redis" in needs)
        routes = cast(list[tuple[str, str, int, int, int]], spec["routes"])
        for method, path, ms, size, weight in routes:
            calls = [db]
            if redis is not None and uses_redis and method == "GET":
                calls.insert(0, redis)
            if comp.external and method == "POST":
                calls.append(comp.external)
            route = Route(
                name,
                method,
                path,
                float(ms),
                int(size),
                float(weight),
                public=not spec.get("internal"),
                calls=[c for c in calls if c],
            )
            comp.routes.append(route)
    for name in internal:
        callers = rng.sample(public, k=min(len(public), rng.randint(1, 2)))
        for caller in callers:
            for route in components[caller].routes:
                if route.method == "POST" or rng.random() < 0.5:
                    route.calls.insert(1 if route.calls and route.calls[0] == redis else 0, name)
    # Guarantee every internal service has a caller.
    for name in internal:
        if not any(name in r.calls for c in public for r in components[c].routes):
            components[public[0]].routes[0].calls.insert(0, name)
    for name in chosen:
        code = components[name].code
        assert code is not None
        for dep in sorted({d for r in components[name].routes for d in r.calls}):
            target = components.get(dep)
            if target is not None:
                code.deps[dep] = (target.dns, target.port)
            else:
                code.deps[dep] = (dep, 443)

    metric_style = rng.choice(["short", "prom", "dd"])
    world = World(
        rng=rng,
        seed=seed,
        kind=kind,
        flavour=flavour,
        start=start,
        end=end,
        onset=onset,
        detected=detected,
        components=components,
        gateway=gateway,
        db=db,
        redis=redis,
        apps=chosen,
        hosts=hosts,
        coredns=coredns,
        bastion=bastion,
        namespace=namespace,
        metric_style=metric_style,
        host_of=host_of,
    )
    world.uptime = rng.uniform(200_000, 4_000_000)
    world.clients = [_client_ip(rng) for _ in range(rng.randint(180, 320))]
    world.files = _initial_files(world)
    world.commits = _history(world)
    world.use_changes_source = rng.random() < 0.3
    return world


def _client_ip(rng: random.Random) -> str:
    first = rng.choice(
        [
            24,
            31,
            37,
            46,
            62,
            68,
            73,
            77,
            81,
            82,
            86,
            88,
            91,
            92,
            95,
            98,
            104,
            109,
            151,
            176,
            178,
            185,
            188,
            193,
            212,
            213,
            217,
        ]
    )
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


# -- repository ----------------------------------------------------------------------------------


def _initial_files(world: World) -> dict[str, str]:
    rng = world.rng
    files: dict[str, str] = {
        "README.md": "# shop\n\nThe shop's services, deploy manifests and runbooks.\n",
        ".github/workflows/ci.yml": "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n",
        "docs/runbooks/oncall.md": "# On-call\n\nPage the owning team; check the dashboards first.\n",
        "deploy/nginx/nginx.conf": _nginx_conf(world),
        "CODEOWNERS": "".join(f"/services/{a}/ @shopco/{a}-team\n" for a in world.apps),
    }
    for name in world.apps:
        comp = world.components[name]
        assert comp.code is not None
        owns = True
        files.update(service_files(comp.code, rng, table=comp.table, owns_table=owns))
        files[f"docs/runbooks/{name}.md"] = f"# {name}\n\nDashboards: `{name}` board. Logs: `{name}` index.\n"
    return files


def _nginx_conf(world: World) -> str:
    ups = []
    locs = []
    for name in world.apps:
        comp = world.components[name]
        if any(r.public for r in comp.routes):
            ups.append(f"upstream {name} {{\n    server {comp.dns}:8080 max_fails=3 fail_timeout=10s;\n}}\n")
            prefix = "/" + "/".join(comp.routes[0].path.split("/")[1:3]).split("?")[0]
            locs.append(
                f"    location {prefix} {{\n        proxy_pass http://{name};\n"
                "        proxy_read_timeout 30s;\n    }\n"
            )
    return (
        "\n".join(ups) + '\nlog_format timed \'$remote_addr - $remote_user [$time_local] "$request" $status '
        "$body_bytes_sent '\n"
        '                 \'"$http_referer" "$http_user_agent" $request_time $upstream_response_time\';\n\n'
        "server {\n    listen 80;\n    server_name shop.example.com;\n    access_log "
        "/var/log/nginx/access.log timed;\n" + "".join(locs) + "}\n"
    )


HARMLESS_KINDS = ("docs", "tests", "other-code", "ci", "runbook")


def _harmless(world: World, at: datetime, *, avoid: set[str], kind: str | None = None) -> Commit:
    """A commit that changes nothing running in ``avoid``: docs, tests, CI, or another service's code."""
    rng = world.rng
    who, handle = rng.choice(ENGINEERS)
    kind = kind or rng.choice(HARMLESS_KINDS)
    others = [a for a in world.apps if a not in avoid]
    name = rng.choice(world.apps)
    if kind == "other-code" and not others:
        kind = "docs"
    if kind == "docs":
        path = f"services/{name}/README.md"
        text = (
            world.files.get(path, "")
            + "\n## Notes\n\n"
            + rng.choice(["Explain retries.", "Add dashboard link.", "Document env vars."])
            + "\n"
        )
        msg = rng.choice(
            [f"docs({name}): clarify local setup", f"Update {name} README", f"{name}: document env vars"]
        )
        files: dict[str, str | None] = {path: text}
    elif kind == "runbook":
        path = f"docs/runbooks/{name}.md"
        text = world.files.get(path, "") + "\nEscalate to the team channel after 15 minutes.\n"
        msg = f"runbook: escalation note for {name}"
        files = {path: text}
    elif kind == "tests":
        code = world.components[name].code
        assert code is not None
        test = {
            "python": f"{code.folder}/tests/test_pricing.py",
            "java": f"{code.folder}/src/test/java/com/shopco/{code.pkg}/service/PriceCalculatorTest.java",
            "go": f"{code.folder}/internal/{code.noun}/store_test.go",
            "node": f"{code.folder}/test/pricing.test.js",
        }[code.stack]
        extra = {
            "python": "\n\ndef test_more_cases():\n    assert True\n",
            "java": "\n// more cases\n",
            "go": "\nfunc TestMore(t *testing.T) {}\n",
            "node": "\ntest('more', () => {});\n",
        }[code.stack]
        files = {test: world.files.get(test, "") + extra}
        msg = rng.choice(
            [
                f"{name}: add tests for edge cases",
                f"test({name}): cover empty basket",
                f"Add regression test in {name}",
            ]
        )
    elif kind == "ci":
        path = ".github/workflows/ci.yml"
        files = {path: world.files[path] + f"      - run: make lint  # {rng.randrange(1000)}\n"}
        msg = rng.choice(["ci: run lint on every push", "ci: cache dependencies", "ci: bump checkout action"])
    else:
        name = rng.choice(others)
        code = world.components[name].code
        assert code is not None
        path = f"{code.folder}/README.md" if code.stack == "node" else code.config
        text = world.files.get(path, "")
        if code.stack == "node":
            text += "\nLog level can be set with LOG_LEVEL.\n"
            msg = f"{name}: document LOG_LEVEL"
        else:
            text += rng.choice(
                [
                    "# feature: order-history-pagination enabled\n",
                    "log_level: info\n",
                    "metrics:\n  enabled: true\n",
                ]
            )
            msg = rng.choice(
                [
                    f"{name}: enable request metrics",
                    f"{name}: set log level explicitly",
                    f"{name}: tidy config",
                ]
            )
        files = {path: text}
    for p, t in files.items():
        if t is not None:
            world.files[p] = t
    return Commit(at, who, f"{handle}@shopco.example", msg, files, tag=f"harmless:{kind}")


def _history(world: World) -> list[Commit]:
    """The initial import days ago, commits over the past days, and 2-4 in the incident's window."""
    rng = world.rng
    base = world.detected - timedelta(days=rng.randint(12, 40))
    first = Commit(
        base,
        "Priya Raman",
        "priya.raman@shopco.example",
        "Import the shop services",
        dict(world.files.items()),
        tag="initial",
    )
    commits = [first]
    t = base
    for _ in range(rng.randint(5, 9)):
        t += timedelta(hours=rng.uniform(20, 70))
        if t > world.detected - timedelta(hours=26):
            break
        commits.append(_harmless(world, t, avoid=set()))
    for _ in range(rng.randint(1, 3)):  # in the last day, before the window
        at = world.detected - timedelta(hours=rng.uniform(3, 22))
        commits.append(_harmless(world, at, avoid=set()))
    return sorted(commits, key=lambda c: c.at)


def add_window_commits(world: World, *, avoid: set[str]) -> None:
    """2-4 harmless commits inside the look-back window, one a minute or two before the onset.

    ``avoid`` are the components whose running code must not change (the incident's cause): their
    docs and tests may still change, as they do in real repositories.
    """
    rng = world.rng
    near = world.onset - timedelta(seconds=rng.randint(60, 150))
    world.commits.append(
        _harmless(world, near, avoid=avoid, kind=rng.choice(["docs", "tests", "other-code", "runbook"]))
    )
    wanted = rng.randint(1, 3)
    while wanted:
        at = world.start + timedelta(minutes=rng.uniform(5, 105))
        if abs((at - world.onset).total_seconds()) < 240:
            continue
        world.commits.append(_harmless(world, at, avoid=avoid))
        wanted -= 1
    world.commits.sort(key=lambda c: c.at)


def deploy_commits(world: World) -> None:
    """Code commits in the window deploy: the service restarts a few minutes after its commit.

    A commit is code when it touches a service's files other than its README and tests.
    """
    rng = world.rng
    for commit in world.commits:
        if commit.at < world.start:
            continue
        for name in world.apps:
            code = world.components[name].code
            assert code is not None
            touched = [p for p in commit.files if p.startswith(code.folder + "/")]
            running = [p for p in touched if _ships(p)]
            if not running:
                continue
            at = commit.deploy_at or commit.at + timedelta(seconds=rng.uniform(3, 9) * 60)
            restart(world, name, at, version=commit.sha[:12] if commit.sha else None)
            world.change_events.append(
                ChangeEvent(
                    at,
                    name,
                    "deploy",
                    f"deploy-{rng.randint(10000, 99999)}",
                    f"Deploy {name} {commit.sha[:12]}: {commit.message}",
                    rng.choice(["argocd", "github-actions", "spinnaker"]),
                    version=commit.sha[:12],
                    commit=commit,
                )
            )


def _ships(path: str) -> bool:
    """Whether a file is part of what a service runs (not its README, tests or docs)."""
    name = path.rsplit("/", 1)[-1]
    return not (
        name.endswith((".md", "_test.go", ".test.js"))
        or name.startswith("test_")
        or "/tests/" in path
        or "/test/" in path
        or "/src/test/" in path
    )


def restart(world: World, name: str, at: datetime, version: str | None = None) -> None:
    """The service's shutdown and startup lines around ``at``."""
    comp = world.components[name]
    if comp.voice is None:
        return
    comp.version = version or comp.version
    world.restarts.setdefault(name, []).append(at)
    for rec in comp.voice.shutdown(at - timedelta(seconds=world.rng.uniform(5, 20))):
        world.log(name, rec)
    for rec in comp.voice.startup(at, comp.version):
        world.log(name, rec)


# -- traffic -------------------------------------------------------------------------------------


def _status_for(problem: Problem) -> int:
    return {"timeout": 504, "refused": 502, "dns": 502, "tls_expired": 502, "status": 502}.get(
        problem.kind, 500
    )


def serve(
    world: World, comp: Component, route: Route, at: datetime, client: str, path: str
) -> tuple[int, float]:
    """One request to ``route`` of ``comp``: log it, call its dependencies; returns (status, ms)."""
    rng = world.rng
    voice = comp.voice
    assert voice is not None
    factor = 1.0
    for f in world.faults:
        if f.latency is not None:
            factor *= f.latency(comp, at)
    ms = route.ms * math.exp(rng.gauss(0, 0.35)) * factor
    for f in world.faults:
        if f.handle is not None:
            problem = f.handle(comp, route, at, rng)
            if problem is not None:
                status = _status_for(problem) if problem.kind != "bug" else 500
                _log_failure(
                    world, comp, at + timedelta(milliseconds=ms), route, path, problem, status, ms, client
                )
                return status, ms
    for dep in route.calls:
        target = world.components.get(dep)
        problem = None
        for f in world.faults:
            if f.call is not None:
                problem = f.call(comp, dep, at, rng)
                if problem is not None:
                    break
        if problem is None and target is not None and target.is_app:
            sub_route = rng.choice(target.routes)
            sub_path = _fill(sub_route.path, rng)
            how = target.down_at(at)
            if how is not None:
                problem = Problem(
                    "timeout" if how == "hang" else "refused",
                    "http",
                    target.dns,
                    target.ip,
                    8080,
                    sub_path,
                    sub_route.method,
                    timeout_s=2.0,
                )
            else:
                status, sub_ms = serve(
                    world, target, sub_route, at + timedelta(milliseconds=3), comp.ip, sub_path
                )
                ms += sub_ms
                if status >= 500:
                    problem = Problem(
                        "status",
                        "http",
                        target.dns,
                        target.ip,
                        8080,
                        sub_path,
                        sub_route.method,
                        status=status,
                    )
        if problem is not None:
            if problem.kind == "timeout":
                ms += problem.timeout_s * 1000
            status = _status_for(problem)
            _log_failure(
                world, comp, at + timedelta(milliseconds=ms), route, path, problem, status, ms, client
            )
            return status, ms
    status = 200 if route.method != "POST" else 201 if rng.random() < 0.5 else 200
    if rng.random() < 0.03:
        status = rng.choice([400, 404, 409, 422])
    if status >= 400 or rng.random() < comp.log_sample:
        world.log(
            comp.name, voice.request(at + timedelta(milliseconds=ms), route.method, path, status, ms, client)
        )
    return status, ms


def _log_failure(
    world: World,
    comp: Component,
    at: datetime,
    route: Route,
    path: str,
    problem: Problem,
    status: int,
    ms: float,
    client: str,
) -> None:
    """The error record, then (except pino-http, whose error record is the request line) the request line."""
    voice = comp.voice
    assert voice is not None
    world.log(comp.name, voice.failure(at, route.method, path, problem))
    if comp.stack != "node":
        world.log(
            comp.name, voice.request(at + timedelta(microseconds=300), route.method, path, status, ms, client)
        )


def _fill(path: str, rng: random.Random) -> str:
    return (
        path.replace("{id}", str(rng.randint(100000, 999999)))
        .replace("{cid}", f"c{rng.randint(1000, 99999)}")
        .replace("{cat}", rng.choice(["shoes", "bags", "outdoor", "kitchen", "toys", "books"]))
        .replace("{q}", rng.choice(["red+shoes", "tent", "usb-c+cable", "gift", "running", "mug"]))
        .replace("{zip}", str(rng.randint(10000, 99999)))
        .replace("{sku}", f"SKU-{rng.randint(10000, 99999)}")
    )


def simulate_traffic(world: World, rate: float) -> None:
    """Requests at the gateway at ``rate`` per second (as logged), routed through the services."""
    rng = world.rng
    gw = world.components[world.gateway]
    routes = [r for n in world.apps for r in world.components[n].routes if r.public]
    t = world.start
    while True:
        weights = []
        for r in routes:
            w = r.weight
            for f in world.faults:
                if f.weight is not None:
                    w *= f.weight(r, t)
            weights.append(w)
        base_total = sum(r.weight for r in routes)
        total = sum(weights)
        t += timedelta(seconds=rng.expovariate(rate * total / base_total))
        if t >= world.end:
            break
        route = rng.choices(routes, weights)[0]
        client, agent = rng.choice(world.clients), rng.choice(USER_AGENTS)
        referer = "https://shop.example.com/" if agent.startswith("Mozilla") and rng.random() < 0.7 else "-"
        query = ""
        for f in world.faults:
            if f.request is not None:
                special = f.request(route, t, rng)
                if special is not None:
                    client = special.get("client", client)
                    agent = special.get("agent", agent)
                    referer = special.get("referer", referer)
                    query = special.get("query", query)
        path = _fill(route.path, rng)
        if query:
            path += ("&" if "?" in path else "?") + query
        comp = world.components[route.service]
        how = comp.down_at(t)
        if how is not None:
            tail = (
                f', client: {client}, server: shop.example.com, request: "{route.method} {path} HTTP/1.1", '
                f'upstream: "http://{comp.ip}:8080{path}", host: "shop.example.com"'
            )
            if how == "hang":
                status, ms, upstream = 504, 30000 + rng.uniform(0, 5), 30.0
                text = (
                    "upstream timed out (110: Connection timed out) while reading response header "
                    "from upstream"
                )
            else:
                status, ms, upstream = 502, rng.uniform(0.5, 3.0), None
                text = "connect() failed (111: Connection refused) while connecting to upstream"
            gw.errors.append(
                Record(
                    t + timedelta(milliseconds=ms),
                    "error",
                    text + tail,
                    fields={"connection": rng.randint(10000, 999999)},
                )
            )
        else:
            status, ms = serve(world, comp, route, t, client, path)
            upstream = ms / 1000
            if status == 504 and ms > 30000:
                ms = 30000
        size = route.size if status < 400 else rng.randint(90, 200)
        if status >= 500 and status != 502:
            size = rng.randint(150, 600)
        gw.access.append(
            Access(
                t,
                client,
                route.method,
                path,
                status,
                int(size * rng.uniform(0.8, 1.2)),
                agent,
                ms / 1000 + rng.uniform(0.0005, 0.004),
                upstream,
                referer=referer,
            )
        )


# -- background noise ----------------------------------------------------------------------------


def background(world: World) -> None:
    """Housekeeping and the constant trickle of errors every component has, incident or not."""
    rng = world.rng
    gw = world.components[world.gateway]
    # Scanners and the load balancer's health check at the gateway.
    for t in world.times(rng.uniform(6, 14)):
        ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        path = rng.choice(SCANNER_PATHS)
        gw.access.append(Access(t, ip, "GET", path, 404, 153, rng.choice(SCANNER_AGENTS), 0.0, None))
        if rng.random() < 0.5:
            gw.errors.append(
                Record(
                    t,
                    "error",
                    f'open() "/usr/share/nginx/html{path}" failed (2: No such file or '
                    f'directory), client: {ip}, server: shop.example.com, request: "GET {path} '
                    'HTTP/1.1", host: "shop.example.com"',
                    fields={"connection": rng.randint(10000, 999999)},
                )
            )
    for t in world.times(30):
        gw.access.append(
            Access(t, "10.0.0.2", "GET", "/healthz", 200, 2, "ELB-HealthChecker/2.0", 0.001, 0.001)
        )
    for t in world.times(rng.uniform(2, 5)):
        client = rng.choice(world.clients)
        gw.access.append(
            Access(t, client, "GET", "/api/cart", 499, 0, rng.choice(USER_AGENTS), rng.uniform(5, 30), None)
        )
        gw.errors.append(
            Record(
                t,
                "info",
                f"client prematurely closed connection while reading response header "
                f"from upstream, client: {client}, server: shop.example.com",
                fields={"connection": rng.randint(10000, 999999)},
            )
        )
    for t in world.times(rng.uniform(0.5, 1.5)):
        gw.errors.append(
            Record(
                t,
                "error",
                "upstream prematurely closed connection while reading response header "
                f"from upstream, client: {rng.choice(world.clients)}, server: shop.example.com",
                fields={"connection": rng.randint(10000, 999999)},
            )
        )
    for name in world.apps:
        _app_noise(world, world.components[name])
    _postgres_noise(world, world.components[world.db])
    if world.redis:
        _redis_noise(world, world.components[world.redis])
    if world.coredns:
        _coredns_noise(world, world.components[world.coredns])
    for h in world.hosts:
        _host_noise(world, world.components[h])


def _app_noise(world: World, comp: Component) -> None:
    rng = world.rng
    voice = comp.voice
    assert voice is not None
    name = comp.name
    # Health checks, as a sample of the probe's requests.
    for t in world.times(rng.uniform(8, 16)):
        world.log(name, voice.request(t, "GET", "/healthz", 200, rng.uniform(0.3, 2.0), "10.0.0.2"))
    # Periodic work.
    job = rng.choice(["refresh-feature-cache", "sync-exchange-rates", "expire-sessions", "publish-outbox"])
    for t in world.times(rng.uniform(6, 12)):
        world.log(
            name,
            Record(
                t,
                "info",
                f"job {job} finished in {rng.uniform(0.05, 2.5):.2f}s",
                logger=voice.logger("jobs"),
                thread="scheduling-1" if comp.stack == "java" else "",
                fields={"job": job} if comp.stack in ("go", "node") else {},
            ),
        )
    # Domain errors and warnings at a constant rate.
    domain = {
        "payments": ("warning", "card declined for payment pay_{n}: insufficient_funds"),
        "accounts": ("warning", "login failed for user id={n}: invalid password"),
        "orders": ("warning", "order {n} rejected: address validation failed"),
        "cart": ("warning", "cart {n} references discontinued sku SKU-{m}"),
        "catalog": ("warning", "product {n} has no image, using placeholder"),
        "checkout": ("warning", "checkout {n} abandoned after payment timeout on client"),
        "shipping": ("warning", "no rate for zip {m}, using flat rate"),
        "inventory": ("warning", "stock level for SKU-{m} went negative, clamping to 0"),
        "pricing": ("warning", "price rule {n} expired, skipping"),
        "notifications": ("warning", "template receipt_v{m} missing locale fr-CA, falling back to en"),
    }[name]
    for t in world.times(rng.uniform(4, 12)):
        text = domain[1].format(n=rng.randint(100000, 999999), m=rng.randint(10, 99999))
        world.log(name, Record(t, domain[0], text, logger=voice.logger("app"), thread=voice.thread()))
    generic_error = {
        "python": "Exception in ASGI application: ClientDisconnect",
        "java": "Servlet.service() for servlet [dispatcherServlet] threw exception [Request processing "
        "failed: "
        "org.springframework.web.context.request.async.AsyncRequestNotUsableException: ServletOutputStream "
        "failed to flush: java.io.IOException: Broken pipe]",
        "go": "request failed",
        "node": "request errored",
    }[comp.stack]
    for t in world.times(rng.uniform(2, 6)):
        rec = Record(t, "error", generic_error, logger=voice.logger("error"), thread=voice.thread())
        if comp.stack == "go":
            rec.fields = {
                "method": "GET",
                "path": _fill(rng.choice(comp.routes).path, rng),
                "error": "context canceled",
            }
        elif comp.stack == "node":
            rec.trace = (
                "Error: aborted\n    at connResetException (node:internal/errors:787:14)\n"
                "    at abortIncoming (node:_http_server:793:17)"
            )
        world.log(name, rec)
    # A rare blip talking to a dependency (the same every hour, incident or not).
    deps = sorted({d for r in comp.routes for d in r.calls})
    for dep in deps:
        target = world.components.get(dep)
        if target is None:
            continue
        for t in world.times(rng.uniform(0.3, 1.2)):
            if target.role == "redis":
                p = Problem("timeout", "redis", target.dns, target.ip, 6379)
            elif target.role == "postgres":
                p = Problem(
                    "sql",
                    "postgres",
                    target.dns,
                    target.ip,
                    5432,
                    sql_message="canceling statement due to user request",
                    sqlstate="57014",
                    py_class="QueryCanceled",
                    statement=f"SELECT * FROM {comp.table} WHERE id = $1",
                )
            else:
                p = Problem(
                    "timeout", "http", target.dns, target.ip, 8080, target.routes[0].path.split("?")[0]
                )
            world.log(name, voice.failure(t, "GET", _fill(comp.routes[0].path, rng), p))
    if comp.stack == "java":
        for t in world.times(rng.uniform(0.5, 2)):
            world.log(
                name,
                Record(
                    t,
                    "warning",
                    f"HikariPool-1 - Failed to validate connection "
                    f"org.postgresql.jdbc.PgConnection@{rng.randrange(16**8):x} (This connection has "
                    "been closed.). Possibly consider using a shorter maxLifetime value.",
                    logger="com.zaxxer.hikari.pool.PoolBase",
                    thread="http-nio-8080-exec-3",
                ),
            )


def _pg(world: World, at: datetime, level: str, message: str, **fields: object) -> Record:
    return Record(at, level, message, fields=dict(fields), pid=world.rng.randint(1000, 60000))


def _postgres_noise(world: World, comp: Component) -> None:
    rng = world.rng
    name = comp.name
    t = world.start + timedelta(seconds=rng.uniform(0, 300))
    while t < world.end:
        world.log(name, Record(t, "info", "checkpoint starting: time", pid=comp.pid))
        done = t + timedelta(seconds=rng.uniform(150, 270))
        buffers = rng.randint(300, 4000)
        world.log(
            name,
            Record(
                done,
                "info",
                f"checkpoint complete: wrote {buffers} buffers ({buffers / 163.84:.1f}%);"
                f" 0 WAL file(s) added, 0 removed, {rng.randint(0, 3)} recycled; write="
                f"{rng.uniform(100, 260):.3f} s, sync=0.00{rng.randint(1, 9)} s, total="
                f"{rng.uniform(100, 270):.3f} s; sync files={rng.randint(20, 120)}, longest=0.002 s, "
                f"average=0.001 s; distance={rng.randint(4000, 40000)} kB, estimate="
                f"{rng.randint(4000, 40000)} kB",
                pid=comp.pid,
            ),
        )
        t += timedelta(minutes=5)
    owners = [(world.components[a].table, a.replace("-", "") + "@shop") for a in world.apps]
    tables = [table for table, _ in owners]
    for t in world.times(rng.uniform(2, 5)):
        table = rng.choice(tables)
        world.log(
            name,
            Record(
                t,
                "info",
                f'automatic vacuum of table "shop.public.{table}": index scans: 1',
                pid=rng.randint(1000, 60000),
                trace=f"\tpages: 0 removed, {rng.randint(200, 9000)} remain, {rng.randint(10, 300)} "
                f"scanned\n\ttuples: {rng.randint(10, 900)} removed, {rng.randint(5000, 900000)} remain, "
                "0 are dead but not yet removable",
            ),
        )
    for t in world.times(rng.uniform(1, 3)):
        table, who = rng.choice(owners)
        world.log(
            name,
            _pg(
                world,
                t,
                "error",
                f'duplicate key value violates unique constraint "{table}_pkey"',
                who=who,
                detail=f"Key (id)=({rng.randint(1, 999999)}) already exists.",
                statement=f"INSERT INTO {table} (id, created_at) VALUES ($1, now())",
            ),
        )
    for t in world.times(rng.uniform(0.5, 2)):
        world.log(
            name,
            _pg(
                world,
                t,
                "info",
                "could not receive data from client: Connection reset by peer",
                who=rng.choice(owners)[1],
            ),
        )
    for t in world.times(rng.uniform(1, 4)):
        table, who = rng.choice(owners)
        world.log(
            name,
            _pg(
                world,
                t,
                "info",
                f"duration: {rng.uniform(1000, 2400):.3f} ms  statement: SELECT * "
                f"FROM {table} WHERE updated_at > $1 ORDER BY updated_at LIMIT 500",
                who=who,
            ),
        )


def _redis_noise(world: World, comp: Component) -> None:
    rng = world.rng
    pid = comp.pid
    t = world.start + timedelta(seconds=rng.uniform(0, 120))
    while t < world.end:
        stamp = t.strftime("%d %b %Y %H:%M:%S.") + f"{t.microsecond // 1000:03d}"
        child = rng.randint(10000, 60000)
        for offset, text in (
            (0, "100 changes in 300 seconds. Saving..."),
            (0, f"Background saving started by pid {child}"),
            (0.4, "DB saved on disk"),
            (
                0.5,
                f"Fork CoW for RDB: current {rng.randint(1, 9)} MB, peak {rng.randint(1, 9)} MB, "
                f"average {rng.randint(1, 5)} MB",
            ),
            (0.6, "Background saving terminated with success"),
        ):
            at = t + timedelta(seconds=offset)
            role = "C" if "DB saved" in text or "Fork CoW" in text else "M"
            who = child if role == "C" else pid
            world.log(
                comp.name,
                Record(
                    at, "info", f"{who}:{role} {stamp} * {text}", app="redis-server", pid=pid, host=comp.host
                ),
            )
        t += timedelta(seconds=rng.uniform(240, 320))


def _coredns_noise(world: World, comp: Component) -> None:
    rng = world.rng
    names = [world.components[n].dns for n in [*world.apps, world.db, *(filter(None, [world.redis]))]]
    for t in world.times(rng.uniform(30, 60)):
        name = rng.choice(names)
        world.log(
            comp.name,
            Record(
                t,
                "info",
                f"[INFO] 10.244.{rng.randint(0, 3)}.{rng.randint(2, 250)}:"
                f'{rng.randint(30000, 60000)} - {rng.randint(1000, 65000)} "A IN {name}. udp '
                f'{rng.randint(50, 90)} false 512" NOERROR qr,aa,rd {rng.randint(100, 180)} '
                f"0.000{rng.randint(100, 999)}s",
            ),
        )
    for t in world.times(rng.uniform(0.5, 2)):
        ext = rng.choice([c.external for c in world.components.values() if c.external] or ["api.example.com"])
        world.log(
            comp.name,
            Record(
                t,
                "error",
                f"[ERROR] plugin/errors: 2 {ext}. AAAA: read udp 10.244.0.12:"
                f"{rng.randint(30000, 60000)}->169.254.169.253:53: i/o timeout",
            ),
        )


def _host_noise(world: World, comp: Component) -> None:
    rng = world.rng
    h = comp.name
    for t in world.times(6):
        world.log(
            h,
            Record(
                t,
                "info",
                "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
                app="CRON",
                pid=rng.randint(2000, 90000),
                host=h,
            ),
        )
    for t in world.times(rng.uniform(1, 3)):
        world.log(h, Record(t, "info", "Selected source 169.254.169.123", app="chronyd", pid=611, host=h))
    for t in world.times(rng.uniform(8, 20)):
        src = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        world.log(
            h,
            Record(
                t,
                "warning",
                f"{world.kernel_uptime(t)} [UFW BLOCK] IN=ens5 OUT= MAC=0a:1b:2c:3d:4e:5f "
                f"SRC={src} DST={comp.ip} LEN=44 TOS=0x00 PREC=0x00 TTL=242 ID={rng.randint(1, 65000)} "
                f"PROTO=TCP SPT={rng.randint(1024, 65000)} DPT={rng.choice([23, 445, 3389, 8080, 2375])} "
                "WINDOW=1024 RES=0x00 SYN URGP=0",
                app="kernel",
                host=h,
            ),
        )
    for t in world.times(rng.uniform(1, 4)):
        n = rng.randint(100, 9000)
        world.log(h, Record(t, "info", f"Started Session {n} of User deploy.", app="systemd", pid=1, host=h))
        world.log(
            h,
            Record(
                t,
                "info",
                "pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)",
                app="sshd",
                pid=rng.randint(2000, 90000),
                host=h,
            ),
        )
    if world.flavour == "k8s" and h.startswith("node-"):
        for t in world.times(rng.uniform(6, 15)):
            stamp = t.strftime("%m%d %H:%M:%S.") + f"{t.microsecond:06d}"
            world.log(
                h,
                Record(
                    t,
                    "info",
                    f'I{stamp}    1234 kubelet_getters.go:187] "Pod status updated" '
                    f'pod="{world.namespace}/{rng.choice(world.apps)}" status="Running"',
                    app="kubelet",
                    pid=1234,
                    host=h,
                ),
            )
    if h == world.bastion:
        _sshd_noise(world, comp)


def _sshd_noise(world: World, comp: Component) -> None:
    """Internet background on a public sshd: scattered invalid users, closed preauth connections."""
    rng = world.rng
    h = comp.name
    users = ["admin", "test", "oracle", "ubuntu", "git", "user", "postgres", "ftpuser", "pi", "support"]
    for t in world.times(rng.uniform(10, 25)):
        ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        pid = rng.randint(2000, 90000)
        user = rng.choice(users)
        port = rng.randint(30000, 65000)
        world.log(
            h, Record(t, "info", f"Invalid user {user} from {ip} port {port}", app="sshd", pid=pid, host=h)
        )
        world.log(
            h,
            Record(
                t + timedelta(seconds=1.5),
                "info",
                f"Connection closed by invalid user {user} {ip} port {port} [preauth]",
                app="sshd",
                pid=pid,
                host=h,
            ),
        )
    for t in world.times(rng.uniform(1, 3)):
        pid = rng.randint(2000, 90000)
        engineer = rng.choice(ENGINEERS)[1].split(".")[0]
        world.log(
            h,
            Record(
                t,
                "info",
                f"Accepted publickey for {engineer} from 10.8.0.{rng.randint(2, 40)} port "
                f"{rng.randint(40000, 65000)} ssh2: ED25519 SHA256:{_b64(rng, 43)}",
                app="sshd",
                pid=pid,
                host=h,
            ),
        )


def _b64(rng: random.Random, n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(rng.choice(alphabet) for _ in range(n))


# -- metrics -------------------------------------------------------------------------------------


def baseline_metrics(world: World) -> None:
    """Canonical gauges for every component, with a slow drift and noise; incidents edit these."""
    rng = world.rng
    n = len(world.grid)

    def series(level: float, noise: float, drift: float = 0.0) -> list[float]:
        out = []
        value = 0.0
        phase = rng.uniform(0, 6.28)
        for i in range(n):
            value = 0.7 * value + rng.gauss(0, noise)
            trend = level * drift * math.sin(phase + i / n * 3.0)
            out.append(max(0.0, level + trend + value))
        return out

    for comp in world.components.values():
        m: dict[str, list[float]] = {}
        if comp.role in ("app", "gateway"):
            rps = rng.uniform(20, 80) if comp.role == "app" else rng.uniform(120, 300)
            m["cpu"] = series(rng.uniform(15, 40), 2.0, 0.1)
            m["mem"] = series(rng.uniform(300, 1400), 6.0, 0.02)
            m["rps"] = series(rps, rps * 0.04, 0.08)
            m["p99"] = series(rng.uniform(80, 400), 12.0, 0.05)
            m["err"] = series(rng.uniform(0.02, 0.3), 0.03)
            if comp.role == "app":
                m["pool"] = series(rng.uniform(2, 6), 0.8)
        elif comp.role == "postgres":
            m["cpu"] = series(rng.uniform(20, 45), 2.5, 0.1)
            m["conn"] = series(rng.uniform(30, 55), 2.0)
            m["disk"] = series(rng.uniform(48, 72), 0.05, 0.0)
            m["tps"] = series(rng.uniform(200, 900), 25.0, 0.08)
            m["locks"] = series(rng.uniform(0.2, 1.5), 0.4)
        elif comp.role == "redis":
            m["cpu"] = series(rng.uniform(4, 12), 0.8)
            m["mem"] = series(rng.uniform(600, 2400), 4.0, 0.01)
            m["clients"] = series(rng.uniform(40, 120), 2.0)
            m["ops"] = series(rng.uniform(800, 4000), 60.0, 0.08)
        elif comp.role == "coredns":
            m["cpu"] = series(rng.uniform(2, 8), 0.5)
            m["mem"] = series(rng.uniform(18, 40), 0.3)
            m["qps"] = series(rng.uniform(300, 900), 20.0, 0.08)
            m["servfail"] = series(rng.uniform(0.05, 0.3), 0.05)
        elif comp.role == "host":
            m["cpu"] = series(rng.uniform(10, 35), 2.0, 0.1)
            m["load"] = series(rng.uniform(0.4, 2.0), 0.15)
            m["mempct"] = series(rng.uniform(35, 70), 0.6)
            m["disk"] = series(rng.uniform(30, 70), 0.04)
        comp.metrics = m


def index_of(world: World, at: datetime) -> int:
    return max(0, min(len(world.grid) - 1, int((at - world.start) / STEP)))


def shape(
    world: World,
    name: str,
    metric: str,
    start: datetime,
    fn: Callable[[float, float], float],
    end: datetime | None = None,
) -> None:
    """Apply ``fn(value, minutes since start)`` to a metric from ``start`` (to ``end``)."""
    values = world.components[name].metrics.get(metric)
    if values is None:
        return
    for i, t in enumerate(world.grid):
        if t >= start and (end is None or t < end):
            values[i] = fn(values[i], (t - start).total_seconds() / 60)


def unrelated_bump(world: World, *, avoid: set[str]) -> None:
    """A scheduled job somewhere else: CPU (and a little latency) up for 5-12 minutes, with its log lines."""
    rng = world.rng
    candidates = [n for n in world.apps if n not in avoid]
    if world.db not in avoid:
        candidates.append(world.db)
    if not candidates:
        return
    name = rng.choice(candidates)
    at = world.start + timedelta(minutes=rng.uniform(15, 125))
    length = rng.uniform(5, 12)
    end = at + timedelta(minutes=length)
    factor = rng.uniform(1.8, 2.8)
    shape(world, name, "cpu", at, lambda v, _m: min(98.0, v * factor), end)
    shape(world, name, "p99", at, lambda v, _m: v * 1.25, end)
    comp = world.components[name]
    if comp.role == "postgres":
        table = world.components[rng.choice(world.apps)].table
        world.log(name, _pg(world, at, "info", f'automatic analyze of table "shop.public.{table}"'))
        world.log(
            name,
            _pg(
                world,
                end,
                "info",
                f'automatic vacuum of table "shop.public.{table}": index scans: 3',
            ),
        )
    else:
        voice = comp.voice
        assert voice is not None
        job = rng.choice(["rebuild-search-index", "nightly-report", "reconcile-ledger", "warm-cache"])
        world.log(
            name,
            Record(
                at,
                "info",
                f"Starting scheduled job {job}",
                logger=voice.logger("jobs"),
                thread="scheduling-1" if comp.stack == "java" else "",
            ),
        )
        world.log(
            name,
            Record(
                end,
                "info",
                f"Scheduled job {job} completed in {length * 60:.0f}s",
                logger=voice.logger("jobs"),
                thread="scheduling-1" if comp.stack == "java" else "",
            ),
        )


def traffic_metrics(world: World) -> None:
    """Fold what the simulated gateway saw (5xx share, latency) into the services' metrics.

    Per grid step the error ratio and a latency figure of each service's requests are compared with
    its baseline, so a metric moves exactly when and as much as the logs do.
    """
    gw = world.components[world.gateway]
    per: dict[tuple[str, int], list[tuple[int, float]]] = {}
    owner = {}
    for name in world.apps:
        for r in world.components[name].routes:
            owner[r.path.split("?")[0].split("{")[0]] = name
    for acc in gw.access:
        svc = next((n for p, n in owner.items() if acc.path.startswith(p)), None)
        if svc is None:
            continue
        per.setdefault((svc, index_of(world, acc.at)), []).append((acc.status, acc.request_time))
        per.setdefault((world.gateway, index_of(world, acc.at)), []).append((acc.status, acc.request_time))
    for (name, i), reqs in per.items():
        comp = world.components[name]
        bad = sum(1 for s, _ in reqs if s >= 500) / len(reqs)
        if bad > 0.05:
            base = comp.metrics["rps"][i]
            comp.metrics["err"][i] = max(comp.metrics["err"][i], bad * base)
        slow = sorted(rt for _, rt in reqs)[int(0.9 * (len(reqs) - 1))] * 1000
        if slow > 2 * comp.metrics["p99"][i]:
            comp.metrics["p99"][i] = slow
