"""The words an import recognises in cells, and the lookups that read a cell against them: public
mail services and sites that are nobody's company domain, lifecycle stages, consent answers, time
zones, and the placeholders that mean an empty cell.

They live apart from :mod:`leadwell.contacts.importing.cleaning` so that these word lists, which grow
as files from new sources turn up, do not bury the row cleaning itself. The lookups are cached: the
same few words repeat down a million-row column.
"""

from __future__ import annotations

import re
from functools import lru_cache

from leadwell.contacts.fields import clean_domain, clean_timezone
from leadwell.errors import InvalidInput

_FREE_MAIL = """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it yahoo.ca yahoo.in
    yahoo.com.au yahoo.com.br yahoo.co.jp yahoo.co.in ymail.com rocketmail.com outlook.com outlook.de
    outlook.fr hotmail.com hotmail.co.uk hotmail.fr hotmail.de hotmail.it hotmail.es hotmail.nl live.com
    live.co.uk live.fr live.de live.nl live.it msn.com icloud.com me.com mac.com aol.com aim.com gmx.de
    gmx.net gmx.at gmx.ch gmx.com web.de t-online.de freenet.de posteo.de mailbox.org proton.me
    protonmail.com protonmail.ch pm.me tutanota.com tuta.io zoho.com zohomail.com mail.com email.com
    fastmail.com fastmail.fm hey.com duck.com hushmail.com mail.ru bk.ru inbox.ru list.ru rambler.ru
    yandex.ru yandex.com yandex.ua ya.ru qq.com 163.com 126.com sina.com sohu.com aliyun.com foxmail.com
    naver.com daum.net hanmail.net orange.fr wanadoo.fr free.fr laposte.net sfr.fr libero.it virgilio.it
    alice.it tiscali.it seznam.cz wp.pl o2.pl interia.pl onet.pl btinternet.com sky.com virginmedia.com
    comcast.net verizon.net att.net sbcglobal.net cox.net charter.net earthlink.net bellsouth.net
    rogers.com shaw.ca sympatico.ca bigpond.com optusnet.com.au xtra.co.nz telenet.be skynet.be ziggo.nl
    kpnmail.nl home.nl planet.nl bluewin.ch uol.com.br bol.com.br terra.com.br rediffmail.com
"""
FREE_MAIL_DOMAINS = frozenset(_FREE_MAIL.split())
# Mail services with a domain in many countries (yahoo.com.mx, hotmail.be, gmx.fr ...).
_FREE_MAIL_BRANDS = frozenset({"yahoo", "hotmail", "live", "outlook", "gmx", "yandex", "aol", "msn", "gmail"})
# Sites whose pages people give as "website" but that are nobody's company domain.
_PROFILE_SITES = frozenset(
    {"linkedin.com", "facebook.com", "twitter.com", "x.com", "instagram.com", "youtube.com", "xing.com",
     "tiktok.com", "github.com", "medium.com", "linktr.ee"}
)  # fmt: skip
_STAGES = {
    "subscriber": "subscriber", "newslettersubscriber": "subscriber", "lead": "lead", "newlead": "lead",
    "prospect": "lead", "mql": "mql", "marketingqualifiedlead": "mql", "marketingqualified": "mql",
    "sql": "sql", "salesqualifiedlead": "sql", "salesqualified": "sql", "sal": "sql",
    "salesacceptedlead": "sql", "opportunity": "opportunity", "opp": "opportunity", "customer": "customer",
    "client": "customer", "closedwon": "customer", "won": "customer", "evangelist": "customer",
    "disqualified": "disqualified", "unqualified": "disqualified", "notqualified": "disqualified",
    "badfit": "disqualified", "nurture": "nurture", "nurturing": "nurture", "notnow": "nurture",
}  # fmt: skip
_CONSENT_YES = frozenset({"yes", "y", "true", "t", "1", "x", "ja", "oui", "si", "on", "checked"})
_CONSENT_NO = frozenset({"no", "n", "false", "f", "0", "nein", "non", "off", "unchecked"})
_OPTED_IN = frozenset({"optedin", "optin", "subscribed", "granted", "given", "confirmed", "doubleoptin",
                       "accepted", "agreed", "consented"})  # fmt: skip
_OPTED_OUT = frozenset({"optedout", "optout", "unsubscribed", "declined", "revoked", "withdrawn", "denied",
                        "bounced", "donotcontact", "donotemail"})  # fmt: skip
# A consent column whose header asks the opposite ("Unsubscribed", "Do not email").
NEGATIVE_HEADER = re.compile(r"unsub|opt.?out|do.?not|don.?t", re.IGNORECASE)
# Placeholders that mean an empty cell.
NULLS = frozenset({"-", "--", "n/a", "na", "#n/a", "null", "none", "nil", "unknown", "?", "tbd"})
# Countries that write numeric dates month first (03/04/2024 is March 4th).
MONTH_FIRST_REGIONS = frozenset({"US", "PH", "PR", "GU", "AS", "VI", "MP", "UM", "FM", "MH", "PW"})


@lru_cache(maxsize=65536)
def is_free_mail(domain: str) -> bool:
    """True for a public mail service's domain (gmail.com, yahoo.co.uk ...): never an organization."""
    if domain in FREE_MAIL_DOMAINS:
        return True
    brand, _, rest = domain.partition(".")
    # "yahoo.com.mx" is free mail; "outlook.acme.com" is Acme's.
    return brand in _FREE_MAIL_BRANDS and all(len(label) <= 3 for label in rest.split("."))


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=4096)
def read_stage(text: str) -> str | None:
    return _STAGES.get(_key(text))


CHOICE_HELP = {
    "timezone": "not a time zone (use a name such as Europe/Paris)",
    "consent": "not a consent answer (yes/no, opted in/opted out)",
    "stage": "not a lifecycle stage "
    "(subscriber, lead, MQL, SQL, opportunity, customer, nurture or disqualified)",
}


@lru_cache(maxsize=4096)
def read_consent(text: str, negative_column: bool) -> str | None:
    """opted_in / opted_out / "" (no answer) for a consent cell, None when the word is unknown.

    In a column that asks the opposite ("Unsubscribed", "Do not email") a plain yes means opted out
    and a plain no says nothing about consent."""
    word = _key(text)
    if word in _OPTED_IN or word in _OPTED_OUT:
        return "opted_in" if word in _OPTED_IN else "opted_out"
    if word in _CONSENT_YES:
        return "opted_out" if negative_column else "opted_in"
    if word in _CONSENT_NO:
        return "" if negative_column else "opted_out"
    return "" if word in ("", "unknown", "pending", "na") else None


@lru_cache(maxsize=4096)
def read_timezone(text: str) -> str | None:
    # HubSpot exports zones as "america_slash_new_york".
    for name in (text, "/".join(part.title() for part in text.replace("_slash_", "/").split("/"))):
        try:
            return clean_timezone(name)
        except InvalidInput:
            continue
    return None


@lru_cache(maxsize=65536)
def read_website(text: str) -> tuple[str | None, str | None]:
    """(domain, None) or (None, why it is not a company domain)."""
    try:
        domain = clean_domain(text)
    except InvalidInput:
        return None, "is not a website address"
    assert domain is not None
    if is_free_mail(domain) or domain in _PROFILE_SITES or domain.partition(".")[2] in _PROFILE_SITES:
        return None, "is a public site, not the company's own domain"
    return domain, None
