/// The Matrix Market text inside a compressed file, as a stream: a `.mtx.gz`,
/// `.mtx.bz2` or `.mtx.xz` file, or a compressed tar archive holding the
/// matrix, as the SuiteSparse Matrix Collection ships them (`NAME.tar.gz`
/// with `NAME/NAME.mtx`, and sometimes further files such as `NAME_b.mtx`).
/// The codec is told by the file's first bytes, a tar by its header.
public final class CompressedMatrixSource {
    public let path: String
    /// The archive member read, for a tar.
    public private(set) var member: String?
    private let stream: DecompressingStream
    private var pending: [UInt8] = []
    private var remaining = Int.max

    /// nil when `path` is not compressed.
    public static func open(path: String) throws(SparrowError) -> CompressedMatrixSource? {
        let prefix = try OpenFile(path: path).read(offset: 0, count: 8)
        guard let codec = prefix.withUnsafeBufferPointer({ DecompressingStream.codec(of: $0) }) else { return nil }
        return try CompressedMatrixSource(path: path, stream: DecompressingStream(path: path, codec: codec))
    }

    private init(path: String, stream: DecompressingStream) throws(SparrowError) {
        self.path = path
        self.stream = stream
        let first = try stream.read(512)
        if first.count == 512, Array(first[257..<262]) == Array("ustar".utf8) {
            try selectMember(firstHeader: first)
        } else {
            pending = first
        }
    }

    /// What a tar member must be called: NAME.mtx for NAME.tar.gz (or .tgz, .tar.bz2, .tar.xz).
    var wantedMember: String {
        var name = String(path.split(separator: "/").last ?? Substring(path))
        for suffix in [".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        return name + ".mtx"
    }

    /// Skips archive members up to the one named `wantedMember` (in any directory).
    private func selectMember(firstHeader: [UInt8]) throws(SparrowError) {
        var header = firstHeader
        var seen: [String] = []
        while header.count == 512, !header.allSatisfy({ $0 == 0 }) {
            let field = { (range: Range<Int>) in String(decoding: header[range].prefix { $0 != 0 }, as: UTF8.self) }
            let prefix = field(345..<500), shortName = field(0..<100)
            let name = prefix.isEmpty ? shortName : prefix + "/" + shortName
            let sizeText = String(field(124..<136).filter { $0 != " " })
            guard let size = Int(sizeText, radix: 8), size >= 0 else {
                throw .input(file: path, line: nil, message: "damaged tar header for '\(name)' (size '\(sizeText)')")
            }
            let regular = header[156] == UInt8(ascii: "0") || header[156] == 0
            if regular, name.split(separator: "/").last.map(String.init) == wantedMember {
                member = name
                remaining = size
                return
            }
            if regular, name.hasSuffix(".mtx") { seen.append(name) }
            var skip = (size + 511) / 512 * 512
            while skip > 0 {
                let chunk = try stream.read(min(skip, 1 << 20))
                if chunk.isEmpty { throw .input(file: path, line: nil, message: "tar archive ends inside '\(name)'") }
                skip -= chunk.count
            }
            header = try stream.read(512)
        }
        throw .input(file: path, line: nil, message: "the archive holds no \(wantedMember)"
                     + (seen.isEmpty ? " (and no other .mtx file)" : " (its .mtx files: \(seen.joined(separator: ", ")))"))
    }

    /// Up to `count` further bytes of the matrix text; empty at its end.
    public func read(_ count: Int) throws(SparrowError) -> [UInt8] {
        var out: [UInt8] = []
        if !pending.isEmpty {
            out = Array(pending.prefix(min(count, remaining)))
            pending.removeFirst(out.count)
        }
        let wanted = min(count, remaining) - out.count
        if wanted > 0 { out += try stream.read(wanted) }
        if remaining != Int.max {
            remaining -= out.count
            if out.count < count, remaining > 0 { throw .input(file: path, line: nil, message: "tar archive ends inside '\(member ?? "")'") }
        }
        return out
    }

    /// The whole text, refused once it passes this rank's memory budget.
    public func readAll() throws(SparrowError) -> [UInt8] {
        var text: [UInt8] = []
        while true {
            let chunk = try read(16 << 20)
            if chunk.isEmpty { return text }
            text += chunk
            try MemoryBudget.check(Double(text.count) * 2, for: "the decompressed text of \(path) (\(text.count) bytes so far)") {
                .input(file: path, line: nil, message: $0)
            }
        }
    }
}
