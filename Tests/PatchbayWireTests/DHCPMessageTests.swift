import PatchbayWire
import Testing

/// Field-by-field samples: a client's DHCPREQUEST and a server's DHCPACK.
private enum DHCPSample {
  static let clientMAC = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56)
  static let server = IPv4Address(10, 0, 10, 1)
  static let leased = IPv4Address(10, 0, 10, 100)

  static let cookie: [UInt8] = [0x63, 0x82, 0x53, 0x63]
  /// sname (64 bytes) and file (128 bytes), unused.
  static let names = [UInt8](repeating: 0, count: 192)

  /// A client's SELECTING request, laid out as busybox udhcpc sends one.
  static let request: [UInt8] = {
    let header: [UInt8] = [
      0x01, 0x01, 0x06, 0x00,  // BOOTREQUEST, Ethernet, 6-byte address, no hops
      0x39, 0x03, 0xf3, 0x26,  // xid
      0x00, 0x03, 0x00, 0x00,  // 3 seconds, no flags
      0x00, 0x00, 0x00, 0x00,  // ciaddr
      0x00, 0x00, 0x00, 0x00,  // yiaddr
      0x00, 0x00, 0x00, 0x00,  // siaddr
      0x00, 0x00, 0x00, 0x00,  // giaddr
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // chaddr
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // chaddr padding
    ]
    let options: [UInt8] = [
      53, 1, 3,  // DHCPREQUEST
      61, 7, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // client identifier
      50, 4, 10, 0, 10, 100,  // requested address
      54, 4, 10, 0, 10, 1,  // server identifier
      57, 2, 0x02, 0x40,  // maximum message size 576
      55, 4, 1, 3, 6, 12,  // parameter request list
      12, 4, 0x76, 0x6d, 0x31, 0x00,  // host name "vm1" as a C string
      0, 0,  // pad
      255,  // end
    ]
    let body = header + names + cookie + options
    return body + [UInt8](repeating: 0, count: 300 - body.count)
  }()

  /// The DHCPACK answering it, with every option a lease carries.
  static let ack: [UInt8] = {
    let header: [UInt8] = [
      0x02, 0x01, 0x06, 0x00,  // BOOTREPLY, Ethernet, 6-byte address, no hops
      0x39, 0x03, 0xf3, 0x26,  // xid
      0x00, 0x00, 0x80, 0x00,  // no seconds, broadcast flag
      0x00, 0x00, 0x00, 0x00,  // ciaddr
      0x0a, 0x00, 0x0a, 0x64,  // yiaddr 10.0.10.100
      0x00, 0x00, 0x00, 0x00,  // siaddr
      0x00, 0x00, 0x00, 0x00,  // giaddr
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // chaddr
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // chaddr padding
    ]
    let options: [UInt8] = [
      53, 1, 5,  // DHCPACK
      54, 4, 10, 0, 10, 1,  // server identifier
      51, 4, 0x00, 0x00, 0x0e, 0x10,  // lease 3600 s
      58, 4, 0x00, 0x00, 0x07, 0x08,  // T1 1800 s
      59, 4, 0x00, 0x00, 0x0c, 0x4e,  // T2 3150 s
      1, 4, 255, 255, 255, 0,  // subnet mask
      3, 4, 10, 0, 10, 1,  // router
      6, 4, 10, 0, 10, 53,  // domain name server
      255,  // end
    ]
    // 286 bytes with the options: 14 of padding make the BOOTP minimum.
    return header + names + cookie + options + [UInt8](repeating: 0, count: 14)
  }()

  /// The sample request's first 240 bytes: header, names and cookie, to append options to.
  static let cookieAndHeader = Array(request[..<240])

  static let ackValue = DHCPReply(
    messageType: .ack, transactionID: 0x3903_F326, flags: 0x8000,
    clientAddress: .any, yourAddress: leased, clientHardwareAddress: clientMAC,
    serverIdentifier: server, leaseSeconds: 3_600,
    subnetMask: IPv4Address(255, 255, 255, 0), router: server,
    domainNameServer: IPv4Address(10, 0, 10, 53))
}

struct DHCPMessageTests {
  // MARK: Reading

  @Test func readsAClientRequest() throws {
    try DHCPSample.request.withUnsafeBytes { bytes in
      let message = try DHCPMessage(validating: bytes)
      #expect(message.operation == DHCPMessage.bootRequest)
      #expect(message.transactionID == 0x3903_F326)
      #expect(message.flags == 0)
      #expect(!message.isBroadcast)
      #expect(message.clientAddress == .any)
      #expect(message.yourAddress == .any)
      #expect(message.relayAgentAddress == .any)
      #expect(message.clientHardwareAddress == DHCPSample.clientMAC)
      #expect(message.messageType == .request)
      #expect(message.requestedAddress == DHCPSample.leased)
      #expect(message.serverIdentifier == DHCPSample.server)
      #expect(message.hostName == "vm1")
      #expect(message.option(DHCPOptionCode.parameterRequestList).map(Array.init) == [1, 3, 6, 12])
      #expect(message.option(61)?.count == 7)
      #expect(message.option(DHCPOptionCode.leaseTime) == nil)
      #expect(message.option(DHCPOptionCode.pad) == nil)
      #expect(message.option(DHCPOptionCode.end) == nil)
      #expect(
        DHCPRequestFields(message)
          == DHCPRequestFields(
            messageType: .request, transactionID: 0x3903_F326,
            clientHardwareAddress: DHCPSample.clientMAC, requestedAddress: DHCPSample.leased,
            serverIdentifier: DHCPSample.server, hostName: "vm1"))
    }
  }

  @Test func readsTheRelayAgentAndTheBroadcastFlag() throws {
    var bytes = DHCPSample.request
    bytes[10] = 0x80
    bytes[24...27] = [192, 0, 2, 1]
    try bytes.withUnsafeBytes { buffer in
      let message = try DHCPMessage(validating: buffer)
      #expect(message.isBroadcast)
      #expect(message.flags == 0x8000)
      #expect(message.relayAgentAddress == IPv4Address(192, 0, 2, 1))
    }
  }

  @Test func theFirstInstanceOfAnOptionCounts() throws {
    // A second message type, requested address and host name after the end of the sample's.
    var bytes = Array(DHCPSample.request[..<282])  // up to, not including, the end
    bytes += [53, 1, 1, 50, 4, 10, 0, 10, 7, 12, 2, 0x78, 0x78, 255]
    try bytes.withUnsafeBytes { buffer in
      let message = try DHCPMessage(validating: buffer)
      #expect(message.messageType == .request)
      #expect(message.requestedAddress == DHCPSample.leased)
      #expect(message.hostName == "vm1")
    }
  }

  @Test func bytesAfterTheEndOptionAreIgnored() throws {
    var bytes = DHCPSample.request
    bytes[bytes.count - 1] = 53  // an option code with no room for its length, after the end
    try bytes.withUnsafeBytes { buffer in
      let message = try DHCPMessage(validating: buffer)
      #expect(message.messageType == .request)
    }
  }

  @Test func aMissingEndOptionIsAccepted() throws {
    let bytes = DHCPSample.cookieAndHeader + [53, 1, 1]
    try bytes.withUnsafeBytes { buffer in
      let message = try DHCPMessage(validating: buffer)
      #expect(message.messageType == .discover)
      #expect(message.requestedAddress == nil)
      #expect(message.serverIdentifier == nil)
      #expect(message.hostName == nil)
    }
  }

  @Test func anEmptyHostNameIsNone() throws {
    for value: [UInt8] in [[], [0], [0, 0]] {
      let bytes =
        DHCPSample.cookieAndHeader + [53, 1, 1, 12, UInt8(value.count)] + value + [255]
      try bytes.withUnsafeBytes { buffer in
        let message = try DHCPMessage(validating: buffer)
        #expect(message.hostName == nil)
      }
    }
  }

  @Test func invalidUTF8InAHostNameIsReplaced() throws {
    let bytes = DHCPSample.cookieAndHeader + [53, 1, 1, 12, 3, 0x61, 0xff, 0x62, 255]
    try bytes.withUnsafeBytes { buffer in
      let message = try DHCPMessage(validating: buffer)
      #expect(message.hostName == "a\u{FFFD}b")
    }
  }

  @Test func readsAServerReply() throws {
    try DHCPSample.ack.withUnsafeBytes { bytes in
      let message = try DHCPMessage(validating: bytes)
      #expect(message.operation == DHCPMessage.bootReply)
      #expect(message.messageType == .ack)
      #expect(message.yourAddress == DHCPSample.leased)
      #expect(message.serverIdentifier == DHCPSample.server)
      #expect(message.option(DHCPOptionCode.leaseTime).map(Array.init) == [0, 0, 0x0e, 0x10])
      #expect(message.option(DHCPOptionCode.domainNameServer).map(Array.init) == [10, 0, 10, 53])
    }
  }

  // MARK: Rejecting

  @Test func rejectsFewerThan240Bytes() {
    for length in [0, 1, 28, 236, 239] {
      let error = rejection(Array(DHCPSample.request.prefix(length))) {
        _ = try DHCPMessage(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
  }

  @Test(arguments: [
    (0, UInt8(0x00)),  // operation 0
    (0, 0x03),  // operation 3
    (1, 0x06),  // hardware type IEEE 802
    (2, 0x10),  // hardware length 16
    (236, 0x00),  // cookie
    (239, 0x64),  // cookie
  ])
  func rejectsAnythingButBOOTPOverEthernetWithTheCookie(offset: Int, value: UInt8) {
    var bytes = DHCPSample.request
    bytes[offset] = value
    #expect(rejection(bytes) { _ = try DHCPMessage(validating: $0) } == .malformed)
  }

  @Test func rejectsAMessageWithoutAType() {
    let withoutType = DHCPSample.cookieAndHeader + [50, 4, 10, 0, 10, 100, 255]
    #expect(rejection(withoutType) { _ = try DHCPMessage(validating: $0) } == .malformed)
    let onlyEnd = DHCPSample.cookieAndHeader + [255]
    #expect(rejection(onlyEnd) { _ = try DHCPMessage(validating: $0) } == .malformed)
    // A type after the end option does not count.
    let typeAfterEnd = DHCPSample.cookieAndHeader + [255, 53, 1, 1]
    #expect(rejection(typeAfterEnd) { _ = try DHCPMessage(validating: $0) } == .malformed)
    #expect(
      rejection(DHCPSample.cookieAndHeader) { _ = try DHCPMessage(validating: $0) } == .malformed)
  }

  @Test(
    arguments: [
      [53, 1, 0, 255],  // type 0
      [53, 1, 9, 255],  // type 9
      [53, 2, 1, 0, 255],  // type of two bytes
      [53, 0, 255],  // type of no bytes
      [53, 1, 1, 50, 3, 10, 0, 10, 255],  // requested address of three bytes
      [53, 1, 3, 54, 5, 10, 0, 10, 1, 0, 255],  // server identifier of five bytes
    ] as [[UInt8]])
  func rejectsOptionsOfTheWrongShape(options: [UInt8]) {
    let bytes = DHCPSample.cookieAndHeader + options
    #expect(rejection(bytes) { _ = try DHCPMessage(validating: $0) } == .malformed)
  }

  @Test(
    arguments: [
      [53, 1, 1, 12],  // a code with no length byte
      [53, 1, 1, 12, 4, 0x76, 0x6d, 0x31],  // a value one byte short
      [53, 1],  // the message type itself cut short
      [53, 1, 1, 0, 0, 61, 255],  // a length running far past the end
    ] as [[UInt8]])
  func rejectsTruncatedOptions(options: [UInt8]) {
    let bytes = DHCPSample.cookieAndHeader + options
    #expect(rejection(bytes) { _ = try DHCPMessage(validating: $0) } == .badLength)
  }

  @Test func rejectsEveryTruncationOfTheSampleInsideItsOptions() {
    // Cut inside an option (not at a boundary): the walk runs out of buffer.
    let boundaries: Set<Int> = [240, 243, 252, 258, 264, 268, 274, 280, 281, 282, 283]
    for length in 241..<283 where !boundaries.contains(length) {
      let error = rejection(Array(DHCPSample.request.prefix(length))) {
        _ = try DHCPMessage(validating: $0)
      }
      #expect(error == .badLength, "length \(length)")
    }
  }

  // MARK: Replies

  @Test func emitsAReplyByteForByte() {
    let bytes = DHCPSample.ackValue.emit()
    #expect(bytes.count == 300)
    #expect(bytes == DHCPSample.ack)
  }

  @Test func emitIntoReturnsTheLengthAndZerosOnlyThePadding() {
    var buffer = [UInt8](repeating: 0xEE, count: DHCPReply.maximumByteCount + 4)
    let count = buffer.withUnsafeMutableBytes { DHCPSample.ackValue.emit(into: $0) }
    #expect(count == 300)
    #expect(Array(buffer[..<300]) == DHCPSample.ack)
    #expect(buffer[300...].allSatisfy { $0 == 0xEE })
  }

  @Test func aNakCarriesOnlyTypeServerAndMessage() {
    let nak = DHCPReply(
      messageType: .nak, transactionID: 7, flags: 0, clientAddress: .any, yourAddress: .any,
      clientHardwareAddress: DHCPSample.clientMAC, serverIdentifier: DHCPSample.server,
      message: "no")
    let bytes = nak.emit()
    #expect(bytes.count == 300)
    #expect(Array(bytes[..<4]) == [2, 1, 6, 0])
    #expect(Array(bytes[4..<8]) == [0, 0, 0, 7])
    #expect(Array(bytes[12..<28]) == [UInt8](repeating: 0, count: 16))
    #expect(Array(bytes[236..<240]) == DHCPSample.cookie)
    #expect(
      Array(bytes[240..<256]) == [53, 1, 6, 54, 4, 10, 0, 10, 1, 56, 2, 0x6e, 0x6f, 255, 0, 0])
    #expect(bytes[254...].allSatisfy { $0 == 0 })
  }

  @Test func optionsComeInTheirFixedOrder() throws {
    var offer = DHCPSample.ackValue
    offer.messageType = .offer
    offer.message = "hello"
    let bytes = offer.emit()
    var codes: [UInt8] = []
    var index = 240
    while bytes[index] != 255 {
      codes.append(bytes[index])
      index += 2 + Int(bytes[index + 1])
    }
    #expect(codes == [53, 54, 51, 58, 59, 1, 3, 6, 56])
    // Absent options are left out, the others keep their order.
    let bare = DHCPReply(
      messageType: .ack, transactionID: 1, flags: 0, clientAddress: IPv4Address(10, 0, 10, 9),
      yourAddress: .any, clientHardwareAddress: DHCPSample.clientMAC,
      serverIdentifier: DHCPSample.server, router: DHCPSample.server)
    let bareBytes = bare.emit()
    #expect(Array(bareBytes[12..<16]) == [10, 0, 10, 9])
    #expect(
      Array(bareBytes[240..<256]) == [53, 1, 5, 54, 4, 10, 0, 10, 1, 3, 4, 10, 0, 10, 1, 255])
  }

  @Test func aLongMessageIsCutBetweenScalarsAndNotPadded() throws {
    var nak = DHCPReply(
      messageType: .nak, transactionID: 7, flags: 0, clientAddress: .any, yourAddress: .any,
      clientHardwareAddress: DHCPSample.clientMAC, serverIdentifier: DHCPSample.server,
      message: String(repeating: "x", count: 600))
    var bytes = nak.emit()
    #expect(bytes.count == 240 + 3 + 6 + 2 + 255 + 1)
    #expect(bytes[249] == 56)
    #expect(bytes[250] == 255)
    #expect(bytes.last == 255)
    // Two-byte scalars: 127 of them fit in 255 bytes.
    nak.message = String(repeating: "é", count: 200)
    bytes = nak.emit()
    #expect(bytes[250] == 254)
    try bytes.withUnsafeBytes { buffer in
      let message = try DHCPMessage(validating: buffer)
      let text = message.option(DHCPOptionCode.message).map { String(decoding: $0, as: UTF8.self) }
      #expect(text == String(repeating: "é", count: 127))
    }
    // An empty message is left out: RFC 2132 text options are at least one byte.
    nak.message = ""
    bytes = nak.emit()
    #expect(Array(bytes[240..<250]) == [53, 1, 6, 54, 4, 10, 0, 10, 1, 255])
  }

  @Test func theLongestReplyFitsTheStatedBound() {
    let longest = DHCPReply(
      messageType: .offer, transactionID: .max, flags: .max, clientAddress: .broadcast,
      yourAddress: .broadcast, clientHardwareAddress: .broadcast,
      serverIdentifier: .broadcast, leaseSeconds: .max, subnetMask: .broadcast,
      router: .broadcast, domainNameServer: .broadcast,
      message: String(repeating: "m", count: 300))
    #expect(longest.emit().count == DHCPReply.maximumByteCount)
    // T2 is computed without overflow for the longest lease.
    #expect(Array(longest.emit()[263..<267]) == [0xdf, 0xff, 0xff, 0xff])
  }

  @Test func anEmittedReplyReadsBack() throws {
    try DHCPSample.ackValue.emit().withUnsafeBytes { bytes in
      let message = try DHCPMessage(validating: bytes)
      #expect(message.operation == DHCPMessage.bootReply)
      #expect(message.transactionID == DHCPSample.ackValue.transactionID)
      #expect(message.isBroadcast)
      #expect(DHCPSample.ackValue.isBroadcast)
      #expect(message.clientHardwareAddress == DHCPSample.clientMAC)
      #expect(message.yourAddress == DHCPSample.leased)
    }
  }

  // MARK: Requests

  @Test func emitsAClientDiscoverByteForByte() {
    let discover = DHCPRequestFields(
      messageType: .discover, transactionID: 0x0102_0304, flags: 0x8000,
      clientHardwareAddress: DHCPSample.clientMAC, hostName: "vm1")
    let header: [UInt8] = [
      1, 1, 6, 0, 1, 2, 3, 4, 0, 0, 0x80, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]
    let options: [UInt8] = [53, 1, 1, 12, 3, 0x76, 0x6d, 0x31, 255]
    let body = header + DHCPSample.names + DHCPSample.cookie + options
    #expect(discover.emit() == body + [UInt8](repeating: 0, count: 300 - body.count))
  }

  @Test func requestFieldsSurviveARoundTrip() throws {
    let fields = [
      DHCPRequestFields(
        messageType: .discover, transactionID: 1, clientHardwareAddress: DHCPSample.clientMAC),
      DHCPRequestFields(
        messageType: .request, transactionID: 2, clientHardwareAddress: DHCPSample.clientMAC,
        requestedAddress: DHCPSample.leased, serverIdentifier: DHCPSample.server,
        hostName: "lab-vm"),
      DHCPRequestFields(
        messageType: .request, transactionID: 3, flags: 0x8000,
        clientAddress: DHCPSample.leased, clientHardwareAddress: DHCPSample.clientMAC),
      DHCPRequestFields(
        messageType: .inform, transactionID: .max, clientAddress: DHCPSample.leased,
        clientHardwareAddress: DHCPSample.clientMAC, hostName: String(repeating: "h", count: 255)),
    ]
    for value in fields {
      let bytes = value.emit()
      #expect(bytes.count >= 300)
      let read = try bytes.withUnsafeBytes { buffer in
        let message = try DHCPMessage(validating: buffer)
        #expect(message.operation == DHCPMessage.bootRequest)
        return DHCPRequestFields(message)
      }
      #expect(read == value)
    }
  }

  @Test func theLongestRequestFitsTheStatedBound() {
    let longest = DHCPRequestFields(
      messageType: .request, transactionID: 1, clientHardwareAddress: DHCPSample.clientMAC,
      requestedAddress: DHCPSample.leased, serverIdentifier: DHCPSample.server,
      hostName: String(repeating: "h", count: 400))
    #expect(longest.emit().count == DHCPRequestFields.maximumByteCount)
  }

  @Test func describesMessageTypes() {
    let names = (1...8).compactMap { DHCPMessageType(rawValue: $0)?.description }
    #expect(
      names == [
        "DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPDECLINE", "DHCPACK", "DHCPNAK",
        "DHCPRELEASE", "DHCPINFORM",
      ])
    #expect(DHCPMessageType(rawValue: 0) == nil)
    #expect(DHCPMessageType(rawValue: 9) == nil)
  }
}
