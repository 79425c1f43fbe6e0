import Foundation
import SparrowCore
import XCTest

/// SHA-256 of input files against coreutils' `sha256sum` and the FIPS 180-2
/// examples, the background digest of a file being read, and what the
/// provenance of a report holds.
final class ProvenanceTests: XCTestCase {
    /// `sha256sum FILE`'s digest: the reference, computed by another program.
    private func coreutilsDigest(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: output, as: UTF8.self).prefix(64))
    }

    func testKnownAnswersOfFIPS180() {
        func digest(_ text: String) -> String {
            let hasher = SHA256()
            Array(text.utf8).withUnsafeBytes { hasher.update($0) }
            return hasher.hexDigest()
        }
        XCTAssertEqual(digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// Sizes around the 4 MiB chunk the hasher reads, an empty file, and a compressed fixture.
    func testFileDigestsMatchSha256sum() throws {
        let directory = TemporaryDirectory()
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 4 << 20, (4 << 20) + 1, (9 << 20) - 3] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let path = directory.file("f\(size)", bytes: bytes)
            let digest = try InputDigests.compute(path: path)
            XCTAssertEqual(digest.sha256, try coreutilsDigest(path), "size \(size)")
            XCTAssertEqual(digest.bytes, size)
            XCTAssertFalse(digest.changedWhileRead)
        }
        let gz = Fixtures.path("compressed/west0067.mtx.gz")
        XCTAssertEqual(try InputDigests.compute(path: gz).sha256, try coreutilsDigest(gz), "the compressed bytes, as on disk")
        XCTAssertThrowsError(try InputDigests.compute(path: directory.path + "/missing"))
        XCTAssertThrowsError(try InputDigests.compute(path: directory.path), "a directory is not an input file")
    }

    /// A report started before its input is read and written after: the digest is of the bytes
    /// that were there when it started, the moved file keeps it, and a later version is hashed anew.
    func testReportProvenanceHoldsTheDigestOfWhatWasRead() throws {
        let directory = TemporaryDirectory()
        let text = "%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 2.5\n"
        let path = directory.file("a.mtx", text)
        let expected = try coreutilsDigest(path)
        var report = Report(command: "x", ranks: 1, threads: 1)
        report.inputFiles([("a", path), ("b", nil)])
        report.input("generator", description: "rmat scale=4")
        let moved = directory.path + "/moved.mtx"
        XCTAssertEqual(rename(path, moved), 0)
        report.moveInputFile("a", to: moved)
        let provenance = report.json["provenance"]
        let input = provenance?["inputs"]?["a"]
        XCTAssertEqual(input?["sha256"], .string(expected))
        XCTAssertEqual(input?["path"], .string(moved))
        XCTAssertEqual(input?["bytes"], .integer(text.utf8.count))
        XCTAssertNil(provenance?["inputs"]?["generator"], "only files are hashed")
        XCTAssertNil(provenance?["inputs"]?["b"], "an input not given")
        for key in ["version", "commit", "libraries", "options", "seed", "ranks", "hosts", "started", "finished"] {
            XCTAssertNotNil(provenance?[key], key)
        }
        // A new version of the file (another inode) is hashed again.
        _ = directory.file("a.mtx", "%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 3.5\n")
        var later = Report(command: "x", ranks: 1, threads: 1)
        later.inputFiles([("a", path)])
        XCTAssertEqual(later.json["provenance"]?["inputs"]?["a"]?["sha256"], .string(try coreutilsDigest(path)))
        XCTAssertNotEqual(try coreutilsDigest(path), expected)
    }

    func testReflectedOptionsAndTimes() {
        struct Spec { var maxIterations = 5; var tolerance = 1e-8; var seed: UInt64? = 3; var method = Method.robust; var kinds = ["a"] }
        enum Method { case exact, robust }
        enum Operation { case solve(matrix: String, shift: Double) }
        XCTAssertEqual(ReflectedJSON.value(Spec()).serialized(),
                       #"{"max_iterations":5,"tolerance":1e-08,"seed":3,"method":"robust","kinds":["a"]}"#)
        XCTAssertEqual(ReflectedJSON.value(Operation.solve(matrix: "A", shift: 0.5)).serialized(), #"{"solve":{"matrix":"A","shift":0.5}}"#)
        let seeds = ReflectedJSON.collect("seed", in: .object([("steps", .array([.object([("seed", .integer(7))])]))]))
        XCTAssertEqual(seeds.map(\.0), ["steps.0.seed"])
        XCTAssertEqual(WallClock.iso8601(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(WallClock.iso8601(1_796_674_200.125), "2026-12-07T20:10:00.125Z")
    }
}
