/// Finds the blank line that ends an HTTP request head in bytes that arrive in pieces,
/// without scanning the same bytes twice.
struct HeadScanner: Sendable {
    /// The longest head accepted (request line and header fields): 8 KiB, as most servers.
    static let maximumHeadLength = 8 * 1024

    private static let terminator: [UInt8] = Array("\r\n\r\n".utf8)
    private var scanned = 0

    enum Outcome: Equatable {
        /// The head is not complete yet; read more.
        case incomplete
        /// The head is the first `headLength` bytes; the terminator is `terminatorLength` more.
        case complete(headLength: Int)
        /// No terminator within `maximumHeadLength` bytes.
        case tooLarge
    }

    /// Scans `bytes` (everything received so far, from the first byte).
    mutating func scan(_ bytes: some RandomAccessCollection<UInt8>) -> Outcome {
        let terminator = Self.terminator
        let limit = min(bytes.count, Self.maximumHeadLength + terminator.count)
        // Restart a little before where the last scan stopped: the terminator may straddle.
        var offset = max(0, scanned - (terminator.count - 1))
        while offset + terminator.count <= limit {
            let start = bytes.index(bytes.startIndex, offsetBy: offset)
            if bytes[start..<bytes.index(start, offsetBy: terminator.count)].elementsEqual(terminator) {
                return .complete(headLength: offset)
            }
            offset += 1
        }
        scanned = limit
        return bytes.count >= Self.maximumHeadLength + terminator.count ? .tooLarge : .incomplete
    }

    static var terminatorLength: Int { terminator.count }
}
