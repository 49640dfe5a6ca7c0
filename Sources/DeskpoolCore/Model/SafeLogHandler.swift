public import Logging

/// A log handler in front of another that escapes control characters and caps the length of
/// the message and of every metadata value (`SafeText`): a user name, address or error text
/// from a client cannot forge a log line or fill the log with one request.
public struct SafeLogHandler<Wrapped: LogHandler>: LogHandler {
    public var wrapped: Wrapped
    /// Longest message, in UTF-8 bytes ...
    public var messageLimit: Int
    /// ... and metadata value.
    public var valueLimit: Int

    public init(_ wrapped: Wrapped, messageLimit: Int = 4096, valueLimit: Int = 512) {
        self.wrapped = wrapped
        self.messageLimit = messageLimit
        self.valueLimit = valueLimit
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(safe) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(safe) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(SafeText.escaped(event.message.description, limit: messageLimit))"
        var metadata = event.metadata?.mapValues(safe)
        // An error's text may quote client input too: it goes out as escaped metadata.
        if let error = event.error {
            metadata = (metadata ?? [:]).merging(["error": .string(SafeText.escaped("\(error)", limit: valueLimit))]) { kept, _ in kept }
            event.error = nil
        }
        event.metadata = metadata
        wrapped.log(event: event)
    }

    /// A metadata value with its text escaped and capped (lists and dictionaries value by value).
    func safe(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(SafeText.escaped(text, limit: valueLimit))
        case .stringConvertible(let convertible): .string(SafeText.escaped(convertible.description, limit: valueLimit))
        case .array(let values): .array(values.prefix(64).map(safe))
        case .dictionary(let values): .dictionary(values.mapValues(safe))
        }
    }
}
