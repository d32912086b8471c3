"""How a Python, Java, Go or Node service words its requests and its failures.

A failure is described once, language-neutrally, as a :class:`Problem` (connection refused by
``redis.internal:6379``, a certificate that expired on ``api.payflow.example``, a PostgreSQL error
relayed by the driver...). Each :class:`Voice` turns it into what that stack's usual libraries print:
psycopg2, redis-py, requests/urllib3 and SQLAlchemy for Python; the PostgreSQL JDBC driver, HikariCP,
Lettuce and Spring's ``RestTemplate`` for Java; pgx, go-redis and ``net/http`` for Go; node-postgres,
ioredis and axios for Node. The texts are those libraries' own messages (written from knowledge of
them, not from any list in incident-flow), so the analyzers meet the variety a real fleet has: the
same refused connection reads five different ways, and some libraries name only an IP address.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from .emit import Record

__all__ = ["Bug", "Problem", "Voice", "make_voice"]


@dataclass
class Bug:
    """A defect in a service's own code, at a file and line of the deployed tree."""

    file: str  # deployed path or Java file name, as a stack frame shows it
    line: int
    function: str
    code: str  # the source line, for Python frames
    exc_type: str
    exc_message: str
    cls: str = ""  # Java class (fully qualified) / Go receiver / JS function owner
    extra: list[str] = field(default_factory=list)  # frames below the failing one (library code)


@dataclass
class Problem:
    """One failure as a caller experiences it, independent of the language that reports it.

    ``kind`` is one of: ``refused``, ``timeout``, ``dns``, ``tls_expired``, ``pool``, ``sql``,
    ``disk``, ``bug``, ``status`` (the dependency answered 5xx), ``reset``, ``too_many_clients``.
    ``proto`` is ``postgres``, ``redis``, ``http`` or ``https``.
    """

    kind: str
    proto: str = "http"
    host: str = ""
    ip: str = ""
    port: int = 0
    path: str = "/"
    method: str = "GET"
    timeout_s: float = 2.0
    sql_message: str = ""  # the server's primary message: 'column "x" does not exist'
    sqlstate: str = ""
    py_class: str = ""  # psycopg2.errors class
    statement: str = ""
    detail: str = ""
    hint: str = ""
    status: int = 503
    not_after: datetime | None = None
    now: datetime | None = None
    file_path: str = ""
    pool_size: int = 10
    bug: Bug | None = None
    resolver: str = "10.96.0.10"
    client_ip: str = "10.0.1.7"


_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Voice:
    """The words of one service: its stack, its module or package names, its loggers and threads."""

    service: str
    stack: str  # python | java | go | node
    pkg: str  # python package / java package / go module / node app folder
    rng: random.Random
    pid: int = 1
    ip: str = "10.0.1.7"
    writer: str = ""
    counters: dict[str, int] = field(default_factory=dict)

    # -- shared helpers -----------------------------------------------------------------------------

    def _next(self, key: str, start: int) -> int:
        self.counters[key] = self.counters.get(key, start) + self.rng.randint(1, 7)
        return self.counters[key]

    def thread(self) -> str:
        if self.stack == "java":
            return f"http-nio-8080-exec-{self.rng.randint(1, 40)}"
        return ""

    @property
    def noun(self) -> str:
        return self.pkg.rstrip("s") if self.pkg.endswith("s") else self.pkg

    @property
    def cls_prefix(self) -> str:
        return self.noun.capitalize()

    def logger(self, role: str) -> str:
        """A logger name as the stack writes it (``orders.api``, ``c.s.orders.web.OrderController``)."""
        if self.stack == "python":
            return {"web": "uvicorn.access", "app": f"{self.pkg}.api", "db": f"{self.pkg}.db"}.get(
                role, f"{self.pkg}.{role}"
            )
        if self.stack == "java":
            short = f"c.s.{self.pkg}"
            return {
                "web": f"{short}.web.RequestLoggingFilter",
                "app": f"{short}.web.{self.cls_prefix}Controller",
                "db": "com.zaxxer.hikari.pool.HikariPool",
                "error": "o.a.c.c.C.[.[.[/].[dispatcherServlet]",
            }.get(role, f"{short}.{role}")
        return role

    # -- requests -----------------------------------------------------------------------------------

    def request(self, at: datetime, method: str, path: str, status: int, ms: float, client: str) -> Record:
        """The line the service writes when it finishes a request."""
        level = "info" if status < 400 else "warning" if status < 500 else "error"
        if self.stack == "python":
            text = f'{client}:{self.rng.randint(30000, 60999)} - "{method} {path} HTTP/1.1" {status}'
            return Record(at, level, text, logger="uvicorn.access")
        if self.stack == "java":
            text = f"Completed {method} {path} with {status} in {ms:.0f} ms"
            return Record(at, level, text, logger=self.logger("web"), thread=self.thread())
        if self.stack == "go":
            fields: dict[str, object] = {
                "method": method,
                "path": path,
                "status": status,
                "duration": f"{ms:.2f}ms",
                "remote": client,
            }
            return Record(at, level, "request completed", fields=fields)
        req_id = self._next("req", 1000)
        fields = {
            "req": {"id": req_id, "method": method, "url": path, "remoteAddress": f"::ffff:{client}"},
            "res": {"statusCode": status},
            "responseTime": round(ms),
        }
        msg = "request completed" if status < 500 else "request errored"
        return Record(at, level, msg, fields=fields)

    # -- lifecycle ----------------------------------------------------------------------------------

    def startup(self, at: datetime, version: str) -> list[Record]:
        """What the service prints when a new version starts (a deploy or a restart)."""
        from datetime import timedelta

        later = at + timedelta(seconds=self.rng.uniform(2.5, 9.0))
        if self.stack == "python":
            return [
                Record(
                    at, "info", f"Starting gunicorn 21.2.0 ({self.pkg} {version})", logger="gunicorn.error"
                ),
                Record(at, "info", "Listening at: http://0.0.0.0:8080 (1)", logger="gunicorn.error"),
                Record(at, "info", "Using worker: uvicorn.workers.UvicornWorker", logger="gunicorn.error"),
                Record(later, "info", "Application startup complete.", logger="uvicorn.error"),
            ]
        if self.stack == "java":
            main = f"c.s.{self.pkg}.{self.cls_prefix}Application"
            return [
                Record(
                    at,
                    "info",
                    f"Starting {self.cls_prefix}Application v{version} using Java 17.0.9 with PID {self.pid}",
                    logger=main,
                    thread="main",
                ),
                Record(
                    at,
                    "info",
                    "HikariPool-1 - Starting...",
                    logger="com.zaxxer.hikari.HikariDataSource",
                    thread="main",
                ),
                Record(
                    later,
                    "info",
                    "Tomcat started on port(s): 8080 (http) with context path ''",
                    logger="o.s.b.w.embedded.tomcat.TomcatWebServer",
                    thread="main",
                ),
                Record(
                    later,
                    "info",
                    f"Started {self.cls_prefix}Application in {self.rng.uniform(6, 14):.3f} seconds "
                    f"(process running for {self.rng.uniform(7, 16):.3f})",
                    logger=main,
                    thread="main",
                ),
            ]
        if self.stack == "go":
            return [
                Record(at, "info", "starting server", fields={"version": version, "addr": ":8080"}),
                Record(later, "info", "ready", fields={"version": version}),
            ]
        return [
            Record(at, "info", f"{self.pkg} {version} starting", fields={"env": "production"}),
            Record(later, "info", "Server listening at http://0.0.0.0:8080"),
        ]

    def shutdown(self, at: datetime) -> list[Record]:
        if self.stack == "python":
            return [Record(at, "info", "Handling signal: term", logger="gunicorn.error")]
        if self.stack == "java":
            return [
                Record(
                    at,
                    "info",
                    "Commencing graceful shutdown. Waiting for active requests to complete",
                    logger="o.s.b.w.e.tomcat.GracefulShutdown",
                    thread="SpringApplicationShutdownHook",
                )
            ]
        if self.stack == "go":
            return [Record(at, "info", "shutting down", fields={"signal": "terminated"})]
        return [Record(at, "info", "received SIGTERM, closing server")]

    # -- failures -----------------------------------------------------------------------------------

    def failure(self, at: datetime, method: str, path: str, problem: Problem) -> Record:
        """The error record for a request that failed because of ``problem``."""
        make = {"python": self._py, "java": self._java, "go": self._go, "node": self._node}[self.stack]
        return make(at, method, path, problem)

    # Python ---------------------------------------------------------------------------------------

    def _py_frames(self, method: str, path: str, library: list[tuple[str, int, str, str]]) -> str:
        view = self.rng.choice(["get_", "create_", "update_", "list_"]) + self.noun
        frames = [
            (
                "/usr/local/lib/python3.11/site-packages/starlette/middleware/errors.py",
                164,
                "__call__",
                "await self.app(scope, receive, _send)",
            ),
            (
                "/usr/local/lib/python3.11/site-packages/fastapi/routing.py",
                274,
                "app",
                "raw_response = await run_endpoint_function(",
            ),
            (
                f"/app/{self.pkg}/api.py",
                self.rng.randint(40, 140),
                view,
                f"return await service.{view}(request)",
            ),
            (
                f"/app/{self.pkg}/service.py",
                self.rng.randint(30, 160),
                view,
                f"row = await self.repo.fetch_{self.noun}(ident)",
            ),
        ]
        frames += library
        out = ["Traceback (most recent call last):"]
        for file, line, func, code in frames:
            out.append(f'  File "{file}", line {line}, in {func}')
            out.append(f"    {code}")
        return "\n".join(out)

    def _py(self, at: datetime, method: str, path: str, p: Problem) -> Record:
        lib: list[tuple[str, int, str, str]] = []
        final = ""
        chained = ""
        msg = "Exception in ASGI application"
        if p.kind == "bug" and p.bug is not None:
            b = p.bug
            frames = [
                (
                    "/usr/local/lib/python3.11/site-packages/fastapi/routing.py",
                    274,
                    "app",
                    "raw_response = await run_endpoint_function(",
                ),
                (
                    f"/app/{self.pkg}/api.py",
                    self.rng.randint(40, 140),
                    "handle",
                    "return await service.handle(request)",
                ),
                (b.file, b.line, b.function, b.code.strip()),
            ]
            out = ["Traceback (most recent call last):"]
            for file, line, func, code in frames:
                out += [f'  File "{file}", line {line}, in {func}', f"    {code}"]
            out += b.extra
            out.append(f"{b.exc_type}: {b.exc_message}")
            return Record(at, "error", msg, logger="uvicorn.error", trace="\n".join(out))
        if p.proto == "postgres":
            lib = [
                (
                    "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/default.py",
                    922,
                    "do_execute",
                    "cursor.execute(statement, parameters)",
                )
            ]
            if p.kind == "refused":
                final = (
                    f'psycopg2.OperationalError: connection to server at "{p.host}" ({p.ip}), port {p.port} '
                    "failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP "
                    "connections?"
                )
            elif p.kind == "timeout":
                final = (
                    f'psycopg2.OperationalError: connection to server at "{p.host}" ({p.ip}), port {p.port} '
                    "failed: timeout expired"
                )
            elif p.kind == "dns":
                final = (
                    f'psycopg2.OperationalError: could not translate host name "{p.host}" to address: '
                    "Temporary failure in name resolution"
                )
            elif p.kind == "too_many_clients":
                final = (
                    f'psycopg2.OperationalError: connection to server at "{p.host}" ({p.ip}), port {p.port} '
                    "failed: FATAL:  sorry, too many clients already"
                )
            elif p.kind == "pool":
                lib = [
                    (
                        "/usr/local/lib/python3.11/site-packages/sqlalchemy/pool/impl.py",
                        157,
                        "_do_get",
                        "raise exc.TimeoutError(",
                    )
                ]
                final = (
                    f"sqlalchemy.exc.TimeoutError: QueuePool limit of size {p.pool_size} overflow "
                    f"{p.pool_size} reached, connection timed out, timeout 30.00 (Background on this error "
                    "at: https://sqlalche.me/e/20/3o7r)"
                )
            elif p.kind == "sql":
                wrapper = "ProgrammingError" if p.sqlstate.startswith("42") else "OperationalError"
                final = f"psycopg2.errors.{p.py_class}: {p.sql_message}"
                if p.detail:
                    final += f"\nDETAIL:  {p.detail}"
                if p.hint:
                    final += f"\nHINT:  {p.hint}"
                chained = (
                    f"sqlalchemy.exc.{wrapper}"
                    f": (psycopg2.errors.{p.py_class}) {p.sql_message}\n[SQL: {p.statement}]\n"
                    "(Background on this error at: https://sqlalche.me/e/20/f405)"
                )
        elif p.proto == "redis":
            lib = [
                (
                    "/usr/local/lib/python3.11/site-packages/redis/connection.py",
                    707,
                    "connect",
                    "raise ConnectionError(self._error_message(e))",
                )
            ]
            if p.kind == "refused":
                final = (
                    f"redis.exceptions.ConnectionError: Error 111 connecting to {p.host}:{p.port}. "
                    "Connection refused."
                )
            elif p.kind == "timeout":
                final = f"redis.exceptions.TimeoutError: Timeout reading from {p.host}:{p.port}"
            elif p.kind == "dns":
                final = (
                    f"redis.exceptions.ConnectionError: Error -3 connecting to {p.host}:{p.port}. "
                    "Temporary failure in name resolution."
                )
            elif p.kind == "reset":
                final = "redis.exceptions.ConnectionError: Connection closed by server."
        else:  # http / https through requests
            scheme = "https" if p.proto == "https" else "http"
            pool = "HTTPSConnectionPool" if scheme == "https" else "HTTPConnectionPool"
            lib = [
                (
                    "/usr/local/lib/python3.11/site-packages/requests/adapters.py",
                    519,
                    "send",
                    "raise ConnectionError(e, request=request)",
                )
            ]
            where = f"{pool}(host='{p.host}', port={p.port})"
            if p.kind == "refused":
                final = (
                    f"requests.exceptions.ConnectionError: {where}: Max retries exceeded with url: {p.path} "
                    f"(Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at "
                    f"0x7f{self.rng.randrange(16**10):010x}>: Failed to establish a new connection: "
                    "[Errno 111] Connection refused'))"
                )
            elif p.kind == "timeout":
                final = (
                    f"requests.exceptions.ReadTimeout: {where}: Read timed out. (read timeout={p.timeout_s})"
                )
            elif p.kind == "dns":
                final = (
                    f"requests.exceptions.ConnectionError: {where}: Max retries exceeded with url: {p.path} "
                    f'(Caused by NameResolutionError("<urllib3.connection.HTTPConnection object at '
                    f"0x7f{self.rng.randrange(16**10):010x}>: Failed to resolve '{p.host}' "
                    '([Errno -3] Temporary failure in name resolution)"))'
                )
            elif p.kind == "tls_expired":
                lib = [
                    (
                        "/usr/local/lib/python3.11/site-packages/requests/adapters.py",
                        517,
                        "send",
                        "raise SSLError(e, request=request)",
                    )
                ]
                final = (
                    f"requests.exceptions.SSLError: {where}: Max retries exceeded with url: {p.path} "
                    "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
                    "certificate verify failed: certificate has expired (_ssl.c:1006)')))"
                )
            elif p.kind == "status":
                final = (
                    f"requests.exceptions.HTTPError: {p.status} Server Error: "
                    f"{_REASONS.get(p.status, 'Error')} "
                    f"for url: {scheme}://{p.host}:{p.port}{p.path}"
                )
        if p.kind == "disk":
            lib = [
                (f"/app/{self.pkg}/exports.py", self.rng.randint(20, 90), "write_export", "fh.write(chunk)")
            ]
            final = f"OSError: [Errno 28] No space left on device: '{p.file_path}'"
        trace = self._py_frames(method, path, lib) + "\n" + final
        if chained:
            trace += "\n\nThe above exception was the direct cause of the following exception:\n\n"
            trace += self._py_frames(method, path, []) + "\n" + chained
        return Record(at, "error", msg, logger="uvicorn.error", trace=trace)

    # Java -----------------------------------------------------------------------------------------

    def _java_app_frames(self) -> list[str]:
        c = self.cls_prefix
        base = f"com.shopco.{self.pkg}"
        return [
            f"\tat {base}.service.{c}Service.handle({c}Service.java:{self.rng.randint(40, 200)})",
            f"\tat {base}.web.{c}Controller.handle({c}Controller.java:{self.rng.randint(30, 120)})",
            "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke("
            "DirectMethodHandleAccessor.java:103)",
            "\tat org.springframework.web.servlet.FrameworkServlet.processRequest("
            "FrameworkServlet.java:1011)",
            "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:174)",
            "\tat org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1744)",
            "\tat java.base/java.lang.Thread.run(Thread.java:833)",
        ]

    def _java(self, at: datetime, method: str, path: str, p: Problem) -> Record:
        head = ""
        lib: list[str] = []
        cause = ""
        if p.kind == "bug" and p.bug is not None:
            b = p.bug
            head = f"{b.exc_type}: {b.exc_message}"
            lib = [*b.extra, f"\tat {b.cls}.{b.function}({b.file}:{b.line})"]
        elif p.proto == "postgres":
            if p.kind == "refused":
                head = (
                    f"org.postgresql.util.PSQLException: Connection to {p.host}:{p.port} refused. Check that "
                    "the "
                    "hostname and port are correct and that the postmaster is accepting TCP/IP connections."
                )
                cause = "Caused by: java.net.ConnectException: Connection refused"
            elif p.kind == "timeout":
                head = "org.postgresql.util.PSQLException: The connection attempt failed."
                cause = "Caused by: java.net.SocketTimeoutException: Connect timed out"
            elif p.kind == "dns":
                head = "org.postgresql.util.PSQLException: The connection attempt failed."
                cause = f"Caused by: java.net.UnknownHostException: {p.host}"
            elif p.kind == "too_many_clients":
                head = "org.postgresql.util.PSQLException: FATAL: sorry, too many clients already"
            elif p.kind == "pool":
                head = (
                    "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC "
                    "Connection"
                )
                cause = (
                    f"Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not "
                    f"available, request timed out after 30000ms (total={p.pool_size}, active={p.pool_size}, "
                    f"idle=0, waiting={self.rng.randint(12, 60)})"
                )
            elif p.kind == "sql":
                position = f"\n  Position: {self.rng.randint(8, 90)}" if p.sqlstate == "42703" else ""
                hint = f"\n  Hint: {p.hint}" if p.hint else ""
                server = f"ERROR: {p.sql_message}{hint}{position}"
                if p.sqlstate == "42703":
                    head = (
                        "org.springframework.jdbc.BadSqlGrammarException: PreparedStatementCallback; bad "
                        "SQL "
                        f"grammar [{p.statement}]"
                    )
                elif p.sqlstate in ("55P03", "40P01"):
                    head = (
                        f"org.springframework.dao.CannotAcquireLockException: PreparedStatementCallback; "
                        f"SQL [{p.statement}]; {server.splitlines()[0]}"
                    )
                else:
                    head = (
                        "org.springframework.dao.DataAccessResourceFailureException: "
                        "PreparedStatementCallback; "
                        f"SQL [{p.statement}]; {server.splitlines()[0]}"
                    )
                cause = f"Caused by: org.postgresql.util.PSQLException: {server}"
            lib = lib or [
                "\tat org.springframework.jdbc.core.JdbcTemplate.execute(JdbcTemplate.java:651)",
                "\tat org.springframework.jdbc.core.JdbcTemplate.query(JdbcTemplate.java:713)",
            ]
        elif p.proto == "redis":
            if p.kind in ("refused", "dns"):
                head = (
                    "io.lettuce.core.RedisConnectionException: Unable to connect to "
                    f"{p.host}/<unresolved>:{p.port}"
                )
                cause = (
                    "Caused by: io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection "
                    "refused: "
                    f"{p.host}/{p.ip}:{p.port}"
                    if p.kind == "refused"
                    else f"Caused by: java.net.UnknownHostException: {p.host}: Temporary failure in name "
                    "resolution"
                )
            else:
                head = "io.lettuce.core.RedisCommandTimeoutException: Command timed out after 1 second(s)"
            lib = [
                "\tat io.lettuce.core.internal.ExceptionFactory.createTimeoutException("
                "ExceptionFactory.java:59)",
                "\tat org.springframework.data.redis.connection.lettuce.LettuceConnection.await("
                "LettuceConnection.java:1060)",
            ]
        else:
            scheme = "https" if p.proto == "https" else "http"
            url = f"{scheme}://{p.host}" + (f":{p.port}" if p.port not in (80, 443) else "") + p.path
            prefix = (
                "org.springframework.web.client.ResourceAccessException: "
                f'I/O error on {p.method} request for "{url}"'
            )
            if p.kind == "refused":
                head = f"{prefix}: Connect to {p.host}:{p.port} [{p.host}/{p.ip}] failed: Connection refused"
                cause = "Caused by: java.net.ConnectException: Connection refused"
            elif p.kind == "timeout":
                head = f"{prefix}: Read timed out"
                cause = "Caused by: java.net.SocketTimeoutException: Read timed out"
            elif p.kind == "dns":
                head = f"{prefix}: {p.host}: Temporary failure in name resolution"
                cause = (
                    f"Caused by: java.net.UnknownHostException: {p.host}: "
                    "Temporary failure in name resolution"
                )
            elif p.kind == "tls_expired":
                when = p.not_after.strftime("%a %b %d %H:%M:%S UTC %Y") if p.not_after else ""
                head = (
                    f"{prefix}: PKIX path validation failed: java.security.cert.CertPathValidatorException: "
                    "validity check failed"
                )
                cause = (
                    "Caused by: javax.net.ssl.SSLHandshakeException: PKIX path validation failed: "
                    "java.security.cert.CertPathValidatorException: validity check failed\n"
                    "\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)\n"
                    "\tat java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:378)\n"
                    "\t... 61 common frames omitted\n"
                    f"Caused by: java.security.cert.CertificateExpiredException: NotAfter: {when}"
                )
            elif p.kind == "status":
                head = (
                    f"org.springframework.web.client.HttpServerErrorException$"
                    f"{_REASONS.get(p.status, 'Error').replace(' ', '')}: {p.status} "
                    f"{_REASONS.get(p.status, '')}"
                    f": [no body]"
                )
            lib = [
                "\tat org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:915)",
                "\tat org.springframework.web.client.RestTemplate.execute(RestTemplate.java:864)",
            ]
        if p.kind == "disk":
            head = "java.io.IOException: No space left on device"
            lib = [
                "\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)",
                "\tat java.base/java.io.FileOutputStream.write(FileOutputStream.java:349)",
            ]
        trace = "\n".join([head, *lib, *self._java_app_frames()])
        if cause:
            trace += "\n" + cause + f"\n\t... {self.rng.randint(40, 90)} common frames omitted"
        msg = (
            f"Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception "
            f"[Request processing failed: {head.splitlines()[0]}] with root cause"
        )
        return Record(at, "error", msg, logger=self.logger("error"), thread=self.thread(), trace=trace)

    # Go -------------------------------------------------------------------------------------------

    def _go(self, at: datetime, method: str, path: str, p: Problem) -> Record:
        local = f"{self.ip}:{self.rng.randint(32768, 60999)}"
        err = ""
        if p.kind == "bug" and p.bug is not None:
            b = p.bug
            goroutine = self.rng.randint(1000, 99999)
            trace = (
                f"goroutine {goroutine} [running]:\n"
                "net/http.(*conn).serve.func1()\n"
                "\t/usr/local/go/src/net/http/server.go:1868 +0xb9\n"
                "panic({0x9a4e20?, 0xe1c5a0?})\n"
                "\t/usr/local/go/src/runtime/panic.go:920 +0x270\n"
                f"{b.cls}.{b.function}(...)\n"
                f"\t{b.file}:{b.line} +0x{self.rng.randrange(16, 4096):x}\n"
                f"github.com/shopco/{self.pkg}/internal/api.(*Server).handle("
                f"0xc000{self.rng.randrange(16**6):06x}, "
                f"{{0xa8f3c0, 0xc000{self.rng.randrange(16**6):06x}}})\n"
                f"\t/build/internal/api/server.go:{self.rng.randint(60, 200)} "
                f"+0x{self.rng.randrange(16, 4096):x}\n"
                "net/http.HandlerFunc.ServeHTTP(0x0?, {0xa8f3c0?, 0xc000a1c0e0?}, 0x0?)\n"
                "\t/usr/local/go/src/net/http/server.go:2136 +0x29"
            )
            if self.writer == "go":
                msg = f"http: panic serving {p.client_ip}:{self.rng.randint(32768, 60999)}: {b.exc_message}"
                return Record(at, "error", msg, trace=trace)
            context: dict[str, object] = {"method": method, "path": path, "error": b.exc_message}
            return Record(
                at, "error", "panic recovered", fields=context, trace=f"panic: {b.exc_message}\n\n{trace}"
            )
        if p.proto == "postgres":
            target = f"host={p.host} user={self.pkg} database={self.pkg}"
            if p.kind == "refused":
                err = (
                    f"failed to connect to `{target}`: dial error "
                    f"(dial tcp {p.ip}:{p.port}: connect: connection refused)"
                )
            elif p.kind == "timeout":
                err = (
                    f"failed to connect to `{target}`: dial error "
                    f"(timeout: dial tcp {p.ip}:{p.port}: i/o timeout)"
                )
            elif p.kind == "dns":
                err = (
                    f"failed to connect to `{target}`: hostname resolving error (lookup {p.host} on "
                    f"{p.resolver}:53: read udp {local}->{p.resolver}:53: i/o timeout)"
                )
            elif p.kind == "too_many_clients":
                err = (
                    f"failed to connect to `{target}`: server error "
                    "(FATAL: sorry, too many clients already (SQLSTATE 53300))"
                )
            elif p.kind == "pool":
                err = "failed to acquire connection from pool: context deadline exceeded"
            elif p.kind == "sql":
                err = f"ERROR: {p.sql_message} (SQLSTATE {p.sqlstate})"
        elif p.proto == "redis":
            if p.kind == "refused":
                err = f"dial tcp {p.ip}:{p.port}: connect: connection refused"
            elif p.kind == "timeout":
                err = f"read tcp {local}->{p.ip}:{p.port}: i/o timeout"
            elif p.kind == "dns":
                err = (
                    f"dial tcp: lookup {p.host} on {p.resolver}:53: "
                    f"read udp {local}->{p.resolver}:53: i/o timeout"
                )
            elif p.kind == "reset":
                err = f"read tcp {local}->{p.ip}:{p.port}: read: connection reset by peer"
        else:
            scheme = "https" if p.proto == "https" else "http"
            url = f"{scheme}://{p.host}" + (f":{p.port}" if p.port not in (80, 443) else "") + p.path
            verb = p.method.capitalize()
            if p.kind == "refused":
                err = f'{verb} "{url}": dial tcp {p.ip}:{p.port}: connect: connection refused'
            elif p.kind == "timeout":
                err = (
                    f'{verb} "{url}": '
                    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                )
            elif p.kind == "dns":
                err = (
                    f'{verb} "{url}": dial tcp: lookup {p.host} on {p.resolver}:53: read udp '
                    f"{local}->{p.resolver}:53: i/o timeout"
                )
            elif p.kind == "tls_expired":
                now = p.now.strftime("%Y-%m-%dT%H:%M:%SZ") if p.now else ""
                after = p.not_after.strftime("%Y-%m-%dT%H:%M:%SZ") if p.not_after else ""
                err = (
                    f'{verb} "{url}": tls: failed to verify certificate: x509: certificate has expired or is '
                    "not "
                    f"yet valid: current time {now} is after {after}"
                )
            elif p.kind == "status":
                err = f"unexpected status {p.status} from {url}"
        if p.kind == "disk":
            err = f"write {p.file_path}: no space left on device"
        return Record(at, "error", "request failed", fields={"method": method, "path": path, "error": err})

    # Node -----------------------------------------------------------------------------------------

    def _node(self, at: datetime, method: str, path: str, p: Problem) -> Record:
        frames = [
            f"    at {self.cls_prefix}Service.handle "
            f"(/usr/src/app/src/{self.pkg}/service.js:{self.rng.randint(20, 140)}:"
            f"{self.rng.randint(5, 40)})",
            "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
            "    at async "
            f"/usr/src/app/src/routes/{self.pkg}.js:{self.rng.randint(10, 80)}:{self.rng.randint(5, 30)}",
        ]
        head = ""
        if p.kind == "bug" and p.bug is not None:
            b = p.bug
            head = f"{b.exc_type}: {b.exc_message}"
            frames = [*b.extra, f"    at {b.function} ({b.file}:{b.line}:{self.rng.randint(9, 40)})", *frames]
        elif p.proto == "postgres":
            head = {
                "refused": f"Error: connect ECONNREFUSED {p.ip}:{p.port}",
                "timeout": "Error: Connection terminated due to connection timeout",
                "dns": f"Error: getaddrinfo EAI_AGAIN {p.host}",
                "pool": "Error: timeout exceeded when trying to connect",
                "too_many_clients": "error: sorry, too many clients already",
                "sql": f"error: {p.sql_message}",
            }.get(p.kind, "")
            if p.kind in ("sql", "too_many_clients"):
                frames = [
                    "    at Parser.parseErrorMessage "
                    "(/usr/src/app/node_modules/pg-protocol/dist/parser.js:283:98)",
                    *frames,
                ]
        elif p.proto == "redis":
            head = {
                "refused": f"Error: connect ECONNREFUSED {p.ip}:{p.port}",
                "timeout": "Error: Command timed out",
                "dns": f"Error: getaddrinfo EAI_AGAIN {p.host}",
                "reset": "Error: read ECONNRESET",
            }.get(p.kind, "")
        else:
            head = {
                "refused": f"AxiosError: connect ECONNREFUSED {p.ip}:{p.port}",
                "timeout": f"AxiosError: timeout of {int(p.timeout_s * 1000)}ms exceeded",
                "dns": f"AxiosError: getaddrinfo EAI_AGAIN {p.host}",
                "tls_expired": "AxiosError: certificate has expired",
                "status": f"AxiosError: Request failed with status code {p.status}",
            }.get(p.kind, "")
            frames = [
                "    at AxiosError.from (/usr/src/app/node_modules/axios/dist/node/axios.cjs:837:14)",
                *frames,
            ]
        if p.kind == "disk":
            head = "Error: ENOSPC: no space left on device, write"
        fields: dict[str, object] = {}
        if p.proto in ("http", "https") and p.kind != "bug":
            scheme = "https" if p.proto == "https" else "http"
            fields["url"] = (
                f"{scheme}://{p.host}" + (f":{p.port}" if p.port not in (80, 443) else "") + p.path
            )
        if p.kind == "tls_expired":
            fields["code"] = "CERT_HAS_EXPIRED"
        fields["req"] = {"method": method, "url": path}
        fields["res"] = {"statusCode": 500}
        return Record(at, "error", "request errored", fields=fields, trace=head + "\n" + "\n".join(frames))


def make_voice(service: str, stack: str, rng: random.Random, *, pid: int, ip: str, writer: str) -> Voice:
    """The voice of ``service``: its package is its name without dashes (``order-api`` → ``orderapi``)."""
    return Voice(service, stack, service.replace("-", ""), rng, pid=pid, ip=ip, writer=writer)
