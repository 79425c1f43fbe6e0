import Foundation
import XCTest

/// The relocatable bundle (cluster/make-bundle.sh) runs where none of the
/// system's OpenMPI, SuiteSparse, OpenBLAS or Swift files can be seen
/// (cluster/test-bundle.sh covers them in a private mount namespace) and gives
/// the same bytes as the ordinary build. Skipped, saying why, where the machine
/// refuses mount namespaces or cannot fetch the .deb files.
final class BundleCLITests: XCTestCase {
    func testBundleRunsWithTheSystemPackagesHiddenAndMatchesTheOrdinaryBuild() throws {
        let scratch = ScratchDirectory()
        let reference = scratch.join("reference")
        try FileManager.default.createDirectory(atPath: reference, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: SparrowProcess.binary, toPath: reference + "/plain-sparrow")
        XCTAssertEqual(SparrowProcess.run(["generate", "rmat", "--scale", "10", "--edge-factor", "8", "--seed", "2", "-o", reference + "/A.mtx", "--quiet"]).status, 0)
        XCTAssertEqual(SparrowProcess.run(["spgemm", reference + "/A.mtx", reference + "/A.mtx", "-o", reference + "/C.mtx", "--quiet"]).status, 0)
        XCTAssertEqual(SparrowProcess.run(["generate", "grid2d", "--n", "30", "--shift", "0.1", "-o", reference + "/spd.mtx", "--quiet"]).status, 0)
        XCTAssertEqual(SparrowProcess.run(["solve", reference + "/spd.mtx", "--method", "cholesky", "--rhs", "ones", "-o", reference + "/x.mtx", "--quiet"]).status, 0)
        let cluster = SparrowProcess.packageRoot + "/cluster"
        let bundle = scratch.join("bundle")
        let made = MultiHostCLITests.run(cluster + "/make-bundle.sh", [bundle], timeout: 1200)
        if made.status != 0, made.stderr.contains("apt-get") || made.stderr.contains("Failed to fetch") || made.stderr.contains("Unable to locate") {
            throw XCTSkip("the bundle's .deb files cannot be downloaded here: \(made.stderr.suffix(300))")
        }
        XCTAssertEqual(made.status, 0, made.stderr)
        let tested = MultiHostCLITests.run(cluster + "/test-bundle.sh", [bundle, reference], timeout: 600)
        if tested.status == 77 {
            throw XCTSkip("mount namespaces refused on this machine, the bundle was built but not run hidden: \(tested.stderr)")
        }
        XCTAssertEqual(tested.status, 0, tested.stderr + tested.stdout)
        XCTAssertTrue(tested.stdout.contains("outputs match"), tested.stdout)
        XCTAssertFalse(tested.stderr.contains("unable to open"), "a plug-in reached for a hidden system library: \(tested.stderr)")
    }
}
