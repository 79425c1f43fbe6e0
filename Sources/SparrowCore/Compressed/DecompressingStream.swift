#if canImport(Glibc)
import Glibc
#endif
import CCompression

/// A gzip, bzip2 or xz file read as the stream of its decompressed bytes
/// (zlib, libbz2, liblzma), concatenated members included, in pieces of
/// bounded size: nothing holds the whole decompressed file.
public final class DecompressingStream {
    public enum Codec: String, Sendable { case gzip, bzip2, xz }

    public let path: String
    public let codec: Codec
    private let file: OpenFile
    private var offset = 0
    private var input: [UInt8] = []
    private var inputUsed = 0
    private var finished = false
    private var gzip: gzFile?
    private var bzip = bz_stream()
    private var bzipOpen = false
    private var lzma = sparrow_lzma_stream_init()
    private var lzmaOpen = false
    static let inputBytes = 1 << 20

    /// The codec `prefix` (a file's first bytes) starts with, if any.
    public static func codec(of prefix: UnsafeBufferPointer<UInt8>) -> Codec? {
        func starts(_ magic: [UInt8]) -> Bool { prefix.count >= magic.count && zip(prefix, magic).allSatisfy { $0 == $1 } }
        if starts([0x1F, 0x8B]) { return .gzip }
        if starts([0x42, 0x5A, 0x68]) { return .bzip2 } // "BZh"
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .xz }
        return nil
    }

    public init(path: String, codec: Codec) throws(SparrowError) {
        self.path = path
        self.codec = codec
        file = try OpenFile(path: path)
        switch codec {
        case .gzip:
            gzip = gzopen(path, "rb")
            guard gzip != nil else { throw .input(file: path, line: nil, message: "cannot open as gzip") }
            gzbuffer(gzip, UInt32(Self.inputBytes))
        case .bzip2:
            try startBzip()
        case .xz:
            guard lzma_stream_decoder(&lzma, UInt64.max, sparrow_lzma_concatenated()) == LZMA_OK else {
                throw .input(file: path, line: nil, message: "cannot start the xz decoder")
            }
            lzmaOpen = true
        }
    }

    deinit {
        if let gzip { gzclose(gzip) }
        if bzipOpen { BZ2_bzDecompressEnd(&bzip) }
        if lzmaOpen { lzma_end(&lzma) }
    }

    /// Up to `count` further decompressed bytes; empty at the end of the stream.
    public func read(_ count: Int) throws(SparrowError) -> [UInt8] {
        if finished || count <= 0 { return [] }
        var out = [UInt8](repeating: 0, count: count)
        var produced = 0
        switch codec {
        case .gzip:
            while produced < count {
                let n = out.withUnsafeMutableBytes { gzread(gzip, $0.baseAddress! + produced, UInt32(min(count - produced, 1 << 30))) }
                if n < 0 {
                    var code: Int32 = 0
                    let message = gzerror(gzip, &code).map { String(cString: $0) } ?? "error \(code)"
                    throw corrupt(message)
                }
                if n == 0 {
                    // gzread ends quietly on a truncated member: zlib says so only through gzerror.
                    var code: Int32 = 0
                    _ = gzerror(gzip, &code)
                    if code != Z_OK && code != Z_STREAM_END { throw corrupt("truncated or damaged gzip data") }
                    finished = true
                    break
                }
                produced += Int(n)
            }
        case .bzip2:
            produced = try readBzip(into: &out)
        case .xz:
            produced = try readXz(into: &out)
        }
        out.removeLast(count - produced)
        return out
    }

    private func corrupt(_ message: String) -> SparrowError {
        .input(file: path, line: nil, message: "cannot decompress (\(codec.rawValue)): \(message)")
    }

    /// Refills the compressed input buffer; false at the end of the file.
    private func refill() throws(SparrowError) -> Bool {
        if inputUsed < input.count { return true }
        input = try file.read(offset: offset, count: Self.inputBytes)
        offset += input.count
        inputUsed = 0
        return !input.isEmpty
    }

    private func startBzip() throws(SparrowError) {
        bzip = bz_stream()
        guard BZ2_bzDecompressInit(&bzip, 0, 0) == BZ_OK else { throw .input(file: path, line: nil, message: "cannot start the bzip2 decoder") }
        bzipOpen = true
    }

    private func readBzip(into out: inout [UInt8]) throws(SparrowError) -> Int {
        var produced = 0
        while produced < out.count {
            let more = try refill()
            if !more {
                // The last stream must have ended exactly here.
                if bzipOpen { throw corrupt("truncated bzip2 data") }
                finished = true
                break
            }
            if !bzipOpen { try startBzip() } // a further concatenated stream
            let (status, used, made) = input.withUnsafeMutableBufferPointer { inBuffer in
                out.withUnsafeMutableBufferPointer { outBuffer in
                    bzip.next_in = UnsafeMutableRawPointer(inBuffer.baseAddress! + inputUsed).assumingMemoryBound(to: CChar.self)
                    bzip.avail_in = UInt32(inBuffer.count - inputUsed)
                    bzip.next_out = UnsafeMutableRawPointer(outBuffer.baseAddress! + produced).assumingMemoryBound(to: CChar.self)
                    bzip.avail_out = UInt32(outBuffer.count - produced)
                    let before = (bzip.avail_in, bzip.avail_out)
                    let status = BZ2_bzDecompress(&bzip)
                    return (status, Int(before.0 - bzip.avail_in), Int(before.1 - bzip.avail_out))
                }
            }
            inputUsed += used
            produced += made
            if status == BZ_STREAM_END {
                BZ2_bzDecompressEnd(&bzip)
                bzipOpen = false
            } else if status != BZ_OK {
                throw corrupt("damaged bzip2 data (code \(status))")
            }
        }
        return produced
    }

    private func readXz(into out: inout [UInt8]) throws(SparrowError) -> Int {
        var produced = 0
        while produced < out.count {
            let more = try refill()
            let (status, used, made) = input.withUnsafeMutableBufferPointer { inBuffer in
                out.withUnsafeMutableBufferPointer { outBuffer in
                    lzma.next_in = more ? UnsafePointer(inBuffer.baseAddress! + inputUsed) : nil
                    lzma.avail_in = more ? inBuffer.count - inputUsed : 0
                    lzma.next_out = outBuffer.baseAddress! + produced
                    lzma.avail_out = outBuffer.count - produced
                    let before = (lzma.avail_in, lzma.avail_out)
                    let status = lzma_code(&lzma, more ? LZMA_RUN : LZMA_FINISH)
                    return (status, before.0 - lzma.avail_in, before.1 - lzma.avail_out)
                }
            }
            inputUsed += used
            produced += made
            if status == LZMA_STREAM_END { finished = true; break }
            if status != LZMA_OK { throw corrupt(status == LZMA_BUF_ERROR ? "truncated xz data" : "damaged xz data (code \(status.rawValue))") }
            if !more, made == 0 { throw corrupt("truncated xz data") }
        }
        return produced
    }
}
