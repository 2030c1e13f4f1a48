"""The doctor's DNS checks: SPF, DKIM, DMARC for the MAIL_FROM domain, MX for BOUNCE_DOMAIN.

They ask a resolver with one method, `resolve(name, rdtype) -> list[str]`: TXT records as
their joined strings, MX as "preference host", A and AAAA as addresses; an empty list for a
name or type that does not exist, LookupFailed when the question could not be answered.
`DnsResolver` asks with dnspython; tests pass a stub with the same method.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import Flask

from bulletin.ops.doctor import Check, dkim_public_key, fail, ok, warn

#: RFC 7208 4.6.4: at most 10 terms that cause DNS queries.
SPF_LOOKUP_LIMIT = 10


class LookupFailed(Exception):
    """The resolver could not answer (timeout, SERVFAIL): neither yes nor no."""


class DnsResolver:
    """dnspython's resolver, answers as strings."""

    def __init__(self, lifetime: float = 5.0):
        import dns.resolver

        self._resolver = dns.resolver.Resolver()
        self._resolver.lifetime = lifetime

    def resolve(self, name: str, rdtype: str) -> list[str]:
        import dns.exception
        import dns.resolver

        try:
            answer = self._resolver.resolve(name, rdtype)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise LookupFailed(f"{name} {rdtype}: {type(exc).__name__}") from exc
        if rdtype == "TXT":
            return [b"".join(r.strings).decode(errors="replace") for r in answer]
        if rdtype == "MX":
            return [f"{r.preference} {r.exchange.to_text()}" for r in answer]
        return [r.to_text() for r in answer]


def mail_domain(app: Flask) -> str:
    """The domain of MAIL_FROM's address."""
    return parseaddr(app.config["MAIL_FROM"])[1].rpartition("@")[2].lower()


def check_dns(app: Flask, resolver) -> list[Check]:
    """SPF, DKIM, DMARC and the bounce MX, each turning a failed lookup into a WARN."""
    found: list[Check] = []
    for name, check in (
        ("dns.spf", check_spf),
        ("dns.dkim", check_dkim),
        ("dns.dmarc", check_dmarc),
        ("dns.bounce_mx", check_bounce_mx),
    ):
        try:
            found += check(app, resolver)
        except LookupFailed as exc:
            found.append(warn(name, f"could not ask DNS ({exc}): run the doctor again"))
    return found


def _records(resolver, name: str, prefix: str) -> list[str]:
    return [r for r in resolver.resolve(name, "TXT") if r.lower().startswith(prefix)]


def check_spf(app: Flask, resolver) -> Iterable[Check]:
    """SPF for the MAIL_FROM domain, and for BOUNCE_DOMAIN (the envelope sender's domain, which
    receivers check) when it differs: each must let the relay in SMTP_URL send."""
    domain = mail_domain(app)
    yield from _check_spf_domain(app, resolver, "dns.spf", domain)
    bounce = (app.config.get("BOUNCE_DOMAIN") or "").lower()
    if bounce and bounce != domain:
        yield from _check_spf_domain(app, resolver, "dns.spf_bounce_domain", bounce)


def _check_spf_domain(app: Flask, resolver, name: str, domain: str) -> Iterable[Check]:
    records = _records(resolver, domain, "v=spf1")
    if not records:
        yield fail(
            name,
            f'no SPF record at {domain}: publish TXT "v=spf1 '
            "include:<your relay's SPF domain> -all\" (or ip4:<your server>)",
        )
        return
    if len(records) > 1:
        yield fail(
            name,
            f"{len(records)} SPF records at {domain}: receivers ignore "
            "them all; merge them into one",
        )
        return
    if any(term in ("all", "+all") for term in records[0].split()[1:]):
        yield fail(name, f"{domain} SPF ends in +all: anyone may send as you; use -all")
        return
    relay = urlsplit(app.config.get("SMTP_URL") or "").hostname
    if not relay:
        yield warn(
            name,
            f"{domain}: {records[0]}; SMTP_URL is unset, so the sending "
            "host is unknown: check that the record names it",
        )
        return
    addresses = _addresses(resolver, relay)
    public = [a for a in addresses if ipaddress.ip_address(a).is_global]
    if not public:
        yield warn(
            name,
            f"{domain}: {records[0]}; the relay {relay} has no public "
            "address, so mail leaves from elsewhere: check the record names that host",
        )
        return
    lookups = [0]
    allowed = [a for a in public if spf_allows(resolver, domain, a, lookups) is True]
    if allowed:
        yield ok(name, f"{domain} lets the relay {relay} ({allowed[0]}) send")
    else:
        yield fail(
            name,
            f"{domain} SPF ({records[0]}) does not let the relay {relay} "
            f"({', '.join(public)}) send: add it (include: or ip4:/ip6:)",
        )


def _addresses(resolver, host: str) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        return resolver.resolve(host, "A") + resolver.resolve(host, "AAAA")


def spf_allows(resolver, domain: str, address: str, lookups: list[int]) -> bool | None:
    """True when `domain`'s SPF passes `address`, False when it does not, None when unknown
    (no record, or more than SPF_LOOKUP_LIMIT lookups). exists: and ptr are not followed."""
    records = _records(resolver, domain, "v=spf1")
    if len(records) != 1:
        return None
    ip = ipaddress.ip_address(address)
    redirect = None
    for term in records[0].split()[1:]:
        if term.lower().startswith("redirect="):
            redirect = term.split("=", 1)[1]
            continue
        qualifier = term[0] if term[0] in "+-~?" else "+"
        mechanism = term.lstrip("+-~?")
        kind, _, value = mechanism.partition(":")
        kind = kind.split("/")[0].lower()
        if kind in ("a", "mx", "include", "exists", "ptr"):
            lookups[0] += 1
            if lookups[0] > SPF_LOOKUP_LIMIT:
                return None
        matched = _matches(resolver, kind, value or domain, ip, lookups)
        if matched:
            return qualifier == "+"
    if redirect:
        lookups[0] += 1
        return spf_allows(resolver, redirect, address, lookups)
    return False


def _matches(resolver, kind: str, value: str, ip, lookups: list[int]) -> bool:
    if kind == "all":
        return True
    if kind in ("ip4", "ip6"):
        try:
            return ip in ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
    target, _, prefix = value.partition("/")
    if kind == "a":
        return _in_hosts(resolver, [target], ip, prefix)
    if kind == "mx":
        hosts = [r.split()[-1] for r in resolver.resolve(target, "MX")]
        return _in_hosts(resolver, hosts, ip, prefix)
    if kind == "include":
        return spf_allows(resolver, value, str(ip), lookups) is True
    return False


def _in_hosts(resolver, hosts: list[str], ip, prefix: str) -> bool:
    for host in hosts:
        for found in _addresses(resolver, host.rstrip(".")):
            bits = int(prefix) if prefix.isdigit() else ipaddress.ip_address(found).max_prefixlen
            if ip in ipaddress.ip_network(f"{found}/{bits}", strict=False):
                return True
    return False


def _tags(record: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in record.split(";") if "=" in part)
    return {k.strip().lower(): "".join(v.split()) for k, v in pairs}


def check_dkim(app: Flask, resolver) -> Iterable[Check]:
    """The TXT record at selector._domainkey.domain holds the public half of our key."""
    config = app.config
    selector, domain = config.get("DKIM_SELECTOR"), config.get("DKIM_DOMAIN")
    path = config.get("DKIM_PRIVATE_KEY_PATH")
    if not (selector and domain and path):
        yield warn(
            "dns.dkim",
            "DKIM is off (DKIM_SELECTOR, DKIM_DOMAIN, DKIM_PRIVATE_KEY_PATH "
            "unset): nothing to look up",
        )
        return
    try:
        ours = dkim_public_key(path)
    except (OSError, ValueError) as exc:
        yield fail("dns.dkim", f"cannot read the key at {path}: {exc}")
        return
    name = f"{selector}._domainkey.{domain}"
    wanted = f"v=DKIM1; k=rsa; p={base64.b64encode(ours).decode()}"
    records = [r for r in resolver.resolve(name, "TXT") if "p=" in r]
    if not records:
        yield fail("dns.dkim", f'no DKIM record at {name}: publish TXT "{wanted}"')
        return
    published = _tags(records[0]).get("p", "")
    if not published:
        yield fail("dns.dkim", f'the key at {name} is revoked (empty p=): publish "{wanted}"')
    elif published != base64.b64encode(ours).decode():
        yield fail(
            "dns.dkim",
            f"the key at {name} is not the public half of {path}: "
            f'publish TXT "{wanted}" (or point DKIM_PRIVATE_KEY_PATH at its key)',
        )
    else:
        yield ok("dns.dkim", f"{name} holds the public half of {path}")


def check_dmarc(app: Flask, resolver) -> Iterable[Check]:
    """A DMARC record for the MAIL_FROM domain (or its parent), and its policy."""
    domain = mail_domain(app)
    labels = domain.split(".")
    for candidate in dict.fromkeys([domain, ".".join(labels[-2:])]):
        records = _records(resolver, f"_dmarc.{candidate}", "v=dmarc1")
        if records:
            break
    else:
        yield fail(
            "dns.dmarc",
            f"no DMARC record at _dmarc.{domain}: publish TXT "
            f'"v=DMARC1; p=none; rua=mailto:dmarc@{domain}", then tighten to '
            "quarantine or reject once reports show your mail passes",
        )
        return
    policy = _tags(records[0]).get("p", "").lower()
    where = f"_dmarc.{candidate}"
    if policy in ("quarantine", "reject"):
        yield ok("dns.dmarc", f"{where}: p={policy}")
    elif policy == "none":
        yield warn(
            "dns.dmarc",
            f"{where}: p=none only monitors: move to p=quarantine or "
            "p=reject once reports show your mail passes SPF or DKIM",
        )
    else:
        yield fail(
            "dns.dmarc",
            f"{where} has no valid policy (p={policy or 'missing'}): "
            "set p=none, quarantine or reject",
        )


def check_bounce_mx(app: Flask, resolver) -> Iterable[Check]:
    """BOUNCE_DOMAIN has an MX; when BOUNCE_MX_HOST is set, one of them is that host."""
    domain = app.config.get("BOUNCE_DOMAIN")
    if not domain:
        yield warn(
            "dns.bounce_mx",
            "BOUNCE_DOMAIN is unset: bounces go wherever MAIL_FROM's "
            "domain takes mail, and bulletin does not see them",
        )
        return
    hosts = sorted(
        (int(p), h.rstrip(".").lower())
        for p, h in (r.split() for r in resolver.resolve(domain, "MX"))
    )
    if not hosts:
        yield fail(
            "dns.bounce_mx",
            f"no MX for {domain}: publish MX 10 <the host running `bulletin bounce-server`>",
        )
        return
    names = [h for _, h in hosts]
    expected = (app.config.get("BOUNCE_MX_HOST") or "").rstrip(".").lower()
    if not expected:
        yield ok(
            "dns.bounce_mx",
            f"{domain} MX: {', '.join(names)} (set BOUNCE_MX_HOST to "
            "check it names the host running the bounce server)",
        )
    elif expected in names:
        yield ok("dns.bounce_mx", f"{domain} MX includes {expected}")
    else:
        yield fail(
            "dns.bounce_mx",
            f"{domain} MX is {', '.join(names)}, not {expected} (where "
            f"the bounce server runs): publish MX 10 {expected}",
        )
