"""Values shaped like contact data that identify nobody: the PII engine keeps them.

On real chat text (code, networking and maths answers) most look-alikes of contact data are
technical: ``127.0.0.1``, ``192.168.1.1``, netmasks, ``user@example.com``,
``git@github.com``. Redacting them damages the training text and protects no one. Each rule
here names a class of value that cannot belong to a private person, with its reference:

* IP addresses outside the global unicast space (RFC 6890 special-purpose registries:
  loopback, private, link-local, shared, documentation, benchmarking, multicast, reserved,
  unspecified), netmasks, network prefixes written in CIDR form (``10.0.0.0/8``,
  ``203.0.113.0/24``; a full-length ``/32`` is one host and still counts), and the anycast
  addresses of public DNS resolvers.
  Also the placeholder quads of tutorials (``1.2.3.4``) and any address right after a URL
  scheme (``http://159.89.98.186/...``: a server).
* E-mail addresses at reserved example domains (RFC 2606 / RFC 6761: ``example.com|net|org``
  and the ``.example``, ``.test``, ``.invalid``, ``.localhost`` top-level domains), obvious
  placeholders (``user@…``, ``user2@…``, ``your_email@…``, ``name@company.com``), role
  mailboxes of organisations (RFC 2142: ``info@``, ``sales@``, ``support@``...), and the
  fixed service addresses of source hosting (``git@github.com``).
"""

from __future__ import annotations

import ipaddress
import re

# Anycast addresses of public resolvers: in networking answers, never a person's address.
PUBLIC_RESOLVERS = frozenset(
    (
        "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
        "208.67.222.222", "208.67.220.220", "2001:4860:4860::8888", "2001:4860:4860::8844",
        "2606:4700:4700::1111", "2606:4700:4700::1001", "1.1.1.2", "1.0.0.2", "1.1.1.3",
        "1.0.0.3",
    )
)  # fmt: skip
# Dotted quads that tutorials write for "some address": global unicast in form only.
PLACEHOLDER_IPS = frozenset(("1.2.3.4", "4.3.2.1", "5.6.7.8", "11.22.33.44", "123.123.123.123"))
# An address right after a URL scheme is a server's (``http://159.89.98.186/api``).
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://$")

_CIDR_SUFFIX = re.compile(r"/([0-9]{1,3})(?![0-9])")


def personal_ip(value: str, text_after: str = "", text_before: str = "") -> bool:
    """True if ``value`` could be a person's (global unicast) IP address.

    ``text_after`` is the text right after the value: a ``/24`` there makes it a network
    prefix, not a host (a full-length ``/32`` or ``/128`` is still one host: "allow SSH
    from 71.145.212.62/32"). ``text_before``: a URL scheme there (``https://``) makes it a
    server's address.
    """
    value, slash, written_prefix = value.partition("/")  # a match may hold its prefix
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if value in PUBLIC_RESOLVERS or value in PLACEHOLDER_IPS:
        return False
    prefix = _CIDR_SUFFIX.match(slash + written_prefix or text_after)
    if (prefix and int(prefix[1]) < address.max_prefixlen) or _URL_SCHEME.search(text_before):
        return False
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return personal_ip(str(address.ipv4_mapped))
    return address.is_global


RESERVED_EMAIL_DOMAINS = frozenset(("example.com", "example.net", "example.org", "localhost"))
RESERVED_EMAIL_TLDS = frozenset(("example", "test", "invalid", "localhost", "local"))
# Local parts that stand for "an address goes here", in tutorials and form templates.
PLACEHOLDER_LOCAL_PARTS = frozenset(
    (
        "user", "username", "user.name", "user_name", "you", "your", "youremail", "your_email",
        "your.email", "your-email", "yourname", "your_name", "your.name", "yourusername",
        "your_username", "email", "e-mail", "mail", "myemail", "my_email", "my.email", "me",
        "name", "firstname.lastname", "first.last", "firstname_lastname", "someone",
        "somebody", "test", "testuser", "test.user", "foo", "bar", "foobar", "abc", "xyz",
        "xxx", "xxxx", "sample", "example", "recipient", "sender", "address", "admin",
        "noreply", "no-reply", "donotreply", "do-not-reply", "john.doe", "jane.doe",
        "johndoe", "janedoe", "john_doe", "jane_doe",
    )
)  # fmt: skip
# Role mailboxes (RFC 2142 and their everyday kin): an organisation's desk, not a person.
ROLE_LOCAL_PARTS = frozenset(
    (
        "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster",
        "hostmaster", "webmaster", "help", "helpdesk", "contact", "hello", "office", "team",
        "press", "media", "careers", "jobs", "hr", "billing", "accounts", "enquiries",
        "inquiries", "service", "customerservice", "feedback", "replies", "reply", "orders",
        "bookings", "reservations", "privacy", "legal", "compliance", "newsletter", "news",
    )
)  # fmt: skip
_NUMBERED = re.compile(r"[0-9]+$")
# The fixed addresses of source-hosting services (SSH remotes, bot accounts).
SERVICE_EMAILS = frozenset(
    (
        "git@github.com", "git@gitlab.com", "git@bitbucket.org", "git@ssh.dev.azure.com",
        "noreply@github.com", "notifications@github.com",
    )
)  # fmt: skip
_PLACEHOLDER_DOMAINS = frozenset(
    (
        "domain.com", "yourdomain.com", "your-domain.com", "mydomain.com", "company.com",
        "yourcompany.com", "website.com", "yourwebsite.com",
        "host.com", "server.com", "xxx.com", "abc.com", "xyz.com",
    )
)  # fmt: skip


def personal_email(value: str) -> bool:
    """True unless ``value`` is a reserved, placeholder or service address."""
    lowered = value.lower()
    if lowered in SERVICE_EMAILS:
        return False
    local, _, domain = lowered.rpartition("@")
    if domain in RESERVED_EMAIL_DOMAINS or domain.rsplit(".", 1)[-1] in RESERVED_EMAIL_TLDS:
        return False
    if domain.endswith((".example.com", ".example.net", ".example.org")):
        return False
    if local in ROLE_LOCAL_PARTS or domain in _PLACEHOLDER_DOMAINS:
        return False
    return _NUMBERED.sub("", local) not in PLACEHOLDER_LOCAL_PARTS  # "user2@..." too
