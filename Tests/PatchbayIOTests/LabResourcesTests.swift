import Foundation
import Testing

@testable import PatchbayIO

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

  @Test func iprouteFailuresNameTheCommand() throws {
    #expect {
      try IPRoute.run(["netns", "del", "pbtest-does-not-exist"])
    } throws: { error in
      let text = (error as? IPRoute.Failure)?.description ?? ""
      return text.hasPrefix("ip netns del pbtest-does-not-exist: ") && !text.contains("\n")
    }
  }
}
