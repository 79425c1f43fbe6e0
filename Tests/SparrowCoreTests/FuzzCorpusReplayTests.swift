import Foundation
import XCTest
@testable import SparrowCore

/// Replays the fuzzers' committed corpus (fuzz/corpus/matrixmarket, grown by
/// scripts/fuzz.sh) through the Matrix Market parser: every input is either
/// parsed or refused with a SparrowError; none may crash.
final class FuzzCorpusReplayTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/fuzz/corpus/matrixmarket"

    func testEveryCorpusInputIsParsedOrRefusedCleanly() throws {
        MemoryBudget.limitPerRank = 256 << 20
        defer { MemoryBudget.limitPerRank = nil }
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).sorted()
        XCTAssertGreaterThanOrEqual(names.count, 30)
        var parsed: [String] = [], refused = 0
        for name in names {
            let bytes = [UInt8](FileManager.default.contents(atPath: Self.corpus + "/" + name) ?? Data())
            do {
                let file = try bytes.withUnsafeBufferPointer { (b) throws(SparrowError) in try MatrixMarket.parse(b, file: name) }
                let matrix = file.csr()
                XCTAssertEqual(matrix.rows, file.header.rows, name)
                parsed.append(name)
            } catch {
                XCTAssertFalse(error.description.isEmpty, name)
                refused += 1
            }
        }
        // The seeds taken from real matrices parse; the malformed ones from Tests/Fixtures/malformed are refused.
        for valid in ["karate.mtx", "west0067.mtx", "ash219.mtx", "array_ok.mtx", "skew.mtx"] {
            XCTAssertTrue(parsed.contains(valid), "\(valid) parses")
        }
        XCTAssertTrue(names.contains("size_overflow.mtx") && !parsed.contains("size_overflow.mtx"))
        // Found by the fuzzer: 2·10^8 rows × 0 columns needed 1.6 GB of row pointers; now refused by the memory budget.
        XCTAssertFalse(parsed.contains("regression-array-zero-columns.mtx"))
        XCTAssertGreaterThan(refused, 20)
    }

    /// The PETSc binary fuzzer's corpus (fuzz/corpus/petsc): PETSc's own files read, the
    /// damaged ones refused with their byte offset, none crashes.
    func testEveryPETScCorpusInputIsReadOrRefusedCleanly() throws {
        MemoryBudget.limitPerRank = 256 << 20
        defer { MemoryBudget.limitPerRank = nil }
        let corpus = Self.corpus.replacingOccurrences(of: "/matrixmarket", with: "/petsc")
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus).sorted()
        XCTAssertGreaterThanOrEqual(names.count, 12)
        var read: [String] = []
        for name in names {
            do {
                let file = try MatrixMarket.read(path: corpus + "/" + name)
                XCTAssertNotNil(file.header.petsc, name)
                XCTAssertEqual(file.csr().rows, file.header.rows, name)
                read.append(name)
            } catch {
                // Refused by the format check (":byte N") or, when the first word is no class id, as not Matrix Market either.
                XCTAssertTrue(error.description.contains(": byte ") || error.description.contains("nor a PETSc binary"), "\(name): \(error.description)")
            }
        }
        XCTAssertEqual(read, ["dense-27x2.petsc", "ramp67.petsc", "west0067-64.petsc", "west0067.petsc"])
    }
}
