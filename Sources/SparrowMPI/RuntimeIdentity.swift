import CMPI
import SparrowCore

extension Communicator {
    /// The MPI library's version as it reports itself at run time ("4.1.4"
    /// for "Open MPI v4.1.4, package: …"); callable before MPI starts.
    public static var libraryVersion: String {
        var text = [CChar](repeating: 0, count: 8192)
        var length: Int32 = 0
        guard MPI_Get_library_version(&text, &length) == 0 else { return "unknown" }
        let line = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: "\n").first.map(String.init) ?? ""
        let fields = line.split(separator: ",").first?.split(separator: " ") ?? []
        if let version = fields.last, version.hasPrefix("v") { return String(version.dropFirst()) }
        return line
    }

    /// Every rank's host name, by rank, on rank 0 (which writes the reports);
    /// elsewhere only this rank's own. A collective.
    public func hostNames() throws(SparrowError) -> [String] {
        let own = Provenance.hostName()
        guard let all = try gatherv(Array(own.utf8)) else { return [own] }
        return all.map { String(decoding: $0, as: UTF8.self) }
    }
}
