"""One written form per mailbox, so one person is one subscriber.

`idn@exämple.test` and `idn@xn--exmple-cua.test` (or `idn@EXAMPLE.test`) reach the same
mailbox: the domain is case-insensitive and an internationalised domain has an ASCII
form (IDNA, "punycode"). Addresses are stored and looked up with the domain in that
lowercase ASCII form (UTS #46 mapping, through the `idna` package). The local part is
kept as typed: only the receiving server may decide what its case means; the database's
case-insensitive unique constraint already treats `Alice@` and `alice@` as one. Quotes
that the local part does not need are dropped: `"alice"@` and `"al\\ice"@` are `alice@`
(RFC 5321: a quoted-pair stands for its character), while `"john..doe"@` keeps them.
"""

from __future__ import annotations

import re

import idna

# RFC 5322's dot-atom: what a local part may be without quotes.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def normalise_email(address: str) -> str:
    """`local@domain` with the domain as lowercase ASCII; unchanged if it has no "@".

    A domain that is not valid IDNA is only lowercased (the form's validation decides
    whether such an address is acceptable; this never raises).
    """
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    if _DOT_ATOM.fullmatch(bare := unquoted(local)):
        local = bare
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        ascii_domain = domain
    return f"{local}@{ascii_domain.lower()}"


def unquoted(local: str) -> str:
    """A quoted local part as the mail server reads it: `"carol"` and `"c\\arol"` are
    `carol` (RFC 5321, a quoted-pair stands for its character)."""
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        return re.sub(r"\\(.)", r"\1", local[1:-1])
    return local


def display_email(address: str) -> str:
    """The stored address as people write it: an ASCII ("xn--") domain in its own letters.

    Pages that repeat an address show this, so that `idn@exämple.test` does not read as
    someone else's `idn@xn--exmple-cua.test`; mail always goes to the stored form."""
    local, at, domain = address.rpartition("@")
    if not at or "xn--" not in domain:
        return address
    try:
        return f"{local}@{idna.decode(domain)}"
    except (idna.IDNAError, UnicodeError):
        return address


def same_mailbox(one: str, other: str) -> bool:
    """Whether two addresses are one mailbox as we store them: the domain in either
    spelling, the local part in any case (the unique constraint takes Alice@ and alice@
    as one)."""
    return normalise_email(one).lower() == normalise_email(other).lower()
