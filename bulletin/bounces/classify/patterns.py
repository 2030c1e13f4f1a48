"""Phrase tables that tell why a delivery failed, grouped into bounce reasons."""

from __future__ import annotations

import re


def _compile(*phrases: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in phrases))


# Reasons meaning "the address is gone" (hard when the failure is permanent).
USER_UNKNOWN = _compile(
    r"\b(?:user|recipient|mailbox|address|account|addressee|e-?mail address|local ?part)"
    r"(?: name)? (?:is )?(?:unknown|not known|not found|not recogni[sz]ed|does ?n[o']t exist"
    r"|not exist|invalid|non-?existent|unavailable|not valid|could not be found|not ok\b)",
    r"\bunknown (?:user|recipient|mailbox|address|local[- ]?part|e-?mail address|alias)",
    r"\bno such (?:user|recipient|mailbox|address|person|account|local user)",
    r"\binvalid (?:recipient|mailbox|user|address|e-?mail address)\b",
    r"\b(?:not a valid|is not a known|not a known) (?:user|recipient|mailbox|address)",
    r"\bnot an active address",
    r"\bno mailbox (?:here|by that name|found|for)",
    r"\bno (?:account|one) (?:by that name|at this address)",
    r"\bmailbox (?:\S{1,64} )?(?:does not exist|not present|is unavailable|not found)",
    r"\b(?:user|recipient|address|mailbox|account) \S{1,64} "
    r"(?:does not exist|was not found|unknown)",
    r"\brecipient (?:rejected|refused|not accepted)?:? ?(?:unknown|invalid|user unknown|no such)",
    r"\bdoes not exist(?: here| on this server| in our| at)?\b",
    r"\bemail account that you tried to reach does not exist",
    r"\bbad (?:destination )?(?:mailbox|recipient|address)\b",
    r"\bbadrcptto\b",
    r"\bnot (?:in|on) (?:my|our) (?:validrcptto|list of valid)",
    r"\bresolver\.adr\.recip(?:ient)?notfound",
    r"\baddress rejected: (?:user|unknown|invalid)",
    r"\brecipient address rejected: (?:access denied|undeliverable address)",
    r"\bthere is no (?:one|user|mailbox)",
    r"\bno valid recipients?\b",
    r"\bnot (?:listed in|found in) (?:the )?(?:directory|address book|domino directory)",
    r"\bdestination addresses? (?:were|was) unknown",
    r"\bnon[- ]?existent (?:user|mailbox|recipient|address)",
    r"\buser not active",
    r"\bvirtual user\b.{0,60}unknown",
    r"\binvalid or unknown virtual user",
    r"\bnessun utente|utilisateur inconnu|no existe (?:dicha|ese)|existiert nicht",
    r"\bdoes ?n[o']t have an? [\w.-]{1,64} account\b",
    r"\binvalid final delivery userid\b",  # IMail
    r"\bno longer (?:valid|available|exists?|in use|with)\b",
    r"\b(?:empfänger|benutzer|adresse|postfach) (?:ist )?(?:unbekannt|nicht gefunden)",
    # further families of sisimai's UserUnknown: directory lookups, mailbox-name lookups
    r"\bnot present in (?:the )?(?:directory|address book)",
    r"\bcan't accept user\b",
    r"\bdestination server rejected recipients",
    r"\bno mail ?box available for this user",
    r"\bemail name is not found",
    r"\bbadrecipientto\b",
    r"\buser missing home directory",
    r"> not found\b",
    r"\bbad (?:\S{1,32} )?recipient\b",
)
HOST_UNKNOWN = _compile(
    r"\bhost or domain name not found",
    r"\b(?:domain|host)(?: name)? (?:does not exist|not found"
    r"|unknown|is not reachable|must exist)",
    r"\bunknown (?:host|domain)\b",
    r"\bno such domain",
    r"\bname or service not known",
    r"\bunroute?able address",  # Exim: the recipient's domain cannot be routed
    r"\bmail domain mentioned in email address is unknown",
    r"\bnxdomain\b",
    r"\bdomain name not found",
    r"\bthe account or domain may not exist",
    r"\bdns (?:lookup|error).{0,40}(?:nxdomain|does not exist|not found)",
    r"\bnon-?existent (?:host|domain)",
    r"\bno (?:mx|a|address) records? (?:found )?for",
    r"\bunable to route\b",
    r"\bcould ?n[o']t find a mail exchanger",
    r"\brecipient domain\b.{0,20}\bnot exist",
)
HAS_MOVED = _compile(
    r"\bhas been replaced by\b",
    r"\b(?:user|address|recipient) has moved\b",
    r"\bhas moved (?:to|on)\b",
    r"\bnew (?:e-?mail )?address is\b",
)
NOT_ACCEPT = _compile(
    r"\bdoes not accept mail\b",
    r"\bnull ?mx\b",
    r"\bmail receiving disabled",
    r"\bno route for current request",
    r"\bname server: \S*: host not found\b",
    r"\bsmtp protocol returned a permanent error",
    r"\bnot accepting network messages",
    r"\bno mx (?:record )?found\b",
    r"\b(?:521|556)[ -]",
    r"\bmx or srv record indicated no smtp service",  # Exim, for a null MX (RFC 7505)
)
# Reasons that leave the address alive.
MAILBOX_FULL = _compile(
    r"\bmail ?box (?:\S{1,64} )?(?:is )?(?:full|over ?quota|exceeds?|size limit)",
    r"\bquota\b",
    r"\bfull mailbox",
    r"\binsufficient (?:disk|storage|system storage)|\bdisk space",
    r"\bexceeded (?:storage|the storage|its storage)",
    r"\bmailfolder is full",
    r"\bno space left",
    r"\btoo many messages (?:on the server|in)",
    r"\bstorage (?:allocation|limit)",
    r"\bspace has been used up",
    r"\bboite du destinataire pleine",
    r"\bmailbox full\b",
    r"\b(?:not|does not have) enough (?:disk |storage )?space",
    r"\btoo much mail data",
)
SUSPENDED = _compile(
    r"\b(?:is|been|currently|temporarily|temporary) (?:suspended|disabled|deactivated|locked"
    r"|frozen|inactive)",
    r"\binactive (?:account|user|mailbox)",
    r"\b(?:mailbox|account|user)"
    r" (?:is )?(?:disabled|suspended|inactive|deactivated|frozen|locked|blocked|terminated)",
    r"\barchived recipient",
    r"\bno longer accepts mail",
    r"\bmailbox unavailable or access denied",
    r"\bdeactivated mailbox",
    r"\bsuspend(?:ed)? the service",
    r"\bdisabled or discontinued",
)
# The recipient's own filter refused the message: the mailbox exists (sisimai's Filtered).
RECIPIENT_FILTER = _compile(
    r"\brefused due to recipient preferences",
    r"\buser reject\b",
    r"\bmessage filtered\b",
    r"\byou have been blocked by the recipient",
    r"\baccount is protected by",
    r"\brecipient is only accepting mail from specific",
    r"\bis not accepting any mail",
    r"\bmessage rejected due to user rules",
    r"\buser refuses to receive this mail",
    r"\brecipient id refuse to receive mail",
    r"\bhas restricted sms e-?mail",
)
SENDER_FAULT = _compile(
    r"\bblock(?:ed|list|ing)?\b",
    r"\bblack ?list",
    r"\bdeny ?list",
    r"\bspam",
    r"\brbl\b",
    r"\bdnsbl\b",
    r"\bspamhaus|spamcop|barracudacentral|abuseat|sorbs",
    r"\breputation",
    r"\bpolicy\b",
    r"\bpolicies\b",
    r"\bprohibited\b",
    r"\bnot (?:allowed|authori[sz]ed|permitted)",
    r"\bspf\b",
    r"\bdkim\b",
    r"\bdmarc\b",
    r"\bauthenticat",
    r"\breverse (?:dns|lookup)",
    r"\bptr\b",
    r"\brdns\b",
    r"\bhostname\b.{0,40}\b(?:not|cannot|can't|unable)",
    r"\brelay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)",
    r"\bunable to relay",
    r"\bnot permitted to relay",
    r"\bwe do not relay",
    r"\brate ?limit",
    r"\btoo many",
    r"\bconnection (?:refused|rate)",
    r"\bcontent (?:rejected|filter)",
    r"\bvirus",
    r"\bmalware",
    r"\bjunk",
    r"\bfilter(?:ed)?\b",
    r"\bsecurity\b",
    r"\bhelo\b|\behlo\b",
    r"\bclient host\b",
    r"\bsender (?:address |domain )?(?:rejected|denied|verify)",
    r"\bsmtp server of your isp",
    r"\bdynamic ip",
    r"\bdenied\b",
    r"\brefused\b",
    r"\brejected\b.{0,40}\b(?:your|sender|ip|message|content|from)\b",
    r"\bgo away",
    r"\bmy name was rejected",
    r"\bnot accepted (?:from|here)",
    r"\bunsolicited",
    r"\bbulk mail",
    r"\bsuspicious",
    r"\b5\.7\.\d{1,3}\b",
    r"\btls (?:is )?required|\bmust (?:issue a )?starttls",
    r"\bencryption (?:is )?required",
    r"\bcomplain",
)
# The narrow core of SENDER_FAULT: a named block list, spam or virus verdict, relaying or
# rate refusal, policy or reputation (sisimai's Blocked, NoRelaying, Rejected, SpamDetected,
# PolicyViolation, VirusDetected, BadReputation, Speeding). Only these override a code that
# says the address is gone.
POLICY_BLOCK = _compile(
    r"\bblack ?list|\bblock ?list|\bdeny ?list|\bblocked\b",
    r"\b(?:rbl|dnsbl)\b",
    r"\bspamhaus|spamcop|barracudacentral|abuseat|sorbs",
    r"\bspam",
    r"\breputation",
    r"\bpolic(?:y|ies)\b",
    r"\brelay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)",
    r"\bunable to relay|\bnot permitted to relay|\bwe do not relay",
    r"\bvirus|\bmalware",
    r"\bsender (?:address |domain )?(?:rejected|denied)",
    r"\brate ?limit",
    r"\btoo many (?:recipients|connections)\b",
    r"\b5\.7\.\d{1,3}\b",
)
TRANSIENT = _compile(
    r"\bgrey ?list|gray ?list",
    r"\btry (?:again )?later",
    r"\btemporar",
    r"\btimed? ?out",
    r"\bretry (?:time|timeout)",
    r"\bdelay(?:ed)?\b",
    r"\bexpired\b",
    r"\bgave up\b",
    r"\btoo long\b",
    r"\bcould not be delivered within",
    r"\bconnection (?:closed|lost|reset"
    r"|dropped)",
    r"\bnetwork\b",
    r"\bunreachable",
    r"\bno route to host",
    r"\bmail loop",
    r"\btoo many hops",
    r"\bloops? back",
    r"\bsystem (?:error|failure|not available)",
    r"\bconfiguration error",
    r"\bresources?\b",
    r"\bservice (?:not )?(?:available|unavailable)",
    r"\bmessage (?:size|too (?:large|big))|\btoo (?:large|big)\b|\bsize limit|\bexceeds? (?:the )?"
    r"(?:maximum|size)",
    r"\bsyntax error",
    r"\bcommand output\b",
    r"\bmailer error",
)

# Which SMTP command the remote server was answering when it refused the message.
DATA_STAGE = re.compile(
    r"\bend of data\b|\bafter (?:end of )?data\b|>>> data\b|\bin reply to (?:end of )?data\b"
    r"|\bdata command\b|\bsmtp command:? data\b"
)
RCPT_STAGE = re.compile(r"\brcpt to\b|\brcpt command\b|>>> rcpt\b|\bafter rcpt\b")
# With PIPELINING (RFC 2920) a client sends RCPT TO and DATA together, so a transcript can
# show a recipient's rejection after ">>> DATA"; when DATA itself is refused because "no
# valid recipients" remain, the rejection before it answered RCPT TO, not the content.
PIPELINED_RCPT = re.compile(r"\bno valid recipients\b")
MAIL_STAGE = re.compile(r"\bafter mail from\b|\bmail from command\b|>>> mail from\b")
# Known content-filter answers dressed up as "user unknown" (e.g. Japanese mobile carriers).
FILTER_DISGUISE = re.compile(r"\b550 : user unknown\b")
SENDER_ADDRESS = re.compile(
    r"\b(?:domain of )?sender(?:'s)? (?:address|domain|mail ?box)\b|\bmail from\b.{0,30}"
    r"\b(?:rejected|refused|denied|does not exist|invalid)|\bfrom address\b"
)

# Host phrases first: they are the more specific ("Domain does not exist" is no user reason).
HARD_REASONS = (
    ("hostunknown", HOST_UNKNOWN),
    ("userunknown", USER_UNKNOWN),
    ("hasmoved", HAS_MOVED),
    ("notaccept", NOT_ACCEPT),
)
SOFT_REASONS = (
    ("mailboxfull", MAILBOX_FULL),
    ("suspend", SUSPENDED),
    ("filtered", RECIPIENT_FILTER),
    ("senderfault", SENDER_FAULT),
    ("transient", TRANSIENT),
)


MAX_SCAN_CHARS = 16 * 1024
LOCAL_PART_RE = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]{1,64}@(?=[\w-])")


def normalise_text(text: str | None) -> str:
    """Lower-case text, drop address local parts and collapse whitespace for phrase matching.

    Only the first MAX_SCAN_CHARS are read: callers pass one diagnostic or one recipient's
    block, and the phrase tables must never see an unbounded text.
    """
    text = (text or "")[:MAX_SCAN_CHARS]
    return " ".join(LOCAL_PART_RE.sub("@", text.lower()).split())


def first_reason(text: str | None, table: tuple[tuple[str, re.Pattern[str]], ...]) -> str | None:
    """Return the name of the first reason of ``table`` whose phrases occur in ``text``."""
    flat = normalise_text(text)
    if not flat:
        return None
    return next((name for name, pattern in table if pattern.search(flat)), None)


def hard_reason(text: str | None) -> str | None:
    """Return the address-is-gone reason named by ``text``, if any."""
    return first_reason(text, HARD_REASONS)


def soft_reason(text: str | None) -> str | None:
    """Return the address-is-alive reason named by ``text``, if any."""
    return first_reason(text, SOFT_REASONS)


def policy_block(text: str | None) -> bool:
    """Tell whether ``text`` names a policy block (POLICY_BLOCK), the narrow sender fault."""
    return bool(POLICY_BLOCK.search(normalise_text(text)))


def smtp_stage(text: str | None) -> str | None:
    """Return "DATA", "RCPT" or "MAIL" when the text tells which command the failure answered."""
    flat = normalise_text(text)
    for name, pattern in (("DATA", DATA_STAGE), ("RCPT", RCPT_STAGE), ("MAIL", MAIL_STAGE)):
        if pattern.search(flat):
            return "RCPT" if name == "DATA" and PIPELINED_RCPT.search(flat) else name
    return None


def disguised_filter(text: str | None) -> bool:
    """Tell whether a "user unknown" is a known content-filter rejection in disguise."""
    return bool(FILTER_DISGUISE.search(normalise_text(text)))


def about_sender(text: str | None) -> bool:
    """Tell whether a rejection is about the sender's address rather than the recipient."""
    return bool(SENDER_ADDRESS.search(normalise_text(text)))
