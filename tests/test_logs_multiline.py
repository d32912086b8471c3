"""Multi-line records: a stack trace stays one record, and every line is in exactly one record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from incident_flow.logs import read_records
from incident_flow.logs.base import MAX_TEXT
from incident_flow.sources import LogRecord


def read(tmp_path: Path, text: str, **options: object) -> list[LogRecord]:
    path = tmp_path / "app.log"
    path.write_text(text, encoding="utf-8")
    return list(read_records([path], **options))  # type: ignore[arg-type]


PYTHON_TRACEBACK = """\
2024-01-02 03:04:05,100 INFO [orders] placing order 42
2024-01-02 03:04:05,123 ERROR [orders] Unhandled exception while placing order 42
Traceback (most recent call last):
  File "/app/orders/service.py", line 88, in place_order
    reservation = inventory.reserve(order.items)
                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/orders/inventory.py", line 41, in reserve
    raise InventoryError(f"out of stock: {sku}")
orders.inventory.InventoryError: out of stock: SKU-123

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/orders/service.py", line 90, in place_order
    raise OrderFailed(order.id) from None
orders.service.OrderFailed: 42
2024-01-02 03:04:06,000 INFO [orders] health check ok
"""


def test_a_python_traceback_is_one_record(tmp_path: Path) -> None:
    placing, error, health = read(tmp_path, PYTHON_TRACEBACK)
    assert placing.text == "2024-01-02 03:04:05,100 INFO [orders] placing order 42"
    assert error.line == 2
    assert error.message == "Unhandled exception while placing order 42"
    assert error.level == "error"
    assert error.text.splitlines() == PYTHON_TRACEBACK.splitlines()[1:16]  # blank lines inside kept
    assert error.text.endswith("orders.service.OrderFailed: 42")
    assert health.line == 17


JAVA_TRACE = """\
2024-01-02 03:04:05.123 [http-nio-8080-exec-7] ERROR com.shop.orders.OrderController - Request failed
org.springframework.dao.DataIntegrityViolationException: could not execute statement; constraint [orders_pkey]
\tat org.hibernate.engine.jdbc.spi.SqlExceptionHelper.convert(SqlExceptionHelper.java:113)
\tat com.shop.orders.OrderService.place(OrderService.java:57)
\tat com.shop.orders.OrderController.create(OrderController.java:31)
Caused by: org.hibernate.exception.ConstraintViolationException: could not execute statement
\tat org.hibernate.exception.internal.SQLStateConversionDelegate.convert(SQLStateConversionDelegate.java:109)
\t... 87 more
Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates constraint "pk"
  Detail: Key (id)=(42) already exists.
\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2676)
\t... 101 common frames omitted
2024-01-02 03:04:06.000 [http-nio-8080-exec-8] INFO  com.shop.orders.OrderController - GET /orders/41 200
"""


def test_a_java_trace_with_caused_by_and_more_is_one_record(tmp_path: Path) -> None:
    failed, ok = read(tmp_path, JAVA_TRACE)
    assert failed.message == "Request failed"
    assert failed.fields["logger"] == "com.shop.orders.OrderController"
    assert len(failed.text.splitlines()) == 12
    assert "Caused by: org.postgresql.util.PSQLException" in failed.text
    assert (ok.line, ok.level) == (13, "info")


GO_PANIC = """\
2024/01/02 03:04:05 server.go:41: handling POST /checkout
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6a1b2c]

goroutine 34 [running]:
main.(*Server).checkout(0x0, {0x7f1c, 0xc0001a2000}, 0xc000190100)
\t/app/server.go:57 +0x2c
net/http.HandlerFunc.ServeHTTP(0xc00011e0f0, {0x7f1c, 0xc0001a2000}, 0xc000190100)
\t/usr/local/go/src/net/http/server.go:2136 +0x29
created by net/http.(*Server).Serve in goroutine 1
\t/usr/local/go/src/net/http/server.go:3285 +0x4b4

goroutine 1 [IO wait]:
internal/poll.runtime_pollWait(0x7f3a, 0x72)
\t/usr/local/go/src/runtime/netpoll.go:343 +0x85
2024/01/02 03:04:09 server.go:22: listening on :8080
"""


def test_a_go_panic_with_its_goroutines_is_one_record(tmp_path: Path) -> None:
    handling, restarted = read(tmp_path, GO_PANIC)
    assert handling.message == "handling POST /checkout"
    assert "goroutine 1 [IO wait]:" in handling.text
    assert handling.text.splitlines() == GO_PANIC.splitlines()[:15]
    assert restarted.line == 16
    assert restarted.at == datetime(2024, 1, 2, 3, 4, 9, tzinfo=UTC)


def test_plain_logs_keep_traces_whole_too(tmp_path: Path) -> None:
    text = (
        "worker started\n"
        "Traceback (most recent call last):\n"
        '  File "job.py", line 9, in run\n'
        "    1 / 0\n"
        "ZeroDivisionError: division by zero\n"
        "worker stopped\n"
    )
    started, stopped = read(tmp_path, text, format="plain")
    assert started.text.splitlines()[-1] == "ZeroDivisionError: division by zero"
    assert (stopped.line, stopped.message) == (6, "worker stopped")


def test_a_continuation_at_the_top_of_a_file_is_a_record_of_its_own(tmp_path: Path) -> None:
    text = (
        "\tat com.shop.Foo.bar(Foo.java:1)\n"
        "\tat com.shop.Foo.main(Foo.java:9)\n"
        "2024-01-02 03:04:05,1 ERROR [x] y\n"
    )
    orphan, error = read(tmp_path, text)
    assert (orphan.line, orphan.at, orphan.message) == (1, None, "at com.shop.Foo.bar(Foo.java:1)")
    assert orphan.text.count("\n") == 1
    assert error.line == 3


def test_blank_lines_between_records_belong_to_none(tmp_path: Path) -> None:
    first, second = read(
        tmp_path, "\n\n2024-01-02 03:04:05,1 INFO [a] one\n\n\n2024-01-02 03:04:06,1 INFO [a] two\n\n"
    )
    assert (first.line, first.text) == (3, "2024-01-02 03:04:05,1 INFO [a] one")
    assert (second.line, second.text) == (6, "2024-01-02 03:04:06,1 INFO [a] two")


def test_a_never_ending_trace_is_cut_and_says_so(tmp_path: Path) -> None:
    frames = "".join(f"\tat com.shop.Deep.call{i}(Deep.java:{i})\n" for i in range(5000))
    warnings: list[str] = []
    path = tmp_path / "app.log"
    path.write_text(
        "2024-01-02 03:04:05,123 ERROR [x] StackOverflowError\n"
        + frames
        + "2024-01-02 03:04:06,0 INFO [x] ok\n"
    )
    error, ok = read_records([path], warn=warnings.append)
    assert len(error.text) <= MAX_TEXT + 100
    assert error.text.endswith("more line(s)]")
    assert ok.line == 5002
    assert warnings and "cut" in warnings[0]


def test_with_a_pattern_a_line_that_does_not_match_is_its_own_record(tmp_path: Path) -> None:
    text = (
        "2024-01-02 03:04:05 [ERROR] payment declined\n"
        '  File "/app/pay.py", line 12, in charge\n'
        "2024-01-02 03:04:06 [INFO] retry ok\n"
    )
    records = read(tmp_path, text, pattern=r"<Date> <Time> \[<Level>\] <Content>")
    assert [r.line for r in records] == [1, 2, 3]
    assert records[1].message == 'File "/app/pay.py", line 12, in charge'
    assert (records[1].at, records[1].level) == (None, None)
    assert records[1].text == '  File "/app/pay.py", line 12, in charge'
    assert (records[0].level, records[0].message) == ("error", "payment declined")
