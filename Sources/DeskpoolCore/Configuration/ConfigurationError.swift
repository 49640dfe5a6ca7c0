/// A configuration file that cannot be used, with where and why. Nothing of such a file is
/// applied.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The file could not be read.
        public static let unreadable = Code("unreadable")
        /// The file is not valid YAML.
        public static let malformed = Code("malformed")
        /// A key Deskpool does not know (often a typo).
        public static let unknownKey = Code("unknownKey")
        /// A value of the wrong type or outside what is allowed.
        public static let invalidValue = Code("invalidValue")
        /// The file is over a limit: its size, its nesting depth or its number of nodes.
        public static let tooLarge = Code("tooLarge")
        /// A YAML feature the file may not use: anchors and aliases, several documents.
        public static let unsupported = Code("unsupported")
        /// Two files define the same name.
        public static let duplicateName = Code("duplicateName")
        public var description: String { name }
    }

    public let code: Code
    public var file: String?
    /// 1-based line of the offending node, when known.
    public var line: Int?
    /// 1-based column (in Unicode scalars) of the offending node, when known.
    public var column: Int?
    public let message: String

    public init(code: Code, file: String? = nil, line: Int? = nil, column: Int? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = line == nil ? nil : column
        self.message = message
    }

    /// `file:line:column: message`, leaving out what is not known.
    public var description: String {
        let place = [file, line.map(String.init), column.map(String.init)].compactMap { $0 }.joined(separator: ":")
        return place.isEmpty ? message : "\(place): \(message)"
    }
}
