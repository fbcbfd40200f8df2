// DHCPv4 messages (RFC 2131) carried as BOOTP with options (RFC 2132).
//
// Safety: `DHCPMessage(validating:)` proves the buffer holds the 240 bytes of the
// fixed BOOTP header and magic cookie, so every fixed-field accessor reads below
// 240. It walks the options once and proves that each option's length byte and
// value lie inside the buffer; the offsets it keeps, and the walk `option(_:)`
// repeats, therefore stay inside the buffer too. `DHCPReply.emit(into:)` and
// `DHCPRequestFields.emit(into:)` check for their `maximumByteCount` of room
// before writing, which bounds everything they write.

/// The DHCP message type, option 53 (RFC 2132 §9.6).
public enum DHCPMessageType: UInt8, Sendable, Hashable, CustomStringConvertible {
  /// A client looks for servers.
  case discover = 1
  /// A server offers an address.
  case offer
  /// A client asks for an offered address, or to confirm or extend a lease.
  case request
  /// A client found the address already in use.
  case decline
  /// A server grants the request.
  case ack
  /// A server refuses the request: the client must start over.
  case nak
  /// A client gives its address back.
  case release
  /// A client with an address asks only for configuration.
  case inform

  /// The RFC's name: `DHCPDISCOVER`, `DHCPOFFER` and so on.
  public var description: String {
    switch self {
    case .discover: return "DHCPDISCOVER"
    case .offer: return "DHCPOFFER"
    case .request: return "DHCPREQUEST"
    case .decline: return "DHCPDECLINE"
    case .ack: return "DHCPACK"
    case .nak: return "DHCPNAK"
    case .release: return "DHCPRELEASE"
    case .inform: return "DHCPINFORM"
    }
  }
}

/// The option codes Patchbay reads or writes (RFC 2132).
public enum DHCPOptionCode {
  /// Pad: one byte, no length.
  public static let pad: UInt8 = 0
  /// Subnet mask.
  public static let subnetMask: UInt8 = 1
  /// Routers, in order of preference.
  public static let router: UInt8 = 3
  /// Domain name servers, in order of preference.
  public static let domainNameServer: UInt8 = 6
  /// The client's host name.
  public static let hostName: UInt8 = 12
  /// The address a client asks for.
  public static let requestedAddress: UInt8 = 50
  /// The lease time, in seconds.
  public static let leaseTime: UInt8 = 51
  /// Option overload: more options in `sname` or `file` (Patchbay ignores it).
  public static let overload: UInt8 = 52
  /// The DHCP message type.
  public static let messageType: UInt8 = 53
  /// The server identifier: the address of the server that sent or is chosen.
  public static let serverIdentifier: UInt8 = 54
  /// The options a client asks for.
  public static let parameterRequestList: UInt8 = 55
  /// A human-readable message, the reason for a NAK.
  public static let message: UInt8 = 56
  /// T1: seconds until the client starts renewing.
  public static let renewalTime: UInt8 = 58
  /// T2: seconds until the client starts rebinding.
  public static let rebindingTime: UInt8 = 59
  /// End of the options: one byte, no length.
  public static let end: UInt8 = 255
}

/// A read-only, checked view over a DHCP message: a BOOTP payload with options.
///
/// Valid only while the buffer it was made from is. Bytes past the end option
/// (padding to the 300-byte BOOTP minimum) are allowed and ignored. Options in
/// `sname` and `file` (option overload) are not read.
public struct DHCPMessage {
  /// Field offsets from the start of the UDP payload.
  public enum Offset {
    /// Operation: 1 for BOOTREQUEST, 2 for BOOTREPLY.
    public static let operation = 0
    /// Hardware type (1 for Ethernet).
    public static let hardwareType = 1
    /// Hardware address length (6).
    public static let hardwareLength = 2
    /// Relay hops.
    public static let hops = 3
    /// Transaction ID, chosen by the client.
    public static let transactionID = 4
    /// Seconds since the client began.
    public static let seconds = 8
    /// Flags; bit 15 asks for a broadcast reply.
    public static let flags = 10
    /// The client's current address (ciaddr).
    public static let clientAddress = 12
    /// The address given to the client (yiaddr).
    public static let yourAddress = 16
    /// The next server to boot from (siaddr).
    public static let nextServerAddress = 20
    /// The relay agent's address (giaddr).
    public static let relayAgentAddress = 24
    /// The client hardware address (chaddr), 16 bytes of which Ethernet uses 6.
    public static let clientHardwareAddress = 28
    /// The server host name (sname), 64 bytes.
    public static let serverName = 44
    /// The boot file name (file), 128 bytes.
    public static let bootFileName = 108
    /// The magic cookie 99.130.83.99.
    public static let magicCookie = 236
    /// The first option.
    public static let options = 240
  }

  /// The length of the fixed header and the magic cookie.
  public static let headerLength = 240
  /// The shortest BOOTP message (RFC 951); replies are padded to it.
  public static let minimumByteCount = 300
  /// The magic cookie that starts the options, 99.130.83.99.
  public static let magicCookie: UInt32 = 0x6382_5363
  /// The operation of a message from a client.
  public static let bootRequest: UInt8 = 1
  /// The operation of a message from a server.
  public static let bootReply: UInt8 = 2
  /// The hardware type of Ethernet.
  public static let ethernetHardwareType: UInt8 = 1
  /// The flag bit that asks the server to broadcast its reply.
  public static let broadcastFlag: UInt16 = 0x8000
  /// The UDP port servers listen on.
  public static let serverPort: UInt16 = 67
  /// The UDP port clients listen on.
  public static let clientPort: UInt16 = 68

  /// The message's bytes, possibly followed by padding.
  public let bytes: UnsafeRawBufferPointer

  // Found by the validating walk, so the accessors never walk again; -1 means absent.
  private let messageTypeValue: UInt8
  private let requestedAddressOffset: Int
  private let serverIdentifierOffset: Int
  private let hostNameOffset: Int
  private let hostNameLength: Int

  /// Checks that `bytes` hold a DHCP message.
  ///
  /// Throws `.truncated` for fewer than 240 bytes; `.badLength` for an option
  /// whose length byte or value runs past the buffer; `.malformed` for an
  /// operation other than 1 or 2, a hardware type other than Ethernet or a
  /// hardware length other than 6, a wrong magic cookie, a missing message type
  /// or one outside 1...8, or a message type, requested address or server
  /// identifier of the wrong length. A missing end option is accepted: the
  /// buffer's end ends the options as well.
  public init(validating bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= DHCPMessage.headerLength else { throw .truncated }
    guard
      bytes[Offset.operation] == DHCPMessage.bootRequest
        || bytes[Offset.operation] == DHCPMessage.bootReply,
      bytes[Offset.hardwareType] == DHCPMessage.ethernetHardwareType,
      bytes[Offset.hardwareLength] == MACAddress.byteCount,
      bytes.bigEndianUInt32(at: Offset.magicCookie) == DHCPMessage.magicCookie
    else { throw .malformed }

    var messageType: UInt8 = 0
    var requestedAddressOffset = -1
    var serverIdentifierOffset = -1
    var hostNameOffset = -1
    var hostNameLength = 0
    var index = Offset.options
    while index < bytes.count {
      let code = bytes[index]
      if code == DHCPOptionCode.pad {
        index += 1
        continue
      }
      if code == DHCPOptionCode.end { break }
      guard index + 1 < bytes.count else { throw .badLength }
      let length = Int(bytes[index + 1])
      let value = index + 2
      guard value + length <= bytes.count else { throw .badLength }
      // Only the first instance counts: clients do not split these short options (RFC 3396).
      switch code {
      case DHCPOptionCode.messageType where messageType == 0:
        guard length == 1 else { throw .malformed }
        messageType = bytes[value]
        guard DHCPMessageType(rawValue: messageType) != nil else { throw .malformed }
      case DHCPOptionCode.requestedAddress where requestedAddressOffset < 0:
        guard length == IPv4Address.byteCount else { throw .malformed }
        requestedAddressOffset = value
      case DHCPOptionCode.serverIdentifier where serverIdentifierOffset < 0:
        guard length == IPv4Address.byteCount else { throw .malformed }
        serverIdentifierOffset = value
      case DHCPOptionCode.hostName where hostNameOffset < 0:
        hostNameOffset = value
        hostNameLength = length
      default:
        break
      }
      index = value + length
    }
    guard messageType != 0 else { throw .malformed }

    self.bytes = bytes
    self.messageTypeValue = messageType
    self.requestedAddressOffset = requestedAddressOffset
    self.serverIdentifierOffset = serverIdentifierOffset
    self.hostNameOffset = hostNameOffset
    self.hostNameLength = hostNameLength
  }

  /// The operation: 1 (BOOTREQUEST) from a client, 2 (BOOTREPLY) from a server.
  @inline(__always)
  public var operation: UInt8 { bytes[Offset.operation] }

  /// The transaction ID (xid) the client chose.
  @inline(__always)
  public var transactionID: UInt32 { bytes.bigEndianUInt32(at: Offset.transactionID) }

  /// The flags field.
  @inline(__always)
  public var flags: UInt16 { bytes.bigEndianUInt16(at: Offset.flags) }

  /// True when the client asks for a broadcast reply (flags bit 15).
  @inline(__always)
  public var isBroadcast: Bool { flags & DHCPMessage.broadcastFlag != 0 }

  /// The client's current address (ciaddr); 0.0.0.0 when it has none.
  @inline(__always)
  public var clientAddress: IPv4Address {
    IPv4Address(rawValue: bytes.bigEndianUInt32(at: Offset.clientAddress))
  }

  /// The address the server gives the client (yiaddr).
  @inline(__always)
  public var yourAddress: IPv4Address {
    IPv4Address(rawValue: bytes.bigEndianUInt32(at: Offset.yourAddress))
  }

  /// The relay agent's address (giaddr); 0.0.0.0 when not relayed.
  @inline(__always)
  public var relayAgentAddress: IPv4Address {
    IPv4Address(rawValue: bytes.bigEndianUInt32(at: Offset.relayAgentAddress))
  }

  /// The client's MAC address: the first 6 bytes of chaddr.
  @inline(__always)
  public var clientHardwareAddress: MACAddress {
    MACAddress(unchecked: bytes, at: Offset.clientHardwareAddress)
  }

  /// The message type, option 53.
  public var messageType: DHCPMessageType {
    // The constructor accepted only values 1...8.
    DHCPMessageType(rawValue: messageTypeValue)!
  }

  /// The address the client asks for, option 50.
  public var requestedAddress: IPv4Address? {
    guard requestedAddressOffset >= 0 else { return nil }
    return IPv4Address(rawValue: bytes.bigEndianUInt32(at: requestedAddressOffset))
  }

  /// The server the message is meant for or comes from, option 54.
  public var serverIdentifier: IPv4Address? {
    guard serverIdentifierOffset >= 0 else { return nil }
    return IPv4Address(rawValue: bytes.bigEndianUInt32(at: serverIdentifierOffset))
  }

  /// The client's host name, option 12, for display: invalid UTF-8 is replaced
  /// and trailing NULs (some clients send C strings) are dropped. Nil when absent or empty.
  public var hostName: String? {
    guard hostNameOffset >= 0 else { return nil }
    var length = hostNameLength
    while length > 0, bytes[hostNameOffset + length - 1] == 0 { length -= 1 }
    guard length > 0 else { return nil }
    return String(
      decoding: UnsafeRawBufferPointer(rebasing: bytes[hostNameOffset..<hostNameOffset + length]),
      as: UTF8.self)
  }

  /// The value of the first option with `code`, or nil when the message has none.
  ///
  /// Pad and end have no value and are never found.
  public func option(_ code: UInt8) -> UnsafeRawBufferPointer? {
    guard code != DHCPOptionCode.pad, code != DHCPOptionCode.end else { return nil }
    var index = Offset.options
    while index < bytes.count {
      let current = bytes[index]
      if current == DHCPOptionCode.pad {
        index += 1
        continue
      }
      if current == DHCPOptionCode.end { return nil }
      let value = index + 2
      let end = value + Int(bytes[index + 1])
      if current == code { return UnsafeRawBufferPointer(rebasing: bytes[value..<end]) }
      index = end
    }
    return nil
  }
}

/// What a DHCP server sends: the value of a BOOTREPLY, for building and comparing replies.
public struct DHCPReply: Hashable, Sendable {
  /// The message type: offer, ack or nak.
  public var messageType: DHCPMessageType
  /// The transaction ID of the request answered.
  public var transactionID: UInt32
  /// The flags, echoed from the request.
  public var flags: UInt16
  /// ciaddr: echoed in an ACK to a renewal or an INFORM, otherwise 0.0.0.0.
  public var clientAddress: IPv4Address
  /// yiaddr: the address given to the client; 0.0.0.0 in a NAK or an ACK to an INFORM.
  public var yourAddress: IPv4Address
  /// The client's MAC address (chaddr).
  public var clientHardwareAddress: MACAddress
  /// The server's own address, option 54.
  public var serverIdentifier: IPv4Address
  /// The lease time in seconds, option 51; with it come T1 (58) and T2 (59).
  public var leaseSeconds: UInt32?
  /// The subnet mask, option 1.
  public var subnetMask: IPv4Address?
  /// The router, option 3.
  public var router: IPv4Address?
  /// The domain name server, option 6.
  public var domainNameServer: IPv4Address?
  /// A message for the client, option 56 (the reason for a NAK); at most 255 bytes are sent.
  public var message: String?

  /// Makes a reply value.
  public init(
    messageType: DHCPMessageType, transactionID: UInt32, flags: UInt16,
    clientAddress: IPv4Address, yourAddress: IPv4Address,
    clientHardwareAddress: MACAddress, serverIdentifier: IPv4Address,
    leaseSeconds: UInt32? = nil, subnetMask: IPv4Address? = nil, router: IPv4Address? = nil,
    domainNameServer: IPv4Address? = nil, message: String? = nil
  ) {
    self.messageType = messageType
    self.transactionID = transactionID
    self.flags = flags
    self.clientAddress = clientAddress
    self.yourAddress = yourAddress
    self.clientHardwareAddress = clientHardwareAddress
    self.serverIdentifier = serverIdentifier
    self.leaseSeconds = leaseSeconds
    self.subnetMask = subnetMask
    self.router = router
    self.domainNameServer = domainNameServer
    self.message = message
  }

  /// The most bytes `emit(into:)` writes: the header, every option at its
  /// longest (a 255-byte message) and the end option.
  public static let maximumByteCount =
    DHCPMessage.headerLength + 3 + 6 + 3 * 6 + 3 * 6 + (2 + 255) + 1

  /// True when the client asked for a broadcast reply (flags bit 15).
  public var isBroadcast: Bool { flags & DHCPMessage.broadcastFlag != 0 }

  /// Writes the BOOTREPLY at the start of `bytes`, padded with zeros to 300 bytes,
  /// and returns its length.
  ///
  /// Options go in the order 53, 54, 51, 58, 59, 1, 3, 6, 56, 255. Traps when
  /// `bytes` are fewer than `maximumByteCount`.
  public func emit(into bytes: UnsafeMutableRawBufferPointer) -> Int {
    precondition(
      bytes.count >= DHCPReply.maximumByteCount,
      "a DHCP reply needs \(DHCPReply.maximumByteCount) bytes of room")
    var writer = DHCPOptionWriter(
      header: bytes, operation: DHCPMessage.bootReply, transactionID: transactionID,
      flags: flags, clientAddress: clientAddress, yourAddress: yourAddress,
      clientHardwareAddress: clientHardwareAddress)
    writer.append(DHCPOptionCode.messageType, byte: messageType.rawValue)
    writer.append(DHCPOptionCode.serverIdentifier, word: serverIdentifier.rawValue)
    if let leaseSeconds {
      writer.append(DHCPOptionCode.leaseTime, word: leaseSeconds)
      // RFC 2131 §4.4.5 defaults: renew at half the lease, rebind at seven eighths.
      writer.append(DHCPOptionCode.renewalTime, word: leaseSeconds / 2)
      writer.append(
        DHCPOptionCode.rebindingTime, word: UInt32(UInt64(leaseSeconds) * 7 / 8))
    }
    if let subnetMask { writer.append(DHCPOptionCode.subnetMask, word: subnetMask.rawValue) }
    if let router { writer.append(DHCPOptionCode.router, word: router.rawValue) }
    if let domainNameServer {
      writer.append(DHCPOptionCode.domainNameServer, word: domainNameServer.rawValue)
    }
    if let message { writer.append(DHCPOptionCode.message, text: message) }
    return writer.finish()
  }

  /// The BOOTREPLY, as bytes.
  public func emit() -> [UInt8] {
    var out = [UInt8](repeating: 0, count: DHCPReply.maximumByteCount)
    let count = out.withUnsafeMutableBytes { emit(into: $0) }
    out.removeLast(out.count - count)
    return out
  }
}

/// The fields of a BOOTREQUEST as a client sends it, for tests and fuzzing.
public struct DHCPRequestFields: Hashable, Sendable {
  /// The message type.
  public var messageType: DHCPMessageType
  /// The transaction ID.
  public var transactionID: UInt32
  /// The flags (bit 15: broadcast the reply).
  public var flags: UInt16
  /// ciaddr: the client's current address, when it has one.
  public var clientAddress: IPv4Address
  /// The client's MAC address (chaddr).
  public var clientHardwareAddress: MACAddress
  /// The address asked for, option 50.
  public var requestedAddress: IPv4Address?
  /// The server chosen, option 54.
  public var serverIdentifier: IPv4Address?
  /// The host name, option 12; at most 255 bytes are sent.
  public var hostName: String?

  /// Makes a request value.
  public init(
    messageType: DHCPMessageType, transactionID: UInt32, flags: UInt16 = 0,
    clientAddress: IPv4Address = .any, clientHardwareAddress: MACAddress,
    requestedAddress: IPv4Address? = nil, serverIdentifier: IPv4Address? = nil,
    hostName: String? = nil
  ) {
    self.messageType = messageType
    self.transactionID = transactionID
    self.flags = flags
    self.clientAddress = clientAddress
    self.clientHardwareAddress = clientHardwareAddress
    self.requestedAddress = requestedAddress
    self.serverIdentifier = serverIdentifier
    self.hostName = hostName
  }

  /// Reads the fields of a checked message (the operation is not among them).
  public init(_ message: DHCPMessage) {
    self.init(
      messageType: message.messageType, transactionID: message.transactionID,
      flags: message.flags, clientAddress: message.clientAddress,
      clientHardwareAddress: message.clientHardwareAddress,
      requestedAddress: message.requestedAddress, serverIdentifier: message.serverIdentifier,
      hostName: message.hostName)
  }

  /// The most bytes `emit(into:)` writes.
  public static let maximumByteCount = DHCPMessage.headerLength + 3 + 6 + 6 + (2 + 255) + 1

  /// Writes the BOOTREQUEST at the start of `bytes`, padded with zeros to 300 bytes,
  /// and returns its length.
  ///
  /// Options go in the order 53, 50, 54, 12, 255. Traps when `bytes` are fewer
  /// than `maximumByteCount`.
  public func emit(into bytes: UnsafeMutableRawBufferPointer) -> Int {
    precondition(
      bytes.count >= DHCPRequestFields.maximumByteCount,
      "a DHCP request needs \(DHCPRequestFields.maximumByteCount) bytes of room")
    var writer = DHCPOptionWriter(
      header: bytes, operation: DHCPMessage.bootRequest, transactionID: transactionID,
      flags: flags, clientAddress: clientAddress, yourAddress: .any,
      clientHardwareAddress: clientHardwareAddress)
    writer.append(DHCPOptionCode.messageType, byte: messageType.rawValue)
    if let requestedAddress {
      writer.append(DHCPOptionCode.requestedAddress, word: requestedAddress.rawValue)
    }
    if let serverIdentifier {
      writer.append(DHCPOptionCode.serverIdentifier, word: serverIdentifier.rawValue)
    }
    if let hostName { writer.append(DHCPOptionCode.hostName, text: hostName) }
    return writer.finish()
  }

  /// The BOOTREQUEST, as bytes.
  public func emit() -> [UInt8] {
    var out = [UInt8](repeating: 0, count: DHCPRequestFields.maximumByteCount)
    let count = out.withUnsafeMutableBytes { emit(into: $0) }
    out.removeLast(out.count - count)
    return out
  }
}

/// Writes a BOOTP header and then options, one after another.
///
/// Its callers checked the room for everything they append, so it does not check again.
private struct DHCPOptionWriter {
  let bytes: UnsafeMutableRawBufferPointer
  var index = DHCPMessage.Offset.options

  /// Zeros the first 300 bytes and writes the fixed header and the magic cookie.
  init(
    header bytes: UnsafeMutableRawBufferPointer, operation: UInt8, transactionID: UInt32,
    flags: UInt16, clientAddress: IPv4Address, yourAddress: IPv4Address,
    clientHardwareAddress: MACAddress
  ) {
    typealias Offset = DHCPMessage.Offset
    self.bytes = bytes
    // Zeros hops, secs, siaddr, giaddr, the rest of chaddr, sname, file and the padding.
    UnsafeMutableRawBufferPointer(rebasing: bytes[..<DHCPMessage.minimumByteCount])
      .initializeMemory(as: UInt8.self, repeating: 0)
    bytes[Offset.operation] = operation
    bytes[Offset.hardwareType] = DHCPMessage.ethernetHardwareType
    bytes[Offset.hardwareLength] = UInt8(MACAddress.byteCount)
    bytes.storeBigEndian(transactionID, at: Offset.transactionID)
    bytes.storeBigEndian(flags, at: Offset.flags)
    bytes.storeBigEndian(clientAddress.rawValue, at: Offset.clientAddress)
    bytes.storeBigEndian(yourAddress.rawValue, at: Offset.yourAddress)
    clientHardwareAddress.store(into: bytes, at: Offset.clientHardwareAddress)
    bytes.storeBigEndian(DHCPMessage.magicCookie, at: Offset.magicCookie)
  }

  mutating func append(_ code: UInt8, byte: UInt8) {
    bytes[index] = code
    bytes[index + 1] = 1
    bytes[index + 2] = byte
    index += 3
  }

  /// Appends a four-byte big-endian value: an address or a count of seconds.
  mutating func append(_ code: UInt8, word: UInt32) {
    bytes[index] = code
    bytes[index + 1] = 4
    bytes.storeBigEndian(word, at: index + 2)
    index += 6
  }

  /// Appends up to 255 bytes of `text`'s UTF-8, cut between scalars; nothing if that is none.
  mutating func append(_ code: UInt8, text: String) {
    var length = 0
    for scalar in text.unicodeScalars {
      let width = UTF8.width(scalar)
      if length + width > 255 { break }
      length += width
    }
    // RFC 2132 gives text options a minimum length of 1.
    guard length > 0 else { return }
    bytes[index] = code
    bytes[index + 1] = UInt8(length)
    for (offset, byte) in text.utf8.prefix(length).enumerated() {
      bytes[index + 2 + offset] = byte
    }
    index += 2 + length
  }

  /// Appends the end option and returns the message length, at least the BOOTP minimum.
  mutating func finish() -> Int {
    bytes[index] = DHCPOptionCode.end
    index += 1
    return max(index, DHCPMessage.minimumByteCount)
  }
}
