import XCTest
@testable import SparrowCore

final class DecimalParserTests: XCTestCase {
    private func parse(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { b -> Double? in
            var cursor = b.baseAddress!
            guard case let .value(v) = DecimalParser.scan(&cursor, b.baseAddress! + b.count) else { return nil }
            return cursor == b.baseAddress! + b.count ? v : nil
        }
    }

    func testAgreesWithSwiftOnRandomBitPatterns() {
        var state: UInt64 = 12345
        for _ in 0..<200_000 {
            state = CounterRandom.mix(state)
            let value = Double(bitPattern: state & 0x7FEF_FFFF_FFFF_FFFF)
            for text in [value.description, String(format: "%.17g", value), String(format: "%.15e", value), String(format: "%.6g", value)] {
                let expected = Double(text)!
                XCTAssertEqual(parse(text)?.bitPattern, expected.bitPattern, text)
            }
        }
    }

    func testAgreesWithSwiftOnTypicalMatrixValues() {
        var state: UInt64 = 99
        for _ in 0..<200_000 {
            state = CounterRandom.mix(state)
            let value = (Double(state >> 11) * 0x1p-53 - 0.5) * pow(10, Double(Int(state % 40) - 20))
            let text = String(format: "%.17g", value)
            XCTAssertEqual(parse(text)?.bitPattern, Double(text)!.bitPattern, text)
        }
    }

    func testEdgeCases() {
        let cases = ["0", "-0", "0.0", ".5", "5.", "1e5", "1E-5", "+3.25", "4.9406564584124654e-324", "2.2250738585072011e-308",
                     "2.2250738585072014e-308", "1.7976931348623157e308", "1e-400", "123456789012345678901234567890",
                     "0.000000000000000000000000000000000000001", "9007199254740993", "1e23", "8.98846567431158e307",
                     "2.47032822920623272e-324", "7.2057594037927933e16", "-1.5e-10"]
        for text in cases {
            XCTAssertEqual(parse(text)?.bitPattern, Double(text)!.bitPattern, text)
        }
        XCTAssertEqual(parse("1e999"), .infinity)
        XCTAssertTrue(parse("nan")!.isNaN)
        XCTAssertEqual(parse("-Inf"), -.infinity)
        XCTAssertNil(parse("abc"))
        XCTAssertNil(parse("1e"))
        XCTAssertNil(parse("."))
        XCTAssertNil(parse("-"))
    }
}
