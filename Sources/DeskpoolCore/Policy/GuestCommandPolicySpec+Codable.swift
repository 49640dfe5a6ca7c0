/// `spec:` of a GuestCommandPolicy: exactly one of `command` (a program and its arguments) or
/// `script` (text run by `/bin/sh -s`), plus `concurrency` (1-64, default 4), `timeout`
/// (1s-1h, default 60s) and `includeInUse` (default true).
///
/// A script is kept as the command it becomes, so a policy encodes (and reads back) as
/// `command: {path: /bin/sh, args: [-s], input: ...}`.
extension GuestCommandPolicySpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case selector, command, script, concurrency, timeout, includeInUse
    }

    /// The most desktops a command runs on at once.
    public static let maxConcurrency = 64
    /// The longest a command may run in one desktop.
    public static let maxTimeoutSeconds = 3600

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "spec of a GuestCommandPolicy")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let selector = try c.decodeSelector(.selector, in: decoder)
        let command: GuestCommand
        switch (c.contains(.command), c.contains(.script)) {
        case (true, true):
            throw try c.superDecoder(forKey: .script).invalid("give command or script, not both")
        case (false, false):
            throw decoder.invalid("spec needs a command (path and args) or a script")
        case (true, false):
            command = try c.decode(GuestCommandSpec.self, forKey: .command).command
        case (false, true):
            let script = try c.decode(String.self, forKey: .script)
            try c.superDecoder(forKey: .script).require(script.utf8.count <= GuestCommandSpec.maxInputBytes,
                                                        "script must be at most \(GuestCommandSpec.maxInputBytes) bytes, not \(script.utf8.count)")
            try c.superDecoder(forKey: .script).require(!script.contains("\0"), "script must not contain NUL characters")
            command = GuestCommand(path: "/bin/sh", arguments: ["-s"], input: script)
        }
        self.init(selector: selector, command: command,
                  concurrency: try c.decodeBounded(.concurrency, 1...Self.maxConcurrency) ?? 4,
                  timeoutSeconds: try c.decodeDuration(.timeout, "timeout", 1...Self.maxTimeoutSeconds) ?? 60,
                  includeInUse: try c.decodeIfPresent(Bool.self, forKey: .includeInUse) ?? true)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(selector, forKey: .selector)
        try c.encode(GuestCommandSpec(command), forKey: .command)
        try c.encode(concurrency, forKey: .concurrency)
        try c.encode(timeoutSeconds, forKey: .timeout)
        try c.encode(includeInUse, forKey: .includeInUse)
    }
}

/// `command: {path: /usr/bin/env, args: [...], input: "..."}` as files write it (`args`, not
/// `arguments`), checked: an absolute path, at most 64 arguments of 4096 characters, no NUL,
/// input at most 64 KiB.
struct GuestCommandSpec: Codable {
    static let maxArguments = 64
    static let maxArgumentLength = 4096
    static let maxInputBytes = 64 * 1024

    var command: GuestCommand

    init(_ command: GuestCommand) { self.command = command }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case path, args, input
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "command")
        command = try Self.fields(of: decoder)
    }

    /// `path`, `args` and `input` of a mapping that may hold other keys (a check's
    /// `guestCommand` adds its expectations); the caller rejects unknown keys.
    static func fields(of decoder: any Decoder) throws -> GuestCommand {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let path = try c.decode(String.self, forKey: .path)
        try c.superDecoder(forKey: .path).require(path.hasPrefix("/") && !path.contains("\0") && path.utf8.count <= 4096,
                                                  "command.path must be an absolute path (starting with /), not '\(path)'")
        let args = try c.decodeIfPresent([String].self, forKey: .args) ?? []
        if c.contains(.args) {
            let d = try c.superDecoder(forKey: .args)
            try d.require(args.count <= maxArguments, "command.args may hold at most \(maxArguments) arguments, not \(args.count)")
            try d.require(args.allSatisfy { $0.count <= maxArgumentLength && !$0.contains("\0") },
                          "each of command.args must be at most \(maxArgumentLength) characters, without NUL")
        }
        let input = try c.decodeIfPresent(String.self, forKey: .input)
        if let input {
            try c.superDecoder(forKey: .input).require(input.utf8.count <= maxInputBytes,
                                                       "command.input must be at most \(maxInputBytes) bytes, not \(input.utf8.count)")
        }
        return GuestCommand(path: path, arguments: args, input: input)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(command.path, forKey: .path)
        try c.encode(command.arguments, forKey: .args)
        try c.encodeIfPresent(command.input, forKey: .input)
    }
}
