/// An expectation of `StoreConformance` that a store did not meet. (Swift Testing's `#expect`
/// works only in test targets; a thrown error fails the calling `@Test` just the same.)
public struct StoreConformanceFailure: Error, CustomStringConvertible {
    public let message: String
    /// Where in the suite the expectation is, `File.swift:LINE`.
    public let location: String

    public init(_ message: String, fileID: String = #fileID, line: Int = #line) {
        self.message = message
        self.location = "\(fileID.split(separator: "/").last ?? ""):\(line)"
    }

    public var description: String { "\(location): \(message)" }
}
