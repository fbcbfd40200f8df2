import PatchbayWire

/// Reads a UDP payload as a DHCP message through every accessor, and checks
/// that the request fields it holds emit a message that parses back to them.
enum DHCPMessages {
  /// Option codes worth a walk: those Patchbay reads, one it ignores, pad and end.
  private static let codes: [UInt8] = [0, 1, 3, 6, 12, 50, 51, 52, 53, 54, 55, 56, 58, 59, 61, 255]

  /// Parses `bytes`; returns the message when it is one (valid while `bytes` are).
  @discardableResult
  static func read(_ bytes: UnsafeRawBufferPointer) -> DHCPMessage? {
    guard let message = try? DHCPMessage(validating: bytes) else { return nil }
    invariant(
      message.operation == DHCPMessage.bootRequest || message.operation == DHCPMessage.bootReply,
      "DHCP operation")
    _ = (message.transactionID, message.flags, message.isBroadcast, message.clientAddress)
    _ = (message.yourAddress, message.relayAgentAddress, message.clientHardwareAddress)
    _ = (message.messageType.description, message.requestedAddress, message.serverIdentifier)
    if let name = message.hostName {
      invariant(!name.isEmpty && name.last != "\0", "a host name is never empty nor NUL-ended")
    }
    for code in codes {
      guard let value = message.option(code) else { continue }
      invariant(code != 0 && code != 255, "pad and end have no value")
      invariant(
        value.baseAddress! >= bytes.baseAddress! + DHCPMessage.headerLength
          && value.baseAddress! + value.count <= bytes.baseAddress! + bytes.count,
        "an option's value lies inside the message")
    }
    checkRoundTrip(DHCPRequestFields(message))
    return message
  }

  /// Emitting fields and parsing them again settles after one trip: the host
  /// name may change once (cut to 255 bytes, invalid UTF-8 replaced), nothing else.
  private static func checkRoundTrip(_ fields: DHCPRequestFields) {
    let once = reparse(fields)
    var expected = fields
    expected.hostName = once.hostName
    invariant(once == expected, "DHCP request fields round trip: \(fields) became \(once)")
    invariant(reparse(once) == once, "DHCP request fields settle after one round trip")
  }

  private static func reparse(_ fields: DHCPRequestFields) -> DHCPRequestFields {
    fields.emit().withUnsafeBytes { raw in
      guard let message = try? DHCPMessage(validating: raw) else {
        fatalError("invariant violated: emitted DHCP request fields do not parse: \(fields)")
      }
      return DHCPRequestFields(message)
    }
  }
}
