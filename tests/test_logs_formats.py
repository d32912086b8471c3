"""Each log format on real-looking lines: what a record's time, level, component, message and
fields are, and which lines ``auto`` recognises as which format."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from incident_flow.logs import detect_format, read_records
from incident_flow.logs.nginx import compile_log_format
from incident_flow.sources import LogRecord

REFERENCE = datetime(2024, 1, 5, 12, 0, tzinfo=UTC)


def read(tmp_path: Path, text: str, **options: object) -> list[LogRecord]:
    path = tmp_path / "app.log"
    path.write_text(text, encoding="utf-8")
    options.setdefault("reference_time", REFERENCE)
    return list(read_records([path], **options))  # type: ignore[arg-type]


def one(tmp_path: Path, line: str, **options: object) -> LogRecord:
    records = read(tmp_path, line + "\n", **options)
    assert len(records) == 1, records
    return records[0]


# -- JSON lines ------------------------------------------------------------------------------------


def test_json_reads_the_usual_keys_and_keeps_every_key_as_a_field(tmp_path: Path) -> None:
    r = one(
        tmp_path,
        '{"ts": "2024-01-02T03:04:05.123Z", "level": "error", "msg": "payment declined", '
        '"service": "payments", "order_id": 42, "retry": true, "http": {"status": 502}}',
    )
    assert r.at == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert r.level == "error"
    assert r.message == "payment declined"
    assert r.component == "payments"  # a "service" key is the component unless told otherwise
    assert r.fields["order_id"] == "42"
    assert r.fields["retry"] == "true"
    assert r.fields["http.status"] == "502"  # nested objects become dotted keys


def test_json_log_level_is_read_nested_or_as_a_literal_dotted_key(tmp_path: Path) -> None:
    nested = one(
        tmp_path, '{"@timestamp": "2024-01-02T03:04:05Z", "log": {"level": "WARN"}, "message": "slow"}'
    )
    literal = one(tmp_path, '{"@timestamp": "2024-01-02T03:04:05Z", "log.level": "warn", "message": "slow"}')
    assert nested.level == literal.level == "warning"
    assert nested.at == literal.at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_json_stack_trace_belongs_to_the_record_but_not_to_its_message(tmp_path: Path) -> None:
    trace = (
        "Traceback (most recent call last):\\n  File \\\"app.py\\\", line 3, in <module>\\nKeyError: 'sku'"
    )
    r = one(
        tmp_path,
        '{"time": "2024-01-02 03:04:05,120", "levelname": "ERROR", "message": "order failed", '
        f'"exc_info": "{trace}"}}',
    )
    assert r.message == "order failed"
    assert r.text.endswith(
        "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\nKeyError: 'sku'"
    )
    assert r.level == "error"


def test_json_field_overrides_and_epoch_times(tmp_path: Path) -> None:
    r = one(
        tmp_path,
        '{"when": 1704164645.5, "sev": "crit", "text": "disk full", "ts": "not this one", "msg": "nor this"}',
        time_field="when",
        level_field="sev",
        message_field="text",
    )
    assert r.at == datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert r.level == "critical"
    assert r.message == "disk full"


def test_json_pino_numeric_levels_and_millisecond_epochs(tmp_path: Path) -> None:
    r = one(tmp_path, '{"level":50,"time":1704164645123,"pid":7,"hostname":"web-1","msg":"request failed"}')
    assert r.level == "error"
    assert r.at == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)


def test_json_message_loses_terminal_colours(tmp_path: Path) -> None:
    r = one(tmp_path, '{"msg": "\\u001b[31mconnection refused\\u001b[0m", "level": "error"}')
    assert r.message == "connection refused"


# -- logfmt ----------------------------------------------------------------------------------------


def test_logfmt_with_quoted_values_and_escapes(tmp_path: Path) -> None:
    r = one(
        tmp_path,
        'time="2024-01-02T03:04:05+01:00" level=error msg="upstream \\"inventory\\" timed out" '
        "service=orders duration=1.5s cached",
    )
    assert r.at == datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert r.level == "error"
    assert r.message == 'upstream "inventory" timed out'
    assert r.component == "orders"
    assert r.fields["duration"] == "1.5s"
    assert r.fields["cached"] == "true"  # a bare key is a flag


def test_a_sentence_with_one_equals_sign_is_not_logfmt() -> None:
    assert detect_format(["user=bob logged in from 10.0.0.7"] * 5) == "plain"


# -- nginx -----------------------------------------------------------------------------------------


NGINX = (
    '203.0.113.9 - alice [02/Jan/2024:03:04:05 +0100] "POST /api/orders?id=7 HTTP/1.1" 502 157 '
    '"https://shop.example/cart" "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0" 0.503 0.501, 0.002'
)


def test_nginx_combined_with_request_and_upstream_times(tmp_path: Path) -> None:
    r = one(tmp_path, NGINX)
    assert r.message == "POST /api/orders?id=7 HTTP/1.1 502"
    assert r.level == "error"
    assert r.at == datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert r.fields == {
        "remote_addr": "203.0.113.9",
        "remote_user": "alice",
        "time_local": "02/Jan/2024:03:04:05 +0100",
        "request": "POST /api/orders?id=7 HTTP/1.1",
        "method": "POST",
        "path": "/api/orders?id=7",
        "protocol": "HTTP/1.1",
        "status": "502",
        "body_bytes_sent": "157",
        "http_referer": "https://shop.example/cart",
        "http_user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0",
        "request_time": "0.503",
        "upstream_response_time": "0.501, 0.002",
    }


@pytest.mark.parametrize(
    ("status", "level"), [("200", "info"), ("304", "info"), ("404", "warning"), ("503", "error")]
)
def test_nginx_level_follows_the_status(tmp_path: Path, status: str, level: str) -> None:
    line = f'10.0.0.1 - - [02/Jan/2024:03:04:05 +0000] "GET / HTTP/1.1" {status} 0 "-" "curl/8.5"'
    assert one(tmp_path, line).level == level


def test_apache_common_log_and_a_garbage_request(tmp_path: Path) -> None:
    common = one(tmp_path, '10.0.0.1 - - [02/Jan/2024:03:04:05 -0500] "GET /index.html HTTP/1.0" 200 2326')
    assert common.at == datetime(2024, 1, 2, 8, 4, 5, tzinfo=UTC)
    probe = one(tmp_path, '10.0.0.2 - - [02/Jan/2024:03:04:06 +0000] "\\x16\\x03\\x01\\x00" 400 157 "-" "-"')
    assert probe.message == "\\x16\\x03\\x01\\x00 400"
    assert "method" not in probe.fields


def test_nginx_log_format_pasted_from_nginx_conf(tmp_path: Path) -> None:
    conf = """log_format upstream_time '$remote_addr - $remote_user [$time_local] "$request" '
                         '$status $body_bytes_sent "$http_referer" '
                         '"$http_user_agent" rt=$request_time uct="$upstream_connect_time" host=$host';"""
    line = (
        '10.1.2.3 - - [02/Jan/2024:03:04:05 +0000] "GET /health HTTP/2.0" 200 2 "-" "kube-probe/1.29" '
        'rt=0.001 uct="0.000" host=orders.internal'
    )
    r = one(tmp_path, line, log_format=conf)
    assert r.fields["host"] == "orders.internal"
    assert r.fields["upstream_connect_time"] == "0.000"
    assert r.fields["path"] == "/health"
    assert r.message == "GET /health HTTP/2.0 200"
    assert r.at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert one(tmp_path, line, log_format=conf, component_field="host").component == "orders.internal"


def test_a_log_format_cannot_be_stalled_by_a_hostile_line() -> None:
    layout = compile_log_format(
        '$remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent $rt'
    )
    started = time.process_time()
    for line in ("1 - " * 20000, "a - b [" + "x] " * 20000, '1 - - [t] "' + '" 1 ' * 20000):
        layout.match(line)
    assert time.process_time() - started < 1.0


def test_log_format_without_variables_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\$variable"):
        compile_log_format("main 'no variables here'")


def test_nginx_error_log(tmp_path: Path) -> None:
    r = one(
        tmp_path,
        "2024/01/02 03:04:05 [error] 31#31: *1907 connect() failed (111: Connection refused) "
        "while connecting to upstream, client: 10.0.0.7, server: shop.example, "
        'request: "GET /api/cart HTTP/1.1", '
        'upstream: "http://10.0.3.4:8080/api/cart", host: "shop.example"',
    )
    assert r.level == "error"
    assert r.at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert r.message.startswith("connect() failed (111: Connection refused)")
    assert r.fields["upstream"] == "http://10.0.3.4:8080/api/cart"
    assert r.fields["connection"] == "1907"
    assert r.fields["client"] == "10.0.0.7"


# -- syslog ----------------------------------------------------------------------------------------


def test_rfc3164_fields_and_the_year_nearest_the_detection_time(tmp_path: Path) -> None:
    records = read(
        tmp_path,
        "Dec 31 23:59:58 web-1 kernel: Out of memory: Killed process 2211 (java)\n"
        "Jan  1 00:00:02 web-1 systemd[1]: orders.service: Main process exited, code=killed\n",
        reference_time=datetime(2024, 1, 1, 0, 5, tzinfo=UTC),
    )
    kernel, systemd = records
    assert kernel.at == datetime(2023, 12, 31, 23, 59, 58, tzinfo=UTC)  # last year: nearer
    assert systemd.at == datetime(2024, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert kernel.fields == {"host": "web-1", "app": "kernel"}
    assert systemd.fields == {"host": "web-1", "app": "systemd", "pid": "1"}
    assert systemd.component == "systemd"
    assert systemd.message == "orders.service: Main process exited, code=killed"


def test_syslog_host_as_component(tmp_path: Path) -> None:
    r = one(tmp_path, "Mar  1 10:00:00 db-2 postgres[812]: FATAL:  the database system is starting up",
            component_field="host")  # fmt: skip
    assert r.component == "db-2"


def test_rfc5424_with_priority_and_structured_data(tmp_path: Path) -> None:
    r = one(
        tmp_path,
        '<165>1 2024-01-02T03:04:05.003Z api-3.example.com orders 4242 ID47 [exampleSDID@32473 iut="3"] '
        "\ufeffcheckout latency above SLO",
    )
    assert r.at == datetime(2024, 1, 2, 3, 4, 5, 3000, tzinfo=UTC)
    assert r.level == "notice"  # 165 = local4.notice
    assert r.component == "orders"
    assert r.message == "checkout latency above SLO"
    assert r.fields["pid"] == "4242"
    assert r.fields["structured_data"] == '[exampleSDID@32473 iut="3"]'


def test_rfc3164_priority_gives_the_level(tmp_path: Path) -> None:
    assert (
        one(tmp_path, "<11>Jan  2 03:04:05 lb-1 haproxy[99]: backend orders has no server").level == "error"
    )


# -- PostgreSQL ------------------------------------------------------------------------------------


def test_postgres_error_keeps_its_detail_and_statement(tmp_path: Path) -> None:
    records = read(
        tmp_path,
        "2024-01-02 03:04:05.123 UTC [4711] LOG:  checkpoint starting: time\n"
        "2024-01-02 03:04:06.001 UTC [4712] app@shop ERROR:  "
        'duplicate key value violates unique constraint "orders_pkey"\n'
        "2024-01-02 03:04:06.001 UTC [4712] app@shop DETAIL:  Key (id)=(42) already exists.\n"
        "2024-01-02 03:04:06.001 UTC [4712] app@shop STATEMENT:  INSERT INTO orders (id) VALUES (42)\n"
        "2024-01-02 04:04:06 CEST [4713] FATAL:  terminating connection due to administrator command\n",
    )
    assert detect_format([r.text.splitlines()[0] for r in records]) == "postgres"
    checkpoint, duplicate, fatal = records
    assert checkpoint.level == "info"
    assert duplicate.level == "error"
    assert duplicate.message == 'duplicate key value violates unique constraint "orders_pkey"'
    assert "STATEMENT:  INSERT INTO orders" in duplicate.text
    assert duplicate.fields == {"pid": "4712", "severity": "ERROR", "user": "app", "database": "shop"}
    assert fatal.at == datetime(2024, 1, 2, 2, 4, 6, tzinfo=UTC)
    assert fatal.level == "critical"


# -- Python, Java, Go ------------------------------------------------------------------------------


def test_python_layouts(tmp_path: Path) -> None:
    records = read(
        tmp_path,
        "2024-01-02 03:04:05,123 ERROR [orders] Unhandled exception while placing order 42\n"
        "2024-01-02 03:04:06,001 - inventory.client - WARNING - retrying reservation (attempt 2)\n"
        "[2024-01-02 03:04:07 +0000] [17] [INFO] Booting worker with pid: 17\n"
        "CRITICAL:root:cannot connect to redis\n",
    )
    bracket, named, gunicorn, basic = records
    assert (bracket.component, bracket.level, bracket.message) == (
        "orders",
        "error",
        "Unhandled exception while placing order 42",
    )
    assert bracket.at == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert (named.fields["logger"], named.level, named.message) == (
        "inventory.client",
        "warning",
        "retrying reservation (attempt 2)",
    )
    assert named.component is None
    assert gunicorn.fields["pid"] == "17" and gunicorn.level == "info"
    assert (basic.level, basic.at, basic.message) == ("critical", None, "cannot connect to redis")


def test_log4j_logback_and_spring_boot_layouts(tmp_path: Path) -> None:
    records = read(
        tmp_path,
        "2024-01-02 03:04:05.123 [http-nio-8080-exec-3] ERROR com.shop.orders.OrderService - "
        "Order 42 failed\n"
        "2024-01-02T03:04:06.001Z WARN [main] org.hibernate.engine.jdbc.spi.SqlExceptionHelper: "
        "SQL Error: 0\n"
        "2024-01-02 03:04:07.000  INFO 4242 --- [           main] o.s.b.w.e.tomcat.TomcatWebServer"
        "         : Tomcat started on port(s): 8080 (http)\n",
    )
    logback, hibernate, spring = records
    assert logback.fields == {"thread": "http-nio-8080-exec-3", "logger": "com.shop.orders.OrderService"}
    assert (logback.level, logback.message) == ("error", "Order 42 failed")
    assert hibernate.at == datetime(2024, 1, 2, 3, 4, 6, 1000, tzinfo=UTC)
    assert hibernate.fields["logger"] == "org.hibernate.engine.jdbc.spi.SqlExceptionHelper"
    assert spring.message == "Tomcat started on port(s): 8080 (http)"
    assert spring.fields["pid"] == "4242"


def test_go_log_klog_and_zap(tmp_path: Path) -> None:
    records = read(
        tmp_path,
        "2024/01/02 03:04:05 server.go:88: ERROR: dial tcp 10.0.0.5:6379: connect: connection refused\n"
        "E0102 03:04:06.123456       1 reflector.go:138] failed to list *v1.Pod: context deadline exceeded\n"
        "2024-01-02T03:04:07.000Z\tERROR\tcheckout/handler.go:61\tcharge failed\t"
        '{"order": 42, "psp": "acme"}\n',
        format="go",
    )
    std, klog, zap = records
    assert (std.level, std.fields["caller"]) == ("error", "server.go:88")
    assert std.message == "dial tcp 10.0.0.5:6379: connect: connection refused"
    assert klog.at == datetime(2024, 1, 2, 3, 4, 6, 123456, tzinfo=UTC)  # year from the reference
    assert klog.level == "error" and klog.fields["caller"] == "reflector.go:138"
    assert (zap.message, zap.fields["order"], zap.fields["psp"]) == ("charge failed", "42", "acme")


def test_plain_reads_a_leading_timestamp_and_level(tmp_path: Path) -> None:
    records = read(
        tmp_path, "2024-01-02T03:04:05Z ERROR disk /dev/sda1 is full\nno time on this one\n", format="plain"
    )
    assert (records[0].at, records[0].level, records[0].message) == (
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "error",
        "disk /dev/sda1 is full",
    )
    assert (records[1].at, records[1].level, records[1].message) == (None, None, "no time on this one")


# -- time zones ------------------------------------------------------------------------------------


def test_timestamps_without_an_offset_take_the_configured_zone(tmp_path: Path) -> None:
    line = "2024-07-02 03:04:05,000 ERROR [orders] boom"
    assert one(tmp_path, line).at == datetime(2024, 7, 2, 3, 4, 5, tzinfo=UTC)
    berlin = one(tmp_path, line, timezone=ZoneInfo("Europe/Berlin")).at
    assert berlin == datetime(2024, 7, 2, 1, 4, 5, tzinfo=UTC)
    fixed = one(tmp_path, line, timezone=timezone(timedelta(hours=-5))).at
    assert fixed == datetime(2024, 7, 2, 8, 4, 5, tzinfo=UTC)
    # an explicit offset wins over the configured zone
    assert one(
        tmp_path, "2024-07-02T03:04:05+02:00 ERROR x", format="plain", timezone=ZoneInfo("Asia/Tokyo")
    ).at == (datetime(2024, 7, 2, 1, 4, 5, tzinfo=UTC))


def test_ansi_colours_do_not_hide_the_level(tmp_path: Path) -> None:
    r = one(tmp_path, "2024-01-02 03:04:05,123 \x1b[31mERROR\x1b[0m [orders] \x1b[1mboom\x1b[0m")
    assert (r.level, r.message, r.component) == ("error", "boom", "orders")


# -- auto ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"level":"info","msg":"ok"}', "json"),
        ("ts=2024-01-02T03:04:05Z level=info msg=ok", "logfmt"),
        (NGINX, "nginx"),
        (
            "2024/01/02 03:04:05 [warn] 7#7: *3 an upstream response is buffered to a temporary file",
            "nginx-error",
        ),
        ("Jan  2 03:04:05 web-1 sshd[811]: Accepted publickey for deploy", "syslog"),
        ("2024-01-02 03:04:05.123 UTC [123] LOG:  database system is ready", "postgres"),
        ("2024-01-02 03:04:05,123 INFO [main] org.apache.kafka.clients.Metadata: Cluster ID: x", "log4j"),
        ("2024-01-02 03:04:05,123 INFO [orders] order placed", "python"),
        ("2024/01/02 03:04:05 listening on :8080", "go"),
        ("something without a known layout", "plain"),
    ],
)
def test_auto_detects_each_format(line: str, expected: str) -> None:
    assert detect_format([line] * 3) == expected


def test_auto_needs_half_the_sample_to_pick_a_format(tmp_path: Path) -> None:
    text = '{"msg": "stray json"}\n' + "".join(f"ordinary text line {i}\n" for i in range(9))
    records = read(tmp_path, text)
    assert len(records) == 10  # read as plain: no line folded into the JSON record
