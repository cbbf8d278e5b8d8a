"""Azure ML's time-zone names (Windows names, azure-ai-ml's ``TimeZone``), and the IANA names that translate.

An IANA name is translated only when it is the zone Unicode CLDR's ``windowsZones`` maps a Windows zone to
for the world (territory ``001``): one IANA name, one Azure ML name. Anything else is refused with the list.
"""

from __future__ import annotations

from kedro_azureml_mlflow.core.errors import PluginError, quoted

# IANA zone -> Azure ML (Windows) name, CLDR windowsZones' territory-001 entries for the commonly used zones.
IANA_TO_AZURE = {
    "Etc/UTC": "UTC",
    "Etc/GMT": "UTC",
    "Pacific/Honolulu": "Hawaiian Standard Time",
    "America/Anchorage": "Alaskan Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "America/Phoenix": "US Mountain Standard Time",
    "America/Denver": "Mountain Standard Time",
    "America/Chicago": "Central Standard Time",
    "America/Mexico_City": "Central Standard Time (Mexico)",
    "America/Regina": "Canada Central Standard Time",
    "America/Bogota": "SA Pacific Standard Time",
    "America/New_York": "Eastern Standard Time",
    "America/Indiana/Indianapolis": "US Eastern Standard Time",
    "America/Halifax": "Atlantic Standard Time",
    "America/Caracas": "Venezuela Standard Time",
    "America/Santiago": "Pacific SA Standard Time",
    "America/St_Johns": "Newfoundland Standard Time",
    "America/Sao_Paulo": "E. South America Standard Time",
    "America/Argentina/Buenos_Aires": "Argentina Standard Time",
    "America/Montevideo": "Montevideo Standard Time",
    "Atlantic/Azores": "Azores Standard Time",
    "Atlantic/Cape_Verde": "Cape Verde Standard Time",
    "Africa/Casablanca": "Morocco Standard Time",
    "Europe/London": "GMT Standard Time",
    "Atlantic/Reykjavik": "Greenwich Standard Time",
    "Europe/Berlin": "W. Europe Standard Time",
    "Europe/Budapest": "Central Europe Standard Time",
    "Europe/Paris": "Romance Standard Time",
    "Europe/Warsaw": "Central European Standard Time",
    "Africa/Lagos": "W. Central Africa Standard Time",
    "Africa/Windhoek": "Namibia Standard Time",
    "Asia/Amman": "Jordan Standard Time",
    "Europe/Bucharest": "GTB Standard Time",
    "Asia/Beirut": "Middle East Standard Time",
    "Africa/Cairo": "Egypt Standard Time",
    "Europe/Chisinau": "E. Europe Standard Time",
    "Asia/Damascus": "Syria Standard Time",
    "Africa/Johannesburg": "South Africa Standard Time",
    "Europe/Kiev": "FLE Standard Time",
    "Europe/Istanbul": "Turkey Standard Time",
    "Asia/Jerusalem": "Israel Standard Time",
    "Europe/Kaliningrad": "Kaliningrad Standard Time",
    "Africa/Tripoli": "Libya Standard Time",
    "Asia/Baghdad": "Arabic Standard Time",
    "Asia/Riyadh": "Arab Standard Time",
    "Europe/Minsk": "Belarus Standard Time",
    "Europe/Moscow": "Russian Standard Time",
    "Africa/Nairobi": "E. Africa Standard Time",
    "Asia/Tehran": "Iran Standard Time",
    "Asia/Dubai": "Arabian Standard Time",
    "Asia/Baku": "Azerbaijan Standard Time",
    "Indian/Mauritius": "Mauritius Standard Time",
    "Asia/Tbilisi": "Georgian Standard Time",
    "Asia/Yerevan": "Caucasus Standard Time",
    "Asia/Kabul": "Afghanistan Standard Time",
    "Asia/Tashkent": "West Asia Standard Time",
    "Asia/Yekaterinburg": "Ekaterinburg Standard Time",
    "Asia/Karachi": "Pakistan Standard Time",
    "Asia/Calcutta": "India Standard Time",
    "Asia/Kolkata": "India Standard Time",
    "Asia/Colombo": "Sri Lanka Standard Time",
    "Asia/Katmandu": "Nepal Standard Time",
    "Asia/Kathmandu": "Nepal Standard Time",
    "Asia/Dhaka": "Bangladesh Standard Time",
    "Asia/Novosibirsk": "N. Central Asia Standard Time",
    "Asia/Rangoon": "Myanmar Standard Time",
    "Asia/Bangkok": "SE Asia Standard Time",
    "Asia/Krasnoyarsk": "North Asia Standard Time",
    "Asia/Shanghai": "China Standard Time",
    "Asia/Irkutsk": "North Asia East Standard Time",
    "Asia/Singapore": "Singapore Standard Time",
    "Australia/Perth": "W. Australia Standard Time",
    "Asia/Taipei": "Taipei Standard Time",
    "Asia/Ulaanbaatar": "Ulaanbaatar Standard Time",
    "Asia/Pyongyang": "North Korea Standard Time",
    "Asia/Tokyo": "Tokyo Standard Time",
    "Asia/Seoul": "Korea Standard Time",
    "Asia/Yakutsk": "Yakutsk Standard Time",
    "Australia/Adelaide": "Cen. Australia Standard Time",
    "Australia/Darwin": "AUS Central Standard Time",
    "Australia/Brisbane": "E. Australia Standard Time",
    "Australia/Sydney": "AUS Eastern Standard Time",
    "Pacific/Port_Moresby": "West Pacific Standard Time",
    "Australia/Hobart": "Tasmania Standard Time",
    "Asia/Vladivostok": "Vladivostok Standard Time",
    "Asia/Magadan": "Magadan Standard Time",
    "Pacific/Auckland": "New Zealand Standard Time",
    "Pacific/Fiji": "Fiji Standard Time",
    "Pacific/Tongatapu": "Tonga Standard Time",
    "Pacific/Apia": "Samoa Standard Time",
}


def azure_time_zones() -> list[str]:
    """Azure ML's names, as azure-ai-ml lists them."""
    from azure.ai.ml.constants import TimeZone

    return [zone.value for zone in TimeZone]


def azure_time_zone(name: str) -> str:
    """Azure ML's name for ``name`` (an Azure ML name in any case, or a translatable IANA name), or one error
    line with the accepted names."""
    known = {zone.lower(): zone for zone in azure_time_zones()}
    if name.lower() in known:
        return known[name.lower()]
    translated = {iana.lower(): zone for iana, zone in IANA_TO_AZURE.items()}.get(name.lower())
    if translated is not None:
        return translated
    hint = "an IANA name without a clear Azure ML equivalent" if "/" in name else "not an Azure ML time zone"
    raise PluginError(
        f"--time-zone {quoted(name)} is {hint}; expected one of Azure ML's: {', '.join(sorted(known.values()))} "
        f"(or one of these IANA names: {', '.join(sorted(IANA_TO_AZURE))})"
    )
