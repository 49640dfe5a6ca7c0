internal import CLibvirt
import Foundation

/// An error reported by libvirt, captured on the thread of the failing call.
///
/// `code` and `domain` are libvirt's own numbers (`virErrorNumber`, `virErrorDomain`), so
/// callers can tell "no such domain" from "operation not supported" without parsing text.
/// `message` is libvirt's message: fit for logs, not for end users.
public struct LibvirtError: Error, Sendable, Hashable, CustomStringConvertible {
    /// libvirt's `virErrorNumber`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let internalError = Code(VIR_ERR_INTERNAL_ERROR)
        public static let noMemory = Code(VIR_ERR_NO_MEMORY)
        public static let noSupport = Code(VIR_ERR_NO_SUPPORT)
        public static let noConnect = Code(VIR_ERR_NO_CONNECT)
        public static let invalidArgument = Code(VIR_ERR_INVALID_ARG)
        public static let operationFailed = Code(VIR_ERR_OPERATION_FAILED)
        public static let xmlError = Code(VIR_ERR_XML_ERROR)
        public static let xmlDetail = Code(VIR_ERR_XML_DETAIL)
        public static let operationInvalid = Code(VIR_ERR_OPERATION_INVALID)
        public static let operationDenied = Code(VIR_ERR_OPERATION_DENIED)
        public static let operationTimeout = Code(VIR_ERR_OPERATION_TIMEOUT)
        public static let operationUnsupported = Code(VIR_ERR_OPERATION_UNSUPPORTED)
        public static let systemError = Code(VIR_ERR_SYSTEM_ERROR)
        public static let rpcError = Code(VIR_ERR_RPC)
        public static let noDomain = Code(VIR_ERR_NO_DOMAIN)
        public static let noStoragePool = Code(VIR_ERR_NO_STORAGE_POOL)
        public static let noNetwork = Code(VIR_ERR_NO_NETWORK)
        public static let noStorageVolume = Code(VIR_ERR_NO_STORAGE_VOL)
        public static let noDomainMetadata = Code(VIR_ERR_NO_DOMAIN_METADATA)
        public static let agentUnresponsive = Code(VIR_ERR_AGENT_UNRESPONSIVE)
        public static let agentUnsynced = Code(VIR_ERR_AGENT_UNSYNCED)
        /// The domain lacks what the call needs (e.g. "QEMU guest agent is not configured").
        public static let argumentUnsupported = Code(VIR_ERR_ARGUMENT_UNSUPPORTED)
        public static let authFailed = Code(VIR_ERR_AUTH_FAILED)
        public static let storageVolumeExists = Code(VIR_ERR_STORAGE_VOL_EXIST)
        /// Not a libvirt code: a call failed without leaving an error behind.
        public static let unknown = Code(rawValue: -1)

        init(_ number: virErrorNumber) { self.rawValue = Int32(bitPattern: number.rawValue) }

        public var description: String { "\(rawValue)" }
    }

    public let code: Code
    /// libvirt's `virErrorDomain`: which part of libvirt raised the error (qemu, storage, ...).
    public let domain: Int32
    public let message: String

    public init(code: Code, domain: Int32 = 0, message: String) {
        self.code = code
        self.domain = domain
        self.message = message
    }

    public var description: String { "libvirt error \(code.rawValue) (domain \(domain)): \(message)" }

    /// The last error libvirt recorded on this thread. Call it right after the failing call,
    /// on the same thread: libvirt keeps errors per thread.
    static func last(or fallback: String = "libvirt call failed without an error") -> LibvirtError {
        guard let error = virGetLastError() else {
            return LibvirtError(code: .unknown, message: fallback)
        }
        let message = error.pointee.message.map { String(cString: $0) } ?? fallback
        return LibvirtError(
            code: Code(rawValue: error.pointee.code),
            domain: error.pointee.domain,
            message: message
        )
    }
}

/// Returns `result` unless it is -1, libvirt's failure value for integer results.
@discardableResult
func check(_ result: Int32) throws(LibvirtError) -> Int32 {
    if result < 0 { throw LibvirtError.last() }
    return result
}

/// Unwraps a pointer result, throwing libvirt's error for `nil`.
func check<T>(_ pointer: T?) throws(LibvirtError) -> T {
    guard let pointer else { throw LibvirtError.last() }
    return pointer
}

/// Copies a string libvirt allocated for the caller, then frees it.
func takeString(_ pointer: UnsafeMutablePointer<CChar>?) throws(LibvirtError) -> String {
    let pointer = try check(pointer)
    defer { free(pointer) }
    return String(cString: pointer)
}
