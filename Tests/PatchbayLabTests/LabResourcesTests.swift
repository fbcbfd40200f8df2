import Foundation
import PatchbayTopology
import Testing

@testable import PatchbayLab

@Suite(.serialized, .enabled(if: canMakeInterfaces, "needs root with CAP_NET_ADMIN"))
struct LabResourcesTests {
  @Test func saveLoadAndRemoveLeftovers() throws {
    let paths = LabPaths(name: "pbtest-res")
    try FileManager.default.createDirectory(
      atPath: paths.directory, withIntermediateDirectories: true)
    try IPRoute.run(["netns", "add", "pbtest-res-h1"])
    var resources = LabResources()
    resources.topologyFile = "/tmp/x.yaml"
    resources.namespaces = ["pbtest-res-h1", "pbtest-res-gone"]
    resources.hosts = ["h1"]
    try resources.save(paths)
    #expect(LabResources.load(paths) == resources)

    let problems = LabResources.removeLeftovers(of: paths)
    #expect(problems.isEmpty, "\(problems)")
    #expect(!IPRoute.namespaceExists("pbtest-res-h1"))
    #expect(!FileManager.default.fileExists(atPath: paths.directory))
  }

  @Test func aVMTapIsRecordedOnlyOnceItIsTheLabs() throws {
    let paths = LabPaths(name: "pbtest-vmt")
    let name = "pbtest-vmt-p1"
    try FileManager.default.createDirectory(
      atPath: paths.directory, withIntermediateDirectories: true)
    defer {
      _ = try? IPRoute.run(["link", "del", name])
      try? FileManager.default.removeItem(atPath: paths.directory)
    }
    let port = PortSpec(
      name: "p1", switchName: "core", kind: .tap(interface: name),
      location: SourceLocation(file: "lab.yaml", line: 1, column: 1))
    // Someone else's interface of that name appeared after the preflight.
    try IPRoute.run(["tuntap", "add", "dev", name, "mode", "tap"])
    var resources = LabResources()
    try resources.save(paths)
    #expect(throws: (any Error).self) {
      try Lab.createVMTap(name, for: port, paths: paths, resources: &resources)
    }
    #expect(resources.links.isEmpty)
    #expect(LabResources.load(paths)?.links == [])
    // The rollback leaves it alone.
    #expect(LabResources.removeLeftovers(of: paths).isEmpty)
    #expect(interfaceExists(name))

    // The lab's own TAP is recorded, and removed with the rest.
    try IPRoute.run(["link", "del", name])
    try FileManager.default.createDirectory(
      atPath: paths.directory, withIntermediateDirectories: true)
    resources = LabResources()
    try resources.save(paths)
    try Lab.createVMTap(name, for: port, paths: paths, resources: &resources)
    #expect(LabResources.load(paths)?.links == [name])
    #expect(LabResources.removeLeftovers(of: paths).isEmpty)
    #expect(!interfaceExists(name))
  }

  @Test func iprouteFailuresNameTheCommand() throws {
    #expect {
      try IPRoute.run(["netns", "del", "pbtest-does-not-exist"])
    } throws: { error in
      let text = (error as? IPRoute.Failure)?.description ?? ""
      return text.hasPrefix("ip netns del pbtest-does-not-exist: ") && !text.contains("\n")
    }
  }
}
