"""Country names, aliases and codes to ISO 3166-1 alpha-2.

The table holds every ISO 3166-1 entry (alpha-2, alpha-3, short name, official name, from Debian's
iso-codes), Kosovo (``XK``, used by phone numbering), and common aliases and native names of the
countries leads most often come from. A line starting with spaces continues the names of the line
above. Look-ups ignore case, accents, punctuation and a leading "the".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TABLE = """
AD AND Andorra|Principality of Andorra
AE ARE United Arab Emirates|UAE|U.A.E.|Emirates|الإمارات|Vereinigte Arabische Emirate
AF AFG Afghanistan|Islamic Republic of Afghanistan
AG ATG Antigua and Barbuda
AI AIA Anguilla
AL ALB Albania|Republic of Albania
AM ARM Armenia|Republic of Armenia
AO AGO Angola|Republic of Angola
AQ ATA Antarctica
AR ARG Argentina|Argentine Republic|Argentinien|Argentine
AS ASM American Samoa
AT AUT Austria|Republic of Austria|Österreich|Autriche|Oostenrijk
AU AUS Australia|Australien|Commonwealth of Australia
AW ABW Aruba
AX ALA Åland Islands
AZ AZE Azerbaijan|Republic of Azerbaijan
BA BIH Bosnia and Herzegovina|Republic of Bosnia and Herzegovina
BB BRB Barbados
BD BGD Bangladesh|People's Republic of Bangladesh
BE BEL Belgium|Kingdom of Belgium|Belgique|België|Belgien|Bélgica|Belgio
BF BFA Burkina Faso
BG BGR Bulgaria|Republic of Bulgaria|България|Bulgarien
BH BHR Bahrain|Kingdom of Bahrain
BI BDI Burundi|Republic of Burundi
BJ BEN Benin|Republic of Benin
BL BLM Saint Barthélemy
BM BMU Bermuda
BN BRN Brunei Darussalam|Brunei
BO BOL Bolivia|Bolivia, Plurinational State of|Plurinational State of Bolivia
BQ BES Bonaire, Sint Eustatius and Saba
BR BRA Brazil|Federative Republic of Brazil|Brasil|Brasilien|Brésil
BS BHS Bahamas|Commonwealth of the Bahamas
BT BTN Bhutan|Kingdom of Bhutan
BV BVT Bouvet Island
BW BWA Botswana|Republic of Botswana
BY BLR Belarus|Republic of Belarus|Weißrussland|Byelorussia
BZ BLZ Belize
CA CAN Canada|Kanada
CC CCK Cocos (Keeling) Islands
CD COD Congo, The Democratic Republic of the|DR Congo|DRC|Congo-Kinshasa
CF CAF Central African Republic
CG COG Congo|Republic of the Congo|Congo-Brazzaville
CH CHE Switzerland|Swiss Confederation|Schweiz|Suisse|Svizzera|Svizra|Confoederatio Helvetica|Suiza
       Zwitserland
CI CIV Côte d'Ivoire|Republic of Côte d'Ivoire|Ivory Coast
CK COK Cook Islands
CL CHL Chile|Republic of Chile|Chili
CM CMR Cameroon|Republic of Cameroon
CN CHN China|People's Republic of China|PRC|中国|中华人民共和国|中華人民共和國|Zhongguo|Mainland China
CO COL Colombia|Republic of Colombia|Kolumbien
CR CRI Costa Rica|Republic of Costa Rica
CU CUB Cuba|Republic of Cuba
CV CPV Cabo Verde|Republic of Cabo Verde|Cape Verde
CW CUW Curaçao
CX CXR Christmas Island
CY CYP Cyprus|Republic of Cyprus|Κύπρος|Kıbrıs|Zypern
CZ CZE Czechia|Czech Republic|Česko|Česká republika|Tschechien|Tschechische Republik
DE DEU Germany|Federal Republic of Germany|Deutschland|Bundesrepublik Deutschland|BRD|Allemagne
       Alemania|Germania|Duitsland|Niemcy|Tyskland
DJ DJI Djibouti|Republic of Djibouti
DK DNK Denmark|Kingdom of Denmark|Danmark|Dänemark|Danemark|Dinamarca
DM DMA Dominica|Commonwealth of Dominica
DO DOM Dominican Republic
DZ DZA Algeria|People's Democratic Republic of Algeria
EC ECU Ecuador|Republic of Ecuador
EE EST Estonia|Republic of Estonia|Eesti|Estland
EG EGY Egypt|Arab Republic of Egypt|مصر|Ägypten|Égypte
EH ESH Western Sahara
ER ERI Eritrea|the State of Eritrea
ES ESP Spain|Kingdom of Spain|España|Spanien|Espagne|Spagna|Spanje
ET ETH Ethiopia|Federal Democratic Republic of Ethiopia
FI FIN Finland|Republic of Finland|Suomi|Finnland|Finlande|Finlandia
FJ FJI Fiji|Republic of Fiji
FK FLK Falkland Islands (Malvinas)
FM FSM Micronesia, Federated States of|Federated States of Micronesia|Micronesia
FO FRO Faroe Islands
FR FRA France|French Republic|Frankreich|Francia|Frankrijk|République française|Republique Francaise
GA GAB Gabon|Gabonese Republic
GB GBR United Kingdom|United Kingdom of Great Britain and Northern Ireland|UK|U.K.|Great Britain
       Britain|England|Scotland|Wales|Northern Ireland|Vereinigtes Königreich|Großbritannien
       Royaume-Uni|Reino Unido|Regno Unito
GD GRD Grenada
GE GEO Georgia
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana|Republic of Ghana
GI GIB Gibraltar
GL GRL Greenland
GM GMB Gambia|Republic of the Gambia
GN GIN Guinea|Republic of Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea|Republic of Equatorial Guinea
GR GRC Greece|Hellenic Republic|Ελλάδα|Hellas|Ellada|Griechenland|Grèce|Grecia
GS SGS South Georgia and the South Sandwich Islands
GT GTM Guatemala|Republic of Guatemala
GU GUM Guam
GW GNB Guinea-Bissau|Republic of Guinea-Bissau
GY GUY Guyana|Republic of Guyana
HK HKG Hong Kong|Hong Kong Special Administrative Region of China|Hongkong|香港|Hong Kong SAR
HM HMD Heard Island and McDonald Islands
HN HND Honduras|Republic of Honduras
HR HRV Croatia|Republic of Croatia|Hrvatska|Kroatien
HT HTI Haiti|Republic of Haiti
HU HUN Hungary|Magyarország|Ungarn|Hongrie
ID IDN Indonesia|Republic of Indonesia|Indonesien
IE IRL Ireland|Éire|Republic of Ireland|Irland|Irlande|Irlanda
IL ISR Israel|State of Israel|ישראל|Israël
IM IMN Isle of Man
IN IND India|Republic of India|Bharat|भारत|Indien|Inde
IO IOT British Indian Ocean Territory
IQ IRQ Iraq|Republic of Iraq
IR IRN Iran|Iran, Islamic Republic of|Islamic Republic of Iran
IS ISL Iceland|Republic of Iceland|Ísland
IT ITA Italy|Italian Republic|Italia|Italien|Italie|Italië
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan|Hashemite Kingdom of Jordan
JP JPN Japan|日本|Nippon|Nihon|Japon|Giappone
KE KEN Kenya|Republic of Kenya
KG KGZ Kyrgyzstan|Kyrgyz Republic
KH KHM Cambodia|Kingdom of Cambodia
KI KIR Kiribati|Republic of Kiribati
KM COM Comoros|Union of the Comoros
KN KNA Saint Kitts and Nevis
KP PRK North Korea|Korea, Democratic People's Republic of|Democratic People's Republic of Korea|DPRK
KR KOR South Korea|Korea, Republic of|Korea|Republic of Korea|대한민국|한국|Südkorea|Corée du Sud
       Corea del Sur
KW KWT Kuwait|State of Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan|Republic of Kazakhstan|Kasachstan
LA LAO Laos|Lao People's Democratic Republic
LB LBN Lebanon|Lebanese Republic
LC LCA Saint Lucia
LI LIE Liechtenstein|Principality of Liechtenstein
LK LKA Sri Lanka|Democratic Socialist Republic of Sri Lanka
LR LBR Liberia|Republic of Liberia
LS LSO Lesotho|Kingdom of Lesotho
LT LTU Lithuania|Republic of Lithuania|Lietuva|Litauen
LU LUX Luxembourg|Grand Duchy of Luxembourg|Luxemburg|Lëtzebuerg
LV LVA Latvia|Republic of Latvia|Latvija|Lettland
LY LBY Libya
MA MAR Morocco|Kingdom of Morocco
MC MCO Monaco|Principality of Monaco
MD MDA Moldova|Moldova, Republic of|Republic of Moldova|Moldawien
ME MNE Montenegro
MF MAF Saint Martin (French part)
MG MDG Madagascar|Republic of Madagascar
MH MHL Marshall Islands|Republic of the Marshall Islands
MK MKD North Macedonia|Republic of North Macedonia|Macedonia
ML MLI Mali|Republic of Mali
MM MMR Myanmar|Republic of Myanmar|Burma
MN MNG Mongolia
MO MAC Macao|Macao Special Administrative Region of China|澳門
MP MNP Northern Mariana Islands|Commonwealth of the Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania|Islamic Republic of Mauritania
MS MSR Montserrat
MT MLT Malta|Republic of Malta
MU MUS Mauritius|Republic of Mauritius
MV MDV Maldives|Republic of Maldives
MW MWI Malawi|Republic of Malawi
MX MEX Mexico|United Mexican States|México|Mexiko|Mexique|Messico
MY MYS Malaysia
MZ MOZ Mozambique|Republic of Mozambique
NA NAM Namibia|Republic of Namibia
NC NCL New Caledonia
NE NER Niger|Republic of the Niger
NF NFK Norfolk Island
NG NGA Nigeria|Federal Republic of Nigeria
NI NIC Nicaragua|Republic of Nicaragua
NL NLD Netherlands|Kingdom of the Netherlands|The Netherlands|Holland|Nederland|Niederlande|Pays-Bas
       Países Bajos|Paesi Bassi
NO NOR Norway|Kingdom of Norway|Norge|Noreg|Norwegen|Norvège|Noruega
NP NPL Nepal|Federal Democratic Republic of Nepal
NR NRU Nauru|Republic of Nauru
NU NIU Niue
NZ NZL New Zealand|Aotearoa|Neuseeland
OM OMN Oman|Sultanate of Oman
PA PAN Panama|Republic of Panama
PE PER Peru|Republic of Peru|Perú
PF PYF French Polynesia
PG PNG Papua New Guinea|Independent State of Papua New Guinea
PH PHL Philippines|Republic of the Philippines|Pilipinas|Philippinen
PK PAK Pakistan|Islamic Republic of Pakistan
PL POL Poland|Republic of Poland|Polska|Polen|Pologne|Polonia
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn
PR PRI Puerto Rico
PS PSE Palestine, State of|the State of Palestine|Palestine
PT PRT Portugal|Portuguese Republic|Portugalia|Portogallo
PW PLW Palau|Republic of Palau
PY PRY Paraguay|Republic of Paraguay
QA QAT Qatar|State of Qatar
RE REU Réunion
RO ROU Romania|România|Rumänien|Roumanie
RS SRB Serbia|Republic of Serbia|Srbija|Србија|Serbien
RU RUS Russian Federation|Russia|Россия|Rossiya|Russland|Russie|Rusia
RW RWA Rwanda|Rwandese Republic
SA SAU Saudi Arabia|Kingdom of Saudi Arabia|KSA|Saudi-Arabien
SB SLB Solomon Islands
SC SYC Seychelles|Republic of Seychelles
SD SDN Sudan|Republic of the Sudan
SE SWE Sweden|Kingdom of Sweden|Sverige|Schweden|Suède|Suecia
SG SGP Singapore|Republic of Singapore|Singapura|新加坡|Singapur
SH SHN Saint Helena, Ascension and Tristan da Cunha
SI SVN Slovenia|Republic of Slovenia|Slovenija|Slowenien
SJ SJM Svalbard and Jan Mayen
SK SVK Slovakia|Slovak Republic|Slovensko|Slowakei
SL SLE Sierra Leone|Republic of Sierra Leone
SM SMR San Marino|Republic of San Marino
SN SEN Senegal|Republic of Senegal
SO SOM Somalia|Federal Republic of Somalia
SR SUR Suriname|Republic of Suriname
SS SSD South Sudan|Republic of South Sudan
ST STP Sao Tome and Principe|Democratic Republic of Sao Tome and Principe
SV SLV El Salvador|Republic of El Salvador
SX SXM Sint Maarten (Dutch part)
SY SYR Syria|Syrian Arab Republic
SZ SWZ Eswatini|Kingdom of Eswatini|Swaziland
TC TCA Turks and Caicos Islands
TD TCD Chad|Republic of Chad
TF ATF French Southern Territories
TG TGO Togo|Togolese Republic
TH THA Thailand|Kingdom of Thailand
TJ TJK Tajikistan|Republic of Tajikistan
TK TKL Tokelau
TL TLS Timor-Leste|Democratic Republic of Timor-Leste|East Timor
TM TKM Turkmenistan
TN TUN Tunisia|Republic of Tunisia
TO TON Tonga|Kingdom of Tonga
TR TUR Türkiye|Republic of Türkiye|Turkey|Türkei|Turquie|Turquía
TT TTO Trinidad and Tobago|Republic of Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan|Taiwan, Province of China|台灣|台湾
TZ TZA Tanzania|Tanzania, United Republic of|United Republic of Tanzania
UA UKR Ukraine|Україна|Ukraina
UG UGA Uganda|Republic of Uganda
UM UMI United States Minor Outlying Islands
US USA United States|United States of America|USA|U.S.|U.S.A.|America|Vereinigte Staaten|États-Unis
       Estados Unidos|Stati Uniti|Verenigde Staten
UY URY Uruguay|Eastern Republic of Uruguay
UZ UZB Uzbekistan|Republic of Uzbekistan
VA VAT Holy See (Vatican City State)|Vatican|Vatican City
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela|Venezuela, Bolivarian Republic of|Bolivarian Republic of Venezuela
VG VGB Virgin Islands, British|British Virgin Islands
VI VIR Virgin Islands, U.S.|Virgin Islands of the United States|US Virgin Islands
       U.S. Virgin Islands
VN VNM Vietnam|Viet Nam|Socialist Republic of Viet Nam|Việt Nam
VU VUT Vanuatu|Republic of Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa|Independent State of Samoa
XK XKX Kosovo|Kosova
YE YEM Yemen|Republic of Yemen
YT MYT Mayotte
ZA ZAF South Africa|Republic of South Africa|Suid-Afrika|RSA|Südafrika|Afrique du Sud|Sudáfrica
ZM ZMB Zambia|Republic of Zambia
ZW ZWE Zimbabwe|Republic of Zimbabwe
"""

_NON_WORD = re.compile(r"[\W_]+")


def normalize_country_text(text: str) -> str:
    """Lower case, no accents, punctuation dropped ("U.S.A." -> "usa"), words separated by a space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("&", " and "))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    # Dots and apostrophes join letters ("U.S." is "us", "Côte d'Ivoire" is "cote divoire").
    words = _NON_WORD.sub(" ", bare.replace(".", "").replace("'", "").replace("\u2019", "")).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join("saint" if word == "st" else word for word in words)


def _build() -> dict[str, str]:
    names: dict[str, str] = {}
    code = ""
    for line in _TABLE.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            aliases = line.strip()
        else:
            code, alpha3, aliases = line.split(" ", 2)
            names[code.lower()] = code
            names[alpha3.lower()] = code
        for alias in aliases.split("|"):
            names[normalize_country_text(alias)] = code
    return names


COUNTRY_NAMES: dict[str, str] = _build()
"""Normalised name, alias, alpha-2 or alpha-3 code -> alpha-2 code."""


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a country name, alias or code, or None when unknown."""
    return COUNTRY_NAMES.get(normalize_country_text(text))


def _short_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for line in _TABLE.splitlines():
        if line.strip() and not line.startswith(" "):
            code, _alpha3, aliases = line.split(" ", 2)
            # "Congo, The Democratic Republic of the" reads badly in a sentence: take the first
            # name without an inverted part when there is one.
            choices = aliases.split("|")
            plain = next((name for name in choices if ", " not in name), choices[0])
            names[code] = plain.removeprefix("the ")
    return names


SHORT_NAMES: dict[str, str] = _short_names()
"""Alpha-2 code -> the country's short English name ("DE" -> "Germany")."""


def country_name(code: str | None) -> str | None:
    """The short English name of an ISO 3166-1 alpha-2 code, or None when unknown."""
    return SHORT_NAMES.get((code or "").strip().upper())
