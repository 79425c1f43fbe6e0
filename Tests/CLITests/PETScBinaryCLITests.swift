import Foundation
import SparrowCore
import XCTest

/// PETSc binary files (Tests/Fixtures/petsc, written by PETSc 3.18 itself through
/// petsc4py; see make.py there) read and written by every verb, at 1, 2 and 3 ranks.
final class PETScBinaryCLITests: XCTestCase {
    let fixtures = SparrowProcess.fixtures
    var petsc: String { fixtures + "/petsc" }

    /// What Sparrow writes is what PETSc's MatView writes for the same matrix, byte for byte.
    func testWrittenFilesAreByteIdenticalToPETScsOwnAtOneTwoThreeRanks() throws {
        let scratch = ScratchDirectory()
        for ranks in [1, 2, 3] {
            for (source, arguments, expected) in [("west0067.mtx", [String](), "west0067.petsc"), ("bcspwr10.mtx", [], "bcspwr10.petsc"),
                                                  ("west0067.mtx", ["--petsc-indices", "64"], "west0067-64.petsc"),
                                                  ("petsc/ramp67.petsc", [], "ramp67.petsc"),
                                                  ("petsc/ramp67-64.petsc", ["--petsc-indices", "64"], "ramp67-64.petsc")] {
                let out = scratch.join("\(ranks)-\(expected)")
                let outcome = SparrowProcess.run(["convert", fixtures + "/" + source, "-o", out] + arguments, ranks: ranks)
                XCTAssertEqual(outcome.status, 0, outcome.stderr)
                XCTAssertEqual(FileManager.default.contents(atPath: out), FileManager.default.contents(atPath: petsc + "/" + expected),
                               "\(expected) at \(ranks) ranks")
            }
        }
    }

    /// PETSc's files (32- and 64-bit indices) read as the Matrix Market originals they came from.
    func testPETScsFilesReadAsTheirMatrixMarketOriginals() throws {
        let scratch = ScratchDirectory()
        for (file, original) in [("west0067.petsc", "west0067.mtx"), ("west0067-64.petsc", "west0067.mtx"), ("bcspwr10.petsc", "bcspwr10.mtx")] {
            let reference = try NaiveMatrix(path: fixtures + "/" + original)
            for ranks in [1, 2, 3] {
                let out = scratch.join("\(ranks)-\(file).mtx")
                let outcome = SparrowProcess.run(["convert", petsc + "/" + file, "-o", out], ranks: ranks)
                XCTAssertEqual(outcome.status, 0, outcome.stderr)
                let read = try NaiveMatrix(path: out)
                XCTAssertEqual(read.rows, reference.rows)
                XCTAssertEqual(read.summed, reference.summed, "\(file) at \(ranks) ranks")
            }
            let info = SparrowProcess.run(["info", petsc + "/" + file])
            XCTAssertTrue(info.stdout.contains("banner: PETSc binary sparse (AIJ) matrix, \(file.contains("-64") ? 64 : 32)-bit indices"), info.stdout)
        }
    }

    /// A vector written by a 64-bit PETSc reads as the 32-bit one, as an input and as a right-hand
    /// side; a verb's vector output takes --petsc-indices 64 as convert does.
    func testSixtyFourBitVectorsReadAndAreWrittenByEveryVerb() throws {
        let scratch = ScratchDirectory()
        let plain = scratch.join("ramp.mtx")
        XCTAssertEqual(SparrowProcess.run(["convert", petsc + "/ramp67.petsc", "-o", plain]).status, 0)
        for ranks in [1, 2] {
            let wide = scratch.join("wide-\(ranks).mtx")
            let read = SparrowProcess.run(["convert", petsc + "/ramp67-64.petsc", "-o", wide], ranks: ranks)
            XCTAssertEqual(read.status, 0, read.stderr)
            XCTAssertEqual(FileManager.default.contents(atPath: wide), FileManager.default.contents(atPath: plain), "at \(ranks) ranks")
            let x = scratch.join("x-\(ranks).petsc")
            let solve = SparrowProcess.run(["solve", fixtures + "/west0067.mtx", "--method", "lu", "--rhs", petsc + "/ramp67-64.petsc",
                                            "-o", x, "--petsc-indices", "64", "--quiet"], ranks: ranks)
            XCTAssertEqual(solve.status, 0, solve.stderr)
            let bytes = [UInt8](FileManager.default.contents(atPath: x) ?? Data())
            // A 64-bit PETSc vector: 8-byte class id 1211214 and length 67, then 67 doubles.
            XCTAssertEqual(bytes.count, 16 + 8 * 67)
            XCTAssertEqual(Array(bytes.prefix(16)), [0, 0, 0, 0, 0, 0x12, 0x7b, 0x4e, 0, 0, 0, 0, 0, 0, 0, 67])
        }
    }

    /// A row whose columns are out of order (PETSc never writes one) takes the sorting path
    /// and gives the same matrix, at 1, 2 and 3 ranks.
    func testARowWithColumnsOutOfOrderReadsAsTheSameMatrix() throws {
        let scratch = ScratchDirectory()
        var bytes = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: petsc + "/west0067.petsc")))
        let (m, nz) = (67, 294)
        func int32(at offset: Int) -> Int { Int(bytes[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        let row = try XCTUnwrap((0..<m).first { int32(at: 16 + 4 * $0) >= 2 })
        let entry = (0..<row).map { int32(at: 16 + 4 * $0) }.reduce(0, +)
        let (columns, values) = (16 + 4 * m + 4 * entry, 16 + 4 * m + 4 * nz + 8 * entry)
        bytes.replaceSubrange(columns..<columns + 8, with: Array(bytes[columns + 4..<columns + 8] + bytes[columns..<columns + 4]))
        bytes.replaceSubrange(values..<values + 16, with: Array(bytes[values + 8..<values + 16] + bytes[values..<values + 8]))
        let path = scratch.join("unsorted.petsc")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let reference = try NaiveMatrix(path: fixtures + "/west0067.mtx")
        XCTAssertEqual(SparrowProcess.run(["convert", fixtures + "/west0067.mtx", "-o", scratch.join("plain.mtx")]).status, 0)
        for ranks in [1, 2, 3] {
            let out = scratch.join("\(ranks).mtx")
            let outcome = SparrowProcess.run(["convert", path, "-o", out], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertEqual(try NaiveMatrix(path: out).summed, reference.summed, "at \(ranks) ranks")
            // Rows written in column order, as from the Matrix Market original (a CSR wrongly marked sorted would not be).
            XCTAssertEqual(FileManager.default.contents(atPath: out), FileManager.default.contents(atPath: scratch.join("plain.mtx")))
        }
    }

    /// Vectors and dense results in and out: y = A·x with both from PETSc's files, and a
    /// three-column solve whose dense PETSc output satisfies the system.
    func testVectorsAndDenseMatricesInAndOut() throws {
        let scratch = ScratchDirectory()
        let a = try NaiveMatrix(path: fixtures + "/west0067.mtx")
        let x = try NaiveMatrix(petsc: petsc + "/ramp67.petsc")
        XCTAssertEqual(x.entries.map(\.value), (1...67).map { Double($0) / 8 }, "the fixture's vector")
        let expected = a.multiply(x.entries.map(\.value))
        for ranks in [1, 2, 3] {
            let out = scratch.join("y\(ranks).petsc")
            let outcome = SparrowProcess.run(["spmv", petsc + "/west0067.petsc", "--x", petsc + "/ramp67.petsc", "-o", out], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let y = try NaiveMatrix(petsc: out)
            XCTAssertEqual(y.columns, 1)
            XCTAssertEqual(y.rows, 67)
            for i in 0..<67 { XCTAssertEqual(y.entries[i].value, expected[i], accuracy: 1e-12 * max(1, abs(expected[i]))) }
        }
        let laplacian = scratch.join("g.petsc")
        XCTAssertEqual(SparrowProcess.run(["generate", "grid3d", "--n", "8", "--shift", "0.01", "-o", laplacian], ranks: 2).status, 0)
        let g = try NaiveMatrix(petsc: laplacian)
        XCTAssertEqual(g.rows, 512)
        let solution = scratch.join("X.petsc")
        let outcome = SparrowProcess.run(["solve", laplacian, "--rhs", "random:3", "--method", "cholesky", "-o", solution], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: solution))
        XCTAssertEqual([UInt8](bytes[12..<16]), [255, 255, 255, 255], "dense marker (MATRIX_BINARY_FORMAT_DENSE)")
        let solved = try NaiveMatrix(petsc: solution)
        XCTAssertEqual(solved.columns, 3)
        // The same solve written as Matrix Market, read by the naive parser.
        XCTAssertEqual(SparrowProcess.run(["solve", laplacian, "--rhs", "random:3", "--method", "cholesky", "-o", scratch.join("X.mtx")]).status, 0)
        let reference = try NaiveMatrix.denseValues(path: scratch.join("X.mtx"))
        for e in solved.entries { XCTAssertEqual(e.value, reference[e.column * 512 + e.row], accuracy: 1e-12 * max(1, abs(e.value))) }
        let ones = scratch.join("x1.petsc")
        XCTAssertEqual(SparrowProcess.run(["solve", laplacian, "--rhs", "rowsums", "--method", "cholesky", "-o", ones], ranks: 3).status, 0)
        for e in try NaiveMatrix(petsc: ones).entries { XCTAssertEqual(e.value, 1, accuracy: 1e-10) }
    }

    /// Damaged files: one line naming the file and the byte offset, exit 2, at 1 and 2 ranks.
    func testMalformedFilesGetOneLineWithTheByteOffset() throws {
        let scratch = ScratchDirectory()
        let good = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: petsc + "/west0067.petsc")))
        let (m, nz) = (67, 294)
        func int32(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        func replaced(_ offset: Int, _ bytes: [UInt8]) -> [UInt8] {
            var copy = good
            copy.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            return copy
        }
        let nan = withUnsafeBytes(of: Double.nan.bitPattern.bigEndian) { Array($0) }
        let cases: [(String, [UInt8], String)] = [
            ("truncated", Array(good[..<3000]), "byte 3000: the header declares 67 × 67 with 294 nonzeros and 32-bit indices, 3812 bytes, but the file has 3000 (truncated)"),
            ("column", replaced(16 + 4 * m, int32(500)), "byte 284: column index 500 outside 0..<67"),
            ("lengths", replaced(16, int32(-1)), "byte 16: row 1 has length -1, outside 0...67"),
            ("nan", replaced(16 + 4 * m + 4 * nz + 40, nan), "byte 1500: value nan is not finite"),
            ("complex", good + [UInt8](repeating: 0, count: 8 * nz), "complex scalars, which Sparrow does not read"),
            ("classid", replaced(0, int32(1_211_217)), "not a Matrix Market file (the banner is not text), nor a PETSc binary matrix or vector"),
            ("sum", replaced(16, int32(Int32(good[19]) + 1)), "row lengths add up to 295, the header declares 294 nonzeros"),
            ("header", Array(good[..<10]), "byte 10: file ends inside the header"),
        ]
        for (name, bytes, message) in cases {
            let path = scratch.join(name + ".petsc")
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            for ranks in [1, 2] {
                let outcome = SparrowProcess.run(["spmv", path, "-o", scratch.join("y.mtx")], ranks: ranks)
                XCTAssertEqual(outcome.status, 2, "\(name): \(outcome.stderr)")
                XCTAssertEqual(outcome.stderrLines.count, 1, "\(name) at \(ranks) ranks: \(outcome.stderr)")
                XCTAssertTrue(outcome.stderr.hasPrefix("sparrow: error: \(path):") && outcome.stderr.contains(message), "\(name): \(outcome.stderr)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.join("y.mtx")))
            }
        }
        // A header whose sizes cannot fit is refused from the header alone, before anything is read.
        let huge = scratch.join("huge.petsc")
        XCTAssertTrue(FileManager.default.createFile(atPath: huge, contents: Data(int32(1_211_216) + int32(100_000_000) + int32(100_000_000) + int32(1_000_000_000))))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: huge))
        try handle.truncate(atOffset: UInt64(16 + 4 * 100_000_000 + 12 * 1_000_000_000))
        try handle.close()
        let outcome = SparrowProcess.run(["spmv", huge], ranks: 2, environment: ["SPARROW_MEMORY_LIMIT": "1G"])
        XCTAssertEqual(outcome.status, 2, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("\(huge): byte 0: PETSc binary sparse (AIJ) matrix") && outcome.stderr.contains("more than SPARROW_MEMORY_LIMIT"), outcome.stderr)
    }

    /// A job reads PETSc inputs (a matrix and a vector) and writes PETSc outputs: C = A·A
    /// checked by a triplet loop, and the LU solution of A x = ramp by its residual.
    func testJobsReadAndWritePETScFiles() throws {
        let scratch = ScratchDirectory()
        let job = scratch.join("job.yaml")
        try """
        inputs: {A: \(petsc)/west0067-64.petsc, b: \(petsc)/ramp67.petsc}
        steps:
          - {name: C, op: spgemm, a: A, b: A}
          - {name: x, op: solve, matrix: A, rhs: b, method: lu}
        outputs: {C: C.petsc, x: x.petsc}
        """.write(toFile: job, atomically: true, encoding: .utf8)
        let a = try NaiveMatrix(path: fixtures + "/west0067.mtx")
        var product: [Int: Double] = [:]
        for e in a.entries { for f in a.entries where f.row == e.column { product[e.row * 67 + f.column, default: 0] += e.value * f.value } }
        let ramp = (1...67).map { Double($0) / 8 }
        for ranks in [1, 2, 3] {
            let out = scratch.join("out\(ranks)")
            let outcome = SparrowProcess.run(["run", job, "--output-dir", out, "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let c = try NaiveMatrix(petsc: out + "/C.petsc")
            XCTAssertEqual(Set(c.summed.keys), Set(product.keys), "C's pattern at \(ranks) ranks")
            for (k, v) in c.summed { XCTAssertEqual(v, product[k] ?? .nan, accuracy: 1e-12 * max(1, abs(v))) }
            let x = try NaiveMatrix(petsc: out + "/x.petsc")
            XCTAssertLessThan(a.relativeResidual(x: x.entries.map(\.value), b: ramp), 1e-10, "x at \(ranks) ranks")
        }
    }
}
