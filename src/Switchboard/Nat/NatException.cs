namespace Switchboard.Nat;

/// <summary>What went wrong while talking to a NAT gateway.</summary>
public enum NatError
{
    /// <summary>No UPnP IGD answered the SSDP search and no NAT-PMP gateway answered (or none was configured).</summary>
    NoGatewayFound,
    /// <summary>A request (HTTP, SOAP, NAT-PMP) did not finish within its configured time.</summary>
    Timeout,
    /// <summary>A socket error: connection refused, network unreachable, reset.</summary>
    NetworkError,
    /// <summary>A reply that does not parse: bad HTTP, bad SSDP, bad or unsafe XML (DTDs are refused), short NAT-PMP packet.</summary>
    MalformedResponse,
    /// <summary>A reply larger than the limit for that kind of message.</summary>
    ResponseTooLarge,
    /// <summary>The gateway answered an HTTP status other than 200 without a SOAP fault.</summary>
    HttpError,
    /// <summary>The IGD answered with a SOAP fault; see <see cref="UpnpException"/>.</summary>
    UpnpFault,
    /// <summary>The NAT-PMP gateway answered with a non-zero result code; see <see cref="NatPmpException"/>.</summary>
    NatPmpFailure,
    /// <summary>The device description has no WANIPConnection / WANPPPConnection service, or a URL we refuse to use.</summary>
    UnsupportedGateway,
    /// <summary>The gateway reported no (or an unparsable) external address: it is not connected upstream.</summary>
    NoExternalAddress,
    /// <summary>
    /// The gateway's external address is private or reserved, so the gateway is itself behind another NAT and a
    /// mapping on it is not reachable from the internet (allowed with <see cref="PortMapperOptions.AllowNonPublicExternalAddress"/>).
    /// </summary>
    GatewayBehindNat,
}

/// <summary>An error from UPnP IGD or NAT-PMP port mapping; switch on <see cref="Error"/>.</summary>
public class NatException : P2PException
{
    /// <summary>Creates the exception.</summary>
    public NatException(NatError error, string message, Exception? innerException = null)
        : base(message, innerException) => Error = error;

    /// <summary>What went wrong.</summary>
    public NatError Error { get; }
}

/// <summary>
/// UPnP error codes an IGD returns in a SOAP fault (UPnP Device Architecture 1.1 §3.2.2 and
/// WANIPConnection:2 §2.5). Codes not listed still round-trip through <see cref="UpnpException.Code"/>.
/// </summary>
public enum UpnpErrorCode
{
    /// <summary>401: no such action.</summary>
    InvalidAction = 401,
    /// <summary>402: wrong arguments.</summary>
    InvalidArgs = 402,
    /// <summary>501: the action failed (miniupnpd: also "port forwarding is impossible").</summary>
    ActionFailed = 501,
    /// <summary>600: an argument value is invalid.</summary>
    ArgumentValueInvalid = 600,
    /// <summary>601: an argument value is out of range.</summary>
    ArgumentValueOutOfRange = 601,
    /// <summary>602: optional action not implemented.</summary>
    OptionalActionNotImplemented = 602,
    /// <summary>606: the control point is not authorized (e.g. a port outside the allowed range).</summary>
    ActionNotAuthorized = 606,
    /// <summary>713: SpecifiedArrayIndexInvalid.</summary>
    SpecifiedArrayIndexInvalid = 713,
    /// <summary>714: NoSuchEntryInArray (no such mapping).</summary>
    NoSuchEntryInArray = 714,
    /// <summary>715: WildCardNotPermittedInSrcIP.</summary>
    WildCardNotPermittedInSrcIP = 715,
    /// <summary>716: WildCardNotPermittedInExtPort.</summary>
    WildCardNotPermittedInExtPort = 716,
    /// <summary>718: ConflictInMappingEntry (the external port is mapped to another client).</summary>
    ConflictInMappingEntry = 718,
    /// <summary>724: SamePortValuesRequired.</summary>
    SamePortValuesRequired = 724,
    /// <summary>725: OnlyPermanentLeasesSupported (retry with lease 0).</summary>
    OnlyPermanentLeasesSupported = 725,
    /// <summary>726: RemoteHostOnlySupportsWildcard.</summary>
    RemoteHostOnlySupportsWildcard = 726,
    /// <summary>727: ExternalPortOnlySupportsWildcard.</summary>
    ExternalPortOnlySupportsWildcard = 727,
    /// <summary>728: NoPortMapsAvailable.</summary>
    NoPortMapsAvailable = 728,
    /// <summary>729: ConflictWithOtherMechanisms.</summary>
    ConflictWithOtherMechanisms = 729,
    /// <summary>732: WildCardNotPermittedInIntPort.</summary>
    WildCardNotPermittedInIntPort = 732,
}

/// <summary>A SOAP fault from a UPnP IGD.</summary>
public sealed class UpnpException : NatException
{
    /// <summary>Creates the exception from the fault's <c>errorCode</c> and <c>errorDescription</c>.</summary>
    public UpnpException(string action, int code, string description)
        : base(NatError.UpnpFault, $"UPnP {action} failed: {code} {description}")
    {
        Action = action;
        Code = code;
        Description = description;
    }

    /// <summary>The SOAP action that failed (e.g. <c>AddPortMapping</c>).</summary>
    public string Action { get; }

    /// <summary>The numeric UPnP error code.</summary>
    public int Code { get; }

    /// <summary>The code as an enum (an unnamed value when the code is not one listed in <see cref="UpnpErrorCode"/>).</summary>
    public UpnpErrorCode ErrorCode => (UpnpErrorCode)Code;

    /// <summary>The gateway's <c>errorDescription</c> (may be empty).</summary>
    public string Description { get; }
}

/// <summary>NAT-PMP result codes (RFC 6886 §3.5).</summary>
public enum NatPmpResultCode : ushort
{
    /// <summary>0: success.</summary>
    Success = 0,
    /// <summary>1: unsupported version.</summary>
    UnsupportedVersion = 1,
    /// <summary>2: not authorized / refused (e.g. mapping disabled by the administrator).</summary>
    NotAuthorized = 2,
    /// <summary>3: network failure (e.g. the gateway has no external address).</summary>
    NetworkFailure = 3,
    /// <summary>4: out of resources.</summary>
    OutOfResources = 4,
    /// <summary>5: unsupported opcode.</summary>
    UnsupportedOpcode = 5,
}

/// <summary>A NAT-PMP gateway answered with a non-zero result code.</summary>
public sealed class NatPmpException : NatException
{
    /// <summary>Creates the exception.</summary>
    public NatPmpException(NatPmpResultCode result, string operation)
        : base(NatError.NatPmpFailure, $"NAT-PMP {operation} failed: result {(ushort)result} ({result})") => Result = result;

    /// <summary>The result code from the gateway.</summary>
    public NatPmpResultCode Result { get; }
}
