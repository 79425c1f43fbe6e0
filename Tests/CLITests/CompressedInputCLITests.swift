import Foundation
import SparrowCore
import XCTest

/// Compressed Matrix Market inputs (Tests/Fixtures/compressed, made by make.sh there with
/// Debian's gzip, bzip2, xz and tar) read by every kind of reader, at 1, 2 and 3 ranks,
/// against the plain files they came from.
final class CompressedInputCLITests: XCTestCase {
    let fixtures = SparrowProcess.fixtures
    var compressed: String { fixtures + "/compressed" }

    /// Each codec, a two-member gzip and SuiteSparse-style archives load as the plain file.
    func testEveryCodecAndArchiveLoadsAsThePlainFileAtOneTwoThreeRanks() throws {
        let scratch = ScratchDirectory()
        let cases = [("west0067.mtx.gz", "west0067.mtx"), ("west0067.mtx.bz2", "west0067.mtx"), ("west0067.mtx.xz", "west0067.mtx"),
                     ("west0067-two-members.mtx.gz", "west0067.mtx"), ("bcsstk13.tar.gz", "bcsstk13.mtx"), ("karate.tar.xz", "karate.mtx")]
        for (file, plain) in cases {
            let reference = try NaiveMatrix(path: fixtures + "/" + plain)
            for ranks in [1, 2, 3] {
                let out = scratch.join("\(ranks)-\(file).mtx")
                let outcome = SparrowProcess.run(["convert", compressed + "/" + file, "-o", out], ranks: ranks)
                XCTAssertEqual(outcome.status, 0, "\(file): \(outcome.stderr)")
                let read = try NaiveMatrix(path: out)
                XCTAssertEqual(read.rows, reference.rows, file)
                XCTAssertEqual(read.summed, reference.summed, "\(file) at \(ranks) ranks")
            }
        }
        let info = SparrowProcess.run(["info", compressed + "/bcsstk13.tar.gz"], ranks: 2)
        XCTAssertTrue(info.stdout.contains("rows: 2003") && info.stdout.contains("nonzeros: 83883"), info.stdout)
    }

    /// bcsstk13 and a generated R-MAT 16 (1 M entries, several of the loader's 32 MiB chunks
    /// once decompressed), gzipped by Debian's gzip: the same matrix as the plain file, at 1 and 2 ranks.
    func testGzippedBcsstk13AndRMAT16ReadAsThePlainFiles() throws {
        let scratch = ScratchDirectory()
        let rmat = scratch.join("rmat16.mtx")
        XCTAssertEqual(SparrowProcess.run(["generate", "rmat", "--scale", "16", "--edge-factor", "16", "--seed", "2", "-o", rmat, "--quiet"]).status, 0)
        let bcsstk = scratch.join("bcsstk13.mtx")
        try FileManager.default.copyItem(atPath: fixtures + "/bcsstk13.mtx", toPath: bcsstk)
        for plain in [bcsstk, rmat] {
            let gzip = Process()
            gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
            gzip.arguments = ["-k", "-6", plain]
            try gzip.run()
            gzip.waitUntilExit()
            XCTAssertEqual(gzip.terminationStatus, 0)
            let reference = try NaiveMatrix(path: plain)
            for ranks in [1, 2] {
                let out = scratch.join("\(ranks).mtx")
                let outcome = SparrowProcess.run(["convert", plain + ".gz", "-o", out, "--quiet"], ranks: ranks)
                XCTAssertEqual(outcome.status, 0, outcome.stderr)
                let read = try NaiveMatrix(path: out)
                XCTAssertEqual(read.rows, reference.rows)
                XCTAssertEqual(read.summed, reference.summed, "\(plain).gz at \(ranks) ranks")
            }
        }
    }

    /// Damaged or unusable compressed files: one line, exit 2, the same FILE:LINE a plain file gets.
    func testBadCompressedFilesGetOneLineNamingFileAndLine() throws {
        let cases: [(String, String)] = [
            ("truncated.mtx.gz", "truncated.mtx.gz: cannot decompress (gzip): truncated or damaged gzip data"),
            ("bad-line.mtx.xz", "bad-line.mtx.xz:4: column index 4 is out of range 1...3"),
            ("too-many.mtx.gz", "too-many.mtx.gz:4: more entries than the 1 declared"),
            ("wrong-name.tar.gz", "wrong-name.tar.gz: the archive holds no wrong-name.mtx (its .mtx files: other/other.mtx)"),
        ]
        for (file, message) in cases {
            for ranks in [1, 2] {
                let outcome = SparrowProcess.run(["info", compressed + "/" + file], ranks: ranks)
                XCTAssertEqual(outcome.status, 2, "\(file): \(outcome.stderr)")
                XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(compressed)/\(message)"], "\(file) at \(ranks) ranks")
            }
        }
    }

    /// Readers other than the distributed loader, and jobs: points for transport, a graph to
    /// sparsify, ratings, a right-hand side and a job input, compressed, give what the plain file gives.
    func testEveryReaderTakesCompressedFiles() throws {
        let scratch = ScratchDirectory()
        let examples = SparrowProcess.packageRoot + "/docs/examples/data"
        func figures(_ arguments: [String], _ keys: [String]) -> [String] {
            let outcome = SparrowProcess.run(arguments + ["--quiet", "--report", scratch.join("r.json")], ranks: 2)
            XCTAssertEqual(outcome.status, 0, "\(arguments): \(outcome.stderr)")
            let metrics = readJSON(scratch.join("r.json"))?["metrics"] as? [String: Any] ?? [:]
            return keys.map { "\($0)=\(metrics[$0] ?? "missing")" }
        }
        let pairs: [([String], [String], [String])] = [
            (["ot", "--source-points", examples + "/clouds-x.mtx", "--target-points", examples + "/clouds-y.mtx", "--normalize", "--eta", "300", "--tol", "1e-8"],
             ["ot", "--source-points", compressed + "/clouds-x.mtx.xz", "--target-points", examples + "/clouds-y.mtx", "--normalize", "--eta", "300", "--tol", "1e-8"],
             ["iterations", "transport_cost"]),
            (["sparsify", fixtures + "/jagmesh7.mtx", "--density", "1.1"], ["sparsify", compressed + "/jagmesh7.mtx.bz2", "--density", "1.1"], ["edges_h", "kappa"]),
            (["complete", examples + "/ratings-train.mtx", "--rank", "4", "--biases"], ["complete", compressed + "/ratings-train.mtx.gz", "--rank", "4", "--biases"],
             ["observed", "train_rmse"]),
        ]
        for (plain, packed, keys) in pairs {
            let expected = figures(plain, keys)
            XCTAssertFalse(expected.contains { $0.hasSuffix("missing") }, "\(expected)")
            XCTAssertEqual(figures(packed, keys), expected, packed[0])
        }
        // A right-hand side: the solutions are the same bytes.
        for rhs in ["ramp67.mtx", "ramp67.mtx.gz"] {
            let outcome = SparrowProcess.run(["solve", fixtures + "/west0067.mtx", "--rhs", compressed + "/" + rhs, "--method", "lu",
                                              "-o", scratch.join(rhs + ".x.mtx")], ranks: 2)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
        }
        XCTAssertEqual(FileManager.default.contents(atPath: scratch.join("ramp67.mtx.x.mtx")),
                       FileManager.default.contents(atPath: scratch.join("ramp67.mtx.gz.x.mtx")))
        // A job input.
        let job = scratch.join("job.yaml")
        try "inputs: {A: \(compressed)/bcsstk13.tar.gz}\nsteps: [{name: f, op: info, matrix: A}]\noutputs: {f: f.json}\n"
            .write(toFile: job, atomically: true, encoding: .utf8)
        let outcome = SparrowProcess.run(["run", job, "--output-dir", scratch.join("out"), "--quiet"], ranks: 3)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(readJSON(scratch.join("out/f.json"))?["nnz"] as? Int, 83883)
    }
}
