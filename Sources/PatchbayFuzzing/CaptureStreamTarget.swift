import Foundation
import PatchbayControl
import PatchbayTopology
import PatchbayWire

/// The `capture` target: the capture control path as both ends read it.
///
/// Input: a request line (up to a newline or the end, as `ControlServer`
/// frames it), then the daemon's capture stream as `patchbay capture` reads
/// it (`CaptureStream` messages: response, header, blocks, summary).
///
/// - The daemon: the request decoded; a capture request checked field by
///   field (`CaptureRequest.problem`), its ports parsed; one that passes is
///   acted on as far as that is pure: the header for its ports and, for a
///   few frame lengths, the block its snaplen makes, read back.
/// - The CLI: every message decoded as it decodes them; a header's interface
///   names read; a `blocks` payload read packet by packet and split as
///   `--ring` splits it (whole blocks, or refused: never a loop or a read past
///   the payload on what a daemon sent); the JSON summary round-tripped.
///
/// Checked: nothing traps; a request that passes the checks has a snaplen the
/// datapath can size blocks with (blocks read back with at most snaplen
/// bytes) and a known direction; what decodes encodes and decodes back.
public func fuzzCaptureStream(_ bytes: UnsafeRawBufferPointer) {
  var offset = 0
  guard
    let line = ControlFraming.request(reading: {
      guard offset < bytes.count else { return .end }
      defer { offset += 1 }
      return .byte(bytes[offset])
    })
  else { return }
  if case .capture(let capture) = ControlFraming.decodeRequest(line) {
    actOnCapture(capture)
  }
  readStream(UnsafeRawBufferPointer(rebasing: bytes[min(offset, bytes.count)...]))
}

/// What the daemon does with a capture request before a lab is involved.
private func actOnCapture(_ capture: CaptureRequest) {
  let ports = capture.ports.map { PortReference($0) }
  guard capture.problem == nil else { return }
  invariant(
    (1...CaptureRequest.maximumSnaplen).contains(capture.snaplen)
      && ["in", "out", "both"].contains(capture.direction) && (capture.count ?? 1) >= 1,
    "a request with fields out of range passed")
  let names = zip(capture.ports, ports).map { text, reference in reference?.description ?? text }
  let header = Pcapng.header(
    interfaces: names.map {
      Pcapng.Interface(name: String($0.prefix(1024)), description: "fuzz", snaplen: capture.snaplen)
    })
  invariant(PcapngReader.interfaceNames(in: header).count == names.count, "header interfaces")
  // The block a tap writes for frames of a few lengths, cut at the snaplen.
  let frame = [UInt8](repeating: 0x5A, count: 9216)
  for length in [0, 1, 60, 1514, 9216] {
    let captured = min(length, capture.snaplen)
    var block = [UInt8](repeating: 0, count: Pcapng.packetBlockLength(captured: captured))
    block.withUnsafeMutableBytes { buffer in
      frame.withUnsafeBytes {
        Pcapng.writePacketBlock(
          to: buffer.baseAddress!, interface: 0, timestamp: 1, direction: .inbound,
          frame: $0.baseAddress!, captured: captured, originalLength: length)
      }
    }
    let packets = block.withUnsafeBytes { PcapngReader.packets(in: $0) }
    invariant(
      packets.count == 1 && packets[0].data.count == captured
        && packets[0].data.count <= capture.snaplen && packets[0].originalLength == length,
      "a tap's block for \(length) bytes at snaplen \(capture.snaplen) reads back wrong")
  }
}

/// Reads `bytes` as `patchbay capture` reads the daemon's stream (the
/// control target feeds it too).
func readStream(_ bytes: UnsafeRawBufferPointer) {
  var offset = 0
  let fill = { (buffer: inout [UInt8]) -> Bool in
    guard bytes.count - offset >= buffer.count else { return false }
    buffer.withUnsafeMutableBytes {
      $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + $0.count]))
    }
    offset += buffer.count
    return true
  }
  var headerSize = 0
  while let (kind, payload) = CaptureStream.receive(filling: fill) {
    invariant(payload.count <= bytes.count, "a payload longer than the stream")
    invariant(payload.count <= CaptureStream.maximumPayload, "a payload over the limit")
    switch kind {
    case .response:
      if let response = ControlFraming.decodeResponse(payload) { checkRoundTrip(response) }
    case .header:
      headerSize = payload.count
      _ = PcapngReader.interfaceNames(in: payload)
    case .blocks:
      payload.withUnsafeBytes { blocks in
        for packet in PcapngReader.packets(in: blocks) {
          invariant(packet.data.count <= blocks.count, "a packet longer than its blocks")
        }
        // As `--ring 2:4KiB` splits it, a little into its file.
        if let runs = Pcapng.ringRuns(
          blocks, fileSize: 4096, headerSize: headerSize, bytesInFile: headerSize + 100,
          blocksInFile: 1)
        {
          invariant(
            runs.last?.range.upperBound ?? 0 == blocks.count
              && runs.reduce(0, { $0 + $1.range.count }) == blocks.count,
            "ring runs do not cover the blocks")
        }
      }
    case .summary:
      if let summary = try? JSONDecoder().decode(CaptureSummary.self, from: Data(payload)) {
        checkRoundTrip(summary)
      }
    }
  }
}
