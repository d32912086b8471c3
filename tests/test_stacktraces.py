"""Stack-trace parsing: real-world samples of each runtime, and properties for any text."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow.analysis.stacktraces import (
    Frame,
    PathIndex,
    StackTrace,
    classify_error,
    fingerprint,
    looks_like_trace,
    parse_traces,
)
from incident_flow.logs import read_records

PYTHON_CHAINED = """\
2026-03-14 14:05:01,123 ERROR [orders] Unhandled error in /orders
Traceback (most recent call last):
  File "/srv/app/services/orders/pricing.py", line 42, in compute
    return order["discount"] * rate
           ~~~~~^^^^^^^^^^^^
KeyError: 'discount'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/services/orders/api.py", line 17, in place_order
    total = compute(order)
  File "/srv/app/services/orders/pricing.py", line 45, in compute
    raise PricingError("no discount") from None
orders.errors.PricingError: no discount

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/usr/local/lib/python3.11/site-packages/flask/app.py", line 1484, in full_dispatch_request
    rv = self.dispatch_request()
  File "/srv/app/services/orders/api.py", line 20, in place_order
    raise HTTPError(500) from exc
werkzeug.exceptions.InternalServerError: 500 Internal Server Error: The server encountered an internal error
"""

PYTHON_RECURSION = """\
Traceback (most recent call last):
  File "/app/main.py", line 9, in <module>
    walk(1)
  File "/app/main.py", line 5, in walk
    return walk(n + 1)
  File "/app/main.py", line 5, in walk
    return walk(n + 1)
  [Previous line repeated 996 more times]
RecursionError: maximum recursion depth exceeded
"""

JAVA = """\
2026-03-14 14:05:01.123 [http-nio-8080-exec-1] ERROR c.a.orders.OrderController - Request failed
org.springframework.web.util.NestedServletException: Request processing failed; nested exception is \
java.lang.IllegalStateException: pricing failed
\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)
\tat org.springframework.web.servlet.FrameworkServlet.doPost(FrameworkServlet.java:909)
\tat javax.servlet.http.HttpServlet.service(HttpServlet.java:681)
\tat java.base/java.lang.Thread.run(Thread.java:829)
Caused by: java.lang.IllegalStateException: pricing failed
\tat com.acme.orders.Pricing.apply(Pricing.java:88)
\tat com.acme.orders.OrderController.place(OrderController.java:42)
\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1006)
\t... 2 more
Caused by: java.lang.NullPointerException: Cannot invoke \
"java.math.BigDecimal.multiply(java.math.BigDecimal)" because the return value of \
"com.acme.orders.Order.getDiscount()" is null
\tat com.acme.orders.Pricing.discounted(Pricing.java:120)
\tat com.acme.orders.Pricing.apply(Pricing.java:86)
\t... 4 more
"""

JAVA_SUPPRESSED = """\
Exception in thread "main" java.io.IOException: close failed
\tat com.acme.io.Store.close(Store.java:77)
\tat com.acme.Main.main(Main.java:12)
\tSuppressed: java.lang.IllegalStateException: flush failed
\t\tat com.acme.io.Store.flush(Store.java:60)
\t\t... 1 more
Caused by: java.net.SocketException: Connection reset
\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:323)
\tat com.acme.io.Store.close(Store.java:75)
\t... 1 common frames omitted
"""

GO_PANIC = """\
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6b4d2a]

goroutine 42 [running]:
github.com/acme/shop/orders.(*Store).Get(0x0, {0xc0001a2000, 0x24})
\t/build/orders/store.go:57 +0x2a
github.com/acme/shop/orders.(*Handler).ServeHTTP(0xc000134000, {0x8f1e40, 0xc0002a6000}, 0xc0002b4000)
\t/build/orders/handler.go:31 +0x9c
net/http.serverHandler.ServeHTTP({0xc000226000?}, {0x8f1e40, 0xc0002a6000}, 0xc0002b4000)
\t/usr/local/go/src/net/http/server.go:2936 +0x316
created by net/http.(*Server).Serve in goroutine 1
\t/usr/local/go/src/net/http/server.go:3089 +0x5ed

goroutine 1 [IO wait, 5 minutes]:
internal/poll.runtime_pollWait(0x7f4b1c2d8e28, 0x72)
\t/usr/local/go/src/runtime/netpoll.go:343 +0x85
main.main()
\t/build/cmd/orders/main.go:22 +0x1e5
exit status 2
"""

GO_DEADLOCK = """\
fatal error: all goroutines are asleep - deadlock!

goroutine 1 [chan receive]:
main.main()
\t/home/dev/app/main.go:8 +0x2d

goroutine 6 [semacquire]:
sync.runtime_SemacquireMutex(0xc000012098, 0x0, 0x1)
\t/usr/local/go/src/runtime/sema.go:71 +0x47
main.worker(0xc000012090)
\t/home/dev/app/worker.go:14 +0x65
created by main.main
\t/home/dev/app/main.go:6 +0x1d
exit status 2
"""

NODE = """\
2026-03-14T14:05:01.123Z error [users] request failed
TypeError: Cannot read properties of undefined (reading 'email')
    at normalizeUser (/usr/src/app/src/users/normalize.js:12:25)
    at Layer.handle [as handle_request] (/usr/src/app/node_modules/express/lib/router/layer.js:95:5)
    at /usr/src/app/src/index.js:40:7
    at async Promise.all (index 0)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
"""

NODE_CAUSE = """\
Error: could not load profile
    at loadProfile (file:///app/src/profile.mjs:20:11)
    at async main (file:///app/src/main.mjs:5:3) {
  [cause]: Error: connect ECONNREFUSED 127.0.0.1:5432
      at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {
    errno: -111,
    code: 'ECONNREFUSED',
  }
}
"""

DOTNET = """\
Unhandled exception. System.InvalidOperationException: Order could not be priced
 ---> System.NullReferenceException: Object reference not set to an instance of an object.
   at Acme.Orders.Pricing.Discount(Order order) in C:\\src\\Acme.Orders\\Pricing.cs:line 42
   at Acme.Orders.Pricing.Total(Order order) in C:\\src\\Acme.Orders\\Pricing.cs:line 30
   --- End of inner exception stack trace ---
   at Acme.Orders.Pricing.Total(Order order) in C:\\src\\Acme.Orders\\Pricing.cs:line 34
   at Acme.Orders.Api.OrdersController.Place(OrderRequest request) in C:\\src\\Acme.Orders\\Api\\OrdersController.cs:line 18
   at Program.<Main>$(String[] args) in C:\\src\\Acme.Orders\\Program.cs:line 7
"""  # noqa: E501 - a real trace's line

DOTNET_ASYNC = """\
System.Collections.Generic.KeyNotFoundException: The given key 'tier' was not present in the dictionary.
   at System.Collections.Generic.Dictionary`2.get_Item(TKey key)
   at Acme.Billing.Rates.For(String tier) in /src/Acme.Billing/Rates.cs:line 19
--- End of stack trace from previous location ---
   at Acme.Billing.Api.<Post>d__4.MoveNext() in /src/Acme.Billing/Api.cs:line 33
"""


def _one(text: str) -> StackTrace:
    traces = parse_traces(text)
    assert len(traces) == 1, traces
    return traces[0]


def test_python_chains_keep_cause_and_context_in_order() -> None:
    trace = _one(PYTHON_CHAINED)
    assert [t.exception for t in trace.chain] == [
        "werkzeug.exceptions.InternalServerError",
        "orders.errors.PricingError",
        "KeyError",
    ]
    assert [t.cause_relation for t in trace.chain] == ["cause", "context", None]
    assert trace.root.message == "'discount'"
    top = trace.root.top
    assert top == Frame(
        file="/srv/app/services/orders/pricing.py",
        line=42,
        function="compute",
        code='return order["discount"] * rate',
    )
    # Innermost first: the frame that raised leads.
    assert [f.function for f in trace.frames] == ["place_order", "full_dispatch_request"]
    assert trace.all_frames()[0] == top


def test_python_recursion_keeps_its_frames() -> None:
    trace = _one(PYTHON_RECURSION)
    assert trace.exception == "RecursionError"
    assert [f.line for f in trace.frames] == [5, 5, 9]


def test_java_caused_by_and_elided_frames() -> None:
    trace = _one(JAVA)
    assert [t.exception for t in trace.chain] == [
        "org.springframework.web.util.NestedServletException",
        "java.lang.IllegalStateException",
        "java.lang.NullPointerException",
    ]
    root = trace.root
    assert root.omitted == 4
    assert [f.location() for f in root.frames[:3]] == [
        "com/acme/orders/Pricing.java:120 in com.acme.orders.Pricing.discounted",
        "com/acme/orders/Pricing.java:86 in com.acme.orders.Pricing.apply",
        "com/acme/orders/OrderController.java:42 in com.acme.orders.OrderController.place",
    ]
    # "... 4 more" are the enclosing trace's last four frames, as the JVM elided them.
    assert root.frames[-1].path == "java/lang/Thread.java"
    assert len(root.frames) == 6
    assert classify_error(JAVA) is not None and classify_error(JAVA).field == "discount"  # type: ignore[union-attr]


def test_java_suppressed_blocks_do_not_leak_into_the_trace() -> None:
    trace = _one(JAVA_SUPPRESSED)
    assert trace.exception == "java.io.IOException" and trace.message == "close failed"
    assert [f.function for f in trace.frames] == ["com.acme.io.Store.close", "com.acme.Main.main"]
    assert trace.cause is not None and trace.cause.exception == "java.net.SocketException"
    assert trace.cause.frames[-1].function == "com.acme.Main.main"


def test_go_panic_with_its_goroutine_dump() -> None:
    trace = _one(GO_PANIC)
    assert trace.language == "go" and trace.exception == "panic"
    assert trace.message.startswith("runtime error: invalid memory address")
    assert trace.top == Frame(
        file="/build/orders/store.go",
        line=57,
        function="github.com/acme/shop/orders.(*Store).Get",
        module="github.com/acme/shop/orders",
    )
    assert [g.id for g in trace.goroutines] == [42, 1]
    assert trace.goroutines[1].state == "IO wait, 5 minutes"
    assert len(trace.frames) == 3  # "created by" is not a frame


def test_go_deadlock_is_a_concurrency_error() -> None:
    trace = _one(GO_DEADLOCK)
    assert trace.exception == "fatal error" and "deadlock" in trace.message
    assert [g.state for g in trace.goroutines] == ["chan receive", "semacquire"]
    error = classify_error(GO_DEADLOCK)
    assert error is not None and (error.kind, error.reason) == ("concurrency", "deadlock")


def test_node_frames_with_and_without_function_names() -> None:
    trace = _one(NODE)
    assert (trace.language, trace.exception) == ("node", "TypeError")
    assert trace.top == Frame(
        file="/usr/src/app/src/users/normalize.js", line=12, function="normalizeUser", column=25
    )
    assert trace.frames[2] == Frame(file="/usr/src/app/src/index.js", line=40, column=7)
    assert trace.frames[3] == Frame(function="async Promise.all")
    error = classify_error(NODE)
    assert error is not None and (error.reason, error.field) == ("null field", "email")


def test_node_error_causes() -> None:
    trace = _one(NODE_CAUSE)
    assert trace.exception == "Error" and trace.message == "could not load profile"
    assert trace.top is not None and trace.top.path == "/app/src/profile.mjs"
    assert trace.cause is not None and "ECONNREFUSED" in trace.cause.message


def test_dotnet_inner_exceptions() -> None:
    trace = _one(DOTNET)
    assert [t.exception for t in trace.chain] == [
        "System.InvalidOperationException",
        "System.NullReferenceException",
    ]
    assert trace.cause_relation == "inner"
    assert trace.root.top is not None
    assert trace.root.top.location() == "C:/src/Acme.Orders/Pricing.cs:42 in Acme.Orders.Pricing.Discount"
    assert [f.line for f in trace.frames] == [34, 18, 7]


def test_dotnet_async_boundaries_and_frames_without_files() -> None:
    trace = _one(DOTNET_ASYNC)
    assert trace.exception == "System.Collections.Generic.KeyNotFoundException"
    assert [f.line for f in trace.frames] == [None, 19, 33]
    error = classify_error(DOTNET_ASYNC)
    assert error is not None and error.field == "tier"


def test_several_traces_in_one_text_are_each_found() -> None:
    traces = parse_traces(NODE + "\n" + DOTNET + "\n" + PYTHON_RECURSION)
    assert [t.language for t in traces] == ["node", "dotnet", "python"]


def test_traces_survive_the_log_parsers(tmp_path: Path) -> None:
    """A trace in a log file is one record whose text parses back to the same trace."""
    log = tmp_path / "app.log"
    log.write_text(
        "2026-03-14 14:05:00,000 INFO [orders] started\n"
        + PYTHON_CHAINED
        + "2026-03-14 14:05:02,000 INFO [orders] ok\n",
        encoding="utf-8",
    )
    records = list(read_records([log]))
    assert len(records) == 3
    assert _one(records[1].text) == _one(PYTHON_CHAINED)


def test_identical_failures_share_a_fingerprint_whatever_their_values_and_lines() -> None:
    a = _one(NODE)
    b = _one(NODE.replace("'email'", "'name'").replace(":12:25", ":14:9"))
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(_one(NODE.replace("TypeError", "RangeError")))
    assert fingerprint(a) != fingerprint(_one(NODE.replace("normalizeUser", "loadUser")))


def test_frames_map_onto_a_repository_by_their_longest_suffix() -> None:
    index = PathIndex(
        [
            "services/orders/api.py",
            "services/orders/src/main/java/com/acme/orders/Pricing.java",
            "app.py",
            "Acme.Orders/Pricing.cs",
        ]
    )
    assert index.resolve("/srv/app/services/orders/api.py") == "services/orders/api.py"
    assert index.resolve("/usr/src/app/services/orders/api.py") == "services/orders/api.py"
    assert (
        index.resolve("com/acme/orders/Pricing.java")
        == "services/orders/src/main/java/com/acme/orders/Pricing.java"
    )
    assert index.resolve("C:/src/Acme.Orders/Pricing.cs") == "Acme.Orders/Pricing.cs"
    assert index.resolve("app.py") == "app.py"  # a bare, unique name
    assert index.resolve("/usr/lib/python3/site-packages/flask/app.py") is None  # not the project's app.py
    assert index.resolve("/usr/src/app/app.py") == "app.py"  # a root-level file under a deploy prefix
    assert index.resolve("/srv/app/services/payments/api.py") is None  # the name alone is not enough
    assert index.resolve(None) is None
    twins = PathIndex(["a/x/util.py", "b/x/util.py", "a/y/util.py"])
    assert twins.resolve("/srv/a/x/util.py") == "a/x/util.py"
    assert twins.resolve("/srv/x/util.py") is None  # two files end in x/util.py


def test_races_and_bad_input_are_classified() -> None:
    cases = {
        'ERROR: duplicate key value violates unique constraint "users_email_key"\nDETAIL: Key (email)=(a@b) '
        "already exists.": ("concurrency", "duplicate key", "email"),
        "Deadlock found when trying to get lock; try restarting transaction": (
            "concurrency",
            "deadlock",
            None,
        ),
        "org.hibernate.StaleObjectStateException: Row was updated or deleted by another transaction": (
            "concurrency",
            "optimistic lock",
            None,
        ),
        "java.util.ConcurrentModificationException": ("concurrency", "concurrent modification", None),
        "RuntimeError: dictionary changed size during iteration": (
            "concurrency",
            "concurrent modification",
            None,
        ),
        "fatal error: concurrent map writes": ("concurrency", "concurrent modification", None),
        "Lock wait timeout exceeded; try restarting transaction": ("concurrency", "lock timeout", None),
        "KeyError: 'discount'": ("validation", "missing field", "discount"),
        "jsonschema.exceptions.ValidationError: 'email' is a required property": (
            "validation",
            "missing field",
            "email",
        ),
        "AttributeError: 'NoneType' object has no attribute 'address'": (
            "validation",
            "null field",
            "address",
        ),
        "json: cannot unmarshal string into Go struct field Order.amount of type int": (
            "validation",
            "malformed value",
            "amount",
        ),
        'com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException: Unrecognized field "tier"': (
            "validation",
            "unknown field",
            "tier",
        ),
        "System.ArgumentNullException: Value cannot be null. (Parameter 'email')": (
            "validation",
            "null field",
            "email",
        ),
        'psycopg2.errors.UndefinedColumn: column "tier" does not exist': (
            "validation",
            "schema mismatch",
            "tier",
        ),
        "ValueError: invalid literal for int() with base 10: 'abc'": ("validation", "malformed value", None),
        'Traceback (most recent call last):\n  File "/app/x.py", line 3, in f\n    Order(**payload)\n'
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for Order\ndiscount\n"
        "  Field required [type=missing, input_value={}, input_type=dict]": (
            "validation",
            "missing field",
            "discount",
        ),
    }
    for text, expected in cases.items():
        found = classify_error(text)
        assert found is not None, text
        assert (found.kind, found.reason, found.field) == expected, text
    assert classify_error("connection refused to redis:6379") is None


# -- properties -----------------------------------------------------------------------------------

_trace_lines = st.sampled_from(
    [
        "Traceback (most recent call last):",
        '  File "/a/b.py", line 3, in f',
        '  File "x", line 0',
        '  File "", line 99999999999999999999, in g',
        "    code()",
        "KeyError: 'x'",
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
        "java.lang.IllegalStateException: boom",
        "\tat a.b.C.d(C.java:12)",
        "\tat a.b.C.d(Native Method)",
        "\t... 3 more",
        "Caused by: java.io.IOException",
        "\tSuppressed: x.Y: z",
        "panic: boom",
        "goroutine 1 [running]:",
        "main.main()",
        "\t/x/main.go:4 +0x1",
        "created by main.main",
        "TypeError: nope",
        "    at f (/x.js:1:2)",
        "    at /y.js:3:4",
        "    at async Promise.all (index 0)",
        "  [cause]: Error: inner",
        "}",
        "System.Exception: outer ---> System.ArgumentException: inner",
        " ---> System.Exception: deeper",
        "   at A.B.C() in C:\\x.cs:line 4",
        "   at A.B.D(String s)",
        "   --- End of inner exception stack trace ---",
        "--- End of stack trace from previous location ---",
        "",
        "   ",
        "\u0663\u0664",
    ]
)


def _well_formed(trace: StackTrace) -> None:
    assert trace.language in ("python", "java", "go", "node", "dotnet")
    for part in trace.chain:
        assert isinstance(part.exception, str) and isinstance(part.message, str)
        assert "\n" not in part.exception and "\n" not in part.message
        for frame in (*part.frames, *(f for g in part.goroutines for f in g.frames)):
            assert isinstance(frame, Frame)
            assert frame.line is None or (isinstance(frame.line, int) and frame.line >= 1)
            assert frame.column is None or frame.column >= 1
            for text in (frame.file, frame.function, frame.module, frame.code):
                assert text is None or (text.strip() and "\n" not in text and "\r" not in text)
            assert frame.path is None or "\\" not in frame.path
            frame.location()
    assert len(fingerprint(trace)) == 16


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_arbitrary_text_never_raises(text: str) -> None:
    for trace in parse_traces(text):
        _well_formed(trace)
    classify_error(text)
    looks_like_trace(text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_trace_lines, st.text(max_size=40)), max_size=40))
def test_trace_shaped_text_gives_well_formed_traces(lines: list[str]) -> None:
    for trace in parse_traces("\n".join(lines)):
        _well_formed(trace)


_ident = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_ident, _ident, st.integers(min_value=1, max_value=10**6)), min_size=1, max_size=8),
    _ident,
)
def test_generated_traces_parse_back_to_their_frames(
    frames: list[tuple[str, str, int]], message: str
) -> None:
    python = (
        "Traceback (most recent call last):\n"
        + "".join(f'  File "/srv/{d}/{f}.py", line {n}, in {f}\n    {f}()\n' for d, f, n in frames)
        + f"ValueError: {message}\n"
    )
    trace = _one(python)
    assert [(fr.file, fr.line, fr.function) for fr in trace.frames] == [
        (f"/srv/{d}/{f}.py", n, f) for d, f, n in reversed(frames)
    ]
    java = f"com.acme.Boom: {message}\n" + "".join(f"\tat com.{d}.K.{f}(K.java:{n})\n" for d, f, n in frames)
    trace = _one(java)
    assert [(fr.path, fr.line) for fr in trace.frames] == [(f"com/{d}/K.java", n) for d, _f, n in frames]
    node = f"Error: {message}\n" + "".join(f"    at {f} (/app/{d}.js:{n}:1)\n" for d, f, n in frames)
    trace = _one(node)
    assert [(fr.file, fr.line, fr.function) for fr in trace.frames] == [
        (f"/app/{d}.js", n, f) for d, f, n in frames
    ]


def test_runaway_lines_are_parsed_in_linear_time() -> None:
    import time

    texts = [
        "a" * 64_000 + "\n\tat a.b.C.d(C.java:1)\n",
        ("a" * 1999 + "\n") * 6 + "\tat a.b(C.java:1)\n",
        ("a." * 999 + "\n") * 6 + "\tat a.b(C.java:1)\n",
        "    at " + "f" * 60_000 + " (x.js:1:1)\n",
        'File "' * 10_000 + "\n",
    ]
    began = time.perf_counter()
    for text in texts:
        parse_traces(text)
        classify_error(text)
    assert time.perf_counter() - began < 1.0
