import PatchbayWire

/// The `pcapng` target: what Patchbay reads back of pcapng, and how a ring of
/// capture files splits a run of blocks between its files.
///
/// Input: a mode byte, then
/// - the interfaces: a count byte (0 to 7), each name a chunk (`FuzzInput.chunk`);
/// - the ring: file size (16 bits, in 4-byte words, at least 64 bytes),
///   blocks already in the current file (a byte) and bytes beyond its header (16 bits);
/// - records until the end: interface byte, direction bit, captured length
///   (16 bits, at most 4 KiB), original length beyond it (a byte), and that many
///   frame bytes (fewer at the end).
///
/// The whole input is also read as raw pcapng (`PcapngReader` on any bytes)
/// and split as a ring would split it.
///
/// Checked: nothing traps; every packet read from raw bytes lies inside them;
/// a header read back gives the names written; blocks written by
/// `Pcapng.writePacketBlock` read back exactly (interface, time, direction,
/// lengths, bytes); a ring's runs cover the batch in order, whole blocks only,
/// each file within its size unless one block alone exceeds it, a new file
/// only where the next block would not fit; bytes that are not whole blocks
/// split to nil, never into runs past their end.
public func fuzzPcapng(_ bytes: UnsafeRawBufferPointer) {
  readRaw(bytes)
  var input = FuzzInput(bytes)
  _ = input.byte()
  var names: [String] = []
  for _ in 0..<Int(input.byte() % 8) {
    names.append(String(decoding: input.chunk().prefix(256), as: UTF8.self))
  }
  let header = Pcapng.header(
    interfaces: names.map { Pcapng.Interface(name: $0, description: "fuzz", snaplen: 262_144) })
  invariant(
    PcapngReader.interfaceNames(in: header) == names, "interface names do not read back")
  let fileSize = max(64, Int(input.uint16()) * 4)
  let blocksInFile = Int(input.byte())
  let bytesInFile = header.count + (blocksInFile == 0 ? 0 : Int(input.uint16()))

  var batch: [UInt8] = []
  var written: [(interface: UInt32, direction: Pcapng.Direction, original: Int, data: [UInt8])] = []
  while !input.isAtEnd {
    let interface = UInt32(input.byte())
    let direction: Pcapng.Direction = input.bool() ? .inbound : .outbound
    let captured = Int(input.uint16() % 4097)
    let original = captured + Int(input.byte())
    let data = Array(input.take(captured))
    let length = Pcapng.packetBlockLength(captured: data.count)
    invariant(length % 4 == 0 && length >= 44 + data.count, "block length \(length)")
    let start = batch.count
    batch += [UInt8](repeating: 0xEE, count: length)
    batch.withUnsafeMutableBytes { buffer in
      data.withUnsafeBytes { frame in
        Pcapng.writePacketBlock(
          to: buffer.baseAddress! + start, interface: interface,
          timestamp: UInt64(written.count) << 32 | 7, direction: direction,
          frame: frame.baseAddress ?? UnsafeRawPointer(buffer.baseAddress!),
          captured: data.count, originalLength: original)
      }
    }
    written.append((interface, direction, original, data))
  }
  batch.withUnsafeBytes { buffer in
    let packets = PcapngReader.packets(in: buffer)
    invariant(packets.count == written.count, "\(packets.count) of \(written.count) blocks read")
    for (index, (packet, expected)) in zip(packets, written).enumerated() {
      invariant(
        packet.interface == Int(expected.interface) && packet.direction == expected.direction
          && packet.originalLength == expected.original
          && packet.timestamp == UInt64(index) << 32 | 7 && Array(packet.data) == expected.data,
        "block \(index) does not read back")
    }
    checkRing(
      buffer, fileSize: fileSize, headerSize: header.count, bytesInFile: bytesInFile,
      blocksInFile: blocksInFile, wholeBlocks: true)
  }
}

/// Any bytes as pcapng: read, and split as a ring would.
private func readRaw(_ bytes: UnsafeRawBufferPointer) {
  _ = PcapngReader.interfaceNames(in: Array(bytes))
  let end = (bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!) + bytes.count
  for packet in PcapngReader.packets(in: bytes) where !packet.data.isEmpty {
    invariant(
      packet.data.baseAddress! >= bytes.baseAddress!
        && packet.data.baseAddress! + packet.data.count <= end,
      "a packet's bytes lie outside its input")
  }
  checkRing(
    bytes, fileSize: 4096, headerSize: 100, bytesInFile: 100, blocksInFile: 0, wholeBlocks: false)
}

/// The ring split's properties on `batch`.
private func checkRing(
  _ batch: UnsafeRawBufferPointer, fileSize: Int, headerSize: Int, bytesInFile: Int,
  blocksInFile: Int, wholeBlocks: Bool
) {
  guard
    let runs = Pcapng.ringRuns(
      batch, fileSize: fileSize, headerSize: headerSize, bytesInFile: bytesInFile,
      blocksInFile: blocksInFile)
  else {
    invariant(!wholeBlocks, "whole blocks refused by the ring split")
    return
  }
  var offset = 0
  var fileBytes = bytesInFile
  var fileBlocks = blocksInFile
  for (index, run) in runs.enumerated() {
    invariant(run.range.lowerBound == offset && !run.range.isEmpty, "run \(index) leaves a gap")
    invariant(index == 0 || run.startsFile, "two runs in one file")
    if run.startsFile {
      invariant(fileBlocks > 0, "a new file after an empty one")
      // The previous file was closed because this run's first block did not fit.
      let first = Int(
        batch.loadUnaligned(fromByteOffset: run.range.lowerBound + 4, as: UInt32.self))
      invariant(fileBytes + first > fileSize, "a file closed with room for the next block")
      fileBytes = headerSize
      fileBlocks = 0
    }
    // Walk the run's blocks: whole, and the file within its size but for a lone block.
    var cursor = run.range.lowerBound
    var blocks = 0
    while cursor < run.range.upperBound {
      let length = Int(batch.loadUnaligned(fromByteOffset: cursor + 4, as: UInt32.self))
      invariant(length >= 12 && length % 4 == 0, "a run holds a broken block")
      invariant(
        fileBlocks == 0 || fileBytes + length <= fileSize, "a file grows past its size")
      fileBytes += length
      fileBlocks += 1
      cursor += length
      blocks += 1
    }
    invariant(cursor == run.range.upperBound && blocks == run.blocks, "run \(index) miscounted")
    offset = run.range.upperBound
  }
  invariant(offset == batch.count, "the runs end at \(offset) of \(batch.count)")
}
