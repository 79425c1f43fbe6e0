#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Correctly rounded decimal → binary64 conversion for Matrix Market values.
///
/// Fast path 1 (Clinger 1990): mantissa ≤ 2^53 and |exponent| ≤ 22 is exact in
/// one IEEE multiplication or division. Fast path 2 (Eisel–Lemire, D. Lemire,
/// "Number Parsing at a Gigabyte per Second", SPE 2021): one or two 64×64→128
/// multiplications by a truncated power of five decide the rounding except in
/// rare ambiguous cases, which fall back to the C library's `strtod`, as do
/// inputs with more than 19 significant digits.
enum DecimalParser {
    /// Outcome of scanning one number starting at a cursor.
    enum Scan {
        case value(Double)
        case malformed
    }

    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- 48 < 10 }

    /// Scans a decimal floating-point number (or `inf`, `infinity`, `nan`) in
    /// [cursor, end); on success moves the cursor past it.
    @inline(__always)
    static func scan(_ cursor: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Scan {
        let start = cursor
        var p = cursor
        var negative = false
        if p < end, p.pointee == UInt8(ascii: "-") || p.pointee == UInt8(ascii: "+") {
            negative = p.pointee == UInt8(ascii: "-")
            p += 1
        }
        if p < end, !isDigit(p.pointee), p.pointee != UInt8(ascii: ".") {
            return scanSpecial(&cursor, p, end, negative)
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var anyDigit = false
        var exponent = 0
        while p < end, isDigit(p.pointee) {
            anyDigit = true
            let d = UInt64(p.pointee &- 48)
            if significantDigits > 0 || d != 0 {
                if significantDigits < 19 { mantissa = mantissa &* 10 &+ d } else { exponent += 1 }
                significantDigits += 1
            }
            p += 1
        }
        if p < end, p.pointee == UInt8(ascii: ".") {
            p += 1
            while p < end, isDigit(p.pointee) {
                anyDigit = true
                let d = UInt64(p.pointee &- 48)
                if significantDigits > 0 || d != 0 {
                    if significantDigits < 19 { mantissa = mantissa &* 10 &+ d; exponent -= 1 }
                    significantDigits += 1
                } else {
                    exponent -= 1
                }
                p += 1
            }
        }
        if !anyDigit { return .malformed }
        if p < end, p.pointee | 0x20 == UInt8(ascii: "e") {
            p += 1
            var exponentNegative = false
            if p < end, p.pointee == UInt8(ascii: "-") || p.pointee == UInt8(ascii: "+") {
                exponentNegative = p.pointee == UInt8(ascii: "-")
                p += 1
            }
            guard p < end, isDigit(p.pointee) else { return .malformed }
            var written = 0
            while p < end, isDigit(p.pointee) {
                if written < 100_000 { written = written * 10 + Int(p.pointee &- 48) }
                p += 1
            }
            exponent += exponentNegative ? -written : written
        }
        cursor = p
        if significantDigits > 19 {
            return .value(fallback(start, p))
        }
        let magnitude: Double
        if mantissa == 0 {
            magnitude = 0
        } else if mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            magnitude = exponent >= 0 ? Double(mantissa) * exactPowersOfTen[exponent]
                                      : Double(mantissa) / exactPowersOfTen[-exponent]
        } else if let bits = eiselLemire(decimalExponent: exponent, mantissa: mantissa) {
            magnitude = Double(bitPattern: bits)
        } else {
            return .value(fallback(start, p))
        }
        return .value(negative ? -magnitude : magnitude)
    }

    private static func scanSpecial(_ cursor: inout UnsafePointer<UInt8>, _ p: UnsafePointer<UInt8>,
                                    _ end: UnsafePointer<UInt8>, _ negative: Bool) -> Scan {
        func matches(_ word: String) -> Bool {
            var q = p
            for c in word.utf8 {
                guard q < end, q.pointee | 0x20 == c else { return false }
                q += 1
            }
            return true
        }
        if matches("infinity") { cursor = p + 8; return .value(negative ? -.infinity : .infinity) }
        if matches("inf") { cursor = p + 3; return .value(negative ? -.infinity : .infinity) }
        if matches("nan") { cursor = p + 3; return .value(.nan) }
        return .malformed
    }

    /// Correctly rounded conversion by the C library, for the rare hard cases.
    private static func fallback(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Double {
        let length = end - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            start.withMemoryRebound(to: CChar.self, capacity: length) { source in
                buffer.baseAddress!.update(from: source, count: length)
            }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// Bits of the binary64 nearest to mantissa × 10^decimalExponent, or nil when
    /// the truncated product cannot decide the rounding.
    @inline(__always)
    static func eiselLemire(decimalExponent q: Int, mantissa w: UInt64) -> UInt64? {
        let infinityBits: UInt64 = 0x7FF0_0000_0000_0000
        if q < powersOfFiveSmallestExponent { return 0 }
        if q > powersOfFiveLargestExponent { return infinityBits }
        let leadingZeros = w.leadingZeroBitCount
        let normalized = w << UInt64(leadingZeros)
        let index = 2 * (q - powersOfFiveSmallestExponent)
        var (high, low) = normalized.multipliedFullWidth(by: powersOfFive128[index])
        let precisionMask: UInt64 = 0x1FF // low bits below the 52 + 3 kept
        if high & precisionMask == precisionMask {
            let (secondHigh, _) = normalized.multipliedFullWidth(by: powersOfFive128[index + 1])
            let (sum, carried) = low.addingReportingOverflow(secondHigh)
            low = sum
            if carried { high &+= 1 }
            if high & precisionMask == precisionMask, low == UInt64.max, q < -27 || q > 55 { return nil }
        }
        let upperBit = Int(high >> 63)
        var significand = high >> UInt64(upperBit + 9)
        var power2 = ((152_170 + 65_536) * q) >> 16 + 63 + upperBit - leadingZeros + 1023
        if power2 <= 0 {
            if -power2 + 1 >= 64 { return 0 }
            significand >>= UInt64(-power2 + 1)
            significand += significand & 1
            significand >>= 1
            power2 = significand < (1 << 52) ? 0 : 1
            return significand | (UInt64(power2) << 52)
        }
        if low <= 1, q >= -4, q <= 23, significand & 3 == 1,
           significand << UInt64(upperBit + 9) == high {
            significand &= ~1
        }
        significand += significand & 1
        significand >>= 1
        if significand >= (2 << 52) {
            significand = 1 << 52
            power2 += 1
        }
        significand &= ~(1 << 52)
        if power2 >= 0x7FF { return infinityBits }
        return significand | (UInt64(power2) << 52)
    }
}
