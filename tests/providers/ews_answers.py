"""EWS SOAP answers in the documented XML of Exchange Web Services (Exchange 2016),
for a loopback server standing in for Exchange."""

from __future__ import annotations

import re

from tests.providers.loopback import Answer, Request

M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
XML = {"Content-Type": "text/xml; charset=utf-8"}


def envelope(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        '<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" '
        f'MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="{T}"/></s:Header>'
        f'<s:Body xmlns:m="{M}" xmlns:t="{T}">{body}</s:Body></s:Envelope>'
    )


def operation(request: Request) -> str:
    """The EWS operation a SOAP request asks for (``GetUserAvailability``, ``FindItem``, ...)."""
    match = re.search(rb"<s:Body><m:(\w+?)(Request)?[ >]", request.body)
    return match.group(1).decode() if match else ""


SERVER_TIME_ZONES = envelope(
    '<m:GetServerTimeZonesResponse><m:ResponseMessages>'
    '<m:GetServerTimeZonesResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
    '<m:TimeZoneDefinitions><t:TimeZoneDefinition Id="UTC" Name="(UTC) Coordinated Universal Time">'
    '<t:Periods><t:Period Bias="PT0M" Name="Standard" Id="trule:Microsoft/Registry/UTC/2006-Standard"/></t:Periods>'
    '<t:TransitionsGroups><t:TransitionsGroup Id="0"><t:Transition>'
    '<t:To Kind="Period">trule:Microsoft/Registry/UTC/2006-Standard</t:To></t:Transition></t:TransitionsGroup>'
    '</t:TransitionsGroups><t:Transitions><t:Transition><t:To Kind="Group">0</t:To></t:Transition></t:Transitions>'
    '</t:TimeZoneDefinition></m:TimeZoneDefinitions></m:GetServerTimeZonesResponseMessage>'
    '</m:ResponseMessages></m:GetServerTimeZonesResponse>')


def free_busy_view(*events: tuple[str, str, str], view: str = "Detailed", merged: str | None = None) -> str:
    """One mailbox's FreeBusyResponse: events are (start, end, busy type) in UTC wall clock.

    ``view`` is the FreeBusyViewType; ``merged`` a MergedFreeBusy string. A
    ``MergedOnly`` or ``None`` view has no CalendarEventArray (as EWS answers).
    """
    array = "".join(f"<t:CalendarEvent><t:StartTime>{s}</t:StartTime><t:EndTime>{e}</t:EndTime>"
                    f"<t:BusyType>{b}</t:BusyType></t:CalendarEvent>" for s, e, b in events)
    merged_xml = f"<t:MergedFreeBusy>{merged}</t:MergedFreeBusy>" if merged is not None else ""
    events_xml = "" if view in ("MergedOnly", "None") else f"<t:CalendarEventArray>{array}</t:CalendarEventArray>"
    return ('<m:FreeBusyResponse><m:ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError'
            f'</m:ResponseCode></m:ResponseMessage><m:FreeBusyView><t:FreeBusyViewType>{view}</t:FreeBusyViewType>'
            f'{merged_xml}{events_xml}</m:FreeBusyView></m:FreeBusyResponse>')


def free_busy_error(code: str) -> str:
    return (f'<m:FreeBusyResponse><m:ResponseMessage ResponseClass="Error"><m:MessageText>{code}</m:MessageText>'
            f'<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>'
            '</m:ResponseMessage><m:FreeBusyView><t:FreeBusyViewType>None</t:FreeBusyViewType></m:FreeBusyView>'
            '</m:FreeBusyResponse>')


def user_availability(*responses: str) -> str:
    return envelope(f'<m:GetUserAvailabilityResponse><m:FreeBusyResponseArray>{"".join(responses)}'
                    '</m:FreeBusyResponseArray></m:GetUserAvailabilityResponse>')


CALENDAR_FOLDER = envelope(
    '<m:GetFolderResponse><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success">'
    '<m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:CalendarFolder>'
    '<t:FolderId Id="AAMkCalendar=" ChangeKey="AgAAAA=="/><t:DisplayName>Calendar</t:DisplayName>'
    '<t:TotalCount>3</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount>'
    '</t:CalendarFolder></m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>')


# PidLidAppointmentSubType, the MAPI property behind IsAllDayEvent ([MS-OXPROPS]; 0x8215 = 33301).
ALL_DAY_URI = '<t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33301" PropertyType="Boolean"/>'


def calendar_item(item_id: str, start: str, end: str, *, subject: str = "", status: str = "Busy",
                  all_day: bool = False, cancelled: bool = False, response: str = "Accept", uid: str = "",
                  location: str = "", start_zone: str = "") -> str:
    """A CalendarItem with every property; ``find_items`` keeps those the request asked for."""
    uid_xml = f"<t:UID>{uid}</t:UID>" if uid else ""
    zone_xml = f'<t:StartTimeZone Id="{start_zone}"/>' if start_zone else ""
    return (f'<t:CalendarItem><t:ItemId Id="{item_id}" ChangeKey="DwAAAA=="/><t:Subject>{subject or item_id}'
            f'</t:Subject><t:ExtendedProperty>{ALL_DAY_URI}<t:Value>{str(all_day).lower()}</t:Value>'
            f'</t:ExtendedProperty>{uid_xml}<t:Start>{start}</t:Start><t:End>{end}</t:End>'
            f'<t:IsAllDayEvent>{str(all_day).lower()}</t:IsAllDayEvent>'
            f'<t:LegacyFreeBusyStatus>{status}</t:LegacyFreeBusyStatus>'
            f'<t:Location>{location}</t:Location><t:IsCancelled>{str(cancelled).lower()}</t:IsCancelled>'
            f'<t:MyResponseType>{response}</t:MyResponseType>{zone_xml}</t:CalendarItem>')


def asked_only(request: Request, item: str) -> str:
    """``item`` with only the properties ``request`` names (EWS returns what AdditionalProperties asks for)."""
    body = request.body.decode()
    if "calendar:IsAllDayEvent" not in body:
        item = re.sub(r"<t:IsAllDayEvent>[^<]*</t:IsAllDayEvent>", "", item)
    if "calendar:StartTimeZone" not in body:
        item = re.sub(r'<t:StartTimeZone [^>]*/>', "", item)
    if 'PropertyId="33301"' not in body:
        item = re.sub(r"<t:ExtendedProperty>.*?</t:ExtendedProperty>", "", item)
    return item


def find_items(*items: str) -> str:
    return envelope(
        '<m:FindItemResponse><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success">'
        f'<m:ResponseCode>NoError</m:ResponseCode><m:RootFolder TotalItemsInView="{len(items)}" '
        f'IncludesLastItemInRange="true"><t:Items>{"".join(items)}</t:Items></m:RootFolder>'
        '</m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse>')


def create_item(item_id: str) -> str:
    return envelope(
        '<m:CreateItemResponse><m:ResponseMessages><m:CreateItemResponseMessage ResponseClass="Success">'
        f'<m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="{item_id}" '
        'ChangeKey="DwAAAA=="/></t:CalendarItem></m:Items></m:CreateItemResponseMessage></m:ResponseMessages>'
        '</m:CreateItemResponse>')


def update_item(item_id: str) -> str:
    return envelope(
        '<m:UpdateItemResponse><m:ResponseMessages><m:UpdateItemResponseMessage ResponseClass="Success">'
        f'<m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="{item_id}" '
        'ChangeKey="EwAAAA=="/></t:CalendarItem></m:Items><m:ConflictResults><t:Count>0</t:Count>'
        '</m:ConflictResults></m:UpdateItemResponseMessage></m:ResponseMessages></m:UpdateItemResponse>')


def update_item_error(code: str) -> str:
    return envelope(
        '<m:UpdateItemResponse><m:ResponseMessages><m:UpdateItemResponseMessage ResponseClass="Error">'
        f'<m:MessageText>{code}</m:MessageText><m:ResponseCode>{code}</m:ResponseCode>'
        '<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:UpdateItemResponseMessage></m:ResponseMessages>'
        '</m:UpdateItemResponse>')


def delete_item(code: str = "NoError") -> str:
    klass = "Success" if code == "NoError" else "Error"
    text = "" if code == "NoError" else f"<m:MessageText>{code}</m:MessageText>"
    return envelope(
        f'<m:DeleteItemResponse><m:ResponseMessages><m:DeleteItemResponseMessage ResponseClass="{klass}">'
        f'{text}<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>'
        '</m:DeleteItemResponseMessage></m:ResponseMessages></m:DeleteItemResponse>')


def soap(text: str, status: int = 200) -> Answer:
    return Answer(status, text, XML)


def get_items(items: dict[str, str], request: Request) -> str:
    """GetItem: one response message per requested id, from ``items`` (id -> CalendarItem XML)."""
    messages = []
    for item_id in re.findall(rb'<t:ItemId Id="([^"]+)"', request.body):
        xml = items.get(item_id.decode())
        if xml is None:
            messages.append('<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>not found'
                            '</m:MessageText><m:ResponseCode>ErrorItemNotFound</m:ResponseCode>'
                            '<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:GetItemResponseMessage>')
        else:
            messages.append('<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError'
                            f'</m:ResponseCode><m:Items>{xml}</m:Items></m:GetItemResponseMessage>')
    return envelope(f'<m:GetItemResponse><m:ResponseMessages>{"".join(messages)}</m:ResponseMessages>'
                    '</m:GetItemResponse>')
