"""The monorepo a scenario's services live in, and the changes a scenario commits to it.

Every world has one repository (``services/<name>/...`` per service, ``deploy/nginx/`` for the gateway,
``docs/`` and CI files), written as a small but real-looking code base per stack: a FastAPI service
with ``requirements.txt`` and Alembic migrations, a Spring Boot service with ``pom.xml``, Flyway
migrations and ``application.yml``, a Go service with ``go.mod``/``go.sum`` and golang-migrate files, a
Node service with ``package.json`` and ``package-lock.json``.

A change-caused scenario rewrites one of these files: the returned :class:`Patch` holds the new
content and, for a defect, the line a stack frame will point at, so that the frame, the diff and
``git blame`` agree, as they would in a real incident.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

from .voices import Bug

__all__ = ["Patch", "ServiceCode", "bug_patch", "config_files", "dependency_bump", "service_files"]


def _fake_hash(text: str, n: int = 64) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@dataclass
class ServiceCode:
    """Where a service's files are: its folder, the file a defect goes into, its config file."""

    name: str
    stack: str
    folder: str  # services/<name>
    pkg: str
    noun: str
    target: str  # repository path of the module a bad deploy edits
    config: str  # repository path of the runtime config
    manifest: str  # requirements.txt / pom.xml / go.mod / package.json
    lock: str  # the lock file a bump rewrites (may equal manifest)
    migrations: str  # folder of schema migrations
    deps: dict[str, tuple[str, int]]  # dependency component -> (host, port) in the config
    variant: int = 0  # which defect the target module can get (see target_source)


@dataclass
class Patch:
    """A change to the repository: files, a commit message, and what the running code then does."""

    files: dict[str, str | None]
    message: str
    bug: Bug | None = None


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


# -- per-stack sources -------------------------------------------------------------------------------


def _python_module(noun: str, guarded: bool, variant: int) -> tuple[str, int, str, str, str]:
    """``pricing.py``: returns (text, line of the failing statement, function, exc type, message)."""
    lines = [
        f'"""Totals and discounts for {noun}s."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "from decimal import ROUND_HALF_UP, Decimal",
        "",
        'CENTS = Decimal("0.01")',
        "",
        "",
        "@dataclass(frozen=True)",
        "class Coupon:",
        "    code: str",
        "    percent: Decimal",
        "",
        "",
        "@dataclass(frozen=True)",
        "class Line:",
        "    sku: str",
        "    quantity: int",
        "    unit_price: Decimal",
        "",
        "",
        "def subtotal(lines: list[Line]) -> Decimal:",
        "    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))",
        "    return total.quantize(CENTS, rounding=ROUND_HALF_UP)",
        "",
        "",
    ]
    if variant == 0:
        lines += ["def apply_discount(total: Decimal, coupon: Coupon | None) -> Decimal:"]
        if guarded:
            lines += ["    if coupon is None:", "        return total"]
        fail_at = len(lines) + 1
        lines += [
            "    rate = coupon.percent / 100",
            "    return (total - total * rate).quantize(CENTS, rounding=ROUND_HALF_UP)",
        ]
        func, exc, msg = "apply_discount", "AttributeError", "'NoneType' object has no attribute 'percent'"
    else:
        lines += ["def shipping_fee(address: dict[str, str], rates: dict[str, Decimal]) -> Decimal:"]
        if guarded:
            lines += ['    region = address.get("region") or address["country"]']
        else:
            lines += ['    region = address["region"]']
        fail_at = len(lines)
        lines += ["    return rates.get(region, rates['default']).quantize(CENTS)"]
        func, exc, msg = "shipping_fee", "KeyError", "'region'"
    lines += [
        "",
        "",
        "def total(lines: list[Line], coupon: Coupon | None, fee: Decimal) -> Decimal:",
        "    return apply_discount(subtotal(lines), coupon) + fee"
        if variant == 0
        else "    return subtotal(lines) + fee",
        "",
    ]
    return "\n".join(lines), fail_at, func, exc, msg


def _java_module(pkg: str, noun: str, guarded: bool, variant: int) -> tuple[str, int, str, str, str]:
    cls = "PriceCalculator"
    lines = [
        f"package com.shopco.{pkg}.service;",
        "",
        "import java.math.BigDecimal;",
        "import java.math.RoundingMode;",
        "import java.util.List;",
        "import java.util.Map;",
        "",
        f"import com.shopco.{pkg}.model.Coupon;",
        f"import com.shopco.{pkg}.model.LineItem;",
        "import org.springframework.stereotype.Component;",
        "",
        "@Component",
        f"public class {cls} {{",
        "",
        "    private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);",
        "",
        "    public BigDecimal subtotal(List<LineItem> items) {",
        "        return items.stream()",
        "                .map(i -> i.getUnitPrice().multiply(BigDecimal.valueOf(i.getQuantity())))",
        "                .reduce(BigDecimal.ZERO, BigDecimal::add)",
        "                .setScale(2, RoundingMode.HALF_UP);",
        "    }",
        "",
    ]
    if variant == 0:
        lines += ["    public BigDecimal applyDiscount(BigDecimal total, Coupon coupon) {"]
        if guarded:
            lines += ["        if (coupon == null) {", "            return total;", "        }"]
        fail_at = len(lines) + 1
        lines += [
            "        BigDecimal rate = coupon.getPercent().divide(HUNDRED);",
            "        return total.subtract(total.multiply(rate)).setScale(2, RoundingMode.HALF_UP);",
            "    }",
        ]
        func = "applyDiscount"
        exc = "java.lang.NullPointerException"
        msg = f'Cannot invoke "com.shopco.{pkg}.model.Coupon.getPercent()" because "coupon" is null'
    else:
        lines += [
            "    public BigDecimal taxFor(String region, BigDecimal amount, Map<String, BigDecimal> rates) {"
        ]
        if guarded:
            lines += ['        BigDecimal rate = rates.getOrDefault(region, rates.get("default"));']
        else:
            lines += ["        BigDecimal rate = rates.get(region);"]
        fail_at = len(lines) + 1
        lines += ["        return amount.multiply(rate).setScale(2, RoundingMode.HALF_UP);", "    }"]
        func = "taxFor"
        exc = "java.lang.NullPointerException"
        msg = 'Cannot invoke "java.math.BigDecimal.multiply(java.math.BigDecimal)" because "rate" is null'
    lines += ["}", ""]
    return "\n".join(lines), fail_at, func, exc, msg


def _go_module(pkg: str, noun: str, guarded: bool, variant: int) -> tuple[str, int, str, str, str]:
    lines = [
        f"package {noun}",
        "",
        "import (",
        '\t"context"',
        '\t"errors"',
        '\t"time"',
        ")",
        "",
        "// ErrNotFound is returned when the SKU is unknown.",
        'var ErrNotFound = errors.New("not found")',
        "",
        "type Level struct {",
        "\tSKU       string",
        "\tAvailable int",
        "\tReserved  int",
        "\tUpdatedAt time.Time",
        "}",
        "",
        "type Store struct {",
        "\tcache map[string]*Level",
        "\tdb    Querier",
        "}",
        "",
        "type Querier interface {",
        "\tLevel(ctx context.Context, sku string) (*Level, error)",
        "\tLevels(ctx context.Context, skus []string) ([]*Level, error)",
        "}",
        "",
    ]
    if variant == 0:
        lines += [
            "// Available reports how many units of sku can still be sold.",
            "func (s *Store) Available(ctx context.Context, sku string) (int, error) {",
            "\tlvl, err := s.db.Level(ctx, sku)",
        ]
        if guarded:
            lines += ["\tif err != nil {", "\t\treturn 0, err", "\t}"]
        else:
            lines += ["\tif err != nil && !errors.Is(err, ErrNotFound) {", "\t\treturn 0, err", "\t}"]
        fail_at = len(lines) + 1
        lines += ["\treturn lvl.Available - lvl.Reserved, nil", "}"]
        func = "(*Store).Available"
        msg = "runtime error: invalid memory address or nil pointer dereference"
    else:
        lines += [
            "// First returns the level of the first SKU of a basket.",
            "func (s *Store) First(ctx context.Context, skus []string) (*Level, error) {",
            "\tlevels, err := s.db.Levels(ctx, skus)",
            "\tif err != nil {",
            "\t\treturn nil, err",
            "\t}",
        ]
        if guarded:
            lines += ["\tif len(levels) == 0 {", "\t\treturn nil, ErrNotFound", "\t}"]
        fail_at = len(lines) + 1
        lines += ["\treturn levels[0], nil", "}"]
        func = "(*Store).First"
        msg = "runtime error: index out of range [0] with length 0"
    lines += [""]
    return "\n".join(lines), fail_at, func, "panic", msg


def _node_module(noun: str, guarded: bool, variant: int) -> tuple[str, int, str, str, str]:
    lines = [
        "'use strict';",
        "",
        "const CENTS = 100;",
        "",
        "function round(amount) {",
        "  return Math.round(amount * CENTS) / CENTS;",
        "}",
        "",
    ]
    if variant == 0:
        lines += ["function lineTotal(item, catalog) {", "  const product = catalog.get(item.sku);"]
        if guarded:
            lines += ["  if (!product) {", "    throw new NotFoundError(`unknown sku ${item.sku}`);", "  }"]
        fail_at = len(lines) + 1
        lines += ["  return round(product.price * item.quantity);", "}"]
        func, msg = "lineTotal", "Cannot read properties of undefined (reading 'price')"
    else:
        lines += ["function discounted(total, promo) {"]
        if guarded:
            lines += ["  if (!promo || !promo.rules) {", "    return total;", "  }"]
        fail_at = len(lines) + 1
        lines += [
            "  const best = promo.rules.reduce((a, r) => Math.max(a, r.percent), 0);",
            "  return round(total * (1 - best / 100));",
            "}",
        ]
        func, msg = "discounted", "Cannot read properties of undefined (reading 'reduce')"
    lines += [
        "",
        "module.exports = { round, lineTotal: typeof lineTotal === 'function' ? lineTotal : null };",
        "",
    ]
    return "\n".join(lines), fail_at, func, "TypeError", msg


# -- the service tree ------------------------------------------------------------------------------


def layout(name: str, stack: str, variant: int = 0) -> ServiceCode:
    """The paths of one service's tree; ``variant`` picks the defect its target module can get."""
    pkg = name.replace("-", "")
    noun = pkg.rstrip("s") if pkg.endswith("s") and not pkg.endswith("ss") else pkg
    folder = f"services/{name}"
    if stack == "python":
        return ServiceCode(
            name,
            stack,
            folder,
            pkg,
            noun,
            f"{folder}/{pkg}/pricing.py",
            f"{folder}/config/production.yaml",
            f"{folder}/requirements.txt",
            f"{folder}/requirements.txt",
            f"{folder}/migrations/versions",
            {},
            variant,
        )
    if stack == "java":
        src = f"{folder}/src/main/java/com/shopco/{pkg}"
        return ServiceCode(
            name,
            stack,
            folder,
            pkg,
            noun,
            f"{src}/service/PriceCalculator.java",
            f"{folder}/src/main/resources/application.yml",
            f"{folder}/pom.xml",
            f"{folder}/pom.xml",
            f"{folder}/src/main/resources/db/migration",
            {},
            variant,
        )
    if stack == "go":
        return ServiceCode(
            name,
            stack,
            folder,
            pkg,
            noun,
            f"{folder}/internal/{noun}/store.go",
            f"{folder}/config/production.yaml",
            f"{folder}/go.mod",
            f"{folder}/go.sum",
            f"{folder}/migrations",
            {},
            variant,
        )
    return ServiceCode(
        name,
        stack,
        folder,
        pkg,
        noun,
        f"{folder}/src/{pkg}/pricing.js",
        f"{folder}/config/production.json",
        f"{folder}/package.json",
        f"{folder}/package-lock.json",
        f"{folder}/migrations",
        {},
        variant,
    )


def target_source(code: ServiceCode, guarded: bool, variant: int) -> tuple[str, Bug]:
    """The bug-target module's text, and the bug its unguarded version has."""
    if code.stack == "python":
        text, line, func, exc, msg = _python_module(code.noun, guarded, variant)
        code_line = text.splitlines()[line - 1]
        return text, Bug(f"/app/{code.pkg}/pricing.py", line, func, code_line, exc, msg)
    if code.stack == "java":
        text, line, func, exc, msg = _java_module(code.pkg, code.noun, guarded, variant)
        return text, Bug(
            "PriceCalculator.java",
            line,
            func,
            "",
            exc,
            msg,
            cls=f"com.shopco.{code.pkg}.service.PriceCalculator",
        )
    if code.stack == "go":
        text, line, func, exc, msg = _go_module(code.pkg, code.noun, guarded, variant)
        return text, Bug(
            f"/build/internal/{code.noun}/store.go",
            line,
            func.split(".", 1)[1] if "." in func else func,
            "",
            exc,
            msg,
            cls=f"github.com/shopco/{code.pkg}/internal/{code.noun}.(*Store)",
        )
    text, line, func, exc, msg = _node_module(code.noun, guarded, variant)
    return text, Bug(f"/usr/src/app/src/{code.pkg}/pricing.js", line, func, "", exc, msg)


PY_REQUIREMENTS = {
    "fastapi": "0.109.0",
    "uvicorn[standard]": "0.27.0",
    "gunicorn": "21.2.0",
    "SQLAlchemy": "2.0.25",
    "psycopg2-binary": "2.9.9",
    "redis": "5.0.1",
    "requests": "2.31.0",
    "urllib3": "2.1.0",
    "PyJWT": "1.7.1",
    "structlog": "24.1.0",
    "pydantic": "2.5.3",
}
JAVA_DEPS = {
    ("org.springframework.boot", "spring-boot-starter-web"): "",
    ("org.springframework.boot", "spring-boot-starter-jdbc"): "",
    ("org.postgresql", "postgresql"): "42.7.1",
    ("org.flywaydb", "flyway-core"): "9.22.3",
    ("io.jsonwebtoken", "jjwt-api"): "0.11.5",
    ("io.lettuce", "lettuce-core"): "6.3.0.RELEASE",
}
GO_REQUIRES = {
    "github.com/jackc/pgx/v5": "v5.4.3",
    "github.com/redis/go-redis/v9": "v9.3.1",
    "go.uber.org/zap": "v1.26.0",
    "github.com/go-chi/chi/v5": "v5.0.11",
    "github.com/sirupsen/logrus": "v1.9.3",
}
NODE_DEPS = {
    "fastify": "4.25.2",
    "pg": "8.11.3",
    "ioredis": "5.3.2",
    "axios": "1.6.5",
    "pino": "8.17.2",
    "node-fetch": "2.7.0",
}


def _requirements(pins: dict[str, str]) -> str:
    return "".join(
        f"{name}=={version}\n" for name, version in sorted(pins.items(), key=lambda kv: kv[0].lower())
    )


def _pom(code: ServiceCode, deps: dict[tuple[str, str], str]) -> str:
    items = []
    for (group, artifact), version in deps.items():
        ver = f"\n            <version>{version}</version>" if version else ""
        items.append(
            f"        <dependency>\n            <groupId>{group}</groupId>\n"
            f"            <artifactId>{artifact}</artifactId>{ver}\n        </dependency>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "    <modelVersion>4.0.0</modelVersion>\n"
        "    <parent>\n        <groupId>org.springframework.boot</groupId>\n"
        "        <artifactId>spring-boot-starter-parent</artifactId>\n        <version>3.2.1</version>\n"
        "    </parent>\n"
        f"    <groupId>com.shopco</groupId>\n    <artifactId>{code.name}</artifactId>\n"
        "    <version>1.0.0-SNAPSHOT</version>\n"
        "    <properties>\n        <java.version>17</java.version>\n    </properties>\n"
        "    <dependencies>\n" + "\n".join(items) + "\n    </dependencies>\n</project>\n"
    )


def _gomod(code: ServiceCode, requires: dict[str, str]) -> tuple[str, str]:
    body = "".join(f"\t{mod} {ver}\n" for mod, ver in sorted(requires.items()))
    mod = f"module github.com/shopco/{code.pkg}\n\ngo 1.21\n\nrequire (\n{body})\n"
    sums = "".join(
        f"{m} {v} h1:{_fake_hash(m + v, 43)}=\n{m} {v}/go.mod h1:{_fake_hash(m + v + 'mod', 43)}=\n"
        for m, v in sorted(requires.items())
    )
    return mod, sums


def _package(code: ServiceCode, deps: dict[str, str]) -> tuple[str, str]:
    pkg = {
        "name": f"@shopco/{code.name}",
        "version": "1.0.0",
        "private": True,
        "main": "src/server.js",
        "scripts": {"start": "node src/server.js", "test": "node --test"},
        "dependencies": {k: f"^{v}" for k, v in sorted(deps.items())},
    }
    lock = {
        "name": f"@shopco/{code.name}",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            f"node_modules/{k}": {
                "version": v,
                "resolved": f"https://registry.npmjs.org/{k}/-/{k}-{v}.tgz",
                "integrity": "sha512-" + _fake_hash(k + v, 64),
            }
            for k, v in sorted(deps.items())
        },
    }
    return json.dumps(pkg, indent=2) + "\n", json.dumps(lock, indent=2) + "\n"


def _url(code: ServiceCode, host: str, port: int) -> str:
    if port == 5432:
        return f"postgresql://{code.pkg}@{host}:5432/shop"
    if port == 6379:
        return f"redis://{host}:6379/0"
    return f"{'https' if port == 443 else 'http'}://{host}:{port}"


def config_files(code: ServiceCode, *, timeouts: dict[str, int], pool_size: int) -> dict[str, str]:
    """The runtime config file: client timeouts per dependency and the DB pool size."""
    if code.stack == "node":
        data = {
            "port": 8080,
            "database": {"poolMax": pool_size, "connectionTimeoutMillis": 5000},
            "clients": {
                dep: {"url": _url(code, host, port), "timeoutMs": timeouts.get(dep, 2000)}
                for dep, (host, port) in sorted(code.deps.items())
            },
        }
        return {code.config: json.dumps(data, indent=2) + "\n"}
    if code.stack == "java":
        out = [
            "server:",
            "  port: 8080",
            "  shutdown: graceful",
            "spring:",
            "  datasource:",
            "    hikari:",
            f"      maximum-pool-size: {pool_size}",
            "      connection-timeout: 30000",
            "clients:",
        ]
    else:
        out = [
            "listen: 0.0.0.0:8080",
            "database:",
            f"  pool_size: {pool_size}",
            "  pool_timeout_s: 30",
            "clients:",
        ]
    for dep, (host, port) in sorted(code.deps.items()):
        out += [
            f"  {dep}:",
            f"    url: {_url(code, host, port)}",
            f"    timeout_ms: {timeouts.get(dep, 2000)}",
        ]
    return {code.config: "\n".join(out) + "\n"}


def service_files(code: ServiceCode, rng: random.Random, *, table: str, owns_table: bool) -> dict[str, str]:
    """Every file of one service at the start of the history (its target module guarded)."""
    files: dict[str, str] = {}
    target, _ = target_source(code, guarded=True, variant=code.variant)
    files[code.target] = target
    files[f"{code.folder}/README.md"] = (
        f"# {code.name}\n\nOwns the `{table}` table. Runs on port 8080.\n\n## Local development\n\n"
        "```\nmake dev\n```\n"
    )
    files.update(config_files(code, timeouts={}, pool_size=rng.choice([10, 16, 20])))
    if code.stack == "python":
        files[code.manifest] = _requirements(PY_REQUIREMENTS)
        files[f"{code.folder}/{code.pkg}/__init__.py"] = ""
        files[f"{code.folder}/{code.pkg}/api.py"] = (
            "from fastapi import FastAPI\n\nfrom . import service\n\napp = FastAPI()\n\n\n"
            "@app.get('/healthz')\nasync def healthz() -> dict[str, str]:\n    return {'status': 'ok'}\n"
        )
        files[f"{code.folder}/{code.pkg}/service.py"] = (
            f'"""Business logic of {code.name}."""\n\nfrom .pricing import total\n\n\n'
            "async def handle(request):\n    return total(request.lines, request.coupon, request.fee)\n"
        )
        files[f"{code.folder}/{code.pkg}/auth.py"] = (
            "import jwt\n\n\ndef claims(token: str, key: str) -> dict:\n    return jwt.decode(token, key)\n"
        )
        files[f"{code.folder}/tests/test_pricing.py"] = (
            f"from decimal import Decimal\n\nfrom {code.pkg}.pricing import CENTS, subtotal\n\n\n"
            "def test_subtotal_of_nothing_is_zero():\n    assert subtotal([]) == Decimal(0).quantize(CENTS)\n"
        )
        files[f"{code.folder}/Dockerfile"] = (
            "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r "
            "requirements.txt\n"
            f"COPY {code.pkg}/ {code.pkg}/\n"
            f'CMD ["gunicorn", "{code.pkg}.api:app", "-k", "uvicorn.workers.UvicornWorker", "-b", '
            '"0.0.0.0:8080"]\n'
        )
        if owns_table:
            files[f"{code.migrations}/0031_create_{table}.py"] = _alembic(
                "0031", "0030", f"create {table}", f"op.create_table('{table}')"
            )
    elif code.stack == "java":
        files[code.manifest] = _pom(code, JAVA_DEPS)
        src = f"{code.folder}/src/main/java/com/shopco/{code.pkg}"
        cls = _cap(code.noun)
        files[f"{src}/{cls}Application.java"] = (
            f"package com.shopco.{code.pkg};\n\nimport org.springframework.boot.SpringApplication;\n"
            "import org.springframework.boot.autoconfigure.SpringBootApplication;\n\n@SpringBootApplication\n"
            f"public class {cls}Application {{\n    public static void main(String[] args) {{\n"
            f"        SpringApplication.run({cls}Application.class, args);\n    }}\n}}\n"
        )
        files[f"{code.folder}/src/test/java/com/shopco/{code.pkg}/service/PriceCalculatorTest.java"] = (
            f"package com.shopco.{code.pkg}.service;\n\nimport org.junit.jupiter.api.Test;\n\n"
            "class PriceCalculatorTest {\n    @Test\n    void subtotalOfNothingIsZero() {\n    }\n}\n"
        )
        if owns_table:
            files[f"{code.migrations}/V31__create_{table}.sql"] = (
                f"CREATE TABLE {table} (\n    id BIGSERIAL PRIMARY KEY,\n    created_at TIMESTAMPTZ NOT NULL "
                "DEFAULT now()\n);\n"
            )
    elif code.stack == "go":
        mod, sums = _gomod(code, GO_REQUIRES)
        files[code.manifest] = mod
        files[code.lock] = sums
        files[f"{code.folder}/cmd/{code.name}/main.go"] = (
            f'package main\n\nimport (\n\t"log"\n\n\t"github.com/shopco/{code.pkg}/internal/api"\n)\n\n'
            "func main() {\n\tlog.SetFlags(log.LstdFlags | "
            'log.Lshortfile)\n\tlog.Fatal(api.Serve(":8080"))\n}\n'
        )
        files[f"{code.folder}/internal/{code.noun}/store_test.go"] = (
            f'package {code.noun}\n\nimport "testing"\n\nfunc TestStoreZero(t *testing.T) {{}}\n'
        )
        if owns_table:
            files[f"{code.migrations}/000031_create_{table}.up.sql"] = (
                f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY);\n"
            )
    else:
        pkg, lock = _package(code, NODE_DEPS)
        files[code.manifest] = pkg
        files[code.lock] = lock
        files[f"{code.folder}/src/server.js"] = (
            "'use strict';\nconst fastify = require('fastify')({ logger: true });\n\n"
            "fastify.get('/healthz', async () => ({ status: 'ok' }));\n"
            "fastify.listen({ port: 8080, host: '0.0.0.0' });\n"
        )
        files[f"{code.folder}/test/pricing.test.js"] = (
            "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert');\n"
            f"const {{ round }} = require('../src/{code.pkg}/pricing');\n\n"
            "test('round', () => assert.strictEqual(round(1.005), 1.01));\n"
        )
        if owns_table:
            files[f"{code.migrations}/20251201120000_create_{table}.sql"] = (
                f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY);\n"
            )
    return files


def _alembic(rev: str, down: str, title: str, body: str) -> str:
    return (
        f'"""{title}\n\nRevision ID: {rev}\nRevises: {down}\n"""\n\nfrom alembic import op\n\n'
        f"revision = '{rev}'\ndown_revision = '{down}'\n\n\ndef upgrade() -> None:\n    {body}\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )


def bug_patch(code: ServiceCode, rng: random.Random) -> Patch:
    """A commit that drops a guard from the target module: the code path then fails."""
    variant = code.variant
    text, bug = target_source(code, guarded=False, variant=variant)
    messages = {
        0: ["Simplify discount calculation", "Inline coupon handling in pricing", "Clean up pricing helpers"],
        1: [
            "Use region from the address directly",
            "Refactor fee lookup",
            "Drop redundant fallback in lookup",
        ],
    }
    return Patch({code.target: text}, rng.choice(messages[variant]), bug)


def migration_patch(code: ServiceCode, table: str, column: str, new_column: str, rng: random.Random) -> Patch:
    """A schema migration that renames a column the running code still reads."""
    sql = f"ALTER TABLE {table} RENAME COLUMN {column} TO {new_column};\n"
    if code.stack == "python":
        path = f"{code.migrations}/0042_rename_{table}_{column}.py"
        body = _alembic(
            "0042",
            "0041",
            f"rename {table}.{column}",
            f"op.alter_column('{table}', '{column}', new_column_name='{new_column}')",
        )
    elif code.stack == "java":
        path, body = f"{code.migrations}/V42__rename_{table}_{column}.sql", sql
    elif code.stack == "go":
        path, body = f"{code.migrations}/000042_rename_{table}_{column}.up.sql", sql
    else:
        path, body = f"{code.migrations}/20260101090000_rename_{table}_{column}.sql", sql
    message = rng.choice(
        [
            f"Rename {table}.{column} to {new_column}",
            f"Migration: {column} -> {new_column} on {table}",
            f"Normalise column names on {table}",
        ]
    )
    return Patch({path: body}, message)


def dependency_bump(code: ServiceCode, rng: random.Random) -> tuple[Patch, str, str, str]:
    """A lock-file commit bumping one library; returns the patch, the library and both versions."""
    if code.stack == "python":
        pins = dict(PY_REQUIREMENTS)
        pins["PyJWT"] = "2.8.0"
        return (
            Patch({code.manifest: _requirements(pins)}, "Bump PyJWT from 1.7.1 to 2.8.0"),
            "PyJWT",
            "1.7.1",
            "2.8.0",
        )
    if code.stack == "java":
        deps = dict(JAVA_DEPS)
        deps[("io.jsonwebtoken", "jjwt-api")] = "0.12.3"
        return (
            Patch({code.manifest: _pom(code, deps)}, "Bump io.jsonwebtoken:jjwt-api from 0.11.5 to 0.12.3"),
            "jjwt-api",
            "0.11.5",
            "0.12.3",
        )
    if code.stack == "go":
        req = dict(GO_REQUIRES)
        req["github.com/jackc/pgx/v5"] = "v5.5.0"
        mod, sums = _gomod(code, req)
        return (
            Patch({code.manifest: mod, code.lock: sums}, "Bump github.com/jackc/pgx/v5 from 5.4.3 to 5.5.0"),
            "pgx",
            "v5.4.3",
            "v5.5.0",
        )
    packages = dict(NODE_DEPS)
    packages["node-fetch"] = "3.3.2"
    pkg, lock = _package(code, packages)
    return (
        Patch({code.manifest: pkg, code.lock: lock}, "Bump node-fetch from 2.7.0 to 3.3.2"),
        "node-fetch",
        "2.7.0",
        "3.3.2",
    )
