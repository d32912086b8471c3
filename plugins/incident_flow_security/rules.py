"""Web attack rules in the style of the OWASP Core Rule Set, and per-request anomaly scoring.

Each rule belongs to a CRS family and carries a CRS severity; a request's anomaly score is the sum
of the severities of the distinct rules it matched (critical 5, error 4, warning 3, notice 2), and
it is an attack when the score reaches the threshold (5, the CRS default). So one unmistakable
sign is enough, and weaker signs count only together: a lone ``<b>`` in a comment field is a
notice, a ``<b>`` with ``alert(`` is an attack.

The families (numbered as in the CRS, so a WAF team recognises them):

- **913** scanner detection: the user agents and fingerprints of attack tools;
- **920** protocol evasion: encodings no browser sends (overlong UTF-8, double encoding, ``%u``, NUL);
- **930** path traversal and local file inclusion (CRS 930 "LFI");
- **932** remote command execution, with PHP and JNDI code injection folded in (CRS 932, 933, 944);
- **941** cross-site scripting;
- **942** SQL injection.

The patterns describe attacks in general (shell separators followed by commands, quotes followed
by boolean tautologies, script-capable tags and handlers), never the vocabulary of one data set.
Every value is decoded first (:mod:`incident_flow_security.decoding`), then read in a few
normalised forms: plain, with SQL comments removed, with shell quoting removed, without spaces.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Final

import attrs

from incident_flow_security.decoding import Decoded, decode

__all__ = [
    "FAMILIES",
    "RULES",
    "SEVERITY_SCORES",
    "Rule",
    "RuleMatch",
    "Verdict",
    "inspect_request",
    "split_target",
]

FAMILIES: Final[dict[str, str]] = {
    "913": "scanner detection",
    "920": "protocol evasion",
    "930": "path traversal / local file inclusion",
    "932": "remote command execution",
    "941": "cross-site scripting",
    "942": "SQL injection",
}
"""Rule family number to its name, as the CRS names its rule files."""

SEVERITY_SCORES: Final[dict[str, int]] = {"critical": 5, "error": 4, "warning": 3, "notice": 2}
"""The CRS anomaly score of each severity."""

# When a request matches several families, ties go to the one that does the most harm.
_FAMILY_ORDER = ("942", "932", "930", "941", "913", "920")


@attrs.frozen
class Rule:
    """One detection: ``targets`` are where it looks (``path``, ``arg``, ``agent``); ``views`` are
    the normalised forms of a value it reads (``text``, ``sql``, ``shell``, ``squeezed``, ``slashes``,
    ``raw``)."""

    id: str
    family: str
    name: str
    severity: str
    pattern: re.Pattern[str]
    targets: frozenset[str] = frozenset({"path", "arg"})
    views: tuple[str, ...] = ("text",)

    @property
    def score(self) -> int:
        return SEVERITY_SCORES[self.severity]


def _rule(
    rule_id: str,
    name: str,
    severity: str,
    pattern: str,
    *,
    targets: Iterable[str] = ("path", "arg"),
    views: Iterable[str] = ("text",),
) -> Rule:
    return Rule(
        id=rule_id,
        family=rule_id[:3],
        name=name,
        severity=severity,
        pattern=re.compile(pattern),
        targets=frozenset(targets),
        views=tuple(views),
    )


_STRONG_COMMANDS = (
    r"whoami|uname|ifconfig|ipconfig|netstat|wget|curl|ncat|netcat|socat|bash|zsh|ksh|csh|dash|python[23]?"
    r"|perl|ruby|php|nslookup|systeminfo|tasklist|certutil|bitsadmin|powershell|pwsh|cmd(?:\.exe)?|mkfifo"
    r"|chmod|chown|useradd|usermod|crontab|base64|telnet|nmap|tftp|gcc|sudo|shutdown|reboot|killall|pkill"
    r"|iptables|nohup|xterm|sysinfo|getent|hostname|printenv|lsof|nc|sh"
)
_WEAK_COMMANDS = (
    r"id|ls|cat|ping|echo|sleep|dir|find|type|more|less|head|tail|kill|env|ps|pwd|rm|net|route|set"
)
_SEPARATOR = r"(?:[;|`\n]|&&?|\$\()"
_HANDLERS = (
    r"abort|animation\w*|auxclick|before\w+|blur|change|click|contextmenu|copy|cut|dblclick|drag\w*|drop"
    r"|error|focus(?:in|out)?|hashchange|input|invalid|key(?:down|press|up)|load|message|mouse\w+|paste"
    r"|pointer\w+|reset|resize|scroll|search|select|show|start|submit|toggle|touch\w+|transition\w+"
    r"|unload|wheel|begin|end|readystatechange|pageshow|popstate|finish|bounce|loadstart|play\w*|seek\w*"
)

RULES: Final[tuple[Rule, ...]] = (
    # -- 913 scanners ------------------------------------------------------------------------------
    _rule(
        "913100",
        "user agent of a security scanner",
        "critical",
        r"\b(?:sqlmap|nikto|nmap|masscan|zgrab|nessus|openvas|acunetix|netsparker|w3af|wpscan|dirbuster"
        r"|gobuster|feroxbuster|nuclei|ffuf|wfuzz|hydra|havij|arachni|skipfish|whatweb|jaeles|commix"
        r"|xsstrike|zaproxy|owasp[ _-]?zap|burp ?suite|burpcollaborator|appscan|webinspect|joomscan"
        r"|droopescan|fimap|paros|zmeu|jorgee|morfeus|dotdotpwn|sqlninja|bsqlbf|bbqsql|httprint|webshag"
        r"|fuzz faster u fool)\b",
        targets=("agent",),
    ),
    _rule(
        "913120",
        "fingerprint of a scanner in the request",
        "critical",
        r"nessus_is_probing_you|nessus-check|/nmaplowercheck|acunetix[_-]wvs|wvstest|/w00tw00t|\bsqlmap\b"
        r"|\bnikto\b|bxss\.me|burpcollaborator|oastify\.com|\binteract\.sh\b|dnslog\.cn|/hnap1\b",
    ),
    # -- 930 path traversal / LFI ------------------------------------------------------------------
    _rule(
        "930100",
        "repeated path traversal sequence",
        "critical",
        r"(?:\.{2,}/+){2,}|(?:/\.{2,}){2,}",
        views=("slashes",),
    ),
    _rule("930110", "path traversal sequence", "warning", r"(?:^|/)\.{2,}(?:/|$)", views=("slashes",)),
    _rule(
        "930120",
        "access to an operating system file",
        "critical",
        r"(?:^|[/=\s:])(?:etc/(?:passwd|shadow|group|hosts|issue|hostname|crontab|sudoers|master\.passwd"
        r"|security/|ssh/|mysql/|httpd/|nginx/|apache2?/)|proc/(?:self|\d+)/(?:environ|cmdline|maps|fd|status"
        r"|exe|cwd|root)|(?:boot|win|system)\.ini\b|(?:windows|winnt)/(?:system32|win\.ini|repair|system\.ini)"
        r"|inetpub/|var/log/|\.ssh/(?:id_\w+|authorized_keys|known_hosts)|\.bash_history|\.aws/credentials"
        r"|\.docker/config\.json|\.kube/config)|\b[a-z]:/+(?:windows|winnt|boot\.ini|inetpub|users/"
        r"|documents and settings)",
        views=("slashes",),
    ),
    _rule(
        "930130",
        "access to a restricted web file",
        "critical",
        r"(?:^|/)(?:\.env(?:\.[a-z]+)?|\.git/(?:config|head|index|logs)|\.svn/(?:entries|wc\.db)|\.hg/"
        r"|\.htaccess|\.htpasswd|\.ds_store|web-inf/(?:web\.xml|classes)|wp-config\.php\S*|\.npmrc|\.pypirc"
        r"|id_rsa|server\.xml)(?:$|[/?#\s])",
        views=("slashes",),
    ),
    _rule(
        "930140",
        "file or stream wrapper scheme",
        "critical",
        r"\b(?:php|file|zip|phar|expect|glob|jar|zlib|compress\.zlib|ogg|rar|ssh2\.\w+)://",
        targets=("path", "arg"),
    ),
    # -- 932 command execution and code injection ----------------------------------------------------
    _rule(
        "932100",
        "command after a shell separator",
        "critical",
        rf"{_SEPARATOR}\s*(?:(?:/usr)?/s?bin/)?(?:{_STRONG_COMMANDS})\b",
        views=("text", "shell"),
    ),
    _rule(
        "932105",
        "short command after a shell separator",
        "critical",
        rf"{_SEPARATOR}\s*(?:(?:/usr)?/s?bin/)?(?:{_WEAK_COMMANDS})"
        r"(?:\s*(?:$|[;|&`)#\n])|\s+(?:[-/.~$%\\]|\d|[a-z]:\\|/))",
        views=("text", "shell"),
    ),
    _rule(
        "932110",
        "command substitution",
        "critical",
        rf"\$\(\s*[a-z/`]|`[^`]{{0,80}}\b(?:{_STRONG_COMMANDS}|{_WEAK_COMMANDS})\b[^`]{{0,80}}`",
        views=("text", "shell"),
    ),
    _rule(
        "932120",
        "Shellshock function definition",
        "critical",
        r"\(\s*\)\s*\{[^}]{0,40}\}\s*;",
        targets=("path", "arg", "agent"),
    ),
    _rule(
        "932130",
        "shell evasion or reverse shell",
        "critical",
        r"\$\{?ifs\b|/dev/(?:tcp|udp)/|\bnc(?:at)?\s+(?:-\w+\s+)*-[a-z]*[ec]\b|\b(?:ba)?sh\s+-[ic]\b"
        r"|\bpython[23]?\s+-c\b|\bperl\s+-e\b|\bpowershell(?:\.exe)?\s+-\w|\bcmd(?:\.exe)?\s*/[ck]\b"
        r"|\bmkfifo\s|(?:^|[\s;|&])/bin/(?:ba|z|k|c|da)?sh\b",
        views=("text", "shell"),
    ),
    _rule(
        "932140",
        "PHP or server-side include code injection",
        "critical",
        r"<\?(?:php|=)|\b(?:system|shell_exec|passthru|popen|proc_open|pcntl_exec|create_function|assert"
        r"|call_user_func)\s*\(|\bexec\s*\(\s*['\"$]|\$_(?:get|post|request|server|cookie|env|files)\b"
        r"|\bphpinfo\s*\(|<!--\s*#\s*(?:exec|include|echo|config)\b|\$\{@|\{\$\{",
    ),
    _rule(
        "932150",
        "JNDI lookup (Log4Shell)",
        "critical",
        r"\$\{(?:jndi|[^}]{0,30}(?:\$\{|lower:|upper:|::-))|jndi:(?:ldaps?|rmi|dns|iiop|nis|corba|nds|https?):",
        targets=("path", "arg", "agent"),
    ),
    # -- 941 cross-site scripting --------------------------------------------------------------------
    _rule("941110", "script tag", "critical", r"<script\b|</script\s*>"),
    _rule(
        "941120",
        "event handler in markup",
        "critical",
        rf"<[a-z!?/%][^>]{{0,200}}?[\s/\"'`]on[a-z]{{3,25}}\s*=|[\"'`][\s/]*on(?:{_HANDLERS})\s*="
        rf"|\bon(?:{_HANDLERS})\s*=\s*[^\s=]{{0,20}}(?:\(|`|alert|prompt|confirm|eval|javascript)",
    ),
    _rule(
        "941130",
        "script URL scheme",
        "critical",
        r"(?:java|vb|live|ecma)script:|data:text/html",
        views=("squeezed",),
    ),
    _rule(
        "941140",
        "CSS expression or binding",
        "critical",
        r"expression\(|-moz-binding|behavior:url|@import['\"(u]|url\(['\"]?(?:java|vb)script",
        views=("squeezed",),
    ),
    _rule(
        "941160",
        "script-capable HTML element",
        "critical",
        r"<(?:iframe|frame|frameset|object|embed|applet|svg|math|meta|base|link|style|isindex|xss|layer"
        r"|bgsound|xml|marquee|body|form|details|video|audio|template)\b",
    ),
    _rule(
        "941170",
        "JavaScript sink or dialog",
        "critical",
        r"(?:^|[;'\"`(>=+\-{},])\s*(?:alert|prompt|confirm|eval|settimeout|setinterval)\s*[(`]"
        r"|\bdocument\s*\.\s*(?:cookie|domain|write|location)|\bwindow\s*\.\s*(?:location|open)\b"
        r"|\.innerhtml\b|string\s*\.\s*fromcharcode|\.constructor\s*\(",
    ),
    _rule("941180", "HTML tag", "warning", r"<[a-z][a-z0-9]{0,15}(?:[\s/][^>]*)?>|</[a-z][a-z0-9]{0,15}\s*>"),
    _rule("941200", "UTF-7 encoded markup", "critical", r"\+ad[w4]-", views=("raw",)),
    # -- 942 SQL injection ----------------------------------------------------------------------------
    _rule(
        "942100",
        "UNION SELECT",
        "critical",
        r"\bunion\b(?:\s+(?:all|distinct|distinctrow))?\s*\(*\s*select\b",
        targets=("path", "arg", "agent"),
        views=("sql",),
    ),
    _rule(
        "942110",
        "tautology after a quote",
        "critical",
        r"['\"`][\s)]*(?:or|and|xor|\|\||&&)\b.{0,40}?(?:=|<>|!=|\blike\b|\bis\s+(?:not\s+)?null\b|>|<"
        r"|\btrue\b|\bfalse\b|\bsleep\b|\bbenchmark\b|\bpg_sleep\b|\bnot\b)",
        views=("sql",),
    ),
    _rule(
        "942120",
        "boolean tautology",
        "critical",
        r"\b(?:or|and|xor)\s+\(*\s*(['\"`]?)([\w@.]{1,30})\1\s*\)*\s*(?:=|<=>|\blike\b)\s*\(*\s*\1\2\1(?!\w)"
        r"|\b(?:or|and|xor)\s+\d+\s*(?:=|>|<|<>|!=|>=|<=)\s*\d+\b|\bor\s+(?:true|not\s+false)\b",
        views=("sql",),
    ),
    _rule(
        "942130",
        "stacked query",
        "critical",
        r";\s*(?:drop|delete|insert|update|alter|create|truncate|shutdown|exec(?:ute)?|declare|waitfor"
        r"|select|grant|revoke|rename|handler|call|merge|set\s+@)\b",
        views=("sql",),
    ),
    _rule(
        "942140",
        "time delay or heavy function",
        "critical",
        r"\b(?:sleep|benchmark|pg_sleep|randomblob|get_lock|dbms_pipe\.receive_message|dbms_lock\.sleep)\s*\("
        r"|\bwaitfor\s+(?:delay|time)\s+['\"\d]",
        targets=("path", "arg", "agent"),
        views=("sql",),
    ),
    _rule(
        "942150",
        "database system object",
        "critical",
        r"information_schema|\bsysobjects\b|\bsyscolumns\b|\bsys\.(?:tables|columns|objects|databases)\b"
        r"|\bmysql\.(?:user|db)\b|\bpg_(?:catalog|shadow|user|database|tables)\b|\ball_tables\b|\buser_tables\b"
        r"|\bsqlite_(?:master|schema)\b|@@(?:version|datadir|hostname|basedir|servername|tmpdir)"
        r"|\bxp_cmdshell\b|\bsp_(?:executesql|password|oacreate|makewebtask|configure)\b|\bload_file\s*\("
        r"|\binto\s+(?:out|dump)file\b|\butl_(?:http|inaddr|file)\b|\bdbms_[a-z_]+\.",
        targets=("path", "arg", "agent"),
        views=("sql",),
    ),
    _rule(
        "942160",
        "SQL comment after a quote",
        "critical",
        r"['\"`]\s*\)*\s*(?:--|#|/\*|;\s*--|;\s*$)",
    ),
    _rule(
        "942170",
        "SQL function call",
        "warning",
        r"\b(?:concat(?:_ws)?|group_concat|char|chr|nchar|ascii|substring|substr|mid|hex|unhex|cast|convert"
        r"|extractvalue|updatexml|version|database|current_user|system_user|session_user|user|md5|sha1|ord"
        r"|elt|ifnull|nullif|coalesce|count|floor|rand|name_const|make_set|iif)\s*\(",
        views=("sql",),
    ),
    _rule("942180", "SELECT ... FROM", "error", r"\bselect\b.{1,200}?\bfrom\b", views=("sql",)),
    _rule(
        "942185",
        "SQL statement",
        "critical",
        r"\b(?:insert\s+into|delete\s+from|drop\s+(?:table|database|user|column|view|procedure|function)"
        r"|alter\s+table|create\s+(?:table|user|function|procedure)|truncate\s+table|exec(?:ute)?\s+(?:xp_|sp_|master\.)"
        r"|declare\s+@\w+)\b",
        views=("sql",),
    ),
    _rule(
        "942190",
        "ORDER BY / GROUP BY probing",
        "critical",
        r"\border\s+by\s+\d+\s*(?:--|#|/\*|,|\)|$)|\bgroup\s+by\s+\d+\s*(?:--|#|$)|\bhaving\s+\d+\s*=\s*\d+"
        r"|\border\s+by\s+(?:sleep|if|case)\b",
    ),
    _rule(
        "942200",
        "quote followed by a SQL keyword",
        "error",
        r"['\"`]\s*\)*\s*;?\s*(?:union|select|insert|update|delete|drop|having|order\s+by|group\s+by|waitfor"
        r"|exec|declare|procedure|limit|into|where|from|or|and)\b",
        views=("sql",),
    ),
    _rule("942210", "MySQL executable comment", "critical", r"/\*!\d{0,6}"),
    _rule(
        "942220",
        "character-code obfuscation",
        "critical",
        r"\bchar\s*\(\s*\d+\s*\)\s*(?:\+|\|\||,)\s*char\s*\(|\bconcat\s*\(\s*0x[0-9a-f]|\b0x[0-9a-f]{16,}\b",
        views=("sql",),
    ),
)
"""All rules, in the order they are tried."""

_EVASIONS: Final[dict[str, tuple[str, str, str]]] = {
    "overlong_utf8": ("920260", "overlong UTF-8 encoding", "critical"),
    "null_byte": ("920270", "NUL byte in a value", "error"),
    "multiple_encoding": ("920230", "multiple URL encoding", "warning"),
    "unicode_escape": ("920261", "IIS %u encoding", "warning"),
    "js_escape": ("920262", "JavaScript escape in a URL value", "warning"),
    "fullwidth": ("920263", "fullwidth Unicode forms", "notice"),
}

_SQL_COMMENT = re.compile(r"/\*!?\d*|\*/|/\*.*?\*/")
_SHELL_QUOTING = re.compile(r"[\\'\"^]|\$\{?ifs\}?|\$@|\$\{\}")
_SPACES = re.compile(r"\s+")
_SQUEEZE = re.compile(r"/\*.*?\*/|[\s\\]+")


@attrs.frozen
class RuleMatch:
    """One rule that matched: where (``path``, ``arg:<name>``, ``agent``) and the text it matched."""

    rule_id: str
    family: str
    name: str
    severity: str
    score: int
    target: str
    excerpt: str


@attrs.frozen
class Verdict:
    """The outcome of scoring one request: its anomaly score, the rules behind it, its family."""

    score: int
    matches: tuple[RuleMatch, ...] = ()
    threshold: int = 5

    @property
    def attack(self) -> bool:
        return self.score >= self.threshold

    @property
    def family(self) -> str | None:
        """The family that contributed most to the score (ties: the more harmful family)."""
        if not self.matches:
            return None
        totals: dict[str, int] = {}
        for match in self.matches:
            totals[match.family] = totals.get(match.family, 0) + match.score
        return max(totals, key=lambda f: (totals[f] if f != "920" else -1, -_FAMILY_ORDER.index(f)))

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(sorted({m.family for m in self.matches}))


def split_target(target: str) -> tuple[str, list[tuple[str, str]]]:
    """A request target (``/path?a=1&b=2``) as its path and its raw ``(name, value)`` pairs.

    The split happens before decoding, as the application does, so an encoded ``%26`` stays inside
    its value.
    """
    path, _, query = target.partition("?")
    args: list[tuple[str, str]] = []
    if query:
        for piece in query.split("&"):
            if not piece:
                continue
            name, sep, value = piece.partition("=")
            args.append((name, value) if sep else ("", name))
    return path, args


def _views(decoded: Decoded, wanted: set[str]) -> dict[str, str]:
    text = decoded.text
    views = {"text": text}
    if "sql" in wanted:
        views["sql"] = _SPACES.sub(" ", _SQL_COMMENT.sub(" ", text)) if "/*" in text or "*/" in text else text
    if "shell" in wanted:
        views["shell"] = _SPACES.sub(" ", _SHELL_QUOTING.sub("", text))
    if "squeezed" in wanted:
        views["squeezed"] = _SQUEEZE.sub("", text)
    if "slashes" in wanted:
        views["slashes"] = text.replace("\\", "/")
    if "raw" in wanted:
        views["raw"] = decoded.raw.lower()
    return views


_ALL_VIEWS = {view for rule in RULES for view in rule.views}
_SUSPICIOUS = re.compile(
    r"[<>'\"`;|&$(){}\\\n*!@]|\.\.|/\.|^\.|:/|:\\|\+ad|/dev/|/bin/|\b(?:union|select|sleep|benchmark|waitfor|or"
    r"|and|xor|etc|proc|windows|winnt|boot|win|system|inetpub|var|order|group|having|information_schema|exec"
    r"|insert|delete|drop|alter|create|truncate|declare|char|concat|nessus|nikto|sqlmap|nmap|acunetix|jndi"
    r"|hnap1|w00tw00t|wvstest|bxss|burpcollaborator|oastify|interact|dnslog|script|data|expression|behavior"
    r"|binding|import|url|javascript|vbscript|document|innerhtml|fromcharcode|sysobjects|syscolumns|sys|mysql"
    r"|pg_\w+|all_tables|user_tables|sqlite_\w+|xp_cmdshell|sp_\w+|into|utl_\w+|dbms_\w+|web-inf|wp-config"
    r"|id_rsa|server|nc|ncat|bash|sh|python[23]?|perl|powershell|cmd|mkfifo|0x[0-9a-f]+)\b",
)
"""A cheap first look: a value without any of these characters or words can match no rule, so most
benign values skip the rule loop. ``tests/test_security_rules.py`` checks that it never hides a match."""


_Hit = tuple[str, str, str, str, int, str]  # rule id, family, name, severity, score, excerpt


_CACHED_LENGTH = 256


def _value_hits(value: str, kind: str, plus_as_space: bool, prefilter: bool) -> tuple[_Hit, ...]:
    """The rules one value matches where it appears (``kind``).

    Short values are cached: logs repeat their values (the same user agents, paths and parameters),
    so most are scored once per process; long ones (rare, and mostly attacks) are not, which bounds
    the cache's memory.
    """
    if len(value) <= _CACHED_LENGTH:
        return _cached_value_hits(value, kind, plus_as_space, prefilter)
    return _score_value(value, kind, plus_as_space, prefilter)


@functools.lru_cache(maxsize=65536)
def _cached_value_hits(value: str, kind: str, plus_as_space: bool, prefilter: bool) -> tuple[_Hit, ...]:
    return _score_value(value, kind, plus_as_space, prefilter)


def _score_value(value: str, kind: str, plus_as_space: bool, prefilter: bool) -> tuple[_Hit, ...]:
    decoded = decode(value, plus_as_space=plus_as_space)
    hits: list[_Hit] = []
    for flag in sorted(decoded.flags):
        evasion = _EVASIONS.get(flag)
        if evasion is not None:
            rule_id, name, severity = evasion
            hits.append((rule_id, "920", name, severity, SEVERITY_SCORES[severity], decoded.raw[:80]))
    # A user agent always gets every rule of its own (scanner names are too many to prefilter).
    if (
        prefilter
        and kind != "agent"
        and not _SUSPICIOUS.search(decoded.text)
        and not _SUSPICIOUS.search(decoded.raw.lower())
    ):
        return tuple(hits)
    views = _views(decoded, _ALL_VIEWS)
    for rule in RULES:
        if kind not in rule.targets:
            continue
        for view in rule.views:
            found = rule.pattern.search(views[view])
            if found is not None:
                hits.append((rule.id, rule.family, rule.name, rule.severity, rule.score, found.group()[:80]))
                break
    return tuple(hits)


def _pieces(target: str) -> Iterator[tuple[str, str, str, bool]]:
    """(kind, where, raw value, plus means space) for the path, each parameter name and value."""
    path, args = split_target(target)
    yield "path", "path", path, False
    for name, value in args:
        if name:
            yield "arg", f"argname:{name}", name, True
        yield "arg", f"arg:{name}" if name else "arg", value, True


def inspect_request(
    target: str, *, user_agent: str | None = None, threshold: int = 5, prefilter: bool = True
) -> Verdict:
    """Score one request: its target (path and query string, as in the request line) and user agent.

    Returns every rule that matched and the summed anomaly score; ``Verdict.attack`` says whether it
    reaches ``threshold``. ``prefilter=False`` runs every rule on every value (slower, same result:
    the tests hold the two equal).
    """
    pieces = list(_pieces(target))
    if user_agent and user_agent != "-":
        pieces.append(("agent", "agent", user_agent, False))
    seen: dict[str, RuleMatch] = {}
    for kind, where, value, plus in pieces:
        for rule_id, family, name, severity, score, excerpt in _value_hits(value, kind, plus, prefilter):
            if rule_id not in seen:
                seen[rule_id] = RuleMatch(rule_id, family, name, severity, score, where, excerpt)
    matches = tuple(sorted(seen.values(), key=lambda m: (-m.score, m.rule_id)))
    return Verdict(score=sum(m.score for m in matches), matches=matches, threshold=threshold)
