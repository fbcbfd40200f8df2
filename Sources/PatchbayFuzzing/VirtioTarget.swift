import PatchbayCore
import PatchbayWire

/// The `virtio` target: a virtio-net header and the frame behind it, as a TAP
/// hands them to the datapath, carried out of every port of a bridge the way
/// the datapath writes them (frame re-framed by `EgressEncapsulation`, header
/// moved by `shifted(by:)`).
///
/// The input is a control byte (the ingress port), the 10-byte header and the
/// frame. Any header must be survivable: parsing, storing, shifting and
/// counting its footprint never trap. A header that describes its frame (what
/// `admits(_:frameLength:)` accepts) must still describe it after a tag was
/// pushed or popped: its checksum field and GSO header end point at the same
/// bytes, and the frame costs the rate limiter the same. Software
/// segmentation of the frame as it came and as it leaves each port never
/// traps, and never yields a frame longer than its headers plus `gsoSize`.
public func fuzzVirtioHeader(_ bytes: UnsafeRawBufferPointer) {
  var input = FuzzInput(bytes)
  let port = Int(input.byte()) % VirtioRun.template.bridge.portCount
  let rawHeader = input.take(VirtioNetHeader.byteCount)
  let frame = input.rest()
  guard let header = try? VirtioNetHeader(rawHeader) else {
    invariant(rawHeader.count < VirtioNetHeader.byteCount, "a whole header was refused")
    return
  }
  VirtioRun.checkEncoding(header)
  _ = (header.gsoType, header.isGSO, header.shifted(by: 4), header.shifted(by: -4))
  var run = VirtioRun.template
  VirtioRun.segment(frame, header: header)
  run.carry(frame, header: header, from: port)
}

/// A bridge to take frames through, and scratch to write them into.
private struct VirtioRun: Sendable {
  /// The bridge every run starts from (made once: a bridge is costly to build).
  static let template = VirtioRun()

  var bridge: Bridge
  var scratch = [UInt8](repeating: 0, count: Int(UInt16.max) + 2 * VLANTag.byteCount)

  private init() {
    bridge = Bridge(
      name: "virtio",
      ports: [
        BridgePortConfiguration(name: "access", accessVLAN: 10),
        BridgePortConfiguration(
          name: "trunk",
          mode: .trunk(allowed: VLANBitmap([10, 20]), native: 20, nativeTagged: false)),
        BridgePortConfiguration(
          name: "tagged-native",
          mode: .trunk(allowed: VLANBitmap([10, 20]), native: 10, nativeTagged: true)),
        BridgePortConfiguration(
          name: "qinq", mode: .dot1qTunnel(serviceVLAN: 10, tagType: .serviceVLAN)),
        BridgePortConfiguration(name: "access20", accessVLAN: 20),
      ],
      macTableSize: 16)
  }

  /// Parsing the stored form of a header gives the header back.
  static func checkEncoding(_ header: VirtioNetHeader) {
    let stored = header.bytes
    invariant(stored.count == VirtioNetHeader.byteCount, "header length")
    stored.withUnsafeBytes { raw in
      invariant(VirtioNetHeader(unchecked: raw.baseAddress!) == header, "header round trip")
    }
  }

  /// Switches `frame` in from `port` and checks its header on the way out of every port.
  mutating func carry(_ frame: UnsafeRawBufferPointer, header: VirtioNetHeader, from port: Int) {
    let footprint = FrameFootprint(frame: frame, header: header)
    invariant(footprint.packets >= 1, "a frame is at least one packet")
    invariant(footprint.bytes >= FrameFootprint.minimumSegmentBytes, "minimum segment bytes")
    let (decision, ingress) = bridge.process(frame, on: port, at: .seconds(1))
    let egresses: [Int]
    switch decision {
    case .drop: return
    case .forward(let egress, _): egresses = [egress]
    case .flood(let vlan): egresses = bridge.floodSet(vlan: vlan, from: port)
    }
    let admitted = VirtioRun.admits(header, frameLength: frame.count)
    for egress in egresses where !bridge.refusesEgress(on: egress, of: ingress) {
      let encapsulation = bridge.encapsulation(for: egress, of: ingress)
      let length = encapsulation.wireLength(ofReceived: frame.count)
      let delta = length - frame.count
      invariant([-VLANTag.byteCount, 0, VLANTag.byteCount].contains(delta), "tag delta \(delta)")
      let shifted = header.shifted(by: delta)
      VirtioRun.checkEncoding(shifted)
      scratch.withUnsafeMutableBytes { buffer in
        let written = encapsulation.write(frame, into: buffer.baseAddress!)
        invariant(written == length, "written length")
        let out = UnsafeRawBufferPointer(rebasing: buffer[..<length])
        let outFootprint = FrameFootprint(frame: out, header: shifted)
        VirtioRun.segment(out, header: shifted)
        guard admitted else { return }
        VirtioRun.checkMoved(header, in: frame, to: shifted, in: out)
        if VirtioRun.tagCount(frame) < EthernetFrame.maximumTags
          && VirtioRun.tagCount(out) < EthernetFrame.maximumTags
        {
          // Rate limits count layer-3 bytes: the same on every port.
          invariant(
            outFootprint == footprint,
            "footprint \(footprint) became \(outFootprint) with \(encapsulation)")
        }
      }
    }
  }

  /// The offsets a header gives that lie past the Ethernet header (and its
  /// tags) point at the same bytes in the frame as it leaves.
  private static func checkMoved(
    _ header: VirtioNetHeader, in frame: UnsafeRawBufferPointer, to shifted: VirtioNetHeader,
    in out: UnsafeRawBufferPointer
  ) {
    guard let layer2 = try? EthernetFrame(validating: frame).payloadOffset else { return }
    if header.flags & VirtioNetHeader.needsChecksum != 0, Int(header.checksumStart) >= layer2 {
      let field = Int(header.checksumStart) + Int(header.checksumOffset)
      let movedField = Int(shifted.checksumStart) + Int(shifted.checksumOffset)
      invariant(movedField + 2 <= out.count, "the checksum field left the frame")
      invariant(
        out[movedField] == frame[field] && out[movedField + 1] == frame[field + 1]
          && out[Int(shifted.checksumStart)] == frame[Int(header.checksumStart)],
        "the checksum field moved away from its bytes: \(header) -> \(shifted)")
    }
    if header.isGSO, Int(header.headerLength) > layer2 {
      let end = Int(shifted.headerLength)
      invariant(end <= out.count, "the GSO headers left the frame")
      invariant(
        out[end - 1] == frame[Int(header.headerLength) - 1],
        "the GSO header length moved away from its bytes: \(header) -> \(shifted)")
    }
  }

  /// Runs the software offload over `frame` (a refusal is fine: the datapath
  /// counts it as bad-offload); what it yields stays within its bounds.
  static func segment(_ frame: UnsafeRawBufferPointer, header: VirtioNetHeader) {
    guard var offload = try? SoftwareOffload(frame: frame, header: header) else { return }
    invariant(offload.maximumSegmentLength <= frame.count, "a segment longer than its frame")
    // Ethernet, two tags, IPv6 with extension headers up to the checksum start, and 60 bytes of TCP.
    let headerBound = Int(header.checksumStart) + 60
    var output = [UInt8](repeating: 0, count: offload.maximumSegmentLength)
    var yielded = 0
    while let length = output.withUnsafeMutableBytes({ offload.next(into: $0) }) {
      yielded += 1
      invariant(length <= offload.maximumSegmentLength, "segment past the stated maximum")
      if offload.work == .tcpSegments || offload.work == .udpSegments {
        invariant(length <= headerBound + Int(header.gsoSize), "segment longer than gso_size")
      }
    }
    invariant(yielded == offload.segmentCount, "yielded \(yielded) of \(offload.segmentCount)")
  }

  private static func tagCount(_ frame: UnsafeRawBufferPointer) -> Int {
    (try? EthernetFrame(validating: frame))?.tagCount ?? 0
  }

  /// True when `header` describes a frame of `frameLength` bytes: its checksum
  /// field and GSO headers lie inside the frame, a GSO frame has a known type
  /// and a segment size. What the kernel's `virtio_net_hdr_to_skb` checks,
  /// written out here independently of the datapath's `FrameAdmission`, which
  /// must agree with it.
  static func admits(_ header: VirtioNetHeader, frameLength: Int) -> Bool {
    var fits = true
    if header.flags & VirtioNetHeader.needsChecksum != 0 {
      fits = Int(header.checksumStart) + Int(header.checksumOffset) + 2 <= frameLength
    }
    if fits && header.isGSO {
      fits =
        header.gsoType != nil && header.gsoSize > 0 && Int(header.headerLength) <= frameLength
    }
    let verdict = FrameAdmission.verdict(
      header: header, frameLength: frameLength, maximumLength: .max)
    invariant(
      (verdict == nil) == fits, "FrameAdmission says \(String(describing: verdict)) for \(header)")
    let giant = FrameAdmission.verdict(
      header: header, frameLength: frameLength, maximumLength: frameLength - 1)
    invariant(
      !fits || (giant == .oversize) == !header.isGSO,
      "only a GSO superframe may exceed the MTU: \(String(describing: giant)) for \(header)")
    return fits
  }
}
